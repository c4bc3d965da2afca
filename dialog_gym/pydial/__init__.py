"""PyDial's tasks as data: importing its ontologies, its belief tracker, its handcrafted policy.

The environment is :class:`dialog_gym.envs.pydial_env.PyDialEnv`; the simulated user
:mod:`dialog_gym.users.pydial_user`; the N-best error model :class:`dialog_gym.users.nlu_noise.NBestChannel`.
"""

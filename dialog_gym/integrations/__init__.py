"""Adapters of the package's tasks to other frameworks, each needing its own optional extra.

- :mod:`dialog_gym.integrations.verifiers_env`: every turn-level task's chat view as a ``verifiers`` environment
  (``pip install 'dialog-gym[verifiers]'``), for evaluating and training language-model agents.

Nothing here is imported by ``import dialog_gym``: a module of this package imports its framework itself.
"""

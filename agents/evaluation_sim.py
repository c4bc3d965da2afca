"""Simulated evaluation of any agent in a dialog_gym environment: N dialogues per seed, several seeds.

The numbers are the environment's: success is ``info["success"]`` (the one success definition), the
reward is the environment's return; :func:`dialog_gym.metrics.summarize_seeds` reports the pooled
success rate with its 95% Wilson interval and the across-seed mean with its 95% t-interval.
Episode ``i`` under seed ``s`` is reset with ``stream(s, i)``: by default the evaluation stream
:data:`dialog_gym.seeds.episode_seed` (``s * 10_000 + i``), the benchmark's is ``benchmark_test_seed``.

The dialogues run over a Gymnasium vector env of ``n_envs`` sub-environments
(:func:`dialog_gym.rollout.run_dialogues`): each dialogue keeps its reset seed whichever sub-environment
runs it, so the results are the same for any ``n_envs``; a stable-baselines3 model predicts the running
dialogues' actions in one batch. Environments are made with ``info_tracker=True`` (agents that read the
dialogue state find it in ``info["tracker"]``). Agents follow :class:`dialog_gym.agent.Agent`; this is
the one evaluation of ``rollout``, the benchmark's tests, RL training curves and ``imitate``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
from gymnasium.vector import SyncVectorEnv

from dialog_gym.agent import Agent
from dialog_gym.chat import ChatAgent, ChatEnv, run_chat_episodes
from dialog_gym.envs import EnvLike, EnvRef
from dialog_gym.metrics import EpisodeResult, summarize_seeds
from dialog_gym.rollout import run_dialogues, vector_env
from dialog_gym.seeds import Stream, episode_seed

#: sub-environments for agents that act in batches (SB3 models: RL training curves, the benchmark's RL tests);
#: one ``predict`` per step for all of them (4x faster than one env for MaskablePPO, 100 dialogues, 2-core
#: EPYC), the same dialogues. Agents that act one state at a time gain nothing from more sub-environments.
BATCH_ENVS = 8

#: builds the agent for a freshly made environment (one per evaluation seed; the agent may read the env's
#: domain and spaces, but acts on observations and infos only)
AgentFactory = Callable[[gym.Env], Agent]


def evaluate_dialogues(make_agent: AgentFactory, env: EnvLike, episodes: int = 100, seeds: Sequence[int] = (0,),
                       env_kwargs: dict[str, Any] | None = None, stream: Stream = episode_seed, n_envs: int = 1,
                       asynchronous: bool = False, chat_agent: Callable[[ChatEnv], ChatAgent] | None = None
                       ) -> list[list[EpisodeResult]]:
    """Each seed's ``episodes`` dialogues (a fresh vector env and agent per seed; episode ``i`` of seed ``s``
    reset with ``stream(s, i)``), per dialogue. ``env``: a reference or an id (with ``env_kwargs``, its
    ``gym.make`` keywords). With ``chat_agent`` (a factory of chat agents) the dialogues run through the chat
    interface (:mod:`dialog_gym.chat`, one env) instead and ``make_agent`` is not used."""
    ref = EnvRef(str(env), env_kwargs) if env_kwargs else EnvRef.of(env)
    per_seed: list[list[EpisodeResult]] = []
    for seed in seeds:
        reset_seeds = [stream(seed, i) for i in range(episodes)]  # checked against the stream's bound first
        if chat_agent is not None:
            gym_env = ref.make()
            per_seed.append(run_chat_episodes(gym_env, chat_agent, episodes, seed=seed, stream=stream))
            gym_env.close()
            continue
        envs = vector_env(lambda: ref.make(info_tracker=True), n_envs, asynchronous)
        try:
            if isinstance(envs, SyncVectorEnv):
                agent = make_agent(envs.envs[0])
            else:  # the sub-environments live in other processes: the agent is made on one of its own
                probe = ref.make(info_tracker=True)
                agent = make_agent(probe)
                probe.close()
            results, _ = run_dialogues(envs, agent, reset_seeds)
        finally:
            envs.close()
        per_seed.append(results)
    return per_seed


def evaluate_agent(make_agent: AgentFactory, env: EnvLike, episodes: int = 100, seeds: Sequence[int] = (0,),
                   env_kwargs: dict[str, Any] | None = None, stream: Stream = episode_seed,
                   chat_agent: Callable[[ChatEnv], ChatAgent] | None = None, n_envs: int = 1,
                   asynchronous: bool = False, per_dialogue: bool = False) -> dict[str, Any]:
    """Run ``episodes`` dialogues for each seed (:func:`evaluate_dialogues`, ``chat_agent``: through the chat
    interface) and summarise them; with ``per_dialogue``, ``"dialogues"`` lists each dialogue's seed,
    index, reset seed and result."""
    ref = EnvRef(str(env), env_kwargs) if env_kwargs else EnvRef.of(env)
    per_seed = evaluate_dialogues(make_agent, ref, episodes, seeds, None, stream, n_envs, asynchronous, chat_agent)
    summary = summarize_seeds(per_seed)
    summary.update({"env": ref.id, "seeds_used": list(seeds)})
    if per_dialogue:
        summary["dialogues"] = [{"seed": seed, "index": i, "reset_seed": stream(seed, i), **r.as_dict()}
                                for seed, results in zip(seeds, per_seed, strict=True)
                                for i, r in enumerate(results)]
    return summary

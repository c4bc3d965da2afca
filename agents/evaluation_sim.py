"""Simulated evaluation of any agent in a dialog_gym environment: N dialogues per seed, several seeds.

The numbers are the environment's: success is ``info["success"]`` (the one success definition), the
reward is the environment's return; :func:`dialog_gym.metrics.summarize_seeds` reports the pooled
success rate with its 95% Wilson interval and the across-seed mean with its 95% t-interval.
Episode ``i`` under seed ``s`` is reset with ``stream(s, i)``: by default the evaluation stream
:data:`dialog_gym.seeds.episode_seed` (``s * 10_000 + i``), the benchmark's is ``benchmark_test_seed``.
Agents follow :class:`dialog_gym.agent.Agent`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym

from dialog_gym.agent import Agent
from dialog_gym.chat import ChatAgent, ChatEnv, run_chat_episodes
from dialog_gym.envs import EnvLike, EnvRef
from dialog_gym.metrics import EpisodeResult, summarize_seeds
from dialog_gym.rollout import run_episodes
from dialog_gym.seeds import Stream, episode_seed

#: builds the agent for a freshly made environment (one per evaluation seed)
AgentFactory = Callable[[gym.Env], Agent]


def evaluate_agent(make_agent: AgentFactory, env: EnvLike, episodes: int = 100, seeds: Sequence[int] = (0,),
                   env_kwargs: dict[str, Any] | None = None, stream: Stream = episode_seed,
                   chat_agent: Callable[[ChatEnv], ChatAgent] | None = None) -> dict[str, Any]:
    """Run ``episodes`` dialogues for each seed (a fresh env and agent per seed; episode ``i`` of seed ``s``
    reset with ``stream(s, i)``) and summarise them. ``env``: a reference or an id (with ``env_kwargs``, its
    ``gym.make`` keywords). With ``chat_agent`` (a factory of chat agents) the dialogues run through the chat
    interface (:mod:`dialog_gym.chat`) instead and ``make_agent`` is not used."""
    ref = EnvRef(str(env), env_kwargs) if env_kwargs else EnvRef.of(env)
    per_seed: list[list[EpisodeResult]] = []
    for seed in seeds:
        gym_env = ref.make()
        if chat_agent is not None:
            results = run_chat_episodes(gym_env, chat_agent, episodes, seed=seed, stream=stream)
        else:
            results, _ = run_episodes(gym_env, make_agent(gym_env), episodes, seed=seed, stream=stream)
        per_seed.append(results)
        gym_env.close()
    summary = summarize_seeds(per_seed)
    summary.update({"env": ref.id, "seeds_used": list(seeds)})
    return summary

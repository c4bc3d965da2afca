"""Running an agent in an environment for N dialogues, and turning the dialogues into stories.

An agent is anything that follows :class:`dialog_gym.agent.Agent` (``agent(observation, info, env) ->
action``); ``agents`` adapts its policies and stable-baselines3 models to it. Episode ``i`` of a run with
seed ``s`` is reset with seed ``s + i``, so runs are reproducible and any episode can be replayed alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from dialog_gym.agent import Agent, action_mask, sample_allowed
from dialog_gym.envs import DEFAULT_ENV_ID, dialogue_env_of
from dialog_gym.envs.summary import SummaryActEnv
from dialog_gym.events import Event
from dialog_gym.experts import SlotFillingExpert
from dialog_gym.families import family_of
from dialog_gym.metrics import EpisodeResult
from dialog_gym.seeds import Stream, episode_seed, expert_dialogue_seed
from dialog_gym.stories import write_stories
from dialog_gym.tracker import DialogueStateTracker


def run_episode(env: gym.Env, act: Agent, seed: int | None = None) -> tuple[EpisodeResult, list[Event]]:
    """One dialogue; returns its result and the tracker's events."""
    obs, info = env.reset(seed=seed)
    total, invalid = 0.0, 0
    terminated = truncated = False
    while not (terminated or truncated):
        obs, reward, terminated, truncated, info = env.step(act(obs, info, env))
        total += reward  # type: ignore[operator]  # gymnasium types rewards as SupportsFloat
        invalid += bool(info.get("invalid_action", False))
    result = EpisodeResult(
        success=bool(info["success"]), reward=total, turns=int(info["turn"]), steps=int(info["steps"]),
        bot_actions=int(info["bot_actions"]), invalid_actions=invalid,
        gave_up=bool(info.get("user_gave_up", False)), truncated=bool(truncated),
    )
    return result, list(dialogue_env_of(env).tracker.events)


def run_episodes(env: gym.Env, act: Agent, episodes: int, seed: int = 0, keep_events: bool = False,
                 stream: Stream = episode_seed) -> tuple[list[EpisodeResult], list[list[Event]]]:
    """``episodes`` dialogues of run seed ``seed``, episode ``i`` reset with ``stream(seed, i)``; events kept
    only if asked."""
    results, dialogues = [], []
    for i in range(episodes):
        result, events = run_episode(env, act, seed=stream(seed, i))
        results.append(result)
        if keep_events:
            dialogues.append(events)
    return results, dialogues


def expert_choice(env: gym.Env, expert: SlotFillingExpert) -> Callable[[DialogueStateTracker, Any], int]:
    """``choose(tracker, mask)``: the slot-filling expert's action for ``env``, as an action of its action space
    (on summary-act envs, the act that starts with the expert's first allowed preference)."""
    base = dialogue_env_of(env)
    if isinstance(base, SummaryActEnv):
        return lambda tracker, mask: base.act_chosen_by(lambda m: expert.next_action(tracker, m), mask)
    return expert.next_action


def rule_expert(env: gym.Env) -> Agent:
    """The slot-filling rule expert as an agent for ``env`` (the dialogue and summary families' expert)."""
    choose = expert_choice(env, SlotFillingExpert.for_env(env))
    return lambda obs, info, e: choose(dialogue_env_of(e).tracker, action_mask(info))


def expert_act(env: gym.Env) -> Agent:
    """The rule expert of ``env``'s family as an agent (PyDial's handcrafted policy on the PyDial family)."""
    return family_of(env).make_expert(env)


def random_act(rng: np.random.Generator | int = 0, respect_mask: bool = True) -> Agent:
    """A uniformly random agent; with ``respect_mask`` it picks among the mask's allowed actions."""
    gen = np.random.default_rng(rng)

    def act(obs: np.ndarray, info: Mapping[str, Any], env: gym.Env) -> int:
        mask = action_mask(info)
        if respect_mask and mask is not None:
            return sample_allowed(gen, mask)
        return int(gen.integers(dialogue_env_of(env).action_space.n))

    return act


def simulate_stories(episodes: int, seed: int = 0, path: str | os.PathLike | None = None,
                     env_id: str = DEFAULT_ENV_ID, act: Agent | None = None, stream: Stream = expert_dialogue_seed,
                     **env_kwargs: Any) -> list[tuple[str, list[Event]]]:
    """Roll the expert (or ``act``) out for ``episodes`` dialogues of run seed ``seed`` (reset seeds from
    ``stream``, the expert-dialogue stream a policy is trained on unless said otherwise) and return them as
    stories named after their reset seeds; with ``path``, also write them as Rasa markdown (the format of
    the bAbI stories)."""
    env = gym.make(env_id, **env_kwargs)
    agent = act or expert_act(env)
    _, dialogues = run_episodes(env, agent, episodes, seed, keep_events=True, stream=stream)
    stories = [(f"simulated_{stream(seed, i):06d}", events) for i, events in enumerate(dialogues)]
    if path is not None:
        write_stories(path, stories, domain=dialogue_env_of(env).domain)
    env.close()
    return stories

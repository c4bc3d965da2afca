"""Running an agent for N dialogues, over one environment or a Gymnasium vector env, and turning the
dialogues into stories.

An agent follows :class:`dialog_gym.agent.Agent` (``agent(observation, info) -> action``); ``agents``
adapts its policies and stable-baselines3 models to it. Dialogue ``i`` of a run is always reset with the
run's ``i``-th seed, whichever sub-environment runs it, so a run over ``K`` sub-environments gives the
same dialogues as a run over one (:func:`run_dialogues`): the vector env's autoreset is disabled and a
finished sub-environment is reset with the next dialogue's seed; an agent with per-dialogue state
(:class:`~dialog_gym.agent.Resettable`) is told each dialogue's seed, and gets one copy per
sub-environment.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv

from dialog_gym.agent import Agent, BatchAgent, Resettable, action_mask, sample_allowed, tracker_of
from dialog_gym.envs import DEFAULT_ENV_ID, dialogue_env_of
from dialog_gym.envs.summary import SummaryActEnv
from dialog_gym.events import Event
from dialog_gym.experts import SlotFillingExpert
from dialog_gym.families import family_of
from dialog_gym.metrics import EpisodeResult
from dialog_gym.seeds import Stream, agent_rng, episode_seed, expert_dialogue_seed
from dialog_gym.stories import write_stories
from dialog_gym.tracker import DialogueStateTracker

#: the vector envs :func:`run_dialogues` runs over (their ``reset`` takes one seed per sub-environment)
DialogueVectorEnv = SyncVectorEnv | AsyncVectorEnv


def vector_env(make_env: Callable[[], gym.Env], n_envs: int = 1, asynchronous: bool = False) -> DialogueVectorEnv:
    """``n_envs`` copies of ``make_env()`` as a Gymnasium vector env whose autoreset is disabled (so
    :func:`run_dialogues` resets each finished sub-environment with its next dialogue's seed);
    ``asynchronous``: one process per sub-environment (``AsyncVectorEnv``)."""
    cls = AsyncVectorEnv if asynchronous else SyncVectorEnv
    return cls([make_env] * n_envs, autoreset_mode=AutoresetMode.DISABLED)


def info_at(infos: Mapping[str, Any], index: int) -> dict[str, Any]:
    """Sub-environment ``index``'s info out of a vector env's batched infos (the keys it reported, numpy
    scalars back as Python values)."""
    out: dict[str, Any] = {}
    for key, value in infos.items():
        if key[:1] == "_":
            continue
        if isinstance(value, dict):
            out[key] = info_at(value, index)
            continue
        reported = infos.get("_" + key)
        if reported is None or reported[index]:
            item = value[index]
            out[key] = item.item() if isinstance(item, np.generic) else item
    return out


def run_dialogues(envs: DialogueVectorEnv, act: Agent, seeds: Sequence[int | None], keep_events: bool = False
                  ) -> tuple[list[EpisodeResult], list[list[Event]]]:
    """One dialogue per seed, in ``seeds``' order, over the sub-environments of ``envs`` (made by
    :func:`vector_env`); returns the results (and, with ``keep_events``, each dialogue's events, read
    from the final ``info["tracker"]``: make the envs with ``info_tracker=True``).

    Dialogue ``i`` is reset with ``seeds[i]`` and its result does not depend on the number of
    sub-environments. A :class:`~dialog_gym.agent.BatchAgent` acts once per vector step on the stacked
    observations of the running dialogues; others act per sub-environment. Sub-environments left
    without a dialogue at the end run unseeded filler dialogues whose results are dropped."""
    n = envs.num_envs
    if n == 1 and isinstance(envs, SyncVectorEnv) and not isinstance(act, BatchAgent):
        return _run_in_env(envs.envs[0], act, seeds, keep_events)
    resettable = isinstance(act, Resettable)
    agents = [act] + [copy.deepcopy(act) for _ in range(n - 1)] if resettable else [act] * n
    batch = isinstance(act, BatchAgent) and not resettable
    results: list[EpisodeResult | None] = [None] * len(seeds)
    events: list[list[Event]] = [[] for _ in seeds] if keep_events else []
    running = [-1] * n   # the dialogue each sub-environment runs (-1: a filler)
    upcoming = 0
    subs = _SubEnvs(envs)

    def start(slots: Sequence[int]) -> list[int | None]:
        """Give each slot its next dialogue (or a filler); the reset seeds of all slots."""
        nonlocal upcoming
        reset_seeds: list[int | None] = [None] * n
        for j in slots:
            running[j], reset_seeds[j] = (upcoming, seeds[upcoming]) if upcoming < len(seeds) else (-1, None)
            upcoming += int(running[j] >= 0)
            if resettable and running[j] >= 0:
                agents[j].reset(reset_seeds[j])  # type: ignore[attr-defined]  # checked: Resettable
        return reset_seeds

    subs.reset(list(range(n)), start(range(n)))
    totals, invalid = [0.0] * n, [0] * n
    while any(d >= 0 for d in running):
        obs, infos = subs.obs, subs.infos
        actions = np.zeros(n, dtype=np.int64)
        active = [j for j in range(n) if running[j] >= 0]
        if batch:
            actions[active] = act.act_batch(obs[active], [infos[j] for j in active])  # type: ignore[attr-defined]
        else:
            for j in active:
                actions[j] = agents[j](obs[j], infos[j])
        for j in range(n):
            if running[j] < 0:  # a filler: any allowed action
                mask = action_mask(infos[j])
                actions[j] = int(np.flatnonzero(mask)[0]) if mask is not None and mask.any() else 0
        rewards, terminated, truncated = subs.step(actions)
        infos = subs.infos
        done = terminated | truncated
        for j in range(n):
            if running[j] < 0:
                continue
            totals[j] += float(rewards[j])
            invalid[j] += bool(infos[j].get("invalid_action", False))
            if done[j]:
                info = infos[j]
                results[running[j]] = episode_result(info, totals[j], invalid[j], bool(truncated[j]))
                if keep_events:
                    events[running[j]] = list(tracker_of(info).events)
                totals[j], invalid[j] = 0.0, 0
        if done.any():
            finished = np.flatnonzero(done).tolist()
            subs.reset(finished, start(finished))
    assert all(r is not None for r in results)
    return [r for r in results if r is not None], events


class _SubEnvs:
    """The sub-environments of a vector env as :func:`run_dialogues` uses them: ``obs`` (stacked), ``infos``
    (one dict per sub-environment), ``reset(slots, seeds)`` and ``step(actions)``. Those of a SyncVectorEnv
    are stepped one by one, directly: batching their infos into the vector env's arrays only to take them
    apart again cost as much as the steps; an AsyncVectorEnv's go through it (its sub-environments live in
    other processes). The same dialogues either way."""

    def __init__(self, envs: DialogueVectorEnv) -> None:
        self.vector = envs
        self.direct: list[gym.Env] | None = list(envs.envs) if isinstance(envs, SyncVectorEnv) else None
        space = envs.single_observation_space
        self.obs = np.zeros((envs.num_envs, *(space.shape or ())), dtype=space.dtype)
        self.infos: list[dict[str, Any]] = [{} for _ in range(envs.num_envs)]

    def reset(self, slots: Sequence[int], seeds: Sequence[int | None]) -> None:
        """Reset the sub-environments ``slots`` (``seeds``: one per sub-environment, as the vector env takes)."""
        if self.direct is not None:
            for j in slots:
                self.obs[j], self.infos[j] = self.direct[j].reset(seed=seeds[j])
            return
        mask = np.zeros(self.vector.num_envs, dtype=bool)
        mask[list(slots)] = True
        obs, batched = self.vector.reset(seed=list(seeds), options=None if mask.all() else {"reset_mask": mask})
        self.obs = np.array(obs)
        for j in slots:
            self.infos[j] = info_at(batched, j)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Step every sub-environment; the rewards, terminated and truncated flags (``obs`` and ``infos`` are
        the new ones)."""
        if self.direct is not None:
            n = len(self.direct)
            rewards, terminated, truncated = np.zeros(n), np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
            self.obs = self.obs.copy()  # a fresh array each step, as the vector env's: an agent may keep one
            for j, env in enumerate(self.direct):
                self.obs[j], rewards[j], terminated[j], truncated[j], self.infos[j] = env.step(actions[j])
            return rewards, terminated, truncated
        obs, rewards, terminated, truncated, batched = self.vector.step(actions)
        self.obs = np.array(obs)
        self.infos = [info_at(batched, j) for j in range(self.vector.num_envs)]
        return np.asarray(rewards), np.asarray(terminated, dtype=bool), np.asarray(truncated, dtype=bool)


def episode_result(info: Mapping[str, Any], reward: float, invalid: int, truncated: bool) -> EpisodeResult:
    """A finished dialogue's result from its last info, its return and its count of masked-out actions."""
    return EpisodeResult(success=bool(info["success"]), reward=reward, turns=int(info["turn"]),
                         steps=int(info["steps"]), bot_actions=int(info["bot_actions"]), invalid_actions=invalid,
                         gave_up=bool(info.get("user_gave_up", False)), truncated=truncated)


def _run_in_env(env: gym.Env, act: Agent, seeds: Sequence[int | None], keep_events: bool
                ) -> tuple[list[EpisodeResult], list[list[Event]]]:
    """:func:`run_dialogues` over one sub-environment for an agent that acts one state at a time, stepping the
    env itself: the same dialogues and results (the vector env's batching of the infos, only to be taken apart
    again, was most of the time of a rule or random agent's dialogue)."""
    resettable = isinstance(act, Resettable)
    results: list[EpisodeResult] = []
    events: list[list[Event]] = []
    for seed in seeds:
        if resettable:
            act.reset(seed)  # type: ignore[attr-defined]  # checked: Resettable
        obs, info = env.reset(seed=seed)
        total, invalid, done, truncated = 0.0, 0, False, False
        while not done:
            obs, reward, terminated, truncated, info = env.step(act(obs, info))
            total += float(reward)
            invalid += bool(info.get("invalid_action", False))
            done = bool(terminated or truncated)
        results.append(episode_result(info, total, invalid, bool(truncated)))
        if keep_events:
            events.append(list(tracker_of(info).events))
    return results, events


def run_episodes(env: gym.Env, act: Agent, episodes: int, seed: int = 0, keep_events: bool = False,
                 stream: Stream = episode_seed) -> tuple[list[EpisodeResult], list[list[Event]]]:
    """``episodes`` dialogues in ``env`` of run seed ``seed``, episode ``i`` reset with ``stream(seed, i)``
    (:func:`run_dialogues` over a one-env vector); events kept only if asked (``env`` made with
    ``info_tracker=True``)."""
    envs = SyncVectorEnv([lambda: env], autoreset_mode=AutoresetMode.DISABLED)
    return run_dialogues(envs, act, [stream(seed, i) for i in range(episodes)], keep_events)


def expert_choice(env: gym.Env, expert: SlotFillingExpert) -> Callable[[DialogueStateTracker, Any], int]:
    """``choose(tracker, mask)``: the slot-filling expert's action for ``env``, as an action of its action space
    (on summary-act envs, the act that starts with the expert's first allowed preference)."""
    base = dialogue_env_of(env)
    if isinstance(base, SummaryActEnv):
        acts = base.act_chooser()
        return lambda tracker, mask: acts(lambda m: expert.next_action(tracker, m), mask)
    return expert.next_action


def rule_expert(env: gym.Env) -> Agent:
    """The slot-filling rule expert as an agent for ``env`` (the dialogue and summary families' expert); it
    reads ``info["tracker"]``: make the env with ``info_tracker=True``."""
    choose = expert_choice(env, SlotFillingExpert.for_env(env))
    return lambda obs, info: choose(tracker_of(info), action_mask(info))


def expert_act(env: gym.Env) -> Agent:
    """The rule expert of ``env``'s family as an agent (PyDial's handcrafted policy on the PyDial family); it
    reads ``info["tracker"]`` (``info["belief"]`` on PyDial's tasks): make the env with ``info_tracker=True``."""
    return family_of(env).make_expert(env)


class RandomAgent:
    """A uniformly random agent; with ``respect_mask`` it picks among the mask's allowed actions. Each
    dialogue draws from its own generator (:func:`dialog_gym.seeds.agent_rng` of the agent's seed and the
    dialogue's reset seed), so its dialogues do not depend on their order."""

    def __init__(self, num_actions: int, seed: int = 0, respect_mask: bool = True) -> None:
        self.num_actions = int(num_actions)
        self.seed = int(seed)
        self.respect_mask = respect_mask
        self.rng = agent_rng(self.seed, None)

    def reset(self, seed: int | None) -> None:
        """A new dialogue reset with ``seed``: a generator of its own (an unseeded one keeps drawing)."""
        if seed is not None:
            self.rng = agent_rng(self.seed, seed)

    def __call__(self, obs: np.ndarray, info: Mapping[str, Any]) -> int:
        mask = action_mask(info)
        if self.respect_mask and mask is not None:
            return sample_allowed(self.rng, mask)
        return int(self.rng.integers(self.num_actions))


def random_act(env: gym.Env, seed: int = 0, respect_mask: bool = True) -> RandomAgent:
    """The random agent for ``env`` (see :class:`RandomAgent`)."""
    return RandomAgent(int(dialogue_env_of(env).action_space.n), seed, respect_mask)


def simulate_stories(episodes: int, seed: int = 0, path: str | os.PathLike | None = None,
                     env_id: str = DEFAULT_ENV_ID, act: Agent | None = None, stream: Stream = expert_dialogue_seed,
                     **env_kwargs: Any) -> list[tuple[str, list[Event]]]:
    """Roll the expert (or ``act``) out for ``episodes`` dialogues of run seed ``seed`` (reset seeds from
    ``stream``, the expert-dialogue stream a policy is trained on unless said otherwise) and return them as
    stories named after their reset seeds; with ``path``, also write them as Rasa markdown (the format of
    the bAbI stories)."""
    env = gym.make(env_id, **{**env_kwargs, "info_tracker": True})
    agent = act or expert_act(env)
    _, dialogues = run_episodes(env, agent, episodes, seed, keep_events=True, stream=stream)
    stories = [(f"simulated_{stream(seed, i):06d}", events) for i, events in enumerate(dialogues)]
    if path is not None:
        write_stories(path, stories, domain=dialogue_env_of(env).domain)
    env.close()
    return stories

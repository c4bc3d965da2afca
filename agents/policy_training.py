"""Building and training the Rasa-style policies by name, from story files or from simulated experts.

Shared by ``dialog-gym train-policy``, ``dialog-gym evaluate-stories`` and the scripts, so that every
number is produced by the same code. The names: ``memo`` (:class:`~agents.memoization.MemoizationPolicy`),
``augmented`` (:class:`~agents.memoization.AugmentedMemoizationPolicy`), ``supervised`` (alias ``keras``,
:class:`~agents.supervised.SupervisedPolicy`) and ``ensemble`` (memoization + supervised, as in Rasa's
restaurant example).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agents.ensemble import PolicyEnsemble
from agents.memoization import AugmentedMemoizationPolicy, MemoizationPolicy
from agents.policy import Policy
from dialog_gym.domain import Domain
from dialog_gym.envs import DEFAULT_ENV_ID
from dialog_gym.errors import DialogGymError
from dialog_gym.seeds import Stream, expert_dialogue_seed
from dialog_gym.stories import StoryGraph, events_to_story, generate_trackers, parse_stories, read_stories
from dialog_gym.tracker import DialogueStateTracker

POLICY_NAMES = ("memo", "augmented", "supervised", "ensemble")
ALIASES = {"memo": "memo", "memoization": "memo", "augmented": "augmented", "augmented_memoization": "augmented",
           "supervised": "supervised", "keras": "supervised", "ensemble": "ensemble"}


@dataclass
class TrainingOptions:
    """Settings of the policies built by :func:`build_policy` (the command-line options)."""

    max_history: int = 5
    epochs: int = 200
    batch_size: int = 32
    validation_split: float = 0.1
    early_stopping: int | None = None
    full_dialogue: bool = False
    seed: int = 0
    verbose: bool = False


def canonical_name(name: str) -> str:
    """``memo``, ``augmented``, ``supervised`` or ``ensemble`` for a name or alias."""
    try:
        return ALIASES[name.strip().lower()]
    except KeyError:
        raise DialogGymError(f"unknown policy {name!r}: expected one of {', '.join(POLICY_NAMES)}") from None


def parse_policy_list(text: str) -> list[str]:
    """``"memo,supervised"`` -> canonical names, without repeats."""
    names: list[str] = []
    for part in text.split(","):
        if part.strip():
            name = canonical_name(part)
            if name not in names:
                names.append(name)
    if not names:
        raise DialogGymError("no policy given")
    return names


def build_policy(name: str, options: TrainingOptions | None = None) -> Policy:
    """An untrained policy by name."""
    opts = options or TrainingOptions()
    kind = canonical_name(name)
    if kind == "memo":
        return MemoizationPolicy(max_history=opts.max_history)
    if kind == "augmented":
        return AugmentedMemoizationPolicy(max_history=opts.max_history)
    if kind == "supervised":
        from agents.supervised import SupervisedPolicy

        return SupervisedPolicy(max_history=None if opts.full_dialogue else opts.max_history,
                                full_dialogue=opts.full_dialogue, epochs=opts.epochs, batch_size=opts.batch_size,
                                validation_split=opts.validation_split, early_stopping=opts.early_stopping,
                                seed=opts.seed)
    return PolicyEnsemble([build_policy("memo", opts), build_policy("supervised", opts)])


def train_policies(names: Sequence[str], trackers: Sequence[DialogueStateTracker], domain: Domain,
                   options: TrainingOptions | None = None) -> dict[str, tuple[Policy, float]]:
    """Train the named policies on the same trackers; returns ``{name: (policy, seconds)}``.

    An ensemble reuses the memoization and supervised policies trained in the same call (their
    training time is added to its own)."""
    opts = options or TrainingOptions()
    trained: dict[str, tuple[Policy, float]] = {}
    for name in [canonical_name(n) for n in names]:
        if name == "ensemble" and "memo" in trained and "supervised" in trained:
            members = [trained["memo"], trained["supervised"]]
            trained[name] = (PolicyEnsemble([p for p, _ in members]), sum(s for _, s in members))
            trained[name][0].domain_fingerprint = domain.fingerprint()
            continue
        policy = build_policy(name, opts)
        start = time.perf_counter()
        policy.train(trackers, domain, verbose=opts.verbose)
        trained[name] = (policy, time.perf_counter() - start)
    return trained


def story_trackers(stories: str | os.PathLike | StoryGraph, domain: Domain, augmentation: int = 20,
                   seed: int = 42) -> list[DialogueStateTracker]:
    """Training dialogues from a story file (or parsed graph), with Rasa's augmentation."""
    graph = stories if isinstance(stories, StoryGraph) else read_stories(stories)
    return generate_trackers(graph, domain, augmentation_factor=augmentation, seed=seed)


def expert_story_graph(episodes: int, seed: int = 0, env_id: str = DEFAULT_ENV_ID,
                       stream: Stream = expert_dialogue_seed, **env_kwargs: Any) -> tuple[StoryGraph, Domain]:
    """The rule expert's dialogues with the simulated user (run seed ``seed`` of ``stream``, by default the
    expert-dialogue stream, which no test stream meets), as a story graph (written to story markdown and
    parsed back, so they mean exactly what the same stories in a file would)."""
    import gymnasium as gym

    from dialog_gym.envs import dialogue_env_of
    from dialog_gym.rollout import simulate_stories

    env = gym.make(env_id, **env_kwargs)
    domain = dialogue_env_of(env).domain
    env.close()
    stories = simulate_stories(episodes, seed=seed, env_id=env_id, stream=stream, **env_kwargs)
    text = "\n".join(events_to_story(name, events, domain) for name, events in stories)
    return parse_stories(text, f"<{episodes} expert dialogues in {env_id}, seed {seed}>"), domain


def describe(policy: Policy) -> dict[str, Any]:
    """A short JSON-able description of a trained policy (for command outputs)."""
    info: dict[str, Any] = {"policy": policy.name}
    if isinstance(policy, MemoizationPolicy):
        info["memorised_turns"] = len(policy.lookup)
    history = getattr(policy, "history", None)
    if history:
        info["epochs_run"] = len(history)
        info["final_epoch"] = history[-1]
    if isinstance(policy, PolicyEnsemble):
        info["members"] = [describe(p) for p in policy.policies]
    return info

"""Training trackers from a story graph, as Rasa's training-data generator makes them: checkpoints
joined, ``* a OR b`` expanded, ``augmentation_factor`` stories glued end to start, duplicates removed."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from dialog_gym.domain import ACTION_LISTEN_NAME
from dialog_gym.errors import StoryError
from dialog_gym.events import ActionExecuted, ActionReverted
from dialog_gym.stories.reader import read_stories
from dialog_gym.stories.structures import STORY_START, Checkpoint, StoryGraph, StoryStep, UserTurn
from dialog_gym.tracker import DialogueStateTracker

if TYPE_CHECKING:
    from dialog_gym.domain import Domain

_START_ID = "<story start>"


def generate_trackers(
    graph: StoryGraph | str | os.PathLike,
    domain: Domain,
    augmentation_factor: int = 20,
    seed: int = 42,
    remove_duplicates: bool = True,
    tracker_limit: int | None = None,
    augmentation_rounds: int = 3,
) -> list[DialogueStateTracker]:
    """Training trackers from stories, as Rasa's training-data generator makes them.

    The graph is walked from its start through the checkpoints (``* a OR b`` forks a tracker). With
    ``augmentation_factor > 0``, in each of ``augmentation_rounds`` rounds up to ``augmentation_factor``
    finished dialogues are glued onto the start again, and of those at most ``10 * augmentation_factor``
    are kept (``tracker.is_augmented`` is set on them). Duplicate dialogues are removed.
    """
    if not isinstance(graph, StoryGraph):
        graph = read_stories(graph)
    graph.validate(domain)
    rng = np.random.default_rng(seed)
    order = _ordered_steps(graph)

    start = DialogueStateTracker.for_domain(domain, _START_ID)
    finished = _walk(order, [start], domain, tracker_limit, rng)
    finished = _dedupe(finished) if remove_duplicates else finished

    augmented: list[DialogueStateTracker] = []
    pool = finished
    for _ in range(augmentation_rounds if augmentation_factor > 0 else 0):
        if not pool:
            break
        picks = rng.choice(len(pool), size=min(augmentation_factor, len(pool)), replace=False)
        starts = []
        for idx in sorted(int(p) for p in picks):
            glued = pool[idx].copy()
            glued.update(ActionReverted())  # take back the story's final action_listen
            glued.is_augmented = True
            starts.append(glued)
        pool = _walk(order, starts, domain, tracker_limit, rng)
        for t in pool:
            t.is_augmented = True
        augmented.extend(pool)
    if remove_duplicates:
        augmented = _dedupe(augmented, {_signature(t) for t in finished})
    cap = 10 * augmentation_factor
    if len(augmented) > cap:
        keep = sorted(int(i) for i in rng.choice(len(augmented), size=cap, replace=False))
        augmented = [augmented[i] for i in keep]
    for i, tracker in enumerate(augmented):
        tracker.sender_id = f"augmented_{i}"
    return finished + augmented


def _ordered_steps(graph: StoryGraph) -> list[StoryStep]:
    """Steps in an order where every step comes after the steps that end at its start checkpoints."""
    remaining = list(graph.steps)
    produced_by: dict[str, list[StoryStep]] = {}
    for step in graph.steps:
        for c in step.end_checkpoints:
            produced_by.setdefault(c.name, []).append(step)
    ordered: list[StoryStep] = []
    done: set[int] = set()
    while remaining:
        progress = False
        for step in list(remaining):
            deps = [p for c in step.start_checkpoints if c.name != STORY_START
                    for p in produced_by.get(c.name, [])]
            if all(id(d) in done or d is step for d in deps):
                ordered.append(step)
                done.add(id(step))
                remaining.remove(step)
                progress = True
        if not progress:
            names = sorted({c.name for s in remaining for c in s.start_checkpoints})
            raise StoryError(f"checkpoints form a cycle ({', '.join(names)}); cycles are not supported",
                             graph.source, remaining[0].line or None)
    return ordered


def _walk(order: list[StoryStep], starts: list[DialogueStateTracker], domain: Domain,
          tracker_limit: int | None, rng: np.random.Generator) -> list[DialogueStateTracker]:
    active: dict[str, list[DialogueStateTracker]] = {STORY_START: starts}
    finished: list[DialogueStateTracker] = []
    for step in order:
        incoming: list[DialogueStateTracker] = []
        for c in step.start_checkpoints or [Checkpoint(STORY_START)]:
            incoming.extend(t for t in active.get(c.name, []) if c.matches(t))
        if tracker_limit is not None and len(incoming) > tracker_limit:
            keep = sorted(int(i) for i in rng.choice(len(incoming), size=tracker_limit, replace=False))
            incoming = [incoming[i] for i in keep]
        for tracker in incoming:
            for result in _apply_step(step, tracker, domain):
                if step.end_checkpoints:
                    for c in step.end_checkpoints:
                        active.setdefault(c.name, []).append(result)
                else:
                    _append_listen(result)
                    finished.append(result)
    return finished


def _apply_step(step: StoryStep, tracker: DialogueStateTracker, domain: Domain) -> list[DialogueStateTracker]:
    first = tracker.copy()
    if first.sender_id == _START_ID:
        first.sender_id = step.block_name  # a dialogue is named after the block it starts with
    trackers = [first]
    for item in step.items:
        if isinstance(item, UserTurn):
            forked = []
            for t in trackers:
                for k, message in enumerate(item.alternatives):
                    branch = t if k == len(item.alternatives) - 1 else t.copy()
                    _append_listen(branch)
                    branch.update(message, domain)
                    forked.append(branch)
            trackers = forked
        else:
            for t in trackers:
                t.update(item)
    return trackers


def _append_listen(tracker: DialogueStateTracker) -> None:
    """Add the implied ``action_listen`` unless the last event already is one."""
    last = tracker.events[-1] if tracker.events else None
    if not (isinstance(last, ActionExecuted) and last.action_name == ACTION_LISTEN_NAME):
        tracker.update(ActionExecuted(ACTION_LISTEN_NAME))


def _signature(tracker: DialogueStateTracker) -> tuple:
    return tuple(e.as_story_string() or "" for e in tracker.applied_events())


def _dedupe(trackers: list[DialogueStateTracker], seen: set | None = None) -> list[DialogueStateTracker]:
    seen = set() if seen is None else set(seen)
    unique = []
    for t in trackers:
        sig = _signature(t)
        if sig not in seen:
            seen.add(sig)
            unique.append(t)
    return unique


def trackers_from_stories(path: str | os.PathLike, domain: Domain, augmentation_factor: int = 0,
                          seed: int = 42) -> list[DialogueStateTracker]:
    """Read a story file and generate its trackers (no augmentation unless asked)."""
    return generate_trackers(read_stories(path), domain, augmentation_factor=augmentation_factor, seed=seed)

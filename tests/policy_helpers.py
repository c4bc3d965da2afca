"""Helpers for the policy tests: trackers from story text, tracker prefixes, constant policies."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agents.policy import Policy
from dialog_gym.domain import Domain
from dialog_gym.events import ActionExecuted, Event
from dialog_gym.stories import generate_trackers, parse_stories
from dialog_gym.tracker import DialogueStateTracker


def trackers_from_text(text: str, domain: Domain) -> list[DialogueStateTracker]:
    """The dialogues of Rasa story markdown (no augmentation)."""
    return generate_trackers(parse_stories(text), domain, augmentation_factor=0)


def tracker_from_events(domain: Domain, events: Sequence[Event]) -> DialogueStateTracker:
    tracker = DialogueStateTracker.for_domain(domain)
    for event in events:
        tracker.update(event, domain)
    return tracker


def prefix_before_action(tracker: DialogueStateTracker, action: str, occurrence: int = 0) -> DialogueStateTracker:
    """The tracker as it was just before its ``occurrence``-th execution of ``action``."""
    prefix = tracker.init_copy()
    seen = 0
    for event in tracker.events:
        if isinstance(event, ActionExecuted) and event.action_name == action:
            if seen == occurrence:
                return prefix
            seen += 1
        prefix.update(event)
    raise AssertionError(f"{action!r} is not executed {occurrence + 1} times")


class ConstantPolicy(Policy):
    """Predicts fixed probabilities (not registered: no ``name``)."""

    def __init__(self, probabilities: Sequence[float], priority: int = 1) -> None:
        super().__init__(priority=priority)
        self.probabilities = np.asarray(probabilities, dtype=float)

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain) -> np.ndarray:
        return self.probabilities.copy()


def probs(domain: Domain, **confidences: float) -> np.ndarray:
    """A probability vector with the given confidence per action name."""
    out = np.zeros(domain.num_actions)
    for name, value in confidences.items():
        out[domain.index_for_action(name)] = value
    return out

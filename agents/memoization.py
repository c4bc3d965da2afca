"""Memoization policies (Rasa Core): remember the action that followed each max-history state sequence.

* :class:`MemoizationPolicy` predicts, with confidence 1.0, the action its training stories took after
  exactly the current last ``max_history`` states, and nothing (all zeros) for a sequence it has not
  seen. Sequences that the stories followed with different actions are ambiguous and are forgotten.
* :class:`AugmentedMemoizationPolicy` (Rasa >= 0.10) backs off when the exact lookup fails: it forgets
  everything before the second executed action, replays the rest onto a fresh tracker (so slots set
  before the cut are forgotten), and looks up again, until it finds a match or no action is left.

The lookup maps a deterministic serialisation of the states (JSON with sorted keys) to an action name;
it is saved as JSON (``memorized_turns.json``). As in Rasa 0.13, trackers that story augmentation glued
together (``tracker.is_augmented``) are not memorised.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agents.policy import Policy
from dialog_gym.domain import Domain
from dialog_gym.errors import PersistenceError
from dialog_gym.events import ActionExecuted
from dialog_gym.featurizers import MaxHistoryTrackerFeaturizer, State, TrackerFeaturizer
from dialog_gym.tracker import DialogueStateTracker
from dialog_gym.utils import write_json

logger = logging.getLogger(__name__)

LOOKUP_FILE = "memorized_turns.json"
DEFAULT_MAX_HISTORY = 5
MEMOIZATION_PRIORITY = 3  # above the supervised policy, below the fallback (Rasa 1.x's order)


def state_key(states: Sequence[State | None]) -> str:
    """The lookup key of a state sequence: JSON with sorted keys (padding states are ``null``)."""
    return json.dumps(list(states), sort_keys=True, separators=(",", ":"))


class MemoizationPolicy(Policy):
    """Predicts the memorised action of the exact max-history state sequence (confidence 1.0), or all
    zeros for an unseen one; ambiguous training examples are dropped."""

    name = "memoization"

    def __init__(self, featurizer: TrackerFeaturizer | None = None, priority: int = MEMOIZATION_PRIORITY,
                 max_history: int | None = None, lookup: dict[str, str] | None = None) -> None:
        if featurizer is None:
            featurizer = MaxHistoryTrackerFeaturizer(max_history=max_history or DEFAULT_MAX_HISTORY)
        if not isinstance(featurizer, MaxHistoryTrackerFeaturizer):
            raise ValueError(f"{type(self).__name__} needs a MaxHistoryTrackerFeaturizer, got "
                             f"{type(featurizer).__name__}")
        if max_history is not None and max_history != featurizer.max_history:
            raise ValueError(f"max_history={max_history} disagrees with the featurizer's "
                             f"max_history={featurizer.max_history}")
        super().__init__(featurizer, priority)
        self.featurizer: MaxHistoryTrackerFeaturizer
        self.lookup: dict[str, str] = dict(lookup or {})

    @property
    def max_history(self) -> int:
        return self.featurizer.max_history

    # ------------------------------------------------------------------ training
    def train(self, trackers: Sequence[DialogueStateTracker], domain: Domain, **kwargs: Any) -> None:
        """Memorise the stories (augmented trackers are skipped); ``kwargs`` are ignored."""
        super().train(trackers, domain)
        self.lookup = {}
        originals = [t for t in trackers if not getattr(t, "is_augmented", False)]
        states, actions = self.featurizer.training_states_and_actions(originals, domain)
        self._add_to_lookup(states, actions, online=False)
        logger.debug("memorised %d turns", len(self.lookup))

    def continue_training(self, trackers: Sequence[DialogueStateTracker], domain: Domain,
                          **kwargs: Any) -> None:
        """Online update: add the new dialogues' turns; a conflicting turn overwrites the old one."""
        if self.domain_fingerprint is None:
            self.domain_fingerprint = domain.fingerprint()
        states, actions = self.featurizer.training_states_and_actions(list(trackers), domain)
        self._add_to_lookup(states, actions, online=True)

    def _add_to_lookup(self, all_states: list[list[State | None]], all_actions: list[list[str]],
                       online: bool) -> None:
        ambiguous: set[str] = set()
        for states, (action,) in zip(all_states, all_actions, strict=True):
            key = state_key(states)
            if key in ambiguous:
                continue
            known = self.lookup.get(key)
            if known is None or known == action:
                self.lookup[key] = action
            elif online:
                logger.info("the new story contradicts a memorised one after %s: now %s instead of %s",
                            key, action, known)
                self.lookup[key] = action
            else:
                ambiguous.add(key)
                del self.lookup[key]

    # ------------------------------------------------------------------ prediction
    def recall(self, states: list[State | None], tracker: DialogueStateTracker, domain: Domain) -> str | None:
        """The memorised action for ``states`` (``tracker`` is for subclasses that look further)."""
        return self.lookup.get(state_key(states))

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain) -> np.ndarray:
        result = np.zeros(domain.num_actions)
        states = self.featurizer.prediction_states([tracker], domain)[0]
        action = self.recall(states, tracker, domain)
        if action is not None:
            result[domain.index_for_action(action)] = 1.0
        return result

    # ------------------------------------------------------------------ persistence
    def config(self) -> dict[str, Any]:
        return {**super().config(), "max_history": self.max_history}

    def _persist_files(self, folder: Path) -> None:
        write_json(folder / LOOKUP_FILE, {"max_history": self.max_history, "lookup": self.lookup})

    def _load_files(self, folder: Path) -> None:
        path = folder / LOOKUP_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PersistenceError(f"{path}: not found") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PersistenceError(f"{path}: cannot read: {exc}") from None
        lookup = data.get("lookup") if isinstance(data, dict) else None
        if not isinstance(lookup, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                   for k, v in lookup.items()):
            raise PersistenceError(f"{path}: expected {{'lookup': {{state key: action name}}}}")
        if data.get("max_history") not in (None, self.max_history):
            raise PersistenceError(f"{path}: max_history {data.get('max_history')} disagrees with "
                                   f"policy.json's {self.max_history}")
        self.lookup = dict(lookup)


class AugmentedMemoizationPolicy(MemoizationPolicy):
    """Memoization that, when the exact lookup fails, forgets the oldest part of the dialogue (every
    event before the second executed action), replays the rest onto a fresh tracker and looks up again,
    repeatedly. Slots set before the cut are forgotten, as in Rasa."""

    name = "augmented_memoization"

    @staticmethod
    def forget_oldest_turn(tracker: DialogueStateTracker) -> DialogueStateTracker | None:
        """A fresh tracker holding the events from the second executed action on (``None`` if there is
        no second action)."""
        events = tracker.applied_events()
        seen_first = False
        for i, event in enumerate(events):
            if isinstance(event, ActionExecuted):
                if seen_first:
                    shorter = tracker.init_copy()
                    for kept in events[i:]:
                        shorter.update(kept)
                    return shorter
                seen_first = True
        return None

    def recall(self, states: list[State | None], tracker: DialogueStateTracker, domain: Domain) -> str | None:
        action = super().recall(states, tracker, domain)
        if action is not None:
            return action
        shorter = self.forget_oldest_turn(tracker)
        while shorter is not None:
            shorter_states = self.featurizer.prediction_states([shorter], domain)[0]
            if shorter_states != states:
                action = self.lookup.get(state_key(shorter_states))
                if action is not None:
                    return action
                states = shorter_states
            shorter = self.forget_oldest_turn(shorter)
        return None

"""Featurizers: tracker states -> vectors, for observations and for training data alike (Rasa Core).

* :class:`BinarySingleStateFeaturizer` turns one state (feature name -> value) into a vector in the
  domain's order (intents, entities, slot features, previous actions); a padding state is all -1.
* :class:`MaxHistoryTrackerFeaturizer` makes, for every action of a tracker, the last ``max_history``
  states left-padded: ``X`` is ``(N, max_history, features)``, ``y`` one-hot ``(N, actions)``;
  duplicate (states, action) pairs are removed.
* :class:`FullDialogueTrackerFeaturizer` makes one sequence per dialogue, padded at the end to the
  longest: ``X`` is ``(N, T, features)``, ``y`` is ``(N, T, actions)`` with -1 on padding.

The environments build their observations with :class:`HistoryWindow`, which is the max-history
featurizer applied one state at a time, so observations and training data cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from dialog_gym.errors import PersistenceError
from dialog_gym.events import ActionExecuted
from dialog_gym.tracker import DialogueStateTracker, State

if TYPE_CHECKING:
    from dialog_gym.domain import Domain


@dataclass
class TrainingData:
    """Featurized training examples; ``true_length`` is set for full-dialogue data."""

    X: np.ndarray
    y: np.ndarray
    true_length: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.X.shape[0])


class BinarySingleStateFeaturizer:
    """One state -> one vector: each present feature gets its value, a ``None`` state is all -1.

    With ``use_intent_probabilities=False`` (Rasa's default for stories) intent features are 1.0; the
    NLU confidence is then available separately (the environments append it to the observation).
    """

    def __init__(self) -> None:
        self.input_state_map: dict[str, int] | None = None
        self.num_features = 0
        self.num_actions = 0

    def prepare_from_domain(self, domain: Domain) -> None:
        self.input_state_map = dict(domain.input_state_map)
        self.num_features = domain.num_states
        self.num_actions = domain.num_actions

    def encode(self, state: State | None) -> np.ndarray:
        vec = np.empty(self.num_features, dtype=np.float32)
        self.encode_into(state, vec)
        return vec

    def encode_into(self, state: State | None, out: np.ndarray) -> None:
        """Write the encoding of ``state`` into ``out`` (a 1-d float array of ``num_features``)."""
        lookup = self.input_state_map
        if lookup is None:
            raise RuntimeError("call prepare_from_domain(domain) before encoding states")
        if state is None:
            out.fill(-1.0)
            return
        out.fill(0.0)
        for name, value in state.items():
            idx = lookup.get(name)
            if idx is not None:
                out[idx] = value

    def encode_many(self, states: Sequence[State | None]) -> np.ndarray:
        if not states:
            return np.zeros((0, self.num_features), dtype=np.float32)
        return np.stack([self.encode(s) for s in states])

    @staticmethod
    def action_as_one_hot(action: str, domain: Domain) -> np.ndarray:
        y = np.zeros(domain.num_actions, dtype=np.float32)
        y[domain.index_for_action(action)] = 1.0
        return y


class TrackerFeaturizer:
    """Base: turns trackers into state sequences and those into arrays."""

    kind = "base"

    def __init__(self, state_featurizer: BinarySingleStateFeaturizer | None = None,
                 use_intent_probabilities: bool = False) -> None:
        self.state_featurizer = state_featurizer or BinarySingleStateFeaturizer()
        self.use_intent_probabilities = use_intent_probabilities

    def prepare(self, domain: Domain) -> None:
        self.state_featurizer.prepare_from_domain(domain)

    def tracker_states(self, tracker: DialogueStateTracker, domain: Domain) -> list[State]:
        """States before each executed action, plus the current state."""
        return tracker.past_states(domain, self.use_intent_probabilities)

    def training_states_and_actions(
        self, trackers: Sequence[DialogueStateTracker], domain: Domain
    ) -> tuple[list[list[State | None]], list[list[str]]]:
        raise NotImplementedError

    def prediction_states(self, trackers: Sequence[DialogueStateTracker], domain: Domain) -> list[list[State | None]]:
        raise NotImplementedError

    def featurize_trackers(self, trackers: Sequence[DialogueStateTracker], domain: Domain) -> TrainingData:
        raise NotImplementedError

    def create_X(self, trackers: Sequence[DialogueStateTracker], domain: Domain) -> np.ndarray:
        """Features for predicting the next action of each tracker."""
        self.prepare(domain)
        seqs = self.prediction_states(trackers, domain)
        return self._pad_and_encode(seqs)

    def _pad_and_encode(self, seqs: list[list[State | None]]) -> np.ndarray:
        length = max((len(s) for s in seqs), default=0)
        X = np.full((len(seqs), length, self.state_featurizer.num_features), -1.0, dtype=np.float32)
        for i, seq in enumerate(seqs):
            if seq:
                X[i, : len(seq)] = self.state_featurizer.encode_many(seq)
        return X

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "use_intent_probabilities": self.use_intent_probabilities}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> TrackerFeaturizer:
        kind = data.get("kind")
        uip = bool(data.get("use_intent_probabilities", False))
        if kind == MaxHistoryTrackerFeaturizer.kind:
            return MaxHistoryTrackerFeaturizer(max_history=int(data["max_history"]),
                                               remove_duplicates=bool(data.get("remove_duplicates", True)),
                                               use_intent_probabilities=uip)
        if kind == FullDialogueTrackerFeaturizer.kind:
            return FullDialogueTrackerFeaturizer(use_intent_probabilities=uip)
        raise PersistenceError(f"unknown featurizer kind {kind!r}")


class MaxHistoryTrackerFeaturizer(TrackerFeaturizer):
    """The last ``max_history`` states before each action, left-padded with ``None`` (-1)."""

    kind = "max_history"

    def __init__(self, max_history: int = 5, remove_duplicates: bool = True,
                 state_featurizer: BinarySingleStateFeaturizer | None = None,
                 use_intent_probabilities: bool = False) -> None:
        super().__init__(state_featurizer, use_intent_probabilities)
        if max_history < 1:
            raise ValueError(f"max_history must be >= 1, got {max_history}")
        self.max_history = int(max_history)
        self.remove_duplicates = remove_duplicates

    @staticmethod
    def slice_state_history(states: Sequence[State | None], slice_length: int) -> list[State | None]:
        end = len(states)
        start = max(0, end - slice_length)
        return [None] * max(0, slice_length - end) + list(states[start:])

    def training_states_and_actions(self, trackers, domain):
        seen: set = set()
        all_states: list[list[State | None]] = []
        all_actions: list[list[str]] = []
        for tracker in trackers:
            states = self.tracker_states(tracker, domain)
            idx = 0
            for event in tracker.applied_events():
                if not isinstance(event, ActionExecuted):
                    continue
                sliced = self.slice_state_history(states[: idx + 1], self.max_history)
                idx += 1
                if self.remove_duplicates:
                    key = (_freeze(sliced), event.action_name)
                    if key in seen:
                        continue
                    seen.add(key)
                all_states.append(sliced)
                all_actions.append([event.action_name])
        return all_states, all_actions

    def prediction_states(self, trackers, domain):
        return [self.slice_state_history(self.tracker_states(t, domain), self.max_history) for t in trackers]

    def featurize_trackers(self, trackers, domain):
        self.prepare(domain)
        states, actions = self.training_states_and_actions(trackers, domain)
        X = self._pad_and_encode(states).reshape(len(states), self.max_history, self.state_featurizer.num_features)
        y = np.zeros((len(actions), domain.num_actions), dtype=np.float32)
        for i, (action,) in enumerate(actions):
            y[i, domain.index_for_action(action)] = 1.0
        return TrainingData(X, y)

    def to_dict(self):
        return {**super().to_dict(), "max_history": self.max_history, "remove_duplicates": self.remove_duplicates}

    def window(self, domain: Domain, buffer: np.ndarray | None = None) -> HistoryWindow:
        """An incremental featurizer of one dialogue (used by the environments for observations)."""
        self.prepare(domain)
        return HistoryWindow(self.state_featurizer, self.max_history, buffer)


class FullDialogueTrackerFeaturizer(TrackerFeaturizer):
    """One sequence per dialogue: states before every action; padded at the end, labels -1 there."""

    kind = "full_dialogue"

    def training_states_and_actions(self, trackers, domain):
        all_states, all_actions = [], []
        for tracker in trackers:
            states = self.tracker_states(tracker, domain)
            actions = [e.action_name for e in tracker.applied_events() if isinstance(e, ActionExecuted)]
            all_states.append(states[: len(actions)])
            all_actions.append(actions)
        return all_states, all_actions

    def prediction_states(self, trackers, domain):
        return [self.tracker_states(t, domain) for t in trackers]

    def featurize_trackers(self, trackers, domain):
        self.prepare(domain)
        states, actions = self.training_states_and_actions(trackers, domain)
        X = self._pad_and_encode(states)
        length = X.shape[1]
        y = np.full((len(actions), length, domain.num_actions), -1.0, dtype=np.float32)
        for i, seq in enumerate(actions):
            if seq:
                y[i, : len(seq)] = 0.0
                for t, action in enumerate(seq):
                    y[i, t, domain.index_for_action(action)] = 1.0
        true_length = np.array([len(a) for a in actions], dtype=np.int64)
        return TrainingData(X, y, true_length)


class HistoryWindow:
    """The max-history featurization of one dialogue, updated one state at a time.

    ``push(state)`` adds the newest state; ``vector()`` is the flattened ``(max_history, features)``
    array that :meth:`MaxHistoryTrackerFeaturizer.create_X` would give for the same tracker.
    """

    def __init__(self, state_featurizer: BinarySingleStateFeaturizer, max_history: int,
                 buffer: np.ndarray | None = None) -> None:
        self.state_featurizer = state_featurizer
        self.max_history = max_history
        self.num_features = state_featurizer.num_features
        self._shape = (max_history, self.num_features)
        # the window may live inside a caller's array (the environment's observation buffer)
        self._bind(buffer if buffer is not None else np.empty(self._shape, dtype=np.float32))
        self._buffer.fill(-1.0)
        self._last_parsing: State | None = None  # see push_tracker
        self._parsing_vec = np.zeros(self.num_features, dtype=np.float32)
        self._prev_domain: Domain | None = None  # the domain _prev_index was built for
        self._prev_index: dict[str | None, int] = {}  # action name -> index of its prev_ feature

    def _bind(self, buffer: np.ndarray) -> None:
        if buffer.shape != self._shape or not buffer.flags.c_contiguous:
            raise ValueError(f"buffer must be a C-contiguous array of shape {self._shape}, got {buffer.shape}")
        self._buffer = buffer
        # views made once: a push shifts the flat window by one state and writes the newest row
        flat = buffer.reshape(-1)
        self._older = flat[: flat.size - self.num_features]
        self._newer = flat[self.num_features:]
        self._newest = buffer[-1]

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_older", "_newer", "_newest")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._bind(self._buffer)  # pickling copies views apart: make them again

    def rebind(self, buffer: np.ndarray) -> None:
        """Move the window into ``buffer`` (keeping its contents), e.g. after unpickling, which copies
        views apart."""
        buffer[...] = self._buffer
        self._bind(buffer)

    def contents_changed(self) -> None:
        """Call after writing the window's buffer directly (restoring an environment state): drops the
        cached encoding that :meth:`push_tracker` reuses."""
        self._last_parsing = None

    def reset(self, states: Sequence[State | None] = ()) -> None:
        self._buffer.fill(-1.0)
        for state in states[-self.max_history:]:
            self.push(state)

    def push(self, state: State | None) -> None:
        self._older[...] = self._newer
        self.state_featurizer.encode_into(state, self._newest)

    def push_tracker(self, tracker: DialogueStateTracker, domain: Domain,
                     use_intent_probabilities: bool = False) -> None:
        """``push(tracker.active_state(domain))``, reusing the encoding of the message-and-slot features
        while they are unchanged (the environments call this after every step)."""
        parsing = tracker.parsing_state(domain, use_intent_probabilities)
        if parsing is not self._last_parsing:
            self.state_featurizer.encode_into(parsing, self._parsing_vec)
            self._last_parsing = parsing
        self._older[...] = self._newer
        row = self._newest
        row[...] = self._parsing_vec
        if domain is not self._prev_domain:
            lookup = self.state_featurizer.input_state_map or {}
            self._prev_index = {name: lookup[feature] for name, feature in domain.prev_action_features.items()
                                if feature in lookup}
            self._prev_domain = domain
        idx = self._prev_index.get(tracker.latest_action_name)
        if idx is not None:
            row[idx] = 1.0

    def matrix(self) -> np.ndarray:
        return self._buffer.copy()

    def vector(self) -> np.ndarray:
        return self._buffer.reshape(-1).copy()


def _freeze(states: Sequence[State | None]) -> tuple:
    return tuple(None if s is None else frozenset(s.items()) for s in states)

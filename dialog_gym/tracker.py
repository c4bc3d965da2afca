"""The event-sourced dialogue state tracker (Rasa Core semantics).

The tracker's state (slots, latest user message, latest action) is what its events produce when applied
in order (:meth:`DialogueStateTracker.update` defines what each event does). Reverting events
(``ActionReverted``, ``UserUtteranceReverted``) and ``Restarted`` change which events count;
:meth:`DialogueStateTracker.applied_events` computes them and :meth:`replay_events` rebuilds the state
from them.

The tracker also computes its *states* for the featurizers, as Rasa's domain did: a mapping of feature
names (given by the domain) to values. :meth:`parsing_state` covers the latest user message and the
slots, :meth:`active_state` adds the previous action, and :meth:`past_states` yields one state per
executed action. The domain only names the features; it knows nothing of trackers.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from dialog_gym.domain import ACTION_LISTEN_NAME
from dialog_gym.errors import PersistenceError
from dialog_gym.events import (
    ActionExecuted,
    ActionReverted,
    AllSlotsReset,
    Event,
    Restarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
    event_from_dict,
)
from dialog_gym.slots import Slot

if TYPE_CHECKING:
    from dialog_gym.domain import Domain

#: a tracker state for the featurizers: feature name -> value (absent features are 0)
State = dict[str, float]


class DialogueStateTracker:
    """Holds a dialogue's events and the state they produce."""

    def __init__(self, sender_id: str, slots: Sequence[Slot], max_event_history: int | None = None) -> None:
        self.sender_id = sender_id
        self.slots: dict[str, Slot] = {s.name: s for s in slots}
        self._featurized_slots = frozenset(s.name for s in slots if s.has_features())
        self.max_event_history = max_event_history
        self.events: list[Event] = []
        self.is_augmented = False  # set on trackers that story augmentation glued together
        self._reset()

    @classmethod
    def from_events(cls, sender_id: str, events: Iterable[Event], slots: Sequence[Slot],
                    domain: Domain | None = None) -> DialogueStateTracker:
        tracker = cls(sender_id, slots)
        for event in events:
            tracker.update(event, domain)
        return tracker

    @classmethod
    def for_domain(cls, domain: Domain, sender_id: str = "default") -> DialogueStateTracker:
        return cls(sender_id, domain.slots)

    # ------------------------------------------------------------------ state
    def _reset(self) -> None:
        """Forget the state (not the events)."""
        # (id(domain), use_intent_probabilities, parsing_state) while the message and slots are unchanged
        self._parsing_cache: tuple | None = None
        self._reset_slots()
        self.latest_message: UserUttered = UserUttered()
        self.latest_action_name: str | None = None
        self._action_history: list[str] = []

    def _reset_slots(self) -> None:
        self.slot_values: dict[str, Any] = {name: s.initial_value for name, s in self.slots.items()}
        self._parsing_cache = None

    def _set_slot(self, key: str, value: Any) -> None:
        if key in self.slots:
            self.slot_values[key] = value
            if key in self._featurized_slots:
                self._parsing_cache = None

    def _set_latest_message(self, message: UserUttered) -> None:
        self.latest_message = message
        self._parsing_cache = None

    def get_slot(self, key: str) -> Any:
        return self.slot_values.get(key)

    def current_slot_values(self) -> dict[str, Any]:
        return dict(self.slot_values)

    @property
    def latest_bot_action(self) -> str | None:
        """The latest executed action other than ``action_listen``."""
        for name in reversed(self._action_history):
            if name != ACTION_LISTEN_NAME:
                return name
        return None

    def executed_action_names(self) -> list[str]:
        """Names of the applied executed actions, oldest first."""
        return list(self._action_history)

    # ------------------------------------------------------------------ events
    def update(self, event: Event, domain: Domain | None = None) -> None:
        """Append and apply an event; a user message with a domain also fills slots from entities (a
        ``SlotSet`` event follows the message for each entity whose slot the domain auto-fills)."""
        self.events.append(event)
        self._apply(event)
        if domain is not None and type(event) is UserUttered:
            fillable = domain.auto_fill_slots
            for entity in event.entities:
                if entity.get("entity") in fillable:
                    self.update(SlotSet(entity["entity"], entity.get("value")))
        if self.max_event_history is not None and len(self.events) > self.max_event_history:
            del self.events[: len(self.events) - self.max_event_history]

    def _apply(self, event: Event) -> None:
        """What an event does to the state (Rasa's ``Event.apply_to``)."""
        if isinstance(event, ActionExecuted):
            self.latest_action_name = event.action_name
            self._action_history.append(event.action_name)
        elif isinstance(event, SlotSet):
            self._set_slot(event.key, event.value)
        elif isinstance(event, UserUttered):
            self._set_latest_message(event)
        elif isinstance(event, Restarted):
            self._reset()
        elif isinstance(event, AllSlotsReset):
            self._reset_slots()
        elif isinstance(event, (ActionReverted, UserUtteranceReverted)):
            self._reset()
            self.replay_events()

    def applied_events(self) -> list[Event]:
        """The events that count, once restarts and reverts have taken their effect."""
        applied: list[Event] = []
        for event in self.events:
            if isinstance(event, Restarted):
                applied = []
            elif isinstance(event, ActionReverted):
                _undo_till_previous(ActionExecuted, applied)
            elif isinstance(event, UserUtteranceReverted):
                # a user message implies the action_listen before it: undo both
                _undo_till_previous(UserUttered, applied)
                _undo_till_previous(ActionExecuted, applied)
            else:
                applied.append(event)
        return applied

    def replay_events(self) -> None:
        """Rebuild the state from the applied events."""
        for event in self.applied_events():
            self._apply(event)

    def init_copy(self) -> DialogueStateTracker:
        return DialogueStateTracker(self.sender_id, list(self.slots.values()), self.max_event_history)

    def copy(self) -> DialogueStateTracker:
        clone = self.init_copy()
        clone.events = list(self.events)
        clone.slot_values = dict(self.slot_values)
        clone.latest_message = self.latest_message
        clone._parsing_cache = None
        clone.latest_action_name = self.latest_action_name
        clone._action_history = list(self._action_history)
        clone.is_augmented = self.is_augmented
        return clone

    def deep_copy(self) -> DialogueStateTracker:
        """An independent copy: events and slot values are copied too (slot definitions are shared)."""
        clone = self.copy()
        clone.events = [event.copy() for event in self.events]
        clone.slot_values = copy.deepcopy(self.slot_values)
        clone.latest_message = self.latest_message.copy()
        return clone

    def generate_all_prior_trackers(self) -> Iterator[DialogueStateTracker]:
        """A tracker as it was before each executed action, then the current one (shared, mutated)."""
        tracker = self.init_copy()
        for event in self.applied_events():
            if isinstance(event, ActionExecuted):
                yield tracker
            tracker.update(event)
        yield tracker

    # ------------------------------------------------------------------ states for the featurizers
    def parsing_state(self, domain: Domain, use_intent_probabilities: bool = False) -> State:
        """Features of the latest user message and of the slots (Rasa's ``get_parsing_states``).

        The result is cached until the message or a featurized slot changes, and shared: do not modify
        it (stepping an environment does not recompute it after every action).
        """
        cached = self._parsing_cache
        if cached is not None and cached[0] == id(domain) and cached[1] == use_intent_probabilities:
            return cached[2]
        state: State = {}
        message = self.latest_message
        intent = message.intent.get("name")
        if intent is not None:
            name = domain.intent_features.get(intent)
            if name is not None:
                state[name] = message.confidence if use_intent_probabilities else 1.0
        if message.entities:
            entity_features = domain.entity_features
            for entity in message.entities:
                name = entity_features.get(entity.get("entity"))  # type: ignore[arg-type]
                if name is not None:
                    state[name] = 1.0
        values = self.slot_values
        for slot_name, name in domain.text_slot_features:  # the commonest type: one feature, 1 once set
            if values.get(slot_name) is not None:
                state[name] = 1.0
        for slot, names in domain.other_slot_features:
            value = values.get(slot.name)
            if value is None:
                continue  # every slot type featurizes an unset value as zeros
            for name, feature in zip(names, slot.as_feature(value), strict=True):
                if feature != 0:
                    state[name] = feature
        self._parsing_cache = (id(domain), use_intent_probabilities, state)
        return state

    def prev_action_feature(self, domain: Domain) -> str | None:
        """The feature name of the latest executed action (``prev_<action>``), if any."""
        return domain.prev_action_features.get(self.latest_action_name)  # type: ignore[arg-type]

    def active_state(self, domain: Domain, use_intent_probabilities: bool = False) -> State:
        """The current state: message, slot and previous-action features (Rasa's ``get_active_states``)."""
        state = dict(self.parsing_state(domain, use_intent_probabilities))
        prev = self.prev_action_feature(domain)
        if prev is not None:
            state[prev] = 1.0
        return state

    def past_states(self, domain: Domain, use_intent_probabilities: bool = False) -> list[State]:
        """One state per executed action (the state the action was chosen in), plus the current state."""
        return [t.active_state(domain, use_intent_probabilities) for t in self.generate_all_prior_trackers()]

    # ------------------------------------------------------------------ persistence
    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form: sender, events and (for reading) the current slots."""
        return {
            "sender_id": self.sender_id,
            "slots": self.current_slot_values(),
            "latest_action_name": self.latest_action_name,
            "events": [e.as_dict() for e in self.events],
        }

    @classmethod
    def from_dict(cls, data: Any, domain: Domain) -> DialogueStateTracker:
        if not isinstance(data, dict) or "events" not in data:
            raise PersistenceError("a saved tracker needs 'sender_id' and 'events'")
        events = [event_from_dict(e) for e in data["events"]]
        return cls.from_events(str(data.get("sender_id", "default")), events, domain.slots)

    def __repr__(self) -> str:
        return (f"DialogueStateTracker(sender_id={self.sender_id!r}, events={len(self.events)}, "
                f"latest_action={self.latest_action_name!r})")


def _undo_till_previous(event_type: type, done_events: list[Event]) -> None:
    """Remove events from the end of ``done_events`` up to and including the last ``event_type``."""
    while done_events:
        event = done_events.pop()
        if isinstance(event, event_type):
            break

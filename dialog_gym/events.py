"""Dialogue events, as in Rasa Core: plain data. A tracker's state is the result of applying its events
in order (:meth:`dialog_gym.tracker.DialogueStateTracker.update` defines what each event does).

Each event has a story form (``as_story_string``) and a JSON form (``as_dict`` / :func:`event_from_dict`)
used by correction logs and saved trackers.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from dialog_gym.errors import PersistenceError


class Event:
    """Base class: something that happened in a dialogue."""

    type_name: ClassVar[str] = "event"

    def copy(self) -> Event:
        """A deep copy (what ``copy.deepcopy`` gives, without its slow path for slotted dataclasses)."""
        if not dataclasses.is_dataclass(self):
            return copy.deepcopy(self)
        return type(self)(*(copy.deepcopy(getattr(self, f.name)) for f in dataclasses.fields(self)))

    def as_story_string(self) -> str | None:
        return self.type_name

    def as_dict(self) -> dict[str, Any]:
        return {"event": self.type_name}


@dataclass(slots=True)
class UserUttered(Event):
    """The user said something; ``intent`` is ``{"name", "confidence"}``, entities ``[{"entity", "value"}]``."""

    text: str | None = None
    intent: dict = field(default_factory=lambda: {"name": None, "confidence": 0.0})
    entities: list = field(default_factory=list)
    type_name: ClassVar[str] = "user"

    @classmethod
    def with_intent(cls, name: str, entities: dict[str, Any] | None = None, confidence: float = 1.0,
                    text: str | None = None) -> UserUttered:
        ents = [{"entity": k, "value": v} for k, v in (entities or {}).items()]
        return cls(text=text, intent={"name": name, "confidence": float(confidence)}, entities=ents)

    @property
    def intent_name(self) -> str | None:
        return self.intent.get("name")

    @property
    def confidence(self) -> float:
        return float(self.intent.get("confidence", 1.0) or 0.0)

    def entity_dict(self) -> dict[str, Any]:
        return {e["entity"]: e.get("value") for e in self.entities}

    def copy(self) -> UserUttered:
        return UserUttered(self.text, copy.deepcopy(self.intent), copy.deepcopy(self.entities))

    def as_story_string(self) -> str:
        ents = self.entity_dict()
        body = json.dumps(ents, ensure_ascii=False) if ents else ""
        return f"{self.intent_name}{body}"

    def as_dict(self) -> dict[str, Any]:
        return {"event": self.type_name, "text": self.text, "intent": dict(self.intent),
                "entities": [dict(e) for e in self.entities]}


@dataclass(slots=True)
class ActionExecuted(Event):
    """The bot executed an action; ``policy`` and ``confidence`` say who chose it, if known."""

    action_name: str
    policy: str | None = None
    confidence: float | None = None
    type_name: ClassVar[str] = "action"

    def copy(self) -> ActionExecuted:
        return ActionExecuted(self.action_name, self.policy, self.confidence)  # immutable fields

    def as_story_string(self) -> str:
        return self.action_name

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.type_name, "name": self.action_name}
        if self.policy is not None:
            out["policy"] = self.policy
        if self.confidence is not None:
            out["confidence"] = self.confidence
        return out


@dataclass(slots=True)
class SlotSet(Event):
    key: str
    value: Any = None
    type_name: ClassVar[str] = "slot"

    def as_story_string(self) -> str:
        return f"slot{json.dumps({self.key: self.value}, ensure_ascii=False)}"

    def as_dict(self) -> dict[str, Any]:
        return {"event": self.type_name, "name": self.key, "value": self.value}


@dataclass(slots=True)
class Restarted(Event):
    """Everything before this event is forgotten (Rasa's ``action_restart``)."""

    type_name: ClassVar[str] = "restart"


@dataclass(slots=True)
class AllSlotsReset(Event):
    """Every slot back to its initial value."""

    type_name: ClassVar[str] = "reset_slots"


@dataclass(slots=True)
class ActionReverted(Event):
    """Undo everything back to, and including, the last executed action."""

    type_name: ClassVar[str] = "undo"


@dataclass(slots=True)
class UserUtteranceReverted(Event):
    """Undo the last user message and the action before it (usually its ``action_listen``)."""

    type_name: ClassVar[str] = "rewind"


_SIMPLE_EVENTS: dict[str, type[Event]] = {
    cls.type_name: cls for cls in (Restarted, AllSlotsReset, ActionReverted, UserUtteranceReverted)
}


def event_from_dict(data: Any) -> Event:
    """Rebuild an event from its :meth:`Event.as_dict` form; bad input raises ``PersistenceError``."""
    if not isinstance(data, dict) or "event" not in data:
        raise PersistenceError(f"not an event: {data!r}")
    kind = data["event"]
    try:
        if kind == "user":
            intent = data.get("intent") or {}
            return UserUttered(text=data.get("text"),
                               intent={"name": intent.get("name"),
                                       "confidence": float(intent.get("confidence", 1.0))},
                               entities=[{"entity": e["entity"], "value": e.get("value")}
                                         for e in data.get("entities") or []])
        if kind == "action":
            return ActionExecuted(data["name"], data.get("policy"), data.get("confidence"))
        if kind == "slot":
            return SlotSet(data["name"], data.get("value"))
        if kind in _SIMPLE_EVENTS:
            return _SIMPLE_EVENTS[kind]()
    except (KeyError, TypeError, ValueError) as exc:
        raise PersistenceError(f"malformed {kind!r} event {data!r}: {exc}") from None
    raise PersistenceError(f"unknown event type {kind!r}")


def story_event(name: str, params: Any) -> Event | None:
    """The non-action event a story line ``- name{params}`` stands for, or ``None`` for an action."""
    if name == "slot":
        if not isinstance(params, dict) or len(params) != 1:
            raise ValueError('a slot event needs exactly one slot, e.g. - slot{"cuisine": "italian"}')
        (key, value), = params.items()
        return SlotSet(key, value)
    if name in _SIMPLE_EVENTS:
        return _SIMPLE_EVENTS[name]()
    return None

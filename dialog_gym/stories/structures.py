"""The story graph: blocks (:class:`StoryStep`) of user turns (:class:`UserTurn`), bot actions and
events, joined by checkpoints (:class:`Checkpoint`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dialog_gym.errors import DomainError, StoryError
from dialog_gym.events import ActionExecuted, Event, UserUttered
from dialog_gym.tracker import DialogueStateTracker

if TYPE_CHECKING:
    from dialog_gym.domain import Domain


STORY_START = "STORY_START"


@dataclass(frozen=True)
class Checkpoint:
    name: str
    conditions: tuple[tuple[str, Any], ...] = ()

    def as_story_string(self) -> str:
        if not self.conditions:
            return self.name
        return self.name + json.dumps(dict(self.conditions), ensure_ascii=False)

    def matches(self, tracker: DialogueStateTracker) -> bool:
        return all(tracker.get_slot(k) == v for k, v in self.conditions)


@dataclass
class UserTurn:
    """A user turn of a story: one message, or several alternatives (``* a OR b``)."""

    alternatives: list[UserUttered]

    def as_story_string(self) -> str:
        return " OR ".join(m.as_story_string() for m in self.alternatives)


StoryItem = Event | UserTurn


@dataclass
class StoryStep:
    """A block of a story between checkpoints."""

    block_name: str
    start_checkpoints: list[Checkpoint] = field(default_factory=list)
    end_checkpoints: list[Checkpoint] = field(default_factory=list)
    items: list[StoryItem] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # source line of each item (0 if unknown)
    line: int = 0  # line of the '## name' header

    def starts_at_story_start(self) -> bool:
        return not self.start_checkpoints or any(c.name == STORY_START for c in self.start_checkpoints)

    def copy(self) -> StoryStep:
        return StoryStep(self.block_name, list(self.start_checkpoints), list(self.end_checkpoints),
                         list(self.items), list(self.lines), self.line)

    def __eq__(self, other: object) -> bool:  # line numbers are not part of a story's meaning
        if not isinstance(other, StoryStep):
            return NotImplemented
        return (self.block_name, self.start_checkpoints, self.end_checkpoints, self.items) == (
            other.block_name, other.start_checkpoints, other.end_checkpoints, other.items)


@dataclass
class StoryGraph:
    steps: list[StoryStep]
    source: str = "<stories>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoryGraph) and self.steps == other.steps

    def stats(self) -> dict[str, int]:
        """Counts for ``dialog-gym stories check``: blocks, stories, user turns, bot actions, checkpoints."""
        names = {s.block_name for s in self.steps}
        user_turns = sum(isinstance(i, UserTurn) for s in self.steps for i in s.items)
        actions = sum(isinstance(i, ActionExecuted) for s in self.steps for i in s.items)
        checkpoints = {c.name for s in self.steps for c in s.start_checkpoints + s.end_checkpoints
                       if c.name != STORY_START}
        events = sum(isinstance(i, Event) and not isinstance(i, ActionExecuted) for s in self.steps
                     for i in s.items)
        return {"stories": len(names), "blocks": len(self.steps), "user_turns": user_turns,
                "bot_actions": actions, "other_events": events, "checkpoints": len(checkpoints)}

    def warnings(self) -> list[str]:
        """Legal but suspicious stories: one that ends with a user message teaches, through the implicit
        final ``action_listen`` (Rasa's semantics), that the bot stays silent there -- which contradicts
        stories that answer the same message and makes memoization drop the state as ambiguous."""
        found = []
        for step in self.steps:
            if step.end_checkpoints or not step.items or not isinstance(step.items[-1], UserTurn):
                continue
            line = step.lines[len(step.items) - 1] if len(step.lines) >= len(step.items) else None
            where = f"{self.source}:{line}" if line else self.source
            found.append(f"{where}: story {step.block_name!r} ends with a user message "
                         f"({step.items[-1].as_story_string()}): trained as 'the bot listens here'")
        return found

    def validate(self, domain: Domain) -> None:
        """Raise ``StoryError`` (file and line) for an intent, entity or action the domain lacks."""
        for step in self.steps:
            for item, line in zip(step.items, step.lines, strict=False):
                try:
                    if isinstance(item, UserTurn):
                        for m in item.alternatives:
                            domain.validate_names(intents=[m.intent_name],
                                                  entities=[e["entity"] for e in m.entities])
                    elif isinstance(item, ActionExecuted):
                        domain.validate_names(actions=[item.action_name])
                except DomainError as exc:
                    msg = str(exc).split(": ", 1)[-1]
                    raise StoryError(f"story {step.block_name!r}: {msg}", self.source, line or None) from None

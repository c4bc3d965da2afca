"""Rasa Core markdown stories: reading, writing, and training-tracker generation.

Format (Rasa Core 0.7–0.14)::

    ## story name                      a block; a story is a path through blocks
    > checkpoint                       at the start: continue from blocks ending here
    * greet                            a user turn (action_listen is implied before it)
    * inform{"cuisine": "italian"}     with entities (they fill slots of the same name)
    * _inform[cuisine=italian]         the Rasa 0.7 form of the same
    * affirm OR thankyou               alternatives: the story branches
     - utter_ask_location              a bot action
     - slot{"cuisine": "italian"}      an event (slot, restart, reset_slots, undo, rewind)
    > checkpoint                       at the end: the story continues in blocks starting here
    <!-- comment -->

Malformed input raises :class:`~dialog_gym.errors.StoryError` with the file, the line and what was
expected; nothing is skipped silently. :func:`generate_trackers` walks the story graph as Rasa's
training-data generator does (checkpoints joined, ``* a OR b`` expanded, ``augmentation_factor``
stories glued end to start, duplicates removed).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dialog_gym.domain import ACTION_LISTEN_NAME
from dialog_gym.errors import DomainError, StoryError
from dialog_gym.events import (
    ActionExecuted,
    ActionReverted,
    Event,
    SlotSet,
    UserUttered,
    story_event,
)
from dialog_gym.tracker import DialogueStateTracker
from dialog_gym.utils import atomic_write, read_text

if TYPE_CHECKING:
    from dialog_gym.domain import Domain

STORY_START = "STORY_START"
_START_ID = "<story start>"

_NAME = r"[A-Za-z0-9_\-.:/]+"
_USER_NEW_RE = re.compile(rf"^(?P<intent>{_NAME})\s*(?P<json>\{{.*\}})?$")
_USER_OLD_RE = re.compile(rf"^_(?P<intent>{_NAME})(?:\[(?P<args>[^\]]*)\])?$")
_EVENT_RE = re.compile(rf"^(?P<name>{_NAME})\s*(?P<json>\{{.*\}})?$")
_CHECKPOINT_RE = re.compile(rf"^(?P<name>{_NAME})\s*(?P<json>\{{.*\}})?$")


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


# ---------------------------------------------------------------------------------------------- reading
def read_stories(path: str | os.PathLike) -> StoryGraph:
    """Parse a story file (or every ``*.md`` file of a folder, in name order)."""
    path = Path(path)
    if path.is_dir():
        steps: list[StoryStep] = []
        files = sorted(path.rglob("*.md"))
        if not files:
            raise StoryError("no *.md story files in this folder", str(path))
        for f in files:
            steps.extend(read_stories(f).steps)
        graph = StoryGraph(steps, str(path))
        _check_checkpoints(graph)
        return graph
    return parse_stories(read_text(path, StoryError, "story file"), str(path))


def parse_stories(text: str, source: str = "<string>") -> StoryGraph:
    """Parse story markdown held in a string; ``source`` names it in error messages."""
    builder = _StoryBuilder(source)
    in_comment = False
    comment_start = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw
        if in_comment:
            end = line.find("-->")
            if end < 0:
                continue
            line = line[end + 3:]
            in_comment = False
        line = re.sub(r"<!--.*?-->", "", line)
        start = line.find("<!--")
        if start >= 0:
            in_comment, comment_start = True, lineno
            line = line[:start]
        line = line.strip()
        if not line:
            continue
        builder.add_line(line, lineno)
    if in_comment:
        raise StoryError("unterminated comment: '<!--' without '-->'", source, comment_start)
    graph = builder.finish()
    _check_checkpoints(graph)
    return graph


class _StoryBuilder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.steps: list[StoryStep] = []
        self.current: StoryStep | None = None
        self.pending_start: list[Checkpoint] = []
        self.block_name: str | None = None
        self.block_line = 0

    def error(self, message: str, lineno: int) -> StoryError:
        return StoryError(message, self.source, lineno)

    def add_line(self, line: str, lineno: int) -> None:
        if line.startswith("##"):
            self._close_block()
            name = line[2:].strip()
            if not name:
                raise self.error("expected a story name after '##'", lineno)
            self.block_name, self.block_line = name, lineno
            return
        if line.startswith("#"):
            raise self.error(f"expected '## story name' (two '#'), got {line!r}", lineno)
        if self.block_name is None:
            raise self.error(f"expected '## story name' before the first story line, got {line!r}", lineno)
        if line.startswith(">"):
            self._checkpoint(line[1:].strip(), lineno)
        elif line.startswith("*"):
            self._user_turn(line[1:].strip(), lineno)
        elif line.startswith("-"):
            self._bot_event(line[1:].strip(), lineno)
        else:
            raise self.error(
                f"expected '* intent' (user), '- action' (bot), '> checkpoint' or '## story name', got {line!r}",
                lineno)

    def _checkpoint(self, body: str, lineno: int) -> None:
        match = _CHECKPOINT_RE.match(body)
        if not match:
            raise self.error(f"expected '> checkpoint_name' or '> name{{\"slot\": \"value\"}}', got {body!r}",
                             lineno)
        conditions: tuple = ()
        if match.group("json"):
            params = self._json(match.group("json"), lineno, "checkpoint conditions")
            conditions = tuple(params.items())
        checkpoint = Checkpoint(match.group("name"), conditions)
        if self.current is None or not self.current.items:
            target = self.current.start_checkpoints if self.current is not None else self.pending_start
            target.append(checkpoint)
        else:
            if conditions:
                raise self.error("only start checkpoints can have conditions", lineno)
            self.current.end_checkpoints.append(checkpoint)

    def _step_for_item(self, lineno: int) -> StoryStep:
        if self.current is not None and self.current.end_checkpoints:
            # an event after an end checkpoint starts a new step from that checkpoint
            previous = self.current
            self.steps.append(previous)
            self.current = StoryStep(self.block_name or "", start_checkpoints=list(previous.end_checkpoints),
                                     line=lineno)
        if self.current is None:
            self.current = StoryStep(self.block_name or "", start_checkpoints=self.pending_start, line=self.block_line)
            self.pending_start = []
        return self.current

    def _user_turn(self, body: str, lineno: int) -> None:
        if not body:
            raise self.error("expected an intent after '*'", lineno)
        messages = [self._user_message(part.strip(), lineno) for part in re.split(r"\s+OR\s+", body)]
        step = self._step_for_item(lineno)
        step.items.append(UserTurn(messages))
        step.lines.append(lineno)

    def _user_message(self, body: str, lineno: int) -> UserUttered:
        if body.startswith("_"):
            match = _USER_OLD_RE.match(body)
            if not match:
                raise self.error(f"expected '_intent[entity=value, ...]', got {body!r}", lineno)
            entities: dict[str, Any] = {}
            args = match.group("args")
            if args:
                for pair in args.split(","):
                    if "=" not in pair:
                        raise self.error(f"expected 'entity=value' inside [...], got {pair.strip()!r}", lineno)
                    key, value = (x.strip() for x in pair.split("=", 1))
                    if not key:
                        raise self.error(f"empty entity name in {body!r}", lineno)
                    entities[key] = value
            return UserUttered.with_intent(match.group("intent"), entities)
        match = _USER_NEW_RE.match(body)
        if not match:
            raise self.error(f"expected 'intent' or 'intent{{\"entity\": \"value\"}}', got {body!r}", lineno)
        entities = {}
        if match.group("json"):
            entities = self._json(match.group("json"), lineno, "entities")
        return UserUttered.with_intent(match.group("intent"), entities)

    def _bot_event(self, body: str, lineno: int) -> None:
        match = _EVENT_RE.match(body)
        if not match:
            raise self.error(f"expected '- action_name' or '- slot{{\"name\": value}}', got {body!r}", lineno)
        name = match.group("name")
        params = self._json(match.group("json"), lineno, "event parameters") if match.group("json") else None
        try:
            event = story_event(name, params)
        except ValueError as exc:
            raise self.error(str(exc), lineno) from None
        if event is None:
            if params:
                raise self.error(f"unexpected parameters after action {name!r}", lineno)
            event = ActionExecuted(name)
        step = self._step_for_item(lineno)
        step.items.append(event)
        step.lines.append(lineno)

    def _json(self, text: str, lineno: int, what: str) -> dict:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self.error(f"invalid JSON in {what}: {exc.msg} in {text!r}", lineno) from None
        if not isinstance(value, dict):
            raise self.error(f"expected a JSON object for {what}, got {text!r}", lineno)
        return value

    def _close_block(self) -> None:
        if self.current is not None:
            self.steps.append(self.current)
        elif self.block_name is not None:
            raise self.error(f"story {self.block_name!r} has no events", self.block_line)
        self.current = None
        self.pending_start = []

    def finish(self) -> StoryGraph:
        self._close_block()
        return StoryGraph(self.steps, self.source)


def _check_checkpoints(graph: StoryGraph) -> None:
    """Every start checkpoint must be reached by some end checkpoint, and vice versa."""
    ends = {c.name for s in graph.steps for c in s.end_checkpoints}
    starts = {c.name for s in graph.steps for c in s.start_checkpoints}
    for step in graph.steps:
        for c in step.start_checkpoints:
            if c.name != STORY_START and c.name not in ends:
                raise StoryError(f"story {step.block_name!r} starts at checkpoint {c.name!r}, "
                                 f"but no story ends with '> {c.name}'", graph.source, step.line or None)
        for c in step.end_checkpoints:
            if c.name not in starts:
                raise StoryError(f"story {step.block_name!r} ends at checkpoint {c.name!r}, "
                                 f"but no story starts with '> {c.name}'", graph.source, step.line or None)


# ---------------------------------------------------------------------------------------------- writing
def events_to_story(name: str, events: Iterable[Event], domain: Domain | None = None,
                    annotations: dict[int, str] | None = None) -> str:
    """One story in markdown from a tracker's events.

    Implied events are left out: the ``action_listen`` before each user turn and at the end, and the
    slot events that a user message's entities imply. With a ``domain``, slot events of unfeaturized
    slots are left out too (they change no state a policy sees). ``annotations`` maps an event index
    to a comment written after that line (``<!-- predicted: utter_x -->``).
    """
    events = list(events)
    unfeaturized = {s.name for s in domain.slots if not s.has_features()} if domain is not None else set()
    lines = [f"## {name}"]
    implied: dict[str, Any] = {}
    for i, event in enumerate(events):
        comment = f"   <!-- {annotations[i]} -->" if annotations and i in annotations else ""
        if isinstance(event, UserUttered):
            lines.append(f"* {event.as_story_string()}{comment}")
            implied = event.entity_dict()
            continue
        if isinstance(event, SlotSet):
            if implied.get(event.key, object()) == event.value:
                del implied[event.key]
                continue
            if event.key in unfeaturized:
                continue
        implied = {}
        if isinstance(event, ActionExecuted) and event.action_name == ACTION_LISTEN_NAME and not comment:
            nxt = events[i + 1] if i + 1 < len(events) else None
            if nxt is None or isinstance(nxt, UserUttered):
                continue
        text = event.as_story_string()
        if text is not None:
            lines.append(f" - {text}{comment}")
    return "\n".join(lines) + "\n"


def graph_to_string(graph: StoryGraph) -> str:
    """The markdown of a story graph (``read_stories(write) == graph``)."""
    blocks = []
    for step in graph.steps:
        lines = [f"## {step.block_name}"]
        lines += [f"> {c.as_story_string()}" for c in step.start_checkpoints if c.name != STORY_START]
        for item in step.items:
            if isinstance(item, UserTurn):
                lines.append(f"* {item.as_story_string()}")
            else:
                lines.append(f" - {item.as_story_string()}")
        lines += [f"> {c.as_story_string()}" for c in step.end_checkpoints]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def write_stories(path: str | os.PathLike, stories: Iterable[tuple[str, Sequence[Event]]] | StoryGraph,
                  domain: Domain | None = None, append: bool = False) -> Path:
    """Write stories (``(name, events)`` pairs, or a graph) to ``path``: atomically, or appended."""
    if isinstance(stories, StoryGraph):
        text = graph_to_string(stories)
    else:
        text = "\n".join(events_to_story(name, events, domain) for name, events in stories)
    path = Path(path)
    if append and path.exists():
        with open(path, "a", encoding="utf-8") as handle:
            handle.write("\n" + text)
            handle.flush()
            os.fsync(handle.fileno())
    else:
        with atomic_write(path) as handle:
            handle.write(text)
    return path


# ---------------------------------------------------------------------------------------------- generation
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

"""Reading Rasa markdown stories into a :class:`~dialog_gym.stories.structures.StoryGraph` (the format is
described in :mod:`dialog_gym.stories`); malformed input raises :class:`~dialog_gym.errors.StoryError`
with the file, the line and what was expected."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from dialog_gym.errors import StoryError
from dialog_gym.events import ActionExecuted, UserUttered, story_event
from dialog_gym.stories.structures import STORY_START, Checkpoint, StoryGraph, StoryStep, UserTurn
from dialog_gym.utils import read_text

_NAME = r"[A-Za-z0-9_\-.:/]+"
_USER_NEW_RE = re.compile(rf"^(?P<intent>{_NAME})\s*(?P<json>\{{.*\}})?$")
_USER_OLD_RE = re.compile(rf"^_(?P<intent>{_NAME})(?:\[(?P<args>[^\]]*)\])?$")
_EVENT_RE = re.compile(rf"^(?P<name>{_NAME})\s*(?P<json>\{{.*\}})?$")
_CHECKPOINT_RE = re.compile(rf"^(?P<name>{_NAME})\s*(?P<json>\{{.*\}})?$")


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

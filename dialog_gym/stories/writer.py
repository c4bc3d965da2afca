"""Writing stories as Rasa markdown: a tracker's events as one story, a story graph back to text, a
file written atomically (or appended)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dialog_gym.domain import ACTION_LISTEN_NAME
from dialog_gym.events import ActionExecuted, Event, SlotSet, UserUttered
from dialog_gym.stories.structures import STORY_START, StoryGraph, UserTurn
from dialog_gym.utils import atomic_write

if TYPE_CHECKING:
    from dialog_gym.domain import Domain


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

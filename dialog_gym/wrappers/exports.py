"""A correction session's dialogues as Rasa stories (the Minari export is
:mod:`dialog_gym.wrappers.minari_export`)."""

from __future__ import annotations

from collections.abc import Sequence

from dialog_gym.events import Event
from dialog_gym.wrappers.records import StepRecord


def session_stories(records: Sequence[StepRecord]) -> list[tuple[str, list[Event]]]:
    """``(name, events)`` of every dialogue with at least one confirmed step, in order: the events before
    the first step, then each step's."""
    by_dialogue: dict[int, list[StepRecord]] = {}
    for record in records:
        by_dialogue.setdefault(record.dialogue, []).append(record)
    stories = []
    for index, steps in sorted(by_dialogue.items()):
        events = list(steps[0].tracker.events)
        for record in steps:
            events.extend(record.events)
        stories.append((f"interactive_{index + 1:04d}", events))
    return stories

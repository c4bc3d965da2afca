"""The durable log of a correction session: JSON lines, appended, flushed and fsynced per record.

One record per line, each a small JSON object with a ``"type"``:

* ``header``: first line; format version, dialog_gym version, environment id and keyword arguments,
  session seed, beta, retraining schedule, a description of the learner, creation time.
* ``dialogue``: a dialogue starts; ``dialogue`` (index), ``seed`` (its reset seed), ``events`` (the
  opening events: the first listen, the user's greeting).
* ``step``: one confirmed bot action: ``dialogue``, ``step``, ``proposal`` (the learner's), ``label``
  (the teacher's action), ``action`` (the executed one), ``corrected`` (proposal != label),
  ``learner_acted`` (the learner's proposal was executed, DAgger's 1 - beta), ``reward``, ``events``
  (only the events this step added to the tracker: the log grows linearly with the dialogue).
* ``undo``: the last step of the current dialogue is taken back (``dialogue``, ``step``).
* ``end``: a dialogue is over: ``dialogue``, ``success``, ``reason`` (``"ended"``, ``"truncated"``,
  ``"reset"``), ``steps``, ``corrections``.
* ``retrain``: the learner was retrained on the steps confirmed so far (``examples``: their count).
* ``export``: the session was written as stories (``path``, ``dialogues``).

A record is on disk before the session goes on, so a session killed at any moment (even ``kill -9``)
loses no confirmed step. A last line cut short by the kill is ignored (and cut off) on resume.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from dialog_gym.errors import PersistenceError
from dialog_gym.events import Event, event_from_dict

LOG_FORMAT = 1
RECORD_TYPES = ("header", "dialogue", "step", "undo", "end", "retrain", "export")


class CorrectionLog:
    """An append-only JSON-lines file; :meth:`append` returns once the record is fsynced."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._handle: IO[str] | None = None

    def open(self, truncate_to: int | None = None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if truncate_to is not None and self.path.exists() and self.path.stat().st_size > truncate_to:
            with open(self.path, "r+b") as handle:  # drop a torn last line left by a killed process
                handle.truncate(truncate_to)
                handle.flush()
                os.fsync(handle.fileno())
        self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (kept open across appends)

    def append(self, record: dict[str, Any]) -> None:
        if self._handle is None:
            self.open()
        assert self._handle is not None
        self._handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


@dataclass
class LoggedStep:
    """A confirmed step as the log holds it."""

    dialogue: int
    step: int
    proposal: int
    label: int
    action: int
    corrected: bool
    learner_acted: bool
    reward: float
    events: list[Event]


@dataclass
class LoggedDialogue:
    """A dialogue as the log holds it, undone steps already taken out."""

    index: int
    seed: int | None
    opening: list[Event]
    steps: list[LoggedStep] = field(default_factory=list)
    end: dict[str, Any] | None = None  #: the ``end`` record; None while the dialogue is unfinished

    @property
    def events(self) -> list[Event]:
        """The dialogue's tracker events, rebuilt from the opening and the steps' deltas."""
        out = list(self.opening)
        for step in self.steps:
            out.extend(step.events)
        return out


@dataclass
class SessionLog:
    """Everything a log file holds, parsed."""

    header: dict[str, Any]
    dialogues: list[LoggedDialogue]
    records: list[dict[str, Any]]  #: every record, raw, in order
    valid_bytes: int  #: length of the file up to its last complete line


def read_log(path: str | os.PathLike) -> SessionLog:
    """Parse a session log; a torn last line (a killed writer) is ignored, any other damage raises
    :class:`PersistenceError` naming the line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PersistenceError(f"{path}: no such session log") from None
    records: list[dict[str, Any]] = []
    valid = 0
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, start=1):
        last = number == len(lines)
        if not raw.strip():
            if not last:
                valid += len(raw) + 1
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
            if not isinstance(record, dict) or record.get("type") not in RECORD_TYPES:
                raise ValueError(f"not a session record: {raw[:80]!r}")
        except (UnicodeDecodeError, ValueError) as exc:
            if last:  # written partly when the process died: never confirmed
                break
            raise PersistenceError(f"{path}:{number}: corrupt session log: {exc}") from None
        if last:  # no newline yet: the write was cut short, so the record was never confirmed
            break
        records.append(record)
        valid += len(raw) + 1
    return _parse(path, records, valid)


def _parse(path: Path, records: list[dict[str, Any]], valid: int) -> SessionLog:
    if not records or records[0].get("type") != "header":
        raise PersistenceError(f"{path}: not a session log (no header record)")
    if records[0].get("format") != LOG_FORMAT:
        raise PersistenceError(f"{path}: session log format {records[0].get('format')!r}, expected {LOG_FORMAT}")
    dialogues: list[LoggedDialogue] = []
    try:
        for number, rec in enumerate(records[1:], start=2):
            kind = rec["type"]
            where = f"{path}: record {number}"
            if kind == "dialogue":
                if dialogues and dialogues[-1].end is None:
                    raise PersistenceError(f"{where}: a dialogue starts before the previous one ended")
                dialogues.append(LoggedDialogue(int(rec["dialogue"]), rec.get("seed"),
                                                [event_from_dict(e) for e in rec.get("events", [])]))
                continue
            if kind in ("step", "undo", "end") and (not dialogues or dialogues[-1].end is not None
                                                    or int(rec["dialogue"]) != dialogues[-1].index):
                raise PersistenceError(f"{where}: {kind} record outside its dialogue")
            current = dialogues[-1] if dialogues else None
            if kind == "step":
                assert current is not None
                if int(rec["step"]) != len(current.steps):
                    raise PersistenceError(f"{where}: step {rec['step']} follows {len(current.steps)} steps")
                current.steps.append(LoggedStep(
                    int(rec["dialogue"]), int(rec["step"]), int(rec["proposal"]), int(rec["label"]),
                    int(rec["action"]), bool(rec["corrected"]), bool(rec.get("learner_acted", False)),
                    float(rec.get("reward", 0.0)), [event_from_dict(e) for e in rec.get("events", [])]))
            elif kind == "undo":
                assert current is not None
                if not current.steps or int(rec["step"]) != len(current.steps) - 1:
                    raise PersistenceError(f"{where}: undo of step {rec.get('step')} that is not the last")
                current.steps.pop()
            elif kind == "end":
                assert current is not None
                current.end = dict(rec)
    except (KeyError, TypeError, ValueError) as exc:
        raise PersistenceError(f"{path}: malformed session record: {exc}") from None
    return SessionLog(records[0], dialogues, records, valid)

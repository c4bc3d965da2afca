"""The contract between a correction session and its teacher: what the teacher sees, what it answers.

A teacher is anything that, shown the learner's proposal for the next bot action, accepts it, replaces
it, or steers the session (undo, reset, export, quit). The human at a terminal, the scripted rule expert
and a program's callback all implement :class:`Teacher`, so the session code has one path for all.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dialog_gym.domain import Domain
from dialog_gym.tracker import DialogueStateTracker


class Command(str, enum.Enum):
    """What a teacher can answer."""

    ACCEPT = "accept"  #: execute the learner's proposal
    CORRECT = "correct"  #: execute ``Decision.action`` instead (a correction, if it differs)
    UNDO = "undo"  #: take back the last executed bot action (and the user's reply to it)
    RESET = "reset"  #: abandon this dialogue and start a new one (the tutorial's reset action)
    EXPORT = "export"  #: write the session so far as Rasa stories, then ask again
    QUIT = "quit"  #: end the session (``Decision.export`` asks for an export first)


@dataclass(frozen=True)
class Decision:
    """A teacher's answer to one :class:`StepView`."""

    command: Command
    action: int | None = None  #: the action to execute, for ``CORRECT``
    export: bool = False  #: for ``QUIT``: export the session as stories before ending

    def __post_init__(self) -> None:
        if (self.command is Command.CORRECT) != (self.action is not None):
            raise ValueError("a CORRECT decision needs an action, and only a CORRECT decision takes one")

    @classmethod
    def accept(cls) -> Decision:
        return cls(Command.ACCEPT)

    @classmethod
    def correct(cls, action: int) -> Decision:
        return cls(Command.CORRECT, action=int(action))

    @classmethod
    def undo(cls) -> Decision:
        return cls(Command.UNDO)

    @classmethod
    def reset(cls) -> Decision:
        return cls(Command.RESET)

    @classmethod
    def export_stories(cls) -> Decision:
        return cls(Command.EXPORT)

    @classmethod
    def quit(cls, export: bool = False) -> Decision:
        return cls(Command.QUIT, export=export)


@dataclass(frozen=True)
class StepView:
    """Everything a teacher may look at before the next bot action."""

    domain: Domain
    tracker: DialogueStateTracker  #: the dialogue so far (a copy: changing it changes nothing)
    transcript: str  #: the dialogue as text, templates filled (``DialogueEnv.transcript()``)
    proposal: int  #: the learner's proposed action index
    probabilities: np.ndarray  #: the learner's distribution over all actions (masked ones at 0)
    action_mask: np.ndarray  #: int8, 1 where the action is allowed
    dialogue: int  #: index of the dialogue in the session, from 0
    step: int  #: index of the bot action in the dialogue, from 0
    user_confidence: float  #: NLU confidence of the user's latest message (1.0 before any)
    slots: dict[str, Any] = field(default_factory=dict)  #: the tracker's current slot values
    #: the name of each action (index = action; the env's ``action_names``); empty: the domain's actions
    action_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.action_names:
            object.__setattr__(self, "action_names", self.domain.action_names)

    def action_name(self, index: int) -> str:
        return self.action_names[index]

    def top_actions(self, k: int = 5) -> list[tuple[int, float]]:
        """The learner's ``k`` most probable allowed actions, best first (ties by index)."""
        order = sorted(range(len(self.probabilities)), key=lambda i: (-float(self.probabilities[i]), i))
        allowed = [i for i in order if self.action_mask[i]]
        return [(i, float(self.probabilities[i])) for i in allowed[:k]]


class Teacher:
    """Base class of teachers. Subclasses implement :meth:`decide`; the other hooks are optional."""

    def decide(self, view: StepView) -> Decision:
        raise NotImplementedError

    def notify(self, message: str) -> None:
        """A line from the session for the teacher (dialogue ended, retrained, exported to PATH, ...)."""

    def close(self) -> None:
        """The session is over."""


class CallbackTeacher(Teacher):
    """A teacher that is a function of the view: for programs, e.g. a web front end or a test."""

    def __init__(self, decide: Callable[[StepView], Decision],
                 notify: Callable[[str], None] | None = None) -> None:
        self._decide = decide
        self._notify = notify

    def decide(self, view: StepView) -> Decision:
        return self._decide(view)

    def notify(self, message: str) -> None:
        if self._notify is not None:
            self._notify(message)

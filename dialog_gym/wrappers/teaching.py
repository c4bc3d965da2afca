"""The contract between a correction session and its teacher: what the teacher sees, what it answers;
and the teachers that need no front end (:class:`CallbackTeacher`, :class:`ScriptedTeacher`).

A teacher is anything that, shown the learner's proposal for the next bot action, accepts it, replaces
it, or steers the session (undo, reset, export, quit). The human at a terminal (``agents.terminal``) or in
a browser (``agents.web``), the scripted rule expert and a program's callback all implement
:class:`Teacher`, so the correction loop has one path for all.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from dialog_gym.agent import sample_allowed
from dialog_gym.domain import Domain
from dialog_gym.experts import SlotFillingExpert
from dialog_gym.rollout import expert_choice
from dialog_gym.tracker import DialogueStateTracker

#: how ``transcript()`` appends what the NLU understood of a user line (with noise), for front ends
NLU_MARK = "    [NLU: "


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
    transcript: str  #: the dialogue as text, templates filled (``DialogueEnv.transcript()``; see NLU_MARK)
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

    def problem(self, action: int) -> str | None:
        """Why a correction to ``action`` cannot be executed here (None: it can); every front end and the
        correction loop refuse with these words."""
        n = len(self.action_mask)
        if not 0 <= action < n:
            return f"no action {action}: choose 0-{n - 1}"
        if not self.action_mask[action]:
            return f"{self.action_name(action)} is not allowed here; choose another action"
        return None

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


class ForcedSteps:
    """How a human teacher (the terminal, the web page) takes the steps where the mask allows one action
    only (``action_listen`` after an utterance): without asking, as there is nothing to choose; and an undo
    goes on back past them to the human's previous choice, or it would take back the forced step and take
    it again."""

    def __init__(self) -> None:
        self._undoing_from: tuple[int, int] | None = None  # (dialogue, step) where the human undid

    def decide(self, view: StepView) -> Decision | None:
        """The decision at a forced step (the one allowed action); None at a step the human answers."""
        allowed = np.flatnonzero(view.action_mask)
        if len(allowed) != 1:
            self._undoing_from = None
            return None
        if self._undoing_from is not None and (view.dialogue, view.step) < self._undoing_from:
            self._undoing_from = (view.dialogue, view.step)
            return Decision.undo()
        self._undoing_from = None
        only = int(allowed[0])  # a masked proposal (an outside agent's) is corrected to it
        return Decision.accept() if only == view.proposal else Decision.correct(only)

    def undone(self, view: StepView) -> None:
        """The human answered ``view`` with undo."""
        self._undoing_from = (view.dialogue, view.step)


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


class ScriptedTeacher(Teacher):
    """The environment's rule expert (:class:`~dialog_gym.experts.SlotFillingExpert`) as a teacher.

    It accepts the learner's proposal when it is the expert's action and corrects it otherwise. With
    ``error_rate`` e, each answer is, with probability e, a uniformly random allowed action instead
    (a careless human); the draws come from a generator seeded with ``seed``. It never undoes, resets,
    exports or quits; notifications are kept in :attr:`messages` (and echoed with ``echo=True``).
    """

    def __init__(self, env: gym.Env, error_rate: float = 0.0, seed: int = 0, echo: bool = False) -> None:
        if not 0.0 <= float(error_rate) <= 1.0:
            raise ValueError(f"error_rate must be in [0, 1], got {error_rate}")
        self.expert = SlotFillingExpert.for_env(env)
        self._choose = expert_choice(env, self.expert)  # summary-act envs: the expert's choice as an act
        self.error_rate = float(error_rate)
        self.rng = np.random.default_rng(seed)
        self.echo = echo
        self.messages: list[str] = []
        self.decisions = 0
        self.errors = 0

    def action_for(self, view: StepView) -> int:
        """The action this teacher wants in the view's state."""
        action = self._choose(view.tracker, view.action_mask)
        if self.error_rate > 0 and self.rng.random() < self.error_rate:
            action = sample_allowed(self.rng, view.action_mask)
            self.errors += 1
        return int(action)

    def decide(self, view: StepView) -> Decision:
        self.decisions += 1
        action = self.action_for(view)
        return Decision.accept() if action == view.proposal else Decision.correct(action)

    def notify(self, message: str) -> None:
        self.messages.append(message)
        if self.echo:
            print(message, flush=True)

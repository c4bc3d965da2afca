"""What a correction session records: one :class:`StepRecord` per confirmed step, one
:class:`DialogueOutcome` per finished dialogue (the data the learners, the log and the exports read),
and the :class:`SessionSummary` of a run."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dialog_gym.events import Event
from dialog_gym.tracker import DialogueStateTracker


@dataclass
class StepRecord:
    """One confirmed step: the state it was taken in and what the learner and the teacher did."""

    dialogue: int
    step: int
    observation: np.ndarray  #: the observation before the step
    tracker: DialogueStateTracker  #: the tracker before the step (a copy)
    action_mask: np.ndarray  #: int8 mask before the step
    proposal: int  #: the learner's proposed action
    label: int  #: the teacher's action (what the learner should have proposed)
    action: int  #: the executed action (the label, or the proposal when the learner acted)
    corrected: bool  #: the teacher's action differs from the proposal
    learner_acted: bool  #: DAgger: the learner's proposal was executed (probability 1 - beta)
    reward: float
    events: list[Event]  #: events the step added to the tracker
    terminated: bool = False
    truncated: bool = False
    probabilities: np.ndarray | None = None  #: the learner's masked distribution (None when replayed)
    next_observation: np.ndarray | None = None  #: the observation after the step


@dataclass
class DialogueOutcome:
    """How a dialogue of the session ended."""

    dialogue: int
    success: bool
    reason: str  #: "ended", "truncated" or "reset"
    steps: int
    corrections: int


@dataclass
class SessionSummary:
    """What a :meth:`CorrectionSession.run` did (resumed dialogues included)."""

    dialogues: int  #: finished dialogues (ended or reset), resumed ones included
    successes: int
    steps: int  #: confirmed steps
    corrections: int
    corrections_per_dialogue: list[int] = field(default_factory=list)
    success_per_dialogue: list[bool] = field(default_factory=list)
    retrains: int = 0
    resumed_dialogues: int = 0  #: finished dialogues read back from the log
    resumed_steps: int = 0  #: confirmed steps read back from the log
    quit: bool = False  #: the teacher quit
    exported: str | None = None  #: the stories file last written

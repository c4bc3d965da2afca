"""Wrappers around dialog_gym environments: human-in-the-loop correction (imitation learning).

* :mod:`~dialog_gym.wrappers.teaching`: the teacher contract (what a teacher sees and answers).
* :mod:`~dialog_gym.wrappers.correction`: :class:`HumanCorrectionWrapper` (alias :data:`ImitationWrapper`);
  its module docstring lists the modules of the correction loop (:class:`Learner` protocol, records,
  the teacher loop, :class:`CorrectionSession` with its durable log, resume, exports).
* :mod:`~dialog_gym.wrappers.scripted`: :class:`ScriptedTeacher`, the rule expert as a teacher.
* :mod:`~dialog_gym.wrappers.terminal`: :class:`TerminalTeacher`, the human at a terminal.
"""

from dialog_gym.seeds import dialogue_seed
from dialog_gym.wrappers.correction import HumanCorrectionWrapper, ImitationWrapper
from dialog_gym.wrappers.correction_log import CorrectionLog, SessionLog, read_log
from dialog_gym.wrappers.learner import Learner
from dialog_gym.wrappers.records import DialogueOutcome, SessionSummary, StepRecord
from dialog_gym.wrappers.scripted import ScriptedTeacher
from dialog_gym.wrappers.session import CorrectionSession
from dialog_gym.wrappers.teacher_loop import TeacherLoop
from dialog_gym.wrappers.teaching import CallbackTeacher, Command, Decision, StepView, Teacher
from dialog_gym.wrappers.terminal import TerminalTeacher

__all__ = [
    "CallbackTeacher",
    "Command",
    "CorrectionLog",
    "CorrectionSession",
    "Decision",
    "DialogueOutcome",
    "HumanCorrectionWrapper",
    "ImitationWrapper",
    "Learner",
    "ScriptedTeacher",
    "SessionLog",
    "SessionSummary",
    "StepRecord",
    "StepView",
    "Teacher",
    "TeacherLoop",
    "TerminalTeacher",
    "dialogue_seed",
    "read_log",
]

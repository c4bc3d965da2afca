"""Wrappers around dialog_gym environments: human-in-the-loop correction (imitation learning).

* :mod:`~dialog_gym.wrappers.teaching`: the teacher contract (what a teacher sees and answers), the
  callback teacher and :class:`ScriptedTeacher` (the rule expert as a teacher).
* :mod:`~dialog_gym.wrappers.correction`: :class:`HumanCorrectionWrapper`, whose ``step`` is the teacher
  loop (with the :class:`Learner` protocol and the :class:`StepRecord` of each confirmed step).
* :mod:`~dialog_gym.wrappers.session`: :class:`CorrectionSession`, the wrapper driven over dialogues with
  its durable log (:mod:`~dialog_gym.wrappers.correction_log`), resume and exports
  (:mod:`~dialog_gym.wrappers.minari_export` for Minari).

The human teachers are front ends outside the env package: ``agents.terminal.TerminalTeacher`` and the
web page of ``dialog-gym serve`` (``agents.web``).
"""

from dialog_gym.seeds import dialogue_seed
from dialog_gym.wrappers.correction import DialogueOutcome, HumanCorrectionWrapper, Learner, StepRecord
from dialog_gym.wrappers.correction_log import CorrectionLog, SessionLog, read_log
from dialog_gym.wrappers.session import CorrectionSession, SessionSummary
from dialog_gym.wrappers.teaching import CallbackTeacher, Command, Decision, ScriptedTeacher, StepView, Teacher

__all__ = [
    "CallbackTeacher",
    "Command",
    "CorrectionLog",
    "CorrectionSession",
    "Decision",
    "DialogueOutcome",
    "HumanCorrectionWrapper",
    "Learner",
    "ScriptedTeacher",
    "SessionLog",
    "SessionSummary",
    "StepRecord",
    "StepView",
    "Teacher",
    "dialogue_seed",
    "read_log",
]

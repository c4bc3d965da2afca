"""The teacher loop: one confirmed step of a correction session, asked of the teacher until it accepts or
corrects the proposal.

The teacher may also answer with a command: undo (take back the dialogue's last step and ask again),
export (call ``on_export`` and ask again), reset (abandon the dialogue) or quit (stop); the last two end
the step with ``truncated=True`` and ``info["teacher_command"]`` set ("reset" or "quit"; for quit,
``info["export"]``). A correction the environment does not allow is refused and asked again.

:class:`~dialog_gym.wrappers.session.CorrectionSession` owns a loop and drives it; a bare
:class:`~dialog_gym.wrappers.correction.HumanCorrectionWrapper` runs one of its own in ``step``. The loop
reads and moves the wrapper only through the methods of :class:`CorrectionSteps`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from dialog_gym.errors import DialogGymError
from dialog_gym.wrappers.teaching import Command, StepView, Teacher

StepResult = tuple[np.ndarray, float, bool, bool, dict[str, Any]]


class CorrectionSteps(Protocol):
    """What the loop needs from the correction wrapper."""

    @property
    def active(self) -> bool: ...

    def propose(self, action: Any = None) -> tuple[np.ndarray, int]: ...

    def view(self, proposal: int, probabilities: np.ndarray) -> StepView: ...

    def check_action(self, action: int) -> str | None: ...

    def confirm(self, proposal: int, label: int, probabilities: np.ndarray) -> StepResult: ...

    def undo(self) -> bool: ...

    def abandon_dialogue(self) -> None: ...

    def idle_result(self, extra: dict[str, Any]) -> StepResult: ...

    def notify(self, message: str) -> None: ...


class TeacherLoop:
    """Asks ``teacher`` about each step of ``wrapper`` (see the module docstring)."""

    def __init__(self, wrapper: CorrectionSteps, teacher: Teacher,
                 on_export: Callable[[], Any] | None = None) -> None:
        self.wrapper = wrapper
        self.teacher = teacher
        self.on_export = on_export

    def step(self, action: Any = None) -> StepResult:
        """One confirmed step: ``action`` is an outside agent's proposal, or ``None`` for the learner's."""
        wrapper = self.wrapper
        if not wrapper.active:
            raise DialogGymError("no dialogue under way: call reset() first")
        while True:
            probabilities, proposal = wrapper.propose(action)
            decision = self.teacher.decide(wrapper.view(proposal, probabilities))
            command = decision.command
            if command is Command.ACCEPT:
                label = proposal
            elif command is Command.CORRECT:
                label = int(decision.action)  # type: ignore[arg-type]
                problem = wrapper.check_action(label)
                if problem:
                    wrapper.notify(problem)
                    continue
            elif command is Command.UNDO:
                wrapper.undo()
                continue
            elif command is Command.EXPORT:
                if self.on_export is None:
                    wrapper.notify("export is not available here")
                else:
                    self.on_export()
                continue
            elif command is Command.RESET:
                wrapper.abandon_dialogue()
                return wrapper.idle_result({"teacher_command": "reset"})
            elif command is Command.QUIT:
                return wrapper.idle_result({"teacher_command": "quit", "export": decision.export})
            else:  # pragma: no cover - the enum is closed
                raise DialogGymError(f"unknown teacher command {command!r}")
            return wrapper.confirm(proposal, label, probabilities)

"""The one place that patches stable-baselines3's private members on a model (SB3 is pinned below its next
major in ``pyproject.toml``; ``tests/test_sb3_adapter.py`` checks that each member used here still exists and
still works in the installed SB3). :mod:`agents.maskable_dqn`, a new algorithm, subclasses SB3's DQN and
overrides its hooks as sb3-contrib's algorithms do; its own tests cover them.

* :func:`drive_progress`: SB3's training progress (``1 - done / budget``, which drives DQN's epsilon and every
  learning-rate or clip-range schedule) from our own count. With a dialogue budget the number of timesteps
  is unknown in advance, so ``learn`` is called in chunks with an open-ended ``total_timesteps``; SB3's own
  progress would then stay at 1.0 and schedules would never decay. SB3 recomputes the progress through one
  method, :data:`PROGRESS_HOOK`, on on- and off-policy algorithms alike, so the instance's copy is replaced;
  nothing of it is saved (agents are saved as state dicts).
* :func:`training_logger`: the model's logger once ``learn`` has set it up (``model.logger`` raises before).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: the private method SB3's ``BaseAlgorithm`` calls to update ``_current_progress_remaining``
PROGRESS_HOOK = "_update_current_progress_remaining"
#: the attribute it sets, read by the schedules
PROGRESS_ATTRIBUTE = "_current_progress_remaining"
#: where ``BaseAlgorithm`` keeps its logger (unset until ``learn``)
LOGGER_ATTRIBUTE = "_logger"


def drive_progress(model: Any, remaining: Callable[[], float]) -> None:
    """Make ``model``'s training progress ``remaining()`` (1.0 at the start, 0.0 at the end of the budget),
    whenever SB3 updates it."""

    def update(num_timesteps: int, total_timesteps: int) -> None:
        setattr(model, PROGRESS_ATTRIBUTE, min(1.0, max(0.0, remaining())))

    setattr(model, PROGRESS_HOOK, update)


def training_logger(model: Any) -> Any:
    """``model``'s SB3 logger, or None before the first ``learn``."""
    return getattr(model, LOGGER_ATTRIBUTE, None)

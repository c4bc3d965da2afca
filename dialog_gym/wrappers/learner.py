"""The learner of a correction session: the agent contract's ranking plus learning from the recorded steps.

The learner is duck-typed: ``dialog_gym`` never imports ``agents``; the adapters for the supervised
policy and stable-baselines3 models live in ``agents.learners``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from dialog_gym.agent import Ranker
from dialog_gym.wrappers.records import StepRecord


@runtime_checkable
class Learner(Ranker, Protocol):
    """What the wrapper needs from a learner (any ``agents`` policy through an adapter).

    ``action_probabilities(observation, info)`` is the agent contract's ranking
    (:class:`dialog_gym.agent.Ranker`): one probability per action of the domain for the environment's
    current state, given the observation and info of the last reset or step, with ``info["tracker"]``
    (the wrapper masks and
    renormalises them). ``learn`` is called with the steps recorded since the last retraining (``new``)
    and all steps of the session (``aggregate``, DAgger's data set); each step's ``label`` is the
    teacher's action for its state.
    """

    def learn(self, new: Sequence[StepRecord], aggregate: Sequence[StepRecord]) -> None:
        ...

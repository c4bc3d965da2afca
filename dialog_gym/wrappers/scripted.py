"""The scripted teacher: the rule expert answers every proposal, optionally with a seeded error rate."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from dialog_gym.agent import sample_allowed
from dialog_gym.experts import SlotFillingExpert
from dialog_gym.rollout import expert_choice
from dialog_gym.wrappers.teaching import Decision, StepView, Teacher


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

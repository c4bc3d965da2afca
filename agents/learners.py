"""Learner adapters for the correction wrapper (:class:`dialog_gym.wrappers.Learner`).

* :class:`SupervisedLearner`: the Rasa-style supervised policy; each retraining is its online
  ``continue_training`` on the new teacher-labelled states (plus a sample of old ones), which goes on
  until the new labels are predicted (a correction takes effect at once). An untrained policy is
  trained from scratch on everything recorded so far. Online updates use a learning rate of 0.005
  (five times the offline default): at 0.001, 200 epochs on one dialogue's 25 states left 60% of them
  wrong, and an update sometimes stopped at its epoch limit with a correction still unlearned.
* :class:`SB3Learner`: a stable-baselines3 model (e.g. MaskablePPO's policy network); each retraining
  is behaviour cloning (cross-entropy gradient steps) on all recorded observations and labels, DAgger's
  aggregated data set, repeated until the new labels are predicted (or a round limit).

Both read the teacher's label of a step, not the executed action, so they also learn from DAgger
steps where the learner acted (``beta < 1``). Both follow the agent contract (:mod:`dialog_gym.agent`):
``learner(obs, info)`` acts greedily among the allowed actions and
``learner.action_probabilities(obs, info)`` ranks them (the supervised one reads
``info["tracker"]``), so the same object is the session's learner
and the agent that is evaluated alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from agents.supervised import FitOptions, SupervisedPolicy
from dialog_gym.agent import greedy_allowed, tracker_of
from dialog_gym.domain import Domain
from dialog_gym.errors import DialogGymError
from dialog_gym.featurizers import MaxHistoryTrackerFeaturizer, TrainingData
from dialog_gym.wrappers.correction import StepRecord


class SupervisedLearner:
    """A :class:`~agents.supervised.SupervisedPolicy` (max-history featurizer) as a correction learner."""

    def __init__(self, policy: SupervisedPolicy, domain: Domain, first_epochs: int = 200, continue_epochs: int = 5,
                 max_epochs: int = 300, learning_rate: float = 0.005, old_sample: int | None = None) -> None:
        if not isinstance(policy.featurizer, MaxHistoryTrackerFeaturizer):
            raise DialogGymError("the correction learner needs a max-history supervised policy")
        self.policy = policy
        self.domain = domain
        self.first_epochs = int(first_epochs)
        self.continue_epochs = int(continue_epochs)
        self.max_epochs = int(max_epochs)
        self.learning_rate = float(learning_rate)
        self.old_sample = old_sample  # earlier examples mixed into an update (None: four per new one)
        self.source = "untrained"

    @property
    def trained(self) -> bool:
        return self.policy.model is not None

    def action_probabilities(self, observation: np.ndarray, info: Mapping[str, Any]) -> np.ndarray:
        """The policy's probabilities for ``info["tracker"]`` (uniform until the first training)."""
        if not self.trained:
            return np.full(self.domain.num_actions, 1.0 / self.domain.num_actions)
        return self.policy.predict_action_probabilities(tracker_of(info), self.domain)

    def __call__(self, observation: np.ndarray, info: Mapping[str, Any]) -> int:
        """The greedy allowed action (the learner alone, as evaluated)."""
        return greedy_allowed(self.action_probabilities(observation, info), info["action_mask"])

    def examples(self, records: Sequence[StepRecord]) -> TrainingData:
        """The featurized state of each step, labelled with the teacher's action."""
        n = self.domain.num_actions
        X = np.concatenate([self.policy.featurizer.create_X([r.tracker], self.domain) for r in records])
        y = np.zeros((len(records), n), dtype=np.float32)
        y[np.arange(len(records)), [r.label for r in records]] = 1.0
        return TrainingData(X, y)

    def learn(self, new: Sequence[StepRecord], aggregate: Sequence[StepRecord]) -> None:
        if not aggregate:
            return
        if not self.trained:
            options = FitOptions(epochs=self.first_epochs, validation_split=0.0, learning_rate=self.learning_rate)
            self.policy.fit(self.examples(aggregate), self.domain, options)
            return
        if new:
            self.policy.fit(self.examples(new), self.domain,
                            FitOptions(epochs=self.continue_epochs, max_epochs=self.max_epochs,
                                       learning_rate=self.learning_rate, old_sample=self.old_sample), online=True)

    def describe(self) -> dict[str, Any]:
        featurizer = self.policy.featurizer  # a max-history one (checked in __init__)
        max_history = featurizer.max_history if isinstance(featurizer, MaxHistoryTrackerFeaturizer) else None
        return {"learner": "supervised", "start": self.source, "max_history": max_history, "seed": self.policy.seed}


class SB3Learner:
    """A stable-baselines3 model as a correction learner (behaviour cloning on the aggregated steps)."""

    def __init__(self, model: Any, epochs: int = 20, max_rounds: int = 10, batch_size: int = 64,
                 learning_rate: float = 1e-3, seed: int = 0) -> None:
        from agents.rl import SB3Agent

        self.model = model
        self.agent = SB3Agent(model)
        self.epochs = int(epochs)
        self.max_rounds = int(max_rounds)
        self.batch_size = int(batch_size)
        self.learning_rate = float(learning_rate)
        self.seed = int(seed)
        self.source = "untrained"
        self.rounds = 0

    def action_probabilities(self, observation: np.ndarray, info: Mapping[str, Any]) -> np.ndarray:
        """The model's distribution at ``observation``, masked by ``info["action_mask"]``."""
        return self.agent.action_probabilities(observation, info)

    def __call__(self, observation: np.ndarray, info: Mapping[str, Any]) -> int:
        """The greedy allowed action (the learner alone, as evaluated)."""
        return greedy_allowed(self.action_probabilities(observation, info), info["action_mask"])

    def _masked_argmax(self, obs: np.ndarray, masks: np.ndarray) -> np.ndarray:
        return np.array([greedy_allowed(self.agent.action_probabilities(o, {"action_mask": m}), m)
                         for o, m in zip(obs, masks, strict=True)])

    def learn(self, new: Sequence[StepRecord], aggregate: Sequence[StepRecord]) -> None:
        from agents.warm_start import Demonstrations, behaviour_clone

        if not aggregate:
            return
        obs = np.stack([r.observation for r in aggregate]).astype(np.float32)
        labels = np.asarray([r.label for r in aggregate], np.int64)
        masks = np.stack([np.asarray(r.action_mask, bool) for r in aggregate])
        demos = Demonstrations(obs, labels, np.zeros(len(labels), np.float32), masks, 0)
        n_new = len(new)
        for _ in range(self.max_rounds):
            behaviour_clone(self.model, demos, epochs=self.epochs, batch_size=self.batch_size,
                            learning_rate=self.learning_rate, value_pretraining=False, seed=self.seed + self.rounds)
            self.rounds += 1
            if not n_new or (self._masked_argmax(obs[-n_new:], masks[-n_new:]) == labels[-n_new:]).all():
                break

    def describe(self) -> dict[str, Any]:
        return {"learner": "sb3", "algo": type(self.model).__name__, "start": self.source, "seed": self.seed}

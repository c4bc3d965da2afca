"""The fallback policy (Rasa Core 0.11-0.14): a fallback action when NLU or the other policies are unsure.

In an ensemble, :class:`FallbackPolicy` predicts

* ``action_listen`` with confidence 1.0 right after its fallback action (wait for the user);
* its fallback action with confidence 1.0 when the latest user message's NLU confidence is below
  ``nlu_threshold`` and the bot is listening (the last action was ``action_listen``);
* otherwise its fallback action with confidence ``core_threshold``: it wins only when no other policy
  is more confident than ``core_threshold`` (on equal confidence the higher-priority policy wins; the
  fallback's default priority is the highest, as in Rasa 1.x).

Its default fallback action is ``utter_default``, the template Rasa's ``action_default_fallback``
utters; in dialog_gym's noisy environments ``utter_ask_rephrase`` is the natural choice.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.policy import Policy
from dialog_gym.domain import ACTION_LISTEN_NAME, Domain
from dialog_gym.featurizers import TrackerFeaturizer
from dialog_gym.tracker import DialogueStateTracker

FALLBACK_PRIORITY = 4


class FallbackPolicy(Policy):
    """Predicts ``fallback_action_name`` when the NLU confidence is below ``nlu_threshold`` (with
    confidence 1.0) or as a default with confidence ``core_threshold``. Needs no training."""

    name = "fallback"

    def __init__(self, featurizer: TrackerFeaturizer | None = None, priority: int = FALLBACK_PRIORITY,
                 nlu_threshold: float = 0.3, core_threshold: float = 0.3,
                 fallback_action_name: str = "utter_default") -> None:
        super().__init__(featurizer, priority)
        for label, value in (("nlu_threshold", nlu_threshold), ("core_threshold", core_threshold)):
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{label} must be within 0..1, got {value}")
        self.nlu_threshold = float(nlu_threshold)
        self.core_threshold = float(core_threshold)
        self.fallback_action_name = fallback_action_name

    def train(self, trackers: Any, domain: Domain, **kwargs: Any) -> None:
        """Nothing to learn (checks that the fallback action exists)."""
        domain.index_for_action(self.fallback_action_name)
        super().train(trackers, domain)

    def continue_training(self, trackers: Any, domain: Domain, **kwargs: Any) -> None:
        """Nothing to learn."""

    def should_nlu_fallback(self, tracker: DialogueStateTracker) -> bool:
        """The bot is listening and the latest user message was understood with low confidence."""
        return (tracker.latest_action_name == ACTION_LISTEN_NAME
                and tracker.latest_message.confidence < self.nlu_threshold)

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain) -> np.ndarray:
        result = np.zeros(domain.num_actions)
        if tracker.latest_action_name == self.fallback_action_name:
            result[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        elif self.should_nlu_fallback(tracker):
            result[domain.index_for_action(self.fallback_action_name)] = 1.0
        else:
            result[domain.index_for_action(self.fallback_action_name)] = self.core_threshold
        return result

    def config(self) -> dict[str, Any]:
        return {**super().config(), "nlu_threshold": self.nlu_threshold, "core_threshold": self.core_threshold,
                "fallback_action_name": self.fallback_action_name}

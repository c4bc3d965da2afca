"""The rule policy (the bAbI restaurant bot's flow, :class:`dialog_gym.experts.SlotFillingExpert`) and a
uniformly random policy, as Rasa-style policies."""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.policy import Policy
from dialog_gym.agent import sample_allowed
from dialog_gym.domain import Domain
from dialog_gym.experts import SlotFillingExpert
from dialog_gym.roles import ActionRoles
from dialog_gym.tracker import DialogueStateTracker
from dialog_gym.utils import one_hot


class RulePolicy(Policy):
    """The handcrafted expert: full confidence in the bAbI flow's next action (mask-aware when given
    the environment's mask). Needs no training; works with any domain using the bAbI action names
    (or the given role ``bindings``)."""

    name = "rule"

    def __init__(self, featurizer: Any = None, priority: int = 1, bindings: dict | None = None,
                 fillers: bool = True) -> None:
        super().__init__(featurizer, priority)
        self.bindings = bindings or {}
        self.fillers = fillers
        self._experts: dict[int, SlotFillingExpert] = {}

    def _expert(self, domain: Domain) -> SlotFillingExpert:
        expert = self._experts.get(id(domain))
        if expert is None:
            roles = ActionRoles.bind(domain, self.bindings, where="RulePolicy bindings")
            expert = self._experts[id(domain)] = SlotFillingExpert(domain, roles, fillers=self.fillers)
        return expert

    def train(self, trackers: Any, domain: Domain, **kwargs: Any) -> None:
        """Nothing to learn."""

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain) -> np.ndarray:
        return self.predict_masked(tracker, domain)

    def predict_masked(self, tracker: DialogueStateTracker, domain: Domain,
                       action_mask: np.ndarray | None = None) -> np.ndarray:
        """Full confidence in the expert's first preference the mask allows."""
        return one_hot(self._expert(domain).next_action(tracker, action_mask), domain.num_actions)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "bindings": self.bindings, "fillers": self.fillers}


class RandomPolicy(Policy):
    """Uniform over the actions (restricted to the mask when given): the difficulty baseline."""

    name = "random"

    def __init__(self, featurizer: Any = None, priority: int = 0, seed: int = 0) -> None:
        super().__init__(featurizer, priority)
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def train(self, trackers: Any, domain: Domain, **kwargs: Any) -> None:
        """Nothing to learn."""

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain) -> np.ndarray:
        return self.predict_masked(tracker, domain)

    def predict_masked(self, tracker: DialogueStateTracker, domain: Domain,
                       action_mask: np.ndarray | None = None) -> np.ndarray:
        """Uniform over the allowed actions, one of them (drawn uniformly) a little more likely."""
        allowed = np.ones(domain.num_actions) if action_mask is None else (np.asarray(action_mask) > 0) * 1.0
        # a random tie-break: one allowed action gets a little more, so argmax picks it uniformly
        probs = allowed / allowed.sum()
        choice = sample_allowed(self.rng, allowed)
        probs = probs * 0.5
        probs[choice] += 0.5
        return probs

    def config(self) -> dict[str, Any]:
        return {**super().config(), "seed": self.seed}

"""A policy ensemble (Rasa Core's ``SimplePolicyEnsemble``): every policy predicts, the most confident wins.

The winner is the policy whose highest probability is largest; on equal confidence the policy with the
higher ``priority`` wins (Rasa 0.14), and on equal priority the earlier one (Rasa 0.13).
:meth:`PolicyEnsemble.predict` also says which policy decided, as ``policy_<i>_<ClassName>``.

The ensemble is itself a :class:`~agents.policy.Policy`, so :class:`~agents.policy.PolicyAgent` runs it
and it persists as a folder: its own ``policy.json`` plus one sub-folder per member (``0_memoization``,
``1_supervised``, ...), listed in ``ensemble.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agents.policy import Policy
from dialog_gym.domain import Domain
from dialog_gym.errors import PersistenceError
from dialog_gym.featurizers import TrackerFeaturizer
from dialog_gym.tracker import DialogueStateTracker
from dialog_gym.utils import write_json

MEMBERS_FILE = "ensemble.json"


class PolicyEnsemble(Policy):
    """Several policies acting as one: the most confident prediction wins (see the module docstring)."""

    name = "ensemble"

    def __init__(self, policies: Sequence[Policy] = (), featurizer: TrackerFeaturizer | None = None,
                 priority: int = 1) -> None:
        super().__init__(featurizer, priority)
        self.policies: list[Policy] = list(policies)
        self.last_policy_name: str | None = None

    def policy_name(self, index: int) -> str:
        """How :meth:`predict` names the member ``index``: ``policy_<i>_<ClassName>``, as Rasa does."""
        return f"policy_{index}_{type(self.policies[index]).__name__}"

    # ------------------------------------------------------------------ training
    def train(self, trackers: Sequence[DialogueStateTracker], domain: Domain, **kwargs: Any) -> None:
        """Train every member on the same trackers (each takes the keyword arguments it knows)."""
        super().train(trackers, domain)
        for policy in self.policies:
            policy.train(trackers, domain, **kwargs)

    def continue_training(self, trackers: Sequence[DialogueStateTracker], domain: Domain,
                          **kwargs: Any) -> None:
        """Online update of every member."""
        if self.domain_fingerprint is None:
            self.domain_fingerprint = domain.fingerprint()
        for policy in self.policies:
            policy.continue_training(trackers, domain, **kwargs)

    # ------------------------------------------------------------------ prediction
    def predict(self, tracker: DialogueStateTracker, domain: Domain,
                action_mask: np.ndarray | None = None) -> tuple[np.ndarray, str]:
        """The winning member's probabilities and its name (``policy_<i>_<ClassName>``)."""
        if not self.policies:
            raise ValueError("the ensemble has no policies")
        best: tuple[float, int] | None = None
        result: np.ndarray | None = None
        winner = 0
        for i, policy in enumerate(self.policies):
            probabilities = np.asarray(policy.predict_masked(tracker, domain, action_mask), dtype=np.float64)
            score = (float(probabilities.max()) if probabilities.size else 0.0, policy.priority)
            if best is None or score > best:  # strictly better: ties keep the earlier policy
                best, result, winner = score, probabilities, i
        assert result is not None
        self.last_policy_name = self.policy_name(winner)
        return result, self.last_policy_name

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain) -> np.ndarray:
        """The winning member's probabilities (:attr:`last_policy_name` says which member it was)."""
        return self.predict(tracker, domain)[0]

    def predict_masked(self, tracker: DialogueStateTracker, domain: Domain,
                       action_mask: np.ndarray | None = None) -> np.ndarray:
        """The winning member's probabilities, every member given the mask."""
        return self.predict(tracker, domain, action_mask)[0]

    # ------------------------------------------------------------------ persistence
    def check_domain(self, domain: Domain) -> None:
        super().check_domain(domain)
        for policy in self.policies:
            policy.check_domain(domain)

    def _persist_files(self, folder: Path) -> None:
        members = [f"{i}_{policy.name}" for i, policy in enumerate(self.policies)]
        for sub, policy in zip(members, self.policies, strict=True):
            policy.persist(folder / sub)
        write_json(folder / MEMBERS_FILE, {"policies": members})

    def _load_files(self, folder: Path) -> None:
        path = folder / MEMBERS_FILE
        try:
            members = json.loads(path.read_text(encoding="utf-8"))["policies"]
        except FileNotFoundError:
            raise PersistenceError(f"{path}: not found") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise PersistenceError(f"{path}: cannot read the list of member policies: {exc}") from None
        if not isinstance(members, list) or not all(isinstance(m, str) and "/" not in m and ".." not in m
                                                    for m in members):
            raise PersistenceError(f"{path}: 'policies' must be a list of sub-folder names")
        self.policies = [Policy.load(folder / member) for member in members]

    def __repr__(self) -> str:
        return f"PolicyEnsemble({self.policies!r})"


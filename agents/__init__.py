"""Agents for dialog_gym: Rasa Core's policies, RL through stable-baselines3, evaluation, the CLI.

Depends on ``dialog_gym``; ``dialog_gym`` never imports this package. Importing it registers every
built-in policy type, so :meth:`Policy.load` finds them (the supervised one, which needs torch, is
imported on first use).
"""

from typing import Any

from agents.ensemble import PolicyEnsemble
from agents.fallback import FallbackPolicy
from agents.memoization import AugmentedMemoizationPolicy, MemoizationPolicy
from agents.policy import Policy, PolicyAgent, policy_classes, register_policy_loader
from agents.rule import RandomPolicy, RulePolicy

__all__ = [
    "AugmentedMemoizationPolicy",
    "FallbackPolicy",
    "MemoizationPolicy",
    "Policy",
    "PolicyAgent",
    "PolicyEnsemble",
    "RandomPolicy",
    "RulePolicy",
    "SupervisedPolicy",
    "policy_classes",
]


def _import_supervised() -> object:
    from agents import supervised

    return supervised


register_policy_loader("supervised", _import_supervised)


def __getattr__(name: str) -> Any:
    # the supervised policy imports torch: only when asked for
    if name == "SupervisedPolicy":
        return getattr(_import_supervised(), name)
    raise AttributeError(f"module 'agents' has no attribute {name!r}")

"""Agents for dialog_gym: Rasa Core's policies, RL through stable-baselines3, evaluation, the CLI.

Depends on ``dialog_gym``; ``dialog_gym`` never imports this package.
"""

from agents.policy import Policy, PolicyAgent, policy_classes
from agents.rule import RandomPolicy, RulePolicy

__all__ = ["Policy", "PolicyAgent", "RandomPolicy", "RulePolicy", "policy_classes"]

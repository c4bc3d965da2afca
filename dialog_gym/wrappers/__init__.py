"""Wrappers around dialog_gym environments: human-in-the-loop correction (imitation learning)."""

from dialog_gym.wrappers.teaching import CallbackTeacher, Command, Decision, StepView, Teacher

__all__ = ["CallbackTeacher", "Command", "Decision", "StepView", "Teacher"]

"""Simulated users: profiles (YAML), the agenda-style customer, and the NLU error model."""

from dialog_gym.users.agenda import BotTurn, SimulatedUser, UserAct
from dialog_gym.users.nlu_noise import NoiseConfig, NoiseModel
from dialog_gym.users.profile import Distribution, UserProfile

__all__ = ["BotTurn", "Distribution", "NoiseConfig", "NoiseModel", "SimulatedUser", "UserAct", "UserProfile"]

"""The agent contract: how anything that chooses a bot action is called, everywhere in the project.

One convention for every kind of agent (Rasa policies through ``agents.PolicyAgent``, stable-baselines3
models through ``agents.SB3Agent``, the rule expert, a random agent, a plain function), in the spirit of
stable-baselines3's ``PolicyPredictor`` that ``evaluate_policy`` accepts from any agent:

* **acting**: ``agent(observation, info, env) -> int`` (positional arguments), called with what the
  environment's last ``reset``/``step`` returned and the environment itself (agents that read the
  dialogue state use ``dialog_gym.envs.dialogue_env_of(env).tracker``; others ignore ``env``).
  :func:`dialog_gym.rollout.run_episode`, the simulated evaluation, the benchmark and the correction loop all
  call agents this way.
* **ranking**: ``agent.action_probabilities(observation, info, env) -> ndarray``, one probability per
  action (the correction loop proposes from it and shows the teacher the ranking). :class:`Ranker`.
* **the mask**: it reaches an agent only as ``info["action_mask"]`` (int8, 1 = allowed), the value the
  environment puts there. A Rasa-style policy gets it from ``PolicyAgent`` through
  ``Policy.predict_masked(tracker, domain, action_mask)``, whose default ignores it and calls Rasa's
  ``predict_action_probabilities(tracker, domain)`` unchanged; ``PolicyAgent`` then restricts the
  probabilities to the allowed actions.

Two helpers every agent uses to pick among allowed actions live here too, so ``dialog_gym`` (the random
agent, the scripted teacher) and ``agents`` share one implementation: :func:`greedy_allowed` and
:func:`sample_allowed`. ``dialog_gym`` never imports ``agents``; this module is where they meet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import gymnasium as gym

__all__ = ["Agent", "Ranker", "action_mask", "greedy_allowed", "sample_allowed"]


@runtime_checkable
class Agent(Protocol):
    """Chooses the bot's next action: ``agent(observation, info, env) -> int`` (see the module docstring)."""

    def __call__(self, observation: np.ndarray, info: Mapping[str, Any], env: gym.Env, /) -> int:
        ...


@runtime_checkable
class Ranker(Protocol):
    """Ranks the actions: one probability per action for the environment's current state (masked or not;
    the caller restricts them to ``info["action_mask"]``)."""

    def action_probabilities(self, observation: np.ndarray, info: Mapping[str, Any], env: gym.Env, /
                             ) -> np.ndarray:
        ...


def action_mask(info: Mapping[str, Any]) -> np.ndarray | None:
    """The mask an agent must respect: ``info["action_mask"]`` (None when the step gave none)."""
    mask = info.get("action_mask")
    return None if mask is None else np.asarray(mask)


def greedy_allowed(probabilities: np.ndarray, mask: np.ndarray) -> int:
    """The most probable action the mask allows; the first allowed one if the policy gives none of them
    any probability (e.g. memoization on an unseen state)."""
    allowed = np.asarray(mask) > 0
    probs = np.asarray(probabilities, dtype=np.float64) * allowed
    return int(np.argmax(probs)) if probs.sum() > 0 else int(np.flatnonzero(allowed)[0])


def sample_allowed(rng: np.random.Generator, mask: np.ndarray) -> int:
    """A uniformly random action among those the mask allows (nonzero entries; one ``rng.integers`` draw)."""
    allowed = np.flatnonzero(mask)
    return int(allowed[rng.integers(len(allowed))])

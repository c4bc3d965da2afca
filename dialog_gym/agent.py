"""The agent contract: how anything that chooses a bot action is called, everywhere in the project.

One convention for every kind of agent (Rasa policies through ``agents.PolicyAgent``, stable-baselines3
models through ``agents.SB3Agent``, the rule experts, a random agent, a plain function), in the spirit of
stable-baselines3's ``PolicyPredictor`` that ``evaluate_policy`` accepts from any agent:

* **acting**: ``agent(observation, info) -> int`` (positional arguments), called with what the
  environment's last ``reset``/``step`` returned, and nothing else: no environment object, so agents run
  over a Gymnasium vector env, in another process, or on recorded steps.
  :func:`dialog_gym.rollout.run_dialogues`, the simulated evaluation, the benchmark and the correction loop
  all call agents this way.
* **ranking**: ``agent.action_probabilities(observation, info) -> ndarray``, one probability per action
  (the correction loop proposes from it and shows the teacher the ranking). :class:`Ranker`.
* **the mask**: it reaches an agent only as ``info["action_mask"]`` (int8, 1 = allowed), the value the
  environment puts there. A Rasa-style policy gets it from ``PolicyAgent`` through
  ``Policy.predict_masked(tracker, domain, action_mask)``, whose default ignores it and calls Rasa's
  ``predict_action_probabilities(tracker, domain)`` unchanged; ``PolicyAgent`` then restricts the
  probabilities to the allowed actions.
* **the dialogue state**, for agents that read it instead of the observation (Rasa policies, the rule
  experts): opt in with ``gym.make(env_id, info_tracker=True)``, and every info holds ``info["tracker"]``
  (a copy of the env's :class:`~dialog_gym.tracker.DialogueStateTracker`) and, on PyDial's tasks,
  ``info["belief"]`` (the focus belief's state). :func:`tracker_of` reads it with a clear error when the
  env was made without it. What never changes during a dialogue (the domain, the actions' names, a
  PyDial task's ontology) an agent takes from the env when it is made, as an SB3 model takes its spaces.
* **per-dialogue state** (optional): an agent with ``reset(seed)`` (:class:`Resettable`, e.g. the random
  agent's generator) is told each dialogue's reset seed before its first action, so a dialogue's actions
  do not depend on which dialogues ran before it (``--n-envs K`` gives the same dialogues as one env).
* **batches** (optional): an agent with ``act_batch(observations, infos)`` (:class:`BatchAgent`, e.g. an
  SB3 model: one ``predict`` on the stacked observations) is called once per vector step.

Two helpers every agent uses to pick among allowed actions live here too, so ``dialog_gym`` (the random
agent, the scripted teacher) and ``agents`` share one implementation: :func:`greedy_allowed` and
:func:`sample_allowed`. ``dialog_gym`` never imports ``agents``; this module is where they meet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from dialog_gym.errors import DialogGymError

if TYPE_CHECKING:
    from dialog_gym.tracker import DialogueStateTracker

__all__ = ["Agent", "BatchAgent", "Ranker", "Resettable", "action_mask", "greedy_allowed", "sample_allowed",
           "tracker_of"]


@runtime_checkable
class Agent(Protocol):
    """Chooses the bot's next action: ``agent(observation, info) -> int`` (see the module docstring)."""

    def __call__(self, observation: np.ndarray, info: Mapping[str, Any], /) -> int:
        ...


@runtime_checkable
class Ranker(Protocol):
    """Ranks the actions: one probability per action for the state of ``observation``/``info`` (masked or
    not; the caller restricts them to ``info["action_mask"]``)."""

    def action_probabilities(self, observation: np.ndarray, info: Mapping[str, Any], /) -> np.ndarray:
        ...


@runtime_checkable
class Resettable(Protocol):
    """An agent with per-dialogue state: ``reset(seed)`` before each dialogue's first action, with the
    dialogue's reset seed (None for an unseeded dialogue)."""

    def reset(self, seed: int | None, /) -> None:
        ...


@runtime_checkable
class BatchAgent(Protocol):
    """An agent that acts on a batch: ``act_batch(observations, infos)`` -> one action per row, the same
    actions ``agent(observations[i], infos[i])`` would give."""

    def act_batch(self, observations: np.ndarray, infos: Sequence[Mapping[str, Any]], /) -> np.ndarray:
        ...


def tracker_of(info: Mapping[str, Any]) -> DialogueStateTracker:
    """``info["tracker"]``, or the package's error saying how to get it (``info_tracker=True``)."""
    tracker = info.get("tracker")
    if tracker is None:
        raise DialogGymError("this agent reads the dialogue state: make the environment with "
                             "gym.make(..., info_tracker=True) so that info holds 'tracker'")
    return tracker


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

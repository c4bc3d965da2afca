"""Snapshots of a dialogue environment's state, so that a teacher's *undo* restores it exactly.

A snapshot holds everything a step can change: the tracker, the dialogue progress, the simulated user,
the environment's random generator, the observation window and the counters. The configuration
(domain, table, featurizer, spaces, user profile) is shared, not copied, so a snapshot costs about a
millisecond. Restoring one makes the environment behave as if the undone steps had never happened:
the same observation, the same tracker events and the same next user reply.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

# attributes of DialogueEnv that never change after construction: shared between env and snapshots
_STATIC = ("domain", "roles", "kb", "reward_config", "config", "featurizer", "observation_space", "action_space",
           "masker", "noise", "spec", "metadata", "render_mode", "_intent_name", "_role_of", "_listen_index",
           "_goal_slot_set", "_matches_slot", "_noiseless", "max_steps")
# the observation buffer and the featurizer window (a view into it) are restored in place
_IN_PLACE = ("_window", "_obs_buffer")


@dataclass
class EnvSnapshot:
    """The mutable state of a dialog_gym environment (and of its wrappers' step counters)."""

    state: dict[str, Any]
    obs_buffer: np.ndarray
    wrapper_steps: list[tuple[gym.Env, int]]


def _shared_memo(base: Any) -> dict[int, Any]:
    memo: dict[int, Any] = {}
    for name in _STATIC:
        if name in base.__dict__:
            value = base.__dict__[name]
            memo[id(value)] = value
    user = base.__dict__.get("user")
    if user is not None:
        for name in ("profile", "kb", "_nlg", "_slot_phrases"):
            if hasattr(user, name):
                value = getattr(user, name)
                memo[id(value)] = value
    tracker = base.__dict__.get("tracker")
    if tracker is not None:
        for slot in tracker.slots.values():  # slot specs; their values live in tracker.slot_values
            memo[id(slot)] = slot
    return memo


def take_snapshot(env: gym.Env) -> EnvSnapshot:
    """The state of ``env`` (any wrapper chain around a dialog_gym environment) at this moment."""
    base = env.unwrapped
    memo = _shared_memo(base)
    state = {k: copy.deepcopy(v, memo) for k, v in base.__dict__.items() if k not in _STATIC and k not in _IN_PLACE}
    wrappers: list[tuple[gym.Env, int]] = []
    layer = env
    while isinstance(layer, gym.Wrapper):
        if hasattr(layer, "_elapsed_steps"):
            wrappers.append((layer, int(layer._elapsed_steps)))
        layer = layer.env
    return EnvSnapshot(state, base._obs_buffer.copy(), wrappers)


def restore_snapshot(env: gym.Env, snapshot: EnvSnapshot) -> None:
    """Put ``env`` back in the state of ``snapshot`` (which stays usable for another restore)."""
    base = env.unwrapped
    memo = _shared_memo(base)
    for key in [k for k in base.__dict__ if k not in _STATIC and k not in _IN_PLACE and k not in snapshot.state]:
        del base.__dict__[key]
    for key, value in snapshot.state.items():
        base.__dict__[key] = copy.deepcopy(value, memo)
    base._obs_buffer[...] = snapshot.obs_buffer  # the window is a view into this buffer
    if hasattr(base._window, "_last_parsing"):
        base._window._last_parsing = None
    for layer, steps in snapshot.wrapper_steps:
        layer._elapsed_steps = steps


def current_observation(env: gym.Env) -> np.ndarray:
    """The observation of the environment's current state (what the last ``step`` returned)."""
    return env.unwrapped._obs()

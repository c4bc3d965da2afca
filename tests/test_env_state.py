"""The public environment state: get_state() / set_state() restore a dialogue exactly."""

from __future__ import annotations

import json
import pickle

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dialog_gym
from dialog_gym.envs.state import DialogueEnvState
from dialog_gym.errors import DialogGymError
from tests.golden_trajectories import canonical

ENV_IDS = dialog_gym.env_ids()


def _run(env, choices, masked, first=None):
    """Step ``env`` with ``choices`` (indices into the allowed actions when ``masked``), resetting (without
    a seed) at episode ends; returns every result as canonical JSON, and the transcript at the end."""
    out = []
    info = first if first is not None else env.unwrapped.get_state().info
    n = env.action_space.n
    for c in choices:
        if masked:
            allowed = np.flatnonzero(info["action_mask"])
            action = int(allowed[c % len(allowed)])
        else:
            action = c % n
        obs, reward, terminated, truncated, info = env.step(action)
        out.append(json.dumps(canonical([obs, reward, terminated, truncated, info]), sort_keys=True))
        if terminated or truncated:
            obs, info = env.reset()
            out.append(json.dumps(canonical(["reset", obs, info]), sort_keys=True))
    return out, env.render()


@settings(max_examples=30, deadline=None)
@given(env_id=st.sampled_from(ENV_IDS), seed=st.integers(0, 2**31 - 1), masked=st.booleans(),
       prefix=st.lists(st.integers(0, 10**6), max_size=80), suffix=st.lists(st.integers(0, 10**6), max_size=80))
def test_a_restored_state_replays_the_same_future(env_id, seed, masked, prefix, suffix):
    env = gym.make(env_id, render_mode="ansi")
    _, info = env.reset(seed=seed)
    _run(env, prefix, masked, info)
    state = env.unwrapped.get_state()
    expected, transcript = _run(env, suffix, masked)

    # the same environment, after it went on
    env.unwrapped.set_state(state)
    assert _run(env, suffix, masked) == (expected, transcript)
    # again from the same state (set_state copies it), in a separately made environment reset elsewhere
    other = gym.make(env_id, render_mode="ansi")
    other.reset(seed=seed + 1)
    other.unwrapped.set_state(state)
    assert _run(other, suffix, masked) == (expected, transcript)
    # in a pickled copy of an environment, with a pickled copy of the state
    copy = pickle.loads(pickle.dumps(other))
    copy.unwrapped.set_state(pickle.loads(pickle.dumps(state)))
    assert _run(copy, suffix, masked) == (expected, transcript)


def test_state_holds_the_current_observation_info_and_counters():
    env = gym.make("dialog_gym/Restaurant-Env3-v0")
    obs, info = env.reset(seed=3)
    state = env.unwrapped.get_state()
    assert np.array_equal(state.observation, obs) and state.observation is not obs
    assert json.dumps(canonical(state.info)) == json.dumps(canonical(info))
    assert state.steps == 0 and state.bot_actions == 0 and not state.terminal
    howcanhelp = env.unwrapped.roles.index("ask_howcanhelp")
    obs, _, _, _, info = env.step(howcanhelp)
    obs, _, _, _, info = env.step(0)  # listen: the user informs
    state = env.unwrapped.get_state()
    assert (state.steps, state.bot_actions, state.info["turn"]) == (2, 1, 1)
    assert np.array_equal(state.observation, obs) and np.array_equal(state.mask, info["action_mask"])
    assert state.observation[-1] == np.float32(info["nlu_confidence"])
    assert state.tracker.events == env.unwrapped.tracker.events
    assert state.tracker.events is not env.unwrapped.tracker.events
    assert state.user["goal"] == info["goal"]


def test_a_state_is_a_copy_the_environment_does_not_change():
    env = gym.make("dialog_gym/Restaurant-v0")
    env.reset(seed=0)
    state = env.unwrapped.get_state()
    events, goal = list(state.tracker.events), dict(state.user["goal"])
    rng_state = json.dumps(state.rng_state)
    done = False
    info = state.info
    while not done:
        allowed = np.flatnonzero(info["action_mask"])
        _, _, terminated, truncated, info = env.step(int(allowed[-1]))
        done = terminated or truncated
    assert state.tracker.events == events and len(env.unwrapped.tracker.events) > len(events)
    assert state.user["goal"] == goal and json.dumps(state.rng_state) == rng_state and state.steps == 0


def test_a_terminal_state_restores_a_finished_dialogue():
    env = gym.make("dialog_gym/Restaurant-Env2-v0")  # masks off: goodbye at once ends the dialogue
    env.reset(seed=0)
    _, reward, terminated, _, _ = env.step(env.unwrapped.roles.index("goodbye"))
    assert terminated and reward == -41.0
    state = env.unwrapped.get_state()
    assert state.terminal and not state.info["success"]
    env.reset(seed=1)
    env.unwrapped.set_state(state)
    with pytest.raises(DialogGymError, match="has ended"):
        env.step(0)


def test_state_errors():
    env = gym.make("dialog_gym/Restaurant-v0")
    with pytest.raises(DialogGymError, match="reset"):
        env.unwrapped.get_state()
    env.reset(seed=0)
    with pytest.raises(DialogGymError, match="DialogueEnvState"):
        env.unwrapped.set_state({"steps": 0})
    noisy = gym.make("dialog_gym/Restaurant-Env3-v0")
    noisy.reset(seed=0)
    with pytest.raises(DialogGymError, match="configured differently"):
        env.unwrapped.set_state(noisy.unwrapped.get_state())
    other_reward = gym.make("dialog_gym/Restaurant-v0", reward={"failure": -50})
    other_reward.reset(seed=0)
    with pytest.raises(DialogGymError, match="configured differently"):
        env.unwrapped.set_state(other_reward.unwrapped.get_state())
    # the same options under another id: the same configuration
    same = gym.make("dialog_gym/Restaurant-Env1-v0")
    same.unwrapped.set_state(env.unwrapped.get_state())
    assert isinstance(same.unwrapped.get_state(), DialogueEnvState)

"""Every registered environment: the checkers, determinism, pickling, vector envs, render modes,
properties under random actions, masks, and the observation/featurizer identity."""

from __future__ import annotations

import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import dialog_gym
from dialog_gym.errors import ConfigError, DialogGymError
from dialog_gym.featurizers import MaxHistoryTrackerFeaturizer

ENV_IDS = dialog_gym.env_ids()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_checkers_pass_without_warnings(env_id, capsys):
    env = gym.make(env_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
        sb3_check_env(env.unwrapped, warn=True)
    assert [str(w.message) for w in caught] == []


def rollout(env, seed, n_steps=200, action_seed=0):
    """Mask-respecting random actions for ``n_steps`` steps (resetting at episode ends); a list of
    (obs, reward, terminated, truncated, success) records, with reward None after a reset."""
    rng = np.random.default_rng(action_seed)
    obs, info = env.reset(seed=seed)
    trace = [(obs.copy(), None, False, False, False)]
    for _ in range(n_steps):
        allowed = np.flatnonzero(info["action_mask"])
        obs, reward, terminated, truncated, info = env.step(int(rng.choice(allowed)))
        trace.append((obs.copy(), reward, terminated, truncated, info["success"]))
        if terminated or truncated:
            obs, info = env.reset()
            trace.append((obs.copy(), None, False, False, False))
    return trace


def same(a, b):
    return len(a) == len(b) and all(
        np.array_equal(x[0], y[0]) and x[1:] == y[1:] for x, y in zip(a, b, strict=True))


def episode_return(env, seed, rng):
    """One episode of mask-respecting random actions: (success, return)."""
    _, info = env.reset(seed=seed)
    total = 0.0
    while True:
        _, reward, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        total += reward
        if terminated or truncated:
            return info["success"], total


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_seeded_rollouts_are_identical_and_envs_pickle(env_id):
    a, b = gym.make(env_id), gym.make(env_id)
    assert same(rollout(a, 7), rollout(b, 7))
    assert not same(rollout(a, 7), rollout(b, 8))
    # an env pickled mid-dialogue continues exactly as the original
    env = gym.make(env_id)
    env.reset(seed=3)
    env.step(int(np.flatnonzero(env.unwrapped.action_masks())[0]))
    clone = pickle.loads(pickle.dumps(env))
    assert same(rollout(env, None, 50), rollout(clone, None, 50))


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_make_vec(mode):
    envs = gym.make_vec("dialog_gym/Restaurant-v0", num_envs=2, vectorization_mode=mode)
    obs, info = envs.reset(seed=0)
    assert obs.shape == (2, *envs.single_observation_space.shape)
    masks = info["action_mask"]
    actions = np.array([np.flatnonzero(m)[0] for m in masks])
    obs, rewards, *_ = envs.step(actions)
    assert rewards.shape == (2,)
    envs.close()


def test_render_modes(capsys):
    env = gym.make("dialog_gym/Restaurant-Env3-v0", render_mode="ansi")
    env.reset(seed=0)
    env.step(env.unwrapped.roles.index("ask_howcanhelp"))
    env.step(0)
    text = env.render()
    assert text.splitlines()[0].startswith("USER: ") and "NLU:" in text
    assert "BOT:  how can I help you today?" in text
    human = gym.make("dialog_gym/Restaurant-v0", render_mode="human")
    human.reset(seed=0)
    human.step(human.unwrapped.roles.index("ask_howcanhelp"))
    assert "how can I help" in capsys.readouterr().out
    with pytest.raises(DialogGymError), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gymnasium warns before the env refuses
        gym.make("dialog_gym/Restaurant-v0", render_mode="rgb_array")


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_every_id_renders_its_transcript(env_id, capsys):
    env = gym.make(env_id, render_mode="ansi")
    _, info = env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(15):
        _, _, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        if terminated or truncated:
            break
    text = env.render()
    lines = text.splitlines()
    assert lines[0].startswith("USER: ") and any(line.startswith("BOT: ") for line in lines)  # the bot spoke too
    human = gym.make(env_id, render_mode="human")
    human.reset(seed=0)
    assert human.render() is None
    assert capsys.readouterr().out.startswith("USER: ")


@settings(max_examples=40, deadline=None)
@given(env_index=st.integers(0, len(ENV_IDS) - 1), seed=st.integers(0, 2**31 - 1),
       actions=st.lists(st.integers(0, 63), min_size=1, max_size=120), masked=st.booleans())
def test_random_actions_never_break_the_env(env_index, seed, actions, masked):
    env = gym.make(ENV_IDS[env_index])
    base = env.unwrapped
    obs, info = env.reset(seed=seed)
    steps = 0
    for a in actions:
        mask = info["action_mask"]
        assert mask.dtype == np.int8 and mask.any(), "some action must always be allowed"
        assert np.array_equal(base.action_masks(), mask.astype(bool))
        a %= env.action_space.n
        if masked:
            allowed = np.flatnonzero(mask)
            a = int(allowed[a % len(allowed)])
        else:
            a %= env.action_space.n
        obs, reward, terminated, truncated, info = env.step(a)
        steps += 1
        assert env.observation_space.contains(obs)
        assert np.isfinite(reward)
        assert type(terminated) is bool and type(truncated) is bool
        assert info["steps"] == steps <= base.max_steps
        if terminated or truncated:
            assert steps <= base.max_steps
            obs, info = env.reset()
            steps = 0


def test_invalid_action_is_a_penalised_no_op():
    env = gym.make("dialog_gym/Restaurant-v0")
    obs, info = env.reset(seed=0)
    listen = env.unwrapped.roles.index("listen")
    assert info["action_mask"][listen] == 0  # nothing was asked yet
    events = list(env.unwrapped.tracker.events)
    obs2, reward, terminated, truncated, info2 = env.step(listen)
    assert info2["invalid_action"] and reward == env.unwrapped.reward_config.invalid_action
    assert np.array_equal(obs, obs2) and env.unwrapped.tracker.events == events
    assert not terminated and not truncated


def test_masks_off_allow_everything_and_step_limit_truncates_with_penalty():
    env = gym.make("dialog_gym/Restaurant-Env2-v0", max_steps=12)
    _, info = env.reset(seed=1)
    assert info["action_mask"].all()
    slot_ask = env.unwrapped.roles.ask_index["cuisine"]
    total, truncated, steps = 0.0, False, 0
    while not truncated:  # asking the same question again and again; the user gives up or we truncate
        _, reward, terminated, truncated, info = env.step(slot_ask if steps % 2 == 0 else 0)
        total += reward
        steps += 1
        if terminated:
            break
    assert not info["success"] and total <= env.unwrapped.reward_config.failure


@pytest.mark.parametrize("env_id", ["dialog_gym/Restaurant-v0", "dialog_gym/Restaurant-Env6-v0"])
def test_observation_is_the_featurizer_output_plus_confidence(env_id):
    env = gym.make(env_id)
    base = env.unwrapped
    featurizer = MaxHistoryTrackerFeaturizer(max_history=base.config.max_history)
    obs, info = env.reset(seed=11)
    rng = np.random.default_rng(0)
    for _ in range(40):
        expected = featurizer.create_X([base.tracker], base.domain)[0].reshape(-1)
        np.testing.assert_array_equal(obs[:-1], expected)
        assert obs[-1] == pytest.approx(info["nlu_confidence"])
        obs, _, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        if terminated or truncated:
            break


def test_every_success_outscores_every_failure():
    returns = {True: [], False: []}
    for env_id in ("dialog_gym/Restaurant-v0", "dialog_gym/Restaurant-Env4-v0", "dialog_gym/Hotel-v0"):
        env = gym.make(env_id)
        rng = np.random.default_rng(0)
        for ep in range(300):
            success, total = episode_return(env, ep, rng)
            returns[success].append(total)
    assert returns[True] and returns[False]
    assert min(returns[True]) > max(returns[False])


def test_make_keyword_overrides_and_bad_settings():
    env = gym.make("dialog_gym/Restaurant-v0", noise=0.3, user="unfriendly", max_history=5,
                   reward={"failure": -50})
    base = env.unwrapped
    assert base.config.noise.error_rate == 0.3 and base.config.profile.name == "unfriendly"
    assert env.observation_space.shape == (5 * base.domain.num_states + 1,)
    assert base.reward_config.failure == -50 and base.reward_config.success == 20
    with pytest.raises(ConfigError, match="unknown key"):
        gym.make("dialog_gym/Restaurant-v0", colour="red")
    with pytest.raises(ConfigError, match="error_rate"):
        gym.make("dialog_gym/Restaurant-v0", noise=1.5)
    with pytest.raises(ConfigError, match="reward"):
        gym.make("dialog_gym/Restaurant-v0", reward={"failure": -5})  # a failure would beat a slow success
    with pytest.raises(ConfigError, match=r"no_such_profile\.yml: file not found"):
        gym.make("dialog_gym/Restaurant-v0", user="no_such_profile.yml")


def test_step_before_reset_and_after_end():
    env = dialog_gym.DialogueEnv()
    with pytest.raises(DialogGymError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    env.step(env.roles.index("goodbye"))  # masked: a no-op
    env2 = dialog_gym.DialogueEnv(masks=False)
    env2.reset(seed=0)
    _, _, terminated, _, _ = env2.step(env2.roles.index("goodbye"))
    assert terminated
    with pytest.raises(DialogGymError, match="ended"):
        env2.step(0)
    with pytest.raises(DialogGymError, match="outside"):
        env.step(99)


def test_the_info_mask_is_the_callers_copy():
    env = gym.make("dialog_gym/Restaurant-v0")
    _, info = env.reset(seed=0)
    before = env.unwrapped.action_masks().copy()
    info["action_mask"][:] = 1  # the environment shares its (cached, read-only) masks with nobody
    assert np.array_equal(env.unwrapped.action_masks(), before)
    _, _, _, _, again = env.step(int(np.flatnonzero(before)[0]))
    again["action_mask"][0] = 1 - again["action_mask"][0]
    assert not np.array_equal(again["action_mask"], env.unwrapped.action_masks())

"""Naming environments: registered ids, short ids, config paths and the generic id."""

from __future__ import annotations

import gymnasium as gym
import pytest

import dialog_gym
from dialog_gym import DEFAULT_ENV_ID, resolve_env
from dialog_gym.errors import ConfigError
from dialog_gym.resources import config_path


def test_default_id_is_registered_and_exported():
    assert DEFAULT_ENV_ID == "dialog_gym/Restaurant-v0"
    assert DEFAULT_ENV_ID in gym.registry
    assert DEFAULT_ENV_ID in dialog_gym.env_ids()


def test_resolve_full_and_short_ids():
    assert resolve_env("dialog_gym/Restaurant-Env2-v0") == ("dialog_gym/Restaurant-Env2-v0", {})
    assert resolve_env("Restaurant-Env2-v0") == ("dialog_gym/Restaurant-Env2-v0", {})
    assert resolve_env("Restaurant-v0") == (DEFAULT_ENV_ID, {})


def test_resolve_config_path(tmp_path):
    shipped = config_path("envs", "restaurant.yml")
    assert resolve_env(str(shipped)) == ("dialog_gym/Dialogue-v0", {"config": str(shipped)})
    env_id, kwargs = resolve_env(str(shipped))
    env = gym.make(env_id, **kwargs)
    assert env.action_space.n == 18


@pytest.mark.parametrize("name", ["Nope-v0", "dialog_gym/Nope-v0", "missing.yml", "dialog_gym/Dialogue-v0", ""])
def test_resolve_unknown_lists_ids_and_paths(name):
    with pytest.raises(ConfigError) as err:
        resolve_env(name)
    message = str(err.value)
    assert "\n" not in message
    assert "dialog_gym/Restaurant-Env6-v0" in message and "config" in message


def test_generic_id_needs_a_config():
    with pytest.raises(ConfigError, match="config=PATH"):
        gym.make("dialog_gym/Dialogue-v0")


def test_generic_id_gives_the_same_dialogues_as_the_registered_one():
    generic = gym.make("dialog_gym/Dialogue-v0", config=str(config_path("envs", "restaurant.yml")))
    named = gym.make(DEFAULT_ENV_ID)
    for env in (generic, named):
        env.action_space.seed(0)
    obs_a, _ = generic.reset(seed=5)
    obs_b, _ = named.reset(seed=5)
    assert (obs_a == obs_b).all()
    for _ in range(30):
        mask = named.unwrapped.action_masks()
        action = int(mask.nonzero()[0][-1])
        a, b = generic.step(action), named.step(action)
        assert (a[0] == b[0]).all() and a[1:4] == b[1:4]
        if a[2] or a[3]:
            break


def test_generic_env_pickles_mid_dialogue():
    import pickle

    env = gym.make("dialog_gym/Dialogue-v0", config=str(config_path("envs", "hotel.yml")))
    env.reset(seed=2)
    action = int(env.unwrapped.action_masks().nonzero()[0][0])
    env.step(action)
    clone = pickle.loads(pickle.dumps(env))
    for _ in range(20):
        action = int(env.unwrapped.action_masks().nonzero()[0][-1])
        a, b = env.step(action), clone.step(action)
        assert (a[0] == b[0]).all() and a[1:4] == b[1:4]
        if a[2] or a[3]:
            break

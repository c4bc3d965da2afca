"""Naming environments: registered ids, short ids, config paths and the generic id."""

from __future__ import annotations

import gymnasium as gym
import pytest

import dialog_gym
from dialog_gym import DEFAULT_ENV_ID, EnvRef
from dialog_gym.envs import GENERIC_ENV_ID
from dialog_gym.errors import ConfigError
from dialog_gym.resources import config_path


def test_default_id_is_registered_and_exported():
    assert DEFAULT_ENV_ID == "dialog_gym/Restaurant-v0"
    assert DEFAULT_ENV_ID in gym.registry
    assert DEFAULT_ENV_ID in dialog_gym.env_ids()


def test_resolve_full_and_short_ids():
    assert EnvRef.parse("dialog_gym/Restaurant-Env2-v0") == EnvRef("dialog_gym/Restaurant-Env2-v0")
    assert EnvRef.parse("Restaurant-Env2-v0") == EnvRef("dialog_gym/Restaurant-Env2-v0")
    assert EnvRef.parse("Restaurant-v0") == EnvRef(DEFAULT_ENV_ID)


def test_resolve_config_path_and_name():
    shipped = config_path("envs", "restaurant.yml")
    ref = EnvRef.parse(str(shipped))
    assert ref == EnvRef(GENERIC_ENV_ID, {"config": str(shipped.resolve())})
    assert ref.make().action_space.n == 18
    assert EnvRef.parse("restaurant_summary") == EnvRef(GENERIC_ENV_ID, {"config": "restaurant_summary"})
    assert EnvRef.parse("restaurant_summary").make().action_space.n == 10


@pytest.mark.parametrize(("name", "nearest"), [("Restaurant-Env9-v0", "dialog_gym/Restaurant-Env6-v0"),
                                               ("dialog_gym/Restaurant-Env9-v0", "dialog_gym/Restaurant-Env6-v0"),
                                               ("PyDial-CR-Env7-v0", "dialog_gym/PyDial-CR-Env6-v0"),
                                               ("restaurant_sumary", "restaurant_summary"),
                                               ("Xyzzy", None)])
def test_an_unknown_id_is_answered_with_the_nearest_ids(name, nearest):
    with pytest.raises(ConfigError) as err:
        EnvRef.parse(name)
    message = str(err.value)
    assert "\n" not in message and "env config" in message
    assert "dialog_gym/Hotel-Env4-v0" not in message  # not a list of every id
    assert ("did you mean" in message) == (nearest is not None)
    if nearest is not None:
        assert nearest in message.split("did you mean ")[1].split("?")[0].split(" or ")


@pytest.mark.parametrize(("name", "match"), [
    ("missing.yml", "unknown environment 'missing.yml': missing.yml: no such file"),
    ("dialog_gym/Dialogue-v0", "needs an env config"),
    ("", "unknown environment ''"),
])
def test_resolve_other_mistakes(name, match):
    with pytest.raises(ConfigError, match=match):
        EnvRef.parse(name)


def test_a_folder_is_answered_with_its_env_yml(tmp_path):
    folder = config_path("pydial", "CamRestaurants")
    with pytest.raises(ConfigError, match=f"{folder}: is a directory, expected an env config YAML file; did you "
                                          f"mean {folder / 'env.yml'}"):
        EnvRef.parse(str(folder))
    with pytest.raises(ConfigError, match=r"is a directory, expected an env config YAML file$"):
        EnvRef.parse(str(tmp_path))  # no env.yml in it: no hint


@pytest.mark.parametrize("variant", ["Env3", "PyDial-CR-Env3-v0", "dialog_gym/PyDial-CR-Env3-v0"])
def test_a_configs_variant_runs_the_settings_of_its_id(variant):
    config = config_path("pydial", "CamRestaurants", "env.yml")
    ref = EnvRef.parse(f"{config}:{variant}")
    assert ref.kwargs == {"config": str(config.resolve()), "variant": variant}
    env, registered = ref.make(), gym.make("dialog_gym/PyDial-CR-Env3-v0")
    assert env.unwrapped.config_fingerprint == registered.unwrapped.config_fingerprint
    assert env.unwrapped.error_rate == 0.15
    first, _ = env.reset(seed=11)
    second, _ = registered.reset(seed=11)
    assert (first == second).all()
    assert EnvRef.parse(ref.label) == ref  # the label reads back


@pytest.mark.parametrize(("variant", "match"), [("Env9", "names none of its ids; its ids are PyDial-CR-Env1-v0"),
                                                ("v0", "is ambiguous")])
def test_a_wrong_variant_names_the_configs_ids(variant, match):
    ref = EnvRef.parse(f"{config_path('pydial', 'CamRestaurants', 'env.yml')}:{variant}")
    with pytest.raises(ConfigError, match=match):
        ref.make()  # the config is read when the env is made


def test_an_env_reference_goes_by_value():
    import json
    import pickle

    refs = [EnvRef.parse("Restaurant-Env3-v0"), EnvRef.parse("restaurant_summary:Env2"),
            EnvRef(DEFAULT_ENV_ID, {"noise": 0.3})]
    for ref in refs:
        assert EnvRef.from_json(json.loads(json.dumps(ref.to_json()))) == ref
        assert pickle.loads(pickle.dumps(ref)) == ref
    assert refs[0].to_json() == "dialog_gym/Restaurant-Env3-v0" and refs[0].key == "dialog_gym_Restaurant-Env3-v0"
    assert refs[1].label == "restaurant_summary:Env2" and refs[1].key.startswith("restaurant_summary_Env2-")
    assert str(refs[2]) == "dialog_gym/Restaurant-v0 (noise=0.3)"
    with pytest.raises(ConfigError, match="not an environment reference"):
        EnvRef.from_json({"kwargs": {}})


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

"""The family seam: one registry of task families, and a family added from outside the package."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import dialog_gym  # noqa: F401  (registers the environments)
from dialog_gym.envs import GENERIC_ENV_ID, REGISTRATIONS, EnvRef, register_task
from dialog_gym.errors import ConfigError
from dialog_gym.families import FAMILIES, family_of, load_config, read_env_config
from dialog_gym.resources import config_path
from dialog_gym.rollout import expert_act, run_episodes
from tests.toy_family import TOY, ToyEnv


def _toy_config(tmp_path, bonus=5.0, register=True):
    text = f"family: toy\ntask: restaurant\nsuccess_bonus: {bonus}\n"
    if register:
        text += "register:\n  ids:\n    Toy-v0: {}\n    Toy-Noisy-v0: {noise: 0.15}\n"
    path = tmp_path / "toy.yml"
    path.write_text(text)
    return path


def test_the_shipped_families_and_what_they_declare():
    assert list(FAMILIES)[:3] == ["dialogue", "summary", "pydial"]
    assert FAMILIES["dialogue"].acts == "domain" and FAMILIES["summary"].acts == FAMILIES["pydial"].acts == "summary"
    assert FAMILIES["summary"].make_keys == FAMILIES["dialogue"].make_keys | {"bye_mask"}
    assert {"ontology", "table"} <= FAMILIES["pydial"].config_keys


@pytest.mark.parametrize(("env_id", "family"), [("dialog_gym/Restaurant-v0", "dialogue"),
                                                ("dialog_gym/Restaurant-Summary-Env1-v0", "summary"),
                                                ("dialog_gym/PyDial-CR-Env1-v0", "pydial")])
def test_each_registered_id_runs_its_familys_class_and_expert(env_id, family):
    env = gym.make(env_id, info_tracker=True)  # the experts read the dialogue state from info
    assert family_of(env).name == family == EnvRef(env_id).family().name
    assert type(env.unwrapped) is FAMILIES[family].env_class()
    results, _ = run_episodes(env, expert_act(env), 5, seed=0)
    assert sum(r.success for r in results) >= 4  # the rule experts succeed (100% on these settings)


def test_a_family_from_a_test_module_runs_with_the_generic_id(tmp_path):
    path = _toy_config(tmp_path, bonus=5.0, register=False)
    env = gym.make(GENERIC_ENV_ID, config=str(path), info_tracker=True)
    assert isinstance(env.unwrapped, ToyEnv) and family_of(env) is TOY
    assert EnvRef.parse(str(path)).family() is TOY
    plain = gym.make("dialog_gym/Restaurant-v0", info_tracker=True)
    expert, plain_expert = expert_act(env), expert_act(plain)  # the family's expert: the rule expert
    toy_results, _ = run_episodes(env, expert, 3, seed=7)
    plain_results, _ = run_episodes(plain, plain_expert, 3, seed=7)
    for toy, same in zip(toy_results, plain_results, strict=True):
        assert toy.success == same.success and toy.turns == same.turns
        assert toy.reward == same.reward + (5.0 if same.success else 0.0)
    assert any(r.success for r in toy_results)


def test_a_family_registers_its_ids_and_takes_its_make_keywords(tmp_path):
    path = _toy_config(tmp_path, bonus=2.0)
    ids = register_task(path)
    try:
        assert ids == ["dialog_gym/Toy-v0", "dialog_gym/Toy-Noisy-v0"]
        noisy = gym.make("dialog_gym/Toy-Noisy-v0").unwrapped
        assert isinstance(noisy, ToyEnv) and noisy.config.noise.error_rate == 0.15 and noisy.toy.success_bonus == 2.0
        assert gym.make("dialog_gym/Toy-v0", success_bonus=9.0).unwrapped.toy.success_bonus == 9.0
        with pytest.raises(ConfigError, match="unknown keyword argument"):
            gym.make("dialog_gym/Toy-v0", max_history=2)  # the family's class checks its make keys
    finally:  # leave the registry as found
        for env_id in ids:
            del gym.registry[env_id]
            del REGISTRATIONS[env_id]
    variant = EnvRef.parse(f"{path}:Noisy").make().unwrapped
    assert variant.config.noise.error_rate == 0.15
    with pytest.raises(ConfigError, match="unknown keyword argument"):
        gym.make(GENERIC_ENV_ID, config=str(path), max_history=2)  # not a toy make keyword


def test_the_family_checks_its_config_keys(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("family: toy\ntask: restaurant\nsummary_acts: {}\n")
    with pytest.raises(ConfigError, match=r"bad.yml: unknown key\(s\) 'summary_acts'"):
        read_env_config(path)
    path.write_text("family: toys\ntask: restaurant\n")
    with pytest.raises(ConfigError, match="family: expected one of dialogue, summary, pydial"):
        gym.make(GENERIC_ENV_ID, config=str(path))


def test_each_familys_loader_reads_its_configs():
    assert load_config("restaurant").max_steps == 60
    summary = load_config("restaurant_summary")
    assert [act.name for act in summary.acts][:2] == ["ask_cuisine", "ask_location"]
    task, _, _ = load_config("pydial/CamRestaurants/env.yml")
    assert task.name == "CamRestaurants" and len(task.actions) == 16


def test_the_benchmark_asks_the_family_which_agents_run(tmp_path):
    from agents.benchmark import unsupported_agents

    agents = ["rule", "memo", "ppo"]
    assert unsupported_agents("dialog_gym/Restaurant-v0", agents) == {}
    assert unsupported_agents(EnvRef.parse(str(_toy_config(tmp_path))), agents) == {}
    skipped = unsupported_agents(EnvRef.parse("restaurant_summary"), agents)
    assert list(skipped) == ["memo"] and "summary task" in skipped["memo"]
    assert list(unsupported_agents("PyDial-CR-Env3-v0", agents)) == ["memo"]


def test_a_shipped_configs_name_works_where_a_path_does():
    by_name = gym.make(GENERIC_ENV_ID, config="restaurant_summary", variant="Env2")
    by_id = gym.make("dialog_gym/Restaurant-Summary-Env2-v0")
    assert by_name.unwrapped.config_fingerprint == by_id.unwrapped.config_fingerprint
    obs_a, _ = by_name.reset(seed=3)
    obs_b, _ = by_id.reset(seed=3)
    assert np.array_equal(obs_a, obs_b)
    path = gym.make(GENERIC_ENV_ID, config=str(config_path("envs", "restaurant_summary.yml")))
    assert path.unwrapped.config_fingerprint == gym.make(GENERIC_ENV_ID, config="restaurant_summary").unwrapped\
        .config_fingerprint

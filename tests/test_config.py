"""Environment configuration and the restaurant table."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialog_gym.config import RewardConfig, load_env_config
from dialog_gym.errors import ConfigError, KnowledgeBaseError
from dialog_gym.knowledge_base import CapacityRule, KnowledgeBase
from dialog_gym.resources import config_path

from .conftest import RASA_DOMAIN


def test_shipped_config_loads():
    cfg = load_env_config()
    assert cfg.max_steps == 60 and cfg.masks and cfg.noise.error_rate == 0.0
    assert cfg.roles.slot_order == ("cuisine", "location", "people", "price")
    assert len(cfg.kb) == 600


def test_reward_arithmetic_is_checked():
    RewardConfig().check(60, "x")  # the defaults: worst success -36 > best failure -40
    with pytest.raises(ConfigError, match="failure"):
        RewardConfig(failure=-30).check(60, "x")
    with pytest.raises(ConfigError, match="cost"):
        RewardConfig(bot_action=1).check(60, "x")


def test_rasa_domain_runs_in_the_env_with_role_bindings():
    import gymnasium as gym

    import dialog_gym  # noqa: F401

    env = gym.make("dialog_gym/Restaurant-v0", domain=str(RASA_DOMAIN), result_slots={"suggestion": "info"})
    _, info = env.reset(seed=0)
    assert env.unwrapped.roles.index("ask_rephrase") is None  # optional role, unbound
    assert info["action_mask"].sum() >= 1


def test_kb_search_and_goal_fit():
    kb = KnowledgeBase.load(config_path("kb", "restaurants.csv"), ["cuisine", "location", "price"],
                            CapacityRule("people", "seats", {"two": 2, "eight": 8}), "rating")
    goal = {"cuisine": "italian", "location": "rome", "price": "cheap", "people": "eight"}
    names = kb.search(goal)
    assert len(names) == 6  # six of the eight seat a party of eight
    ratings = [int(kb.get(n)["rating"]) for n in names]
    assert ratings == sorted(ratings, reverse=True)
    assert all(kb.fits_goal(n, goal) for n in names)
    assert not kb.fits_goal(names[0], {**goal, "price": "expensive"})
    assert len(kb.search({"cuisine": "italian"})) == 5 * 3 * 8  # unset slots do not constrain


@pytest.mark.parametrize("text, message", [
    ("name,cuisine\nx,italian\n", "missing column"),
    ("name,cuisine,location,price,seats,rating\nx,a,b,c,many,1\n", "must be an integer"),
    ("name,cuisine,location,price,seats,rating\n", "no rows"),
    ("name,cuisine,location,price,seats,rating\nx,a,b,c,2\n", "expected 6 fields"),
])
def test_bad_tables(tmp_path: Path, text, message):
    path = tmp_path / "kb.csv"
    path.write_text(text)
    with pytest.raises(KnowledgeBaseError, match=message):
        KnowledgeBase.load(path, ["cuisine", "location", "price"], CapacityRule("people", "seats", {}), "rating")


def test_env_config_errors(tmp_path: Path):
    path = tmp_path / "env.yml"
    path.write_text("domain: restaurant\nknowledge_base: {file: kb/restaurants.csv, match: [cuisine]}\n"
                    "actions: {ask_slot: {cuisine: utter_ask_cuisine}}\n")
    with pytest.raises(ConfigError, match="no action asks for goal slot"):
        load_env_config(path)
    path.write_text("knowledge_base: {file: kb/restaurants.csv, match: [cuisine]}\nactions: {dance: utter_x}\n")
    with pytest.raises(ConfigError, match="unknown role"):
        load_env_config(path)


@pytest.mark.parametrize("key, value", [("max_history", 2.5), ("max_history", "3"), ("max_history", True),
                                        ("max_steps", 60.5), ("max_steps", "sixty")])
def test_step_counts_must_be_whole_numbers(key, value):
    with pytest.raises(ConfigError, match=f"{key} must be a whole number"):
        load_env_config(**{key: value})


def test_integral_floats_are_whole_numbers():
    assert load_env_config(max_history=4.0).max_history == 4

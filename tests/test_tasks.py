"""Tasks as data: the register blocks, a task the package has never seen (tests/data/car_rental), the
shipped hotel task, goals no row fits, role presets, generic table rows, and config errors."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import dialog_gym
from dialog_gym.config import load_env_config, min_listens_per_success
from dialog_gym.domain import Domain
from dialog_gym.envs import REGISTRATIONS, SUITES, register_task
from dialog_gym.errors import ConfigError, DomainError
from dialog_gym.experts import RestaurantExpert, SlotFillingExpert
from dialog_gym.families import read_registrations
from dialog_gym.knowledge_base import KnowledgeBase, Row
from dialog_gym.resources import config_path
from dialog_gym.roles import NO_MATCH, SEARCH, ActionRoles, RolePreset
from dialog_gym.users.agenda import BotTurn, SimulatedUser
from dialog_gym.users.profile import UserProfile

from .conftest import RASA_DOMAIN

CAR_RENTAL = Path(__file__).resolve().parent / "data" / "car_rental" / "env.yml"


# ---------------------------------------------------------------------- the registry is data
def test_restaurant_ids_have_exactly_todays_specs():
    expected = {
        "Restaurant-v0": {},
        "Restaurant-Env1-v0": {"noise": 0.0, "user": "standard", "masks": True},
        "Restaurant-Env2-v0": {"noise": 0.0, "user": "standard", "masks": False},
        "Restaurant-Env3-v0": {"noise": 0.15, "user": "standard", "masks": True},
        "Restaurant-Env4-v0": {"noise": 0.15, "user": "standard", "masks": False},
        "Restaurant-Env5-v0": {"noise": 0.15, "user": "unfriendly", "masks": True},
        "Restaurant-Env6-v0": {"noise": 0.3, "user": "standard", "masks": True},
    }
    ids = dialog_gym.env_ids()
    assert ids[:7] == [f"dialog_gym/{name}" for name in expected]
    for name, kwargs in expected.items():
        spec = gym.spec(f"dialog_gym/{name}")
        assert spec.kwargs == kwargs
        assert spec.entry_point == "dialog_gym.envs.dialogue_env:DialogueEnv"
        assert spec.max_episode_steps is None  # the env truncates itself at max_steps: no TimeLimit
        assert spec.reward_threshold is not None
    assert SUITES["default"] == ["dialog_gym/Restaurant-v0"]
    assert SUITES["pydial"] == [f"dialog_gym/Restaurant-Env{i}-v0" for i in range(1, 7)]
    assert SUITES["noisy"] == [f"dialog_gym/Restaurant-Env{i}-v0" for i in (3, 5, 6)]
    assert gym.spec("dialog_gym/Restaurant-Env3-v0").reward_threshold == 4.0


def test_no_time_limit_wrapper_and_max_steps_from_the_register_block():
    env = gym.make("dialog_gym/Hotel-v0")
    wrapper = env
    while isinstance(wrapper, gym.Wrapper):
        assert not isinstance(wrapper, gym.wrappers.TimeLimit)
        wrapper = wrapper.env
    assert env.unwrapped.max_steps == 60
    assert gym.spec("dialog_gym/Hotel-v0").kwargs == {"config": "hotel"}
    assert gym.spec("dialog_gym/Hotel-Noisy-v0").kwargs == {"config": "hotel", "noise": 0.15}


def test_hotel_ids_are_registered_in_their_own_suite():
    assert {"dialog_gym/Hotel-v0", "dialog_gym/Hotel-Noisy-v0", "dialog_gym/Hotel-NoMasks-v0"} <= set(SUITES["hotel"])
    assert all(i in dialog_gym.env_ids() for i in SUITES["hotel"])
    assert gym.make("dialog_gym/Hotel-v0").action_space.n == 19
    assert gym.make("dialog_gym/Restaurant-v0").action_space.n == 18  # no new action for the restaurant


def test_register_task_from_a_users_config(tmp_path):
    config = tmp_path / "rental.yml"
    text = CAR_RENTAL.read_text().replace("domain: domain.yml", f"domain: {CAR_RENTAL.parent / 'domain.yml'}")
    text = text.replace("user: user.yml", f"user: {CAR_RENTAL.parent / 'user.yml'}")
    text = text.replace("file: cars.csv", f"file: {CAR_RENTAL.parent / 'cars.csv'}")
    text = text.replace("max_steps: 60\n", "")
    config.write_text(text + "register:\n  max_episode_steps: 40\n  reward_threshold: 2\n  ids:\n"
                      "    TestRental-v0: {suites: [rental_test]}\n    TestRental-Masksoff-v0: {masks: false}\n")
    assert register_task(config) == ["dialog_gym/TestRental-v0", "dialog_gym/TestRental-Masksoff-v0"]
    assert register_task(config) == ["dialog_gym/TestRental-v0", "dialog_gym/TestRental-Masksoff-v0"]  # idempotent
    spec = gym.spec("dialog_gym/TestRental-Masksoff-v0")
    assert spec.kwargs == {"config": str(config), "masks": False} and spec.reward_threshold == 2.0
    env = gym.make("dialog_gym/TestRental-Masksoff-v0")
    env.reset(seed=0)
    assert env.unwrapped.max_steps == 40 and env.unwrapped.action_masks().all()
    assert SUITES["rental_test"] == ["dialog_gym/TestRental-v0"]
    for env_id in ("dialog_gym/TestRental-v0", "dialog_gym/TestRental-Masksoff-v0"):  # leave the registry as found
        del gym.registry[env_id]
        del REGISTRATIONS[env_id]
    del SUITES["rental_test"]


@pytest.mark.parametrize("block, message", [
    ("register: [a]\n", "expected a mapping"),
    ("register: {ids: {}}\n", "ids: expected a mapping"),
    ("register: {ids: {X-v0: {colour: red}}}\n", "unknown key"),
    ("register: {ids: {X-v0: {suites: default}}}\n", "suites: expected a list"),
    ("register: {reward_threshold: high, ids: {X-v0: {}}}\n", "reward_threshold must be a number"),
    ("max_steps: 50\nregister: {max_episode_steps: 40, ids: {X-v0: {}}}\n", "disagree"),
])
def test_bad_register_blocks(tmp_path, block, message):
    config = tmp_path / "task.yml"
    config.write_text("knowledge_base: {file: kb/restaurants.csv, match: [cuisine]}\n" + block)
    with pytest.raises(ConfigError, match=message):
        read_registrations(config, "dialog_gym", str(config))
        load_env_config(config)


# ---------------------------------------------------------------------- a task never seen before, and the hotel
def search_found_nothing(env) -> bool:
    """The bot's latest act was a search that found no row."""
    base = env.unwrapped
    last = base.tracker.latest_action_name
    if last is None or not base.domain.has_action(last):
        return False
    role = base.roles.role(base.domain.index_for_action(last))[0]
    return role == "search" and not base.tracker.get_slot(base.config.matches_slot)


def run_expert(env, episodes):
    """The expert over ``episodes`` seeded dialogues: (successes, dialogues with an empty search,
    successes among those)."""
    expert = SlotFillingExpert.for_env(env)
    successes = empty = empty_successes = 0
    for seed in range(episodes):
        _, info = env.reset(seed=seed)
        found_nothing = False
        while True:
            _, _, terminated, truncated, info = env.step(expert.next_action(env.unwrapped.tracker,
                                                                            info["action_mask"]))
            found_nothing |= search_found_nothing(env)
            if terminated or truncated:
                break
        successes += info["success"]
        empty += found_nothing
        empty_successes += found_nothing and info["success"]
    return successes, empty, empty_successes


@pytest.mark.parametrize("make", [
    pytest.param(lambda: gym.make("dialog_gym/Dialogue-v0", config=str(CAR_RENTAL)), id="car_rental"),
    pytest.param(lambda: gym.make("dialog_gym/Hotel-v0"), id="hotel"),
])
def test_new_task_passes_the_checkers_and_the_expert_handles_goals_no_row_fits(make):
    env = make()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
        sb3_check_env(env.unwrapped, warn=True)
    assert [str(w.message) for w in caught] == []
    successes, empty, empty_successes = run_expert(env, 500)
    assert successes >= 490  # >= 98%
    assert empty >= 100  # many dialogues reach a goal no row fits...
    assert empty_successes >= empty - 10  # ...and end in success all the same


def test_car_rental_table_lacks_combinations():
    cfg = load_env_config(CAR_RENTAL)
    goals = [dict(zip(cfg.profile.goal_slots, values, strict=True))
             for values in itertools.product(*(cfg.profile.goal_values[s] for s in cfg.profile.goal_slots))]
    fitting = [g for g in goals if cfg.kb.search(g)]
    assert len(goals) == 54 and len(fitting) == 26  # counted by hand from cars.csv


def test_restaurant_table_has_every_combination():
    cfg = load_env_config()
    values = [cfg.profile.goal_values[s] for s in cfg.profile.goal_slots]
    assert all(cfg.kb.search(dict(zip(cfg.profile.goal_slots, v, strict=True))) for v in itertools.product(*values))


def test_no_match_is_allowed_only_once_the_latest_search_is_used_up():
    env = gym.make("dialog_gym/Hotel-v0")
    base = env.unwrapped
    no_match = base.roles.index(NO_MATCH)
    search = base.roles.index(SEARCH)
    matches_slot = base.config.matches_slot
    goal_slots = base.roles.slot_order
    rng = np.random.default_rng(0)
    allowed_seen = 0
    for seed in range(40):
        _, info = env.reset(seed=seed)
        searched = changed_since = False  # a search ran; a goal slot changed since the latest one
        slots = {s: base.tracker.get_slot(s) for s in goal_slots}
        while True:
            used_up = searched and not changed_since and not base.tracker.get_slot(matches_slot)
            awaiting = info["action_mask"].sum() == 1  # only listening is allowed
            if not awaiting:
                assert bool(info["action_mask"][no_match]) == used_up
            allowed_seen += int(info["action_mask"][no_match])
            action = int(rng.choice(np.flatnonzero(info["action_mask"])))
            _, _, terminated, truncated, info = env.step(action)
            now = {s: base.tracker.get_slot(s) for s in goal_slots}
            changed_since = changed_since or now != slots
            slots = now
            if action == search:
                searched, changed_since = True, False
            if terminated or truncated:
                break
    assert allowed_seen > 0


def test_expert_says_no_match_where_bound_and_asks_for_changes_where_not():
    for make, expected_role in ((lambda: gym.make("dialog_gym/Hotel-v0"), NO_MATCH),
                                (lambda: gym.make("dialog_gym/Dialogue-v0", config=str(CAR_RENTAL)),
                                 "ask_moreupdates")):
        env = make()
        expert = SlotFillingExpert.for_env(env)
        roles = env.unwrapped.roles
        seen = False
        for seed in range(30):
            _, info = env.reset(seed=seed)
            while True:
                action = expert.next_action(env.unwrapped.tracker, info["action_mask"])
                if search_found_nothing(env):
                    assert roles.role(action)[0] == expected_role
                    seen = True
                _, _, terminated, truncated, info = env.step(action)
                if terminated or truncated:
                    break
        assert seen


def test_user_relaxes_one_constraint_to_a_value_the_table_has():
    cfg = load_env_config("hotel")
    user = SimulatedUser(cfg.profile, cfg.kb)
    rng = np.random.default_rng(0)
    user.reset(rng)
    user.goal = {"city": "berlin", "stars": "five", "budget": "low", "guests": "two"}  # five stars are never cheap
    assert not cfg.kb.search(user.goal)
    act = user.respond(BotTurn([(NO_MATCH, None)], dict(user.goal)), rng)
    assert act.intent == "inform" and len(act.entities) == 1
    (slot, value), = act.entities.items()
    assert user.goal[slot] == value and cfg.kb.search(user.goal)
    # a wrong slot in the bot's summary is corrected first
    user.goal = {"city": "berlin", "stars": "five", "budget": "low", "guests": "two"}
    act = user.respond(BotTurn([(NO_MATCH, None)], {**user.goal, "city": "oslo"}), rng)
    assert act.entities == {"city": "berlin"}


def test_relax_probability_is_a_profile_key_with_a_default(tmp_path):
    assert UserProfile.load("standard").relax_to_available == 1.0
    text = config_path("users", "hotel_guest.yml").read_text()
    bad = tmp_path / "bad.yml"
    bad.write_text(text.replace("relax_to_available: 1.0", "relax_to_available: 2"))
    with pytest.raises(ConfigError, match="relax_to_available"):
        UserProfile.load(bad)


# ---------------------------------------------------------------------- no restaurant fact in code
def test_role_names_come_from_the_preset_file():
    preset = RolePreset.load()
    assert preset.source.endswith("babi.yml") and preset.actions["search"] == "action_search_restaurants"
    roles = ActionRoles.bind(Domain.load("restaurant"))
    assert roles.index(SEARCH) == Domain.load("restaurant").index_for_action("action_search_restaurants")
    assert roles.index(NO_MATCH) is None
    assert (roles.matches_slot, roles.suggestion_slot) == ("matches", "restaurant")  # the preset's result slots
    hotel = load_env_config("hotel")
    assert (hotel.roles.matches_slot, hotel.roles.suggestion_slot) == ("hotel_matches", "hotel")
    assert SlotFillingExpert(hotel.domain, hotel.roles).matches_slot == "hotel_matches"
    with pytest.raises(ConfigError, match=r"result_slots\.matches: 'nope'"):
        ActionRoles.bind(Domain.load("restaurant"), result_slots={"matches": "nope"})


def test_rows_are_described_by_the_configs_template():
    row = Row("h1", {"stars": "four", "city": "oslo"})
    assert row.describe() == "h1"
    assert row.describe("{name}: {stars} stars in {city}") == "h1: four stars in oslo"
    cfg = load_env_config("hotel")
    name = cfg.kb.rows[0].name
    attrs = cfg.kb.get(name).attributes
    assert cfg.kb.describe(name) == (f"{name} ({attrs['stars']} stars, {attrs['city']}, {attrs['budget']} budget, "
                                     f"rooms for up to {attrs['max_guests']}, rated {attrs['rating']}/10)")
    assert cfg.kb.item == "hotel"


def test_bad_describe_template_names_the_key(tmp_path):
    config = tmp_path / "env.yml"
    config.write_text("knowledge_base: {file: kb/restaurants.csv, match: [cuisine], describe: '{name} {colour}'}\n")
    with pytest.raises(ConfigError, match=r"knowledge_base\.describe"):
        load_env_config(config)


def test_transcript_names_the_tasks_rows():
    env = gym.make("dialog_gym/Hotel-v0", render_mode="ansi")
    expert = SlotFillingExpert.for_env(env)
    _, info = env.reset(seed=1)
    while True:
        _, _, terminated, truncated, info = env.step(expert.next_action(env.unwrapped.tracker, info["action_mask"]))
        if terminated or truncated:
            break
    text = env.render()
    assert "[searching the hotel table:" in text and "restaurant" not in text
    assert "what do you think of hotel_" in text


def test_min_listens_are_derived_from_the_profile():
    assert min_listens_per_success(UserProfile.load("standard")) == 4  # first inform names at most 3 of 4 slots
    profile = UserProfile.load("standard")
    everything = UserProfile.from_dict({
        "goal": {"slots": ["a", "b"], "values": {"a": ["x", "y"], "b": ["x", "y"]}},
        "first_inform_size": {2: 1.0}, "changes_of_mind": {0: 1.0}, "rejections": {0: 1.0},
        "patience": {"min": 1, "max": 1}, "max_turns": 5})
    assert min_listens_per_success(everything) == 3
    assert profile.goal_slots  # the shipped profile is unchanged


def test_expert_old_name_is_an_alias():
    assert RestaurantExpert is SlotFillingExpert


# ---------------------------------------------------------------------- config errors name the culprit
def test_bad_keyword_is_blamed_not_the_file():
    with pytest.raises(ConfigError, match=r"^gym.make keyword argument noise=2: noise.error_rate"):
        gym.make("dialog_gym/Restaurant-v0", noise=2)
    with pytest.raises(ConfigError, match=r"^gym.make keyword argument reward="):
        gym.make("dialog_gym/Restaurant-v0", reward={"failure": 10})
    with pytest.raises(ConfigError, match="unknown keyword argument"):
        gym.make("dialog_gym/Restaurant-v0", colour="red")


def test_unknown_user_lists_the_shipped_users():
    with pytest.raises(ConfigError) as err:
        gym.make("dialog_gym/Restaurant-v0", user="grumpy")
    assert "user='grumpy'" in str(err.value) and "standard, unfriendly" in str(err.value)
    with pytest.raises(DomainError, match="shipped ones are hotel, restaurant"):
        gym.make("dialog_gym/Restaurant-v0", domain="nope")


def test_rasas_restaurant_domain_loads_without_extra_keywords():
    env = gym.make("dialog_gym/Restaurant-v0", domain=str(RASA_DOMAIN), render_mode="ansi")
    assert env.unwrapped.config.suggestion_slot is None  # Rasa's domain has no slot for the suggestion
    successes, _, _ = run_expert(env, 20)
    assert successes == 20
    assert "what do you think of resto_" in env.render()


def test_explicit_result_slot_must_exist():
    with pytest.raises(ConfigError, match=r"result_slots\.suggestion"):
        gym.make("dialog_gym/Restaurant-v0", result_slots={"suggestion": "nope"})


# ---------------------------------------------------------------------- unreadable input files
def _unreadable_by_anyone(tmp_path: Path) -> Path:
    path = tmp_path / "secret.yml"
    path.write_text("a: 1\n")
    path.chmod(0)
    try:
        path.read_bytes()
    except PermissionError:
        return path
    if Path("/proc/1/environ").exists():  # as root: a file even root may not read (in a container)
        try:
            Path("/proc/1/environ").read_bytes()
        except PermissionError:
            return Path("/proc/1/environ")
    pytest.skip("running as root: no file here is unreadable")


FAILURES = {
    "binary": (lambda p: p.write_bytes(b"\x00\x01\x02binary\xff"), "binary file"),
    "latin-1": (lambda p: p.write_bytes("caf\u00e9: 1\n".encode("latin-1")), "not UTF-8"),
    "directory": (lambda p: p.mkdir(), "is a directory"),
}


def _loaders():
    from dialog_gym.errors import KnowledgeBaseError, StoryError
    from dialog_gym.stories import read_stories

    return {
        "domain": (lambda p: Domain.load(p), DomainError, ".yml"),
        "env config": (lambda p: load_env_config(p), ConfigError, ".yml"),
        "table": (lambda p: KnowledgeBase.load(p, ["cuisine"]), KnowledgeBaseError, ".csv"),
        "user profile": (lambda p: UserProfile.load(p), ConfigError, ".yml"),
        "roles preset": (lambda p: RolePreset.load(p), ConfigError, ".yml"),
        "stories": (lambda p: read_stories(p), StoryError, ".md"),
    }


@pytest.mark.parametrize("kind", ["domain", "env config", "table", "user profile", "roles preset", "stories"])
@pytest.mark.parametrize("failure", [*FAILURES, "no permission"])
def test_unreadable_input_files_raise_the_packages_error_naming_the_file(tmp_path, kind, failure):
    load, error, suffix = _loaders()[kind]
    if failure == "no permission":
        path = _unreadable_by_anyone(tmp_path)
        message = "permission denied"
    else:
        path = tmp_path / f"input{suffix}"
        make, message = FAILURES[failure]
        make(path)
    if kind == "stories" and failure == "directory":
        message = "no \\*.md story files"  # a folder of stories is read file by file
    with pytest.raises(error, match=message) as err:
        load(path)
    assert str(path) in str(err.value)

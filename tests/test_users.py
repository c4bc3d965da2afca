"""The simulated user and the expert: bAbI calibration, behaviour, noise, profiles."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import dialog_gym  # noqa: F401
from dialog_gym.errors import ConfigError
from dialog_gym.metrics import summarize
from dialog_gym.roles import ActionRoles
from dialog_gym.rollout import expert_act, run_episodes, simulate_stories
from dialog_gym.seeds import calibration_check_seed
from dialog_gym.stories import generate_trackers, read_stories
from dialog_gym.users import NoiseConfig, NoiseModel, UserProfile
from dialog_gym.users.calibration import dialogue_statistics

# 2000 simulated dialogues (held out: the calibration-check stream, never the calibration table's dialogues):
# a share's standard error is at most 1.1 points, so 4 points is > 3.5 sigma
TOLERANCE = 0.04


def test_expert_is_perfect_without_noise():
    env = gym.make("dialog_gym/Restaurant-v0", info_tracker=True)
    results, _ = run_episodes(env, expert_act(env), 300, seed=0)
    summary = summarize(results)
    assert summary["success_rate"] == 1.0
    assert summary["invalid_action_rate"] == 0.0


def test_simulated_stories_match_the_babi_distributions(babi_stories_path, domain):
    roles = ActionRoles.bind(domain)
    babi = dialogue_statistics((t.events for t in generate_trackers(read_stories(babi_stories_path), domain,
                                                                    augmentation_factor=0)), roles, domain.action_names)
    held_out = simulate_stories(2000, seed=0, stream=calibration_check_seed)
    sim = dialogue_statistics((events for _, events in held_out), roles, domain.action_names)
    for key in ("first_inform_size", "changes_of_mind", "rejections"):
        assert set(sim[key]) <= set(babi[key]), key
        for value, share in babi[key].items():
            assert sim[key].get(value, 0.0) == pytest.approx(share, abs=TOLERANCE), (key, value)
    assert sim["mean_bot_actions"] == pytest.approx(babi["mean_bot_actions"], abs=0.3)
    assert babi["repeated_slot_changes"] == sim["repeated_slot_changes"] == 0.0  # a different slot each time
    assert sim["min_bot_actions"] == babi["min_bot_actions"]
    assert sim["max_bot_actions"] <= babi["max_bot_actions"]


def test_the_data_readme_states_the_measured_babi_distributions(babi_stories_path, domain):
    """data/rasa_babi/README.md's table is what dialogue_statistics measures on the stories (to 0.1 point)."""
    babi = dialogue_statistics((t.events for t in generate_trackers(read_stories(babi_stories_path), domain,
                                                                    augmentation_factor=0)), ActionRoles.bind(domain),
                               domain.action_names)
    readme = (babi_stories_path.parent / "README.md").read_text()
    assert f"{babi['dialogues']} distinct dialogues" in readme
    bot_actions = f"mean {babi['mean_bot_actions']:.1f}, min {babi['min_bot_actions']}, max {babi['max_bot_actions']}"
    assert bot_actions in readme
    for key, label in (("first_inform_size", "slots in the first inform"), ("changes_of_mind", "changes of mind"),
                       ("rejections", "rejected suggestions")):
        row = next(line for line in readme.splitlines() if line.startswith(f"| {label}"))
        stated = row.split("|")[2].strip()
        assert stated == ", ".join(f"{k}: {100 * v:.1f}%" for k, v in sorted(babi[key].items())), key


def test_user_changes_mind_even_when_not_asked():
    """A bot that skips ask_moreupdates meets the changes of mind at its suggestion."""
    env = gym.make("dialog_gym/Restaurant-v0")
    base = env.unwrapped
    _, info = env.reset(seed=4)
    assert base.user.changes_left >= 1
    r = base.roles
    goal_before = dict(info["goal"])
    env.step(r.index("ask_howcanhelp"))
    env.step(r.index("listen"))
    for slot in r.slot_order:
        if base.tracker.get_slot(slot) is None:
            env.step(r.ask_index[slot])
            env.step(r.index("listen"))
    env.step(r.index("search"))
    env.step(r.index("suggest"))
    _, _, _, _, info = env.step(r.index("listen"))
    message = base.tracker.latest_message
    assert message.intent_name == "deny" and len(message.entities) == 1
    changed = message.entities[0]["entity"]
    assert info["goal"][changed] == message.entities[0]["value"] != goal_before[changed]


def test_user_gives_up_when_the_bot_repeats_itself():
    env = gym.make("dialog_gym/Restaurant-Env2-v0")  # masks off
    base = env.unwrapped
    env.reset(seed=0)
    r = base.roles
    terminated, info = False, {}
    for _ in range(20):
        _, _, terminated, _, info = env.step(r.index("ask_howcanhelp"))
        _, _, terminated, _, info = env.step(r.index("listen"))
        if terminated:
            break
    assert terminated and info["user_gave_up"] and not info["success"]
    assert base.user.repetitions >= base.config.profile.patience_min


def test_noise_model_rates_and_confidences():
    model = NoiseModel(NoiseConfig(error_rate=0.3), ["greet", "affirm", "deny", "inform", "thankyou"],
                       {"cuisine": ["a", "b", "c"]})
    rng = np.random.default_rng(0)
    draws = [model.observe("inform", {"cuisine": "a"}, rng) for _ in range(4000)]
    corrupted = [d for d in draws if d[3]]
    assert len(corrupted) / len(draws) == pytest.approx(0.3, abs=0.03)
    assert all((d[0], d[1]) != ("inform", {"cuisine": "a"}) for d in corrupted)
    assert all((d[0], d[1]) == ("inform", {"cuisine": "a"}) for d in draws if not d[3])
    correct_conf = np.mean([d[2] for d in draws if not d[3]])
    assert correct_conf == pytest.approx(0.87, abs=0.02)
    assert np.mean([d[2] for d in corrupted]) == pytest.approx(0.5, abs=0.03)
    clean = NoiseModel(NoiseConfig(), ["inform"], {})
    assert clean.observe("inform", {}, rng) == ("inform", {}, 1.0, False)


def test_unfriendly_profile_volunteers_less_and_changes_more():
    std, unf = UserProfile.load("standard"), UserProfile.load("unfriendly")
    assert unf.first_inform_size.mean() < std.first_inform_size.mean()
    assert unf.changes_of_mind.mean() > std.changes_of_mind.mean()
    assert unf.patience_max < std.patience_min


@pytest.mark.parametrize("patch, message", [
    ({"first_inform_size": {1: 0.5, 2: 0.4}}, "sum to"),
    ({"first_inform_size": {7: 1.0}}, "between 1 and 4"),
    ({"patience": {"min": 5, "max": 2}}, "patience"),
    ({"goal": {"slots": ["cuisine"], "values": {"cuisine": ["one"]}}}, "at least two values"),
    ({"moods": 3}, "unknown key"),
])
def test_bad_profiles(tmp_path: Path, patch, message):
    import yaml

    data = yaml.safe_load(Path(UserProfile.load("standard").source).read_text())
    data.update(patch)
    path = tmp_path / "profile.yml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=message):
        UserProfile.load(path)

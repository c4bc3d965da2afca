"""Saving and loading every policy: identical predictions, safe formats, clear errors on bad folders."""

from __future__ import annotations

import json
import re
import shutil

import gymnasium as gym
import numpy as np
import pytest

from agents import (
    AugmentedMemoizationPolicy,
    FallbackPolicy,
    MemoizationPolicy,
    Policy,
    PolicyEnsemble,
    RandomPolicy,
    RulePolicy,
    policy_classes,
)
from agents.loading import make_agent
from agents.policy_training import expert_story_graph, story_trackers
from agents.supervised import SupervisedPolicy
from dialog_gym.domain import Domain
from dialog_gym.errors import PersistenceError


@pytest.fixture(scope="module")
def expert():
    graph, domain = expert_story_graph(6, seed=3)
    return story_trackers(graph, domain, augmentation=0), domain


def _policies():
    return {
        "memoization": lambda: MemoizationPolicy(max_history=3),
        "augmented": lambda: AugmentedMemoizationPolicy(max_history=4),
        "supervised": lambda: SupervisedPolicy(max_history=3, epochs=3),
        "supervised_full": lambda: SupervisedPolicy(full_dialogue=True, epochs=2),
        "fallback": lambda: FallbackPolicy(nlu_threshold=0.4, core_threshold=0.2, fallback_action_name="utter_default"),
        "ensemble": lambda: PolicyEnsemble([MemoizationPolicy(max_history=3), SupervisedPolicy(max_history=3, epochs=2),
                                            FallbackPolicy()]),
        "rule": RulePolicy,
    }


@pytest.mark.parametrize("kind", list(_policies()))
def test_round_trip_predicts_identically(kind, expert, tmp_path):
    trackers, domain = expert
    policy = _policies()[kind]()
    policy.train(trackers, domain)
    policy.persist(tmp_path / kind)
    loaded = Policy.load(tmp_path / kind)
    assert type(loaded) is type(policy) and loaded.config() == policy.config()
    assert loaded.featurizer.to_dict() == policy.featurizer.to_dict()
    # an ensemble's members too: on its training dialogues memoization decides, hiding a member that lost its weights
    pairs = [(loaded, policy), *zip(getattr(loaded, "policies", []), getattr(policy, "policies", []), strict=True)]
    for tracker in trackers[:3]:
        for prefix in tracker.generate_all_prior_trackers():
            for a, b in pairs:
                assert np.array_equal(a.predict_action_probabilities(prefix, domain),
                                      b.predict_action_probabilities(prefix, domain)), type(b).__name__


def test_every_builtin_policy_is_registered():
    assert {"memoization", "augmented_memoization", "supervised", "fallback", "ensemble", "rule",
            "random"} <= set(policy_classes())


def test_saved_files_are_json_and_weights(expert, tmp_path):
    trackers, domain = expert
    ensemble = PolicyEnsemble([MemoizationPolicy(max_history=3), SupervisedPolicy(max_history=3, epochs=2)])
    ensemble.train(trackers, domain)
    ensemble.persist(tmp_path / "e")
    names = sorted(p.relative_to(tmp_path / "e").as_posix() for p in (tmp_path / "e").rglob("*") if p.is_file())
    assert names == ["0_memoization/memorized_turns.json", "0_memoization/policy.json", "1_supervised/model.pt",
                     "1_supervised/policy.json", "1_supervised/training_data.npz", "ensemble.json", "policy.json"]
    meta = json.loads((tmp_path / "e" / "1_supervised" / "policy.json").read_text())
    assert meta["policy"] == "supervised" and meta["domain_fingerprint"] == domain.fingerprint()
    loaded = Policy.load(tmp_path / "e" / "1_supervised")
    assert np.array_equal(loaded.data.X, ensemble.policies[1].data.X)  # the training data came back too
    assert not list(tmp_path.rglob("*.tmp"))  # atomic writes leave no temporary files


def test_saved_policy_runs_through_rollout_spec(expert, tmp_path):
    trackers, domain = expert
    policy = MemoizationPolicy(max_history=5)
    policy.train(trackers, domain)
    policy.persist(tmp_path / "memo")
    env = gym.make("dialog_gym/Restaurant-v0", info_tracker=True)
    agent = make_agent(str(tmp_path / "memo"), env)
    obs, info = env.reset(seed=0)
    assert 0 <= agent(obs, info) < env.action_space.n


def test_loading_onto_another_domain_is_refused(expert, tmp_path):
    trackers, domain = expert
    policy = MemoizationPolicy(max_history=3)
    policy.train(trackers, domain)
    policy.persist(tmp_path / "memo")
    other = Domain.from_yaml("intents: [greet]\nactions: [utter_greet]\n")
    with pytest.raises(PersistenceError, match="another domain"):
        Policy.load(tmp_path / "memo").check_domain(other)


def _saved(kind, expert, tmp_path):
    trackers, domain = expert
    policy = {"memo": lambda: MemoizationPolicy(max_history=3),
              "supervised": lambda: SupervisedPolicy(max_history=3, epochs=2),
              "ensemble": lambda: PolicyEnsemble([MemoizationPolicy(max_history=3)])}[kind]()
    policy.train(trackers, domain)
    policy.persist(tmp_path / kind)
    return tmp_path / kind


@pytest.mark.parametrize("kind, damage, fragment", [
    ("memo", lambda d: (d / "policy.json").unlink(), "policy.json: not found"),
    ("memo", lambda d: (d / "policy.json").write_text("{"), "policy.json: cannot read"),
    ("memo", lambda d: (d / "policy.json").write_text('{"policy": "nope"}'), "unknown policy type 'nope'"),
    ("memo", lambda d: (d / "memorized_turns.json").unlink(), "memorized_turns.json: not found"),
    ("memo", lambda d: (d / "memorized_turns.json").write_text('{"lookup": [1]}'), "memorized_turns.json: expected"),
    ("supervised", lambda d: (d / "model.pt").unlink(), "model.pt: not found"),
    ("supervised", lambda d: _truncate(d / "model.pt"), "model.pt: cannot read"),
    ("supervised", lambda d: (d / "model.pt").write_bytes(b"not a zip"), "model.pt: cannot read"),
    ("supervised", lambda d: _truncate(d / "training_data.npz"), "training_data.npz: cannot read"),
    ("supervised", lambda d: _edit_config(d, rnn_size=7), "model.pt: the weights do not fit"),
    ("supervised", lambda d: _edit_config(d, bogus=1), "policy.json: invalid configuration"),
    ("ensemble", lambda d: shutil.rmtree(d / "0_memoization"), "0_memoization/policy.json: not found"),
    ("ensemble", lambda d: (d / "ensemble.json").write_text('{"policies": ["../x"]}'), "sub-folder names"),
])
def test_bad_folders_give_an_error_naming_the_file(kind, damage, fragment, expert, tmp_path):
    folder = _saved(kind, expert, tmp_path)
    damage(folder)
    with pytest.raises(PersistenceError, match=re.escape(fragment)) as info:
        Policy.load(folder)
    assert str(folder) in str(info.value)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_pickles_are_refused(tmp_path, expert):
    import pickle

    folder = _saved("supervised", expert, tmp_path)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (folder / "model.pt").write_bytes(pickle.dumps({"w": Evil()}))
    with pytest.raises(PersistenceError, match=r"model\.pt: cannot read"):
        Policy.load(folder)


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _edit_config(folder, **changes):
    meta = json.loads((folder / "policy.json").read_text())
    meta["config"].update(changes)
    (folder / "policy.json").write_text(json.dumps(meta))


def test_random_policy_round_trip(tmp_path):
    RandomPolicy(seed=3).persist(tmp_path / "r")
    assert Policy.load(tmp_path / "r").config() == RandomPolicy(seed=3).config()


def test_atomic_folder_replaces_a_folder_only_when_the_new_one_is_complete(tmp_path):
    from dialog_gym.utils import atomic_folder

    target = tmp_path / "final"
    with atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("first")
    assert (target / "a.txt").read_text() == "first"
    with pytest.raises(KeyboardInterrupt), atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("second, half-written")
        raise KeyboardInterrupt
    assert (target / "a.txt").read_text() == "first"  # the earlier folder stays whole
    with atomic_folder(target) as tmp:
        (tmp / "b.txt").write_text("third")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final"]  # no temporary folder left behind

"""The policy ensemble (who wins, ties, which policy decided) and the fallback policy."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from agents import FallbackPolicy, MemoizationPolicy, PolicyAgent, PolicyEnsemble, RulePolicy
from dialog_gym.events import ActionExecuted, UserUttered
from dialog_gym.rollout import run_episodes
from tests.policy_helpers import ConstantPolicy, probs, tracker_from_events, trackers_from_text


@pytest.fixture
def tracker(domain):
    return tracker_from_events(domain, [ActionExecuted("action_listen"), UserUttered.with_intent("greet")])


def test_most_confident_policy_wins(domain, tracker):
    low = ConstantPolicy(probs(domain, utter_greet=0.6, utter_goodbye=0.4))
    high = ConstantPolicy(probs(domain, utter_ask_howcanhelp=0.9, utter_greet=0.1))
    ensemble = PolicyEnsemble([low, high])
    p, decided = ensemble.predict(tracker, domain)
    assert decided == "policy_1_ConstantPolicy" == ensemble.last_policy_name
    assert np.array_equal(p, high.probabilities)
    assert np.array_equal(ensemble.predict_action_probabilities(tracker, domain), high.probabilities)


def test_tie_goes_to_the_earlier_policy(domain, tracker):
    first = ConstantPolicy(probs(domain, utter_greet=0.7))
    second = ConstantPolicy(probs(domain, utter_goodbye=0.7))
    assert PolicyEnsemble([first, second]).predict(tracker, domain)[1] == "policy_0_ConstantPolicy"
    assert PolicyEnsemble([second, first]).predict(tracker, domain)[0][domain.index_for_action("utter_goodbye")] == 0.7


def test_tie_goes_to_the_higher_priority(domain, tracker):
    first = ConstantPolicy(probs(domain, utter_greet=0.7), priority=1)
    second = ConstantPolicy(probs(domain, utter_goodbye=0.7), priority=2)
    p, decided = PolicyEnsemble([first, second]).predict(tracker, domain)
    assert decided == "policy_1_ConstantPolicy" and p.argmax() == domain.index_for_action("utter_goodbye")
    # priority only breaks ties: a more confident policy still wins
    first.probabilities = probs(domain, utter_greet=0.8)
    assert PolicyEnsemble([first, second]).predict(tracker, domain)[1] == "policy_0_ConstantPolicy"


def test_memoization_falls_back_to_the_next_policy(domain):
    (story,) = trackers_from_text("## a\n* greet\n - utter_ask_howcanhelp\n", domain)
    memo = MemoizationPolicy(max_history=3)
    memo.train([story], domain)
    backup = ConstantPolicy(probs(domain, utter_default=0.5))
    ensemble = PolicyEnsemble([memo, backup])
    unseen = tracker_from_events(domain, [ActionExecuted("action_listen"), UserUttered.with_intent("deny")])
    assert ensemble.predict(unseen, domain)[1] == "policy_1_ConstantPolicy"
    seen = tracker_from_events(domain, [ActionExecuted("action_listen"), UserUttered.with_intent("greet")])
    assert ensemble.predict(seen, domain)[1] == "policy_0_MemoizationPolicy"


def test_ensemble_runs_in_the_environment_with_the_mask():
    env = gym.make("dialog_gym/Restaurant-v0", info_tracker=True)
    ensemble = PolicyEnsemble([RulePolicy(), FallbackPolicy(core_threshold=0.3)])
    results, _ = run_episodes(env, PolicyAgent(ensemble, env), episodes=3, seed=0)
    assert all(r.success for r in results)  # the rule policy (1.0) always beats the fallback's 0.3
    assert ensemble.last_policy_name == "policy_0_RulePolicy"


# ---------------------------------------------------------------------------------------------- fallback
def test_fallback_on_low_nlu_confidence(domain):
    policy = FallbackPolicy(nlu_threshold=0.5, core_threshold=0.3, fallback_action_name="utter_ask_rephrase")
    unsure = tracker_from_events(domain, [ActionExecuted("action_listen"),
                                          UserUttered.with_intent("inform", confidence=0.4)])
    p = policy.predict_action_probabilities(unsure, domain)
    assert p.max() == 1.0 and p.argmax() == domain.index_for_action("utter_ask_rephrase")


def test_fallback_confidence_is_the_core_threshold_otherwise(domain):
    policy = FallbackPolicy(nlu_threshold=0.5, core_threshold=0.3, fallback_action_name="utter_ask_rephrase")
    sure = tracker_from_events(domain, [ActionExecuted("action_listen"),
                                        UserUttered.with_intent("inform", confidence=0.9)])
    p = policy.predict_action_probabilities(sure, domain)
    assert p.max() == 0.3 and p.argmax() == domain.index_for_action("utter_ask_rephrase")
    # not listening: no NLU fallback even with low confidence
    sure.update(ActionExecuted("utter_on_it"))
    assert policy.predict_action_probabilities(sure, domain).max() == 0.3


def test_after_the_fallback_action_listen(domain):
    policy = FallbackPolicy(fallback_action_name="utter_ask_rephrase")
    t = tracker_from_events(domain, [ActionExecuted("action_listen"), UserUttered.with_intent("inform", confidence=0.1),
                                     ActionExecuted("utter_ask_rephrase")])
    p = policy.predict_action_probabilities(t, domain)
    assert p.max() == 1.0 and p.argmax() == domain.index_for_action("action_listen")


def test_fallback_wins_in_an_ensemble_only_when_others_are_unsure(domain, tracker):
    fallback = FallbackPolicy(core_threshold=0.3, fallback_action_name="utter_default")
    unsure = ConstantPolicy(probs(domain, utter_greet=0.25, utter_goodbye=0.2))
    sure = ConstantPolicy(probs(domain, utter_greet=0.9))
    assert PolicyEnsemble([unsure, fallback]).predict(tracker, domain)[1] == "policy_1_FallbackPolicy"
    assert PolicyEnsemble([sure, fallback]).predict(tracker, domain)[1] == "policy_0_ConstantPolicy"


def test_fallback_checks_its_action_and_thresholds(domain):
    from dialog_gym.errors import DomainError

    with pytest.raises(DomainError, match="utter_nope"):
        FallbackPolicy(fallback_action_name="utter_nope").train([], domain)
    with pytest.raises(ValueError):
        FallbackPolicy(nlu_threshold=1.5)

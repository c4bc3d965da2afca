"""Memoization and augmented memoization against hand-built trackers (Rasa Core semantics)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agents.memoization import AugmentedMemoizationPolicy, MemoizationPolicy, state_key
from dialog_gym.events import ActionExecuted, SlotSet, UserUttered
from tests.policy_helpers import prefix_before_action, tracker_from_events, trackers_from_text

STORIES = """
## happy
* greet
 - utter_ask_howcanhelp
* inform{"cuisine": "italian"}
 - utter_on_it
 - utter_ask_location
"""


def predicted(policy, tracker, domain) -> str | None:
    p = policy.predict_action_probabilities(tracker, domain)
    assert p.shape == (domain.num_actions,)
    return domain.action_names[int(np.argmax(p))] if p.any() else None


def test_memorised_action_with_full_confidence(domain):
    (story,) = trackers_from_text(STORIES, domain)
    policy = MemoizationPolicy(max_history=3)
    policy.train([story], domain)
    for action in ("utter_ask_howcanhelp", "utter_on_it", "utter_ask_location"):
        p = policy.predict_action_probabilities(prefix_before_action(story, action), domain)
        assert p.max() == 1.0 and p.sum() == 1.0
        assert domain.action_names[int(p.argmax())] == action
    # after its last action the story listens (the implied final action_listen)
    assert predicted(policy, prefix_before_action(story, "action_listen", 2), domain) == "action_listen"


def test_unseen_state_predicts_all_zeros(domain):
    (story,) = trackers_from_text(STORIES, domain)
    policy = MemoizationPolicy(max_history=3)
    policy.train([story], domain)
    unseen = tracker_from_events(domain, [ActionExecuted("action_listen"), UserUttered.with_intent("thankyou")])
    assert not policy.predict_action_probabilities(unseen, domain).any()


def test_ambiguous_examples_are_dropped(domain):
    text = STORIES + """
## same start, other action
* greet
 - utter_greet
"""
    trackers = trackers_from_text(text, domain)
    policy = MemoizationPolicy(max_history=3)
    policy.train(trackers, domain)
    after_greet = prefix_before_action(trackers[0], "utter_ask_howcanhelp")
    assert not policy.predict_action_probabilities(after_greet, domain).any()  # howcanhelp or greet: forgotten
    # the unambiguous turns are still memorised
    assert predicted(policy, prefix_before_action(trackers[0], "utter_on_it"), domain) == "utter_on_it"
    # a third story agreeing with one side does not bring the forgotten key back
    policy.train([*trackers, trackers[0]], domain)
    assert not policy.predict_action_probabilities(after_greet, domain).any()


def test_online_training_overwrites_instead_of_dropping(domain):
    trackers = trackers_from_text(STORIES + "\n## other\n* greet\n - utter_greet\n", domain)
    policy = MemoizationPolicy(max_history=3)
    policy.train(trackers[:1], domain)
    after_greet = prefix_before_action(trackers[0], "utter_ask_howcanhelp")
    assert predicted(policy, after_greet, domain) == "utter_ask_howcanhelp"
    policy.continue_training(trackers[1:], domain)
    assert predicted(policy, after_greet, domain) == "utter_greet"


def test_augmented_trackers_are_not_memorised(domain):
    (story,) = trackers_from_text(STORIES, domain)
    glued = story.copy()
    glued.is_augmented = True
    policy = MemoizationPolicy(max_history=3)
    policy.train([glued], domain)
    assert policy.lookup == {}


def test_lookup_key_is_deterministic_json():
    a = [None, {"b": 1.0, "a": 1.0}]
    b = [None, {"a": 1.0, "b": 1.0}]
    assert state_key(a) == state_key(b) == '[null,{"a":1.0,"b":1.0}]'
    assert json.loads(state_key(a)) == a


# ---------------------------------------------------------------------------------------------- back-off
GOODBYE = """
## thanks
* thankyou
 - utter_goodbye
"""


def test_augmented_backs_off_to_the_memorised_suffix(domain):
    train = trackers_from_text(GOODBYE, domain)
    # a dialogue whose last 3 states were never seen: greet, howcanhelp, then thankyou
    test = tracker_from_events(domain, [
        ActionExecuted("action_listen"), UserUttered.with_intent("greet"), ActionExecuted("utter_ask_howcanhelp"),
        ActionExecuted("action_listen"), UserUttered.with_intent("thankyou"),
    ])
    plain, augmented = MemoizationPolicy(max_history=3), AugmentedMemoizationPolicy(max_history=3)
    plain.train(train, domain)
    augmented.train(train, domain)
    assert not plain.predict_action_probabilities(test, domain).any()  # the exact lookup fails
    p = augmented.predict_action_probabilities(test, domain)
    assert p.max() == 1.0 and domain.action_names[int(p.argmax())] == "utter_goodbye"


def test_back_off_forgets_slots_set_before_the_cut(domain):
    train = trackers_from_text(GOODBYE, domain)  # memorised with no slot set
    test = tracker_from_events(domain, [
        ActionExecuted("action_listen"), UserUttered.with_intent("inform", {"cuisine": "italian"}),
        ActionExecuted("utter_on_it"), ActionExecuted("action_listen"), UserUttered.with_intent("thankyou"),
    ])
    assert test.get_slot("cuisine") == "italian"
    shorter = AugmentedMemoizationPolicy.forget_oldest_turn(test)
    assert shorter is not None and shorter.get_slot("cuisine") is None  # set before the cut: forgotten
    assert shorter.executed_action_names() == ["utter_on_it", "action_listen"]
    policy = AugmentedMemoizationPolicy(max_history=2)
    policy.train(train, domain)
    assert predicted(policy, test, domain) == "utter_goodbye"  # found only once the slot is forgotten
    # with the slot still set the state differs: the plain lookup of the same window fails
    plain = MemoizationPolicy(max_history=2)
    plain.train(train, domain)
    assert predicted(plain, test, domain) is None


def test_back_off_keeps_slots_set_after_the_cut(domain):
    test = tracker_from_events(domain, [
        ActionExecuted("action_listen"), UserUttered.with_intent("greet"), ActionExecuted("utter_ask_howcanhelp"),
        SlotSet("price", "cheap"), ActionExecuted("action_listen"), UserUttered.with_intent("thankyou"),
    ])
    shorter = AugmentedMemoizationPolicy.forget_oldest_turn(test)
    assert shorter.get_slot("price") == "cheap"
    assert AugmentedMemoizationPolicy.forget_oldest_turn(shorter).get_slot("price") is None
    last = AugmentedMemoizationPolicy.forget_oldest_turn(AugmentedMemoizationPolicy.forget_oldest_turn(shorter))
    assert last is None  # one action left: nothing more to forget


def test_featurizer_and_max_history_must_agree():
    from dialog_gym.featurizers import FullDialogueTrackerFeaturizer, MaxHistoryTrackerFeaturizer

    with pytest.raises(ValueError):
        MemoizationPolicy(featurizer=FullDialogueTrackerFeaturizer())
    with pytest.raises(ValueError):
        MemoizationPolicy(featurizer=MaxHistoryTrackerFeaturizer(3), max_history=4)


def test_memoization_on_babi_stories(domain, babi_stories_path):
    """The real data, quickly: 100 training stories, 50 held out."""
    from agents.evaluation import evaluate_stories, split_stories
    from dialog_gym.stories import generate_trackers, read_stories

    graph = read_stories(babi_stories_path)
    train, test = split_stories(type(graph)(graph.steps[:150], graph.source), 100)
    policy = AugmentedMemoizationPolicy(max_history=5)
    policy.train(generate_trackers(train, domain, augmentation_factor=0), domain)
    metrics = evaluate_stories(policy, generate_trackers(test, domain, augmentation_factor=0), domain).metrics()
    assert metrics["stories"] == 50 and metrics["action_accuracy"] > 0.9

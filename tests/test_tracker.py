"""The event-sourced tracker: Rasa's event semantics and past states."""

from __future__ import annotations

import pytest

from dialog_gym.errors import PersistenceError
from dialog_gym.events import (
    ActionExecuted,
    ActionReverted,
    AllSlotsReset,
    Restarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
    event_from_dict,
)
from dialog_gym.tracker import DialogueStateTracker


def make(domain, *events):
    t = DialogueStateTracker.for_domain(domain)
    for e in events:
        t.update(e, domain)
    return t


def test_entities_fill_slots_of_the_same_name(domain):
    t = make(domain, ActionExecuted("action_listen"),
             UserUttered.with_intent("inform", {"cuisine": "thai", "colour": "red"}))
    assert t.get_slot("cuisine") == "thai"
    assert [type(e).__name__ for e in t.events] == ["ActionExecuted", "UserUttered", "SlotSet"]
    assert t.latest_message.intent_name == "inform"
    assert t.latest_action_name == "action_listen"


def test_action_reverted_undoes_the_last_action_and_its_slots(domain):
    t = make(domain, ActionExecuted("action_listen"), UserUttered.with_intent("greet"),
             ActionExecuted("action_search_restaurants"), SlotSet("cuisine", "x"), ActionReverted())
    assert t.latest_action_name == "action_listen"
    assert t.get_slot("cuisine") is None


def test_user_utterance_reverted_undoes_message_and_listen(domain):
    t = make(domain, ActionExecuted("action_listen"), UserUttered.with_intent("greet"),
             ActionExecuted("utter_ask_howcanhelp"), ActionExecuted("action_listen"),
             UserUttered.with_intent("inform", {"price": "cheap"}), UserUtteranceReverted())
    assert t.latest_action_name == "utter_ask_howcanhelp"
    assert t.latest_message.intent_name == "greet"
    assert t.get_slot("price") is None


def test_restart_and_reset_slots(domain):
    t = make(domain, ActionExecuted("action_listen"), UserUttered.with_intent("inform", {"price": "cheap"}),
             AllSlotsReset())
    assert t.get_slot("price") is None and t.latest_message.intent_name == "inform"
    t.update(Restarted())
    assert t.latest_action_name is None and t.latest_message.intent_name is None
    assert t.applied_events() == []


def test_past_states_one_per_action_plus_current(domain):
    t = make(domain, ActionExecuted("action_listen"), UserUttered.with_intent("greet"),
             ActionExecuted("utter_ask_howcanhelp"), ActionExecuted("action_listen"),
             UserUttered.with_intent("inform", {"price": "cheap"}))
    states = t.past_states(domain)
    assert states == [
        {},
        {"intent_greet": 1.0, "prev_action_listen": 1.0},
        {"intent_greet": 1.0, "prev_utter_ask_howcanhelp": 1.0},
        {"intent_inform": 1.0, "entity_price": 1.0, "slot_price_0": 1.0, "prev_action_listen": 1.0},
    ]


def test_events_round_trip_as_dicts(domain):
    events = [ActionExecuted("action_listen", policy="rule", confidence=1.0),
              UserUttered.with_intent("inform", {"price": "cheap"}, confidence=0.7, text="cheap please"),
              SlotSet("price", "cheap"), AllSlotsReset(), ActionReverted(), UserUtteranceReverted(), Restarted()]
    assert [event_from_dict(e.as_dict()) for e in events] == events
    t = make(domain, *events[:3])
    again = DialogueStateTracker.from_dict(t.as_dict(), domain)
    assert again.events == t.events and again.slot_values == t.slot_values


@pytest.mark.parametrize("bad", [None, {}, {"event": "nope"}, {"event": "action"}])
def test_bad_event_dicts(bad):
    with pytest.raises(PersistenceError):
        event_from_dict(bad)


def test_deep_copy_shares_nothing_mutable(domain):
    t = make(domain, ActionExecuted("action_listen", policy="p", confidence=0.5),
             UserUttered.with_intent("inform", {"cuisine": "thai"}, confidence=0.7),
             SlotSet("matches", ["a", "b"]), ActionExecuted("utter_on_it"), Restarted(), AllSlotsReset())
    clone = t.deep_copy()
    assert clone.events == t.events and clone.slot_values == t.slot_values
    assert clone.latest_message == t.latest_message and clone.executed_action_names() == t.executed_action_names()
    assert all(a is not b for a, b in zip(clone.events, t.events, strict=True))
    clone.events[1].intent["name"] = "deny"
    clone.events[1].entities[0]["value"] = "french"
    clone.events[3].value.append("c")
    clone.update(ActionExecuted("utter_goodbye"))
    assert t.events[1].as_story_string() == 'inform{"cuisine": "thai"}' and t.events[3].value == ["a", "b"]
    assert len(t.events) == 7 and t.latest_action_name is None and clone.latest_action_name == "utter_goodbye"
    assert t.events[0].copy() == ActionExecuted("action_listen", policy="p", confidence=0.5)


def test_parsing_state_is_cached_until_the_message_or_a_featurized_slot_changes(domain):
    t = make(domain, ActionExecuted("action_listen"), UserUttered.with_intent("inform", {"price": "cheap"}))
    first = t.parsing_state(domain)
    assert first == {"intent_inform": 1.0, "entity_price": 1.0, "slot_price_0": 1.0}
    t.update(ActionExecuted("utter_on_it"))
    t.update(SlotSet("matches", ["x"]))  # unfeaturized: the cache stays
    assert t.parsing_state(domain) is first
    assert t.active_state(domain) == {**first, "prev_utter_on_it": 1.0}
    t.update(SlotSet("cuisine", "thai"))
    second = t.parsing_state(domain)
    assert second is not first and second == {**first, "slot_cuisine_0": 1.0}
    assert t.parsing_state(domain, use_intent_probabilities=True) is not second  # another key

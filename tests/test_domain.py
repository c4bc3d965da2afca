"""Domain loading: the shipped domain, Rasa's own files, and every malformed case."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialog_gym.domain import ACTION_LISTEN_NAME, ACTION_RESTART_NAME, Domain
from dialog_gym.errors import DomainError

from .conftest import RASA_DATA

MINIMAL = """
intents: [greet]
entities: [cuisine]
slots:
  cuisine: {type: text}
templates:
  utter_greet: ["hi"]
actions: [utter_greet]
"""


def test_shipped_restaurant_domain(domain):
    assert domain.action_names[:2] == (ACTION_LISTEN_NAME, ACTION_RESTART_NAME)
    assert domain.index_for_action("action_listen") == 0
    assert set(domain.intents) == {"greet", "affirm", "deny", "inform", "thankyou"}
    utters = [a for a in domain.action_names if a.startswith("utter_") and a != "utter_ask_rephrase"]
    assert len(utters) == 13
    assert {"action_search_restaurants", "action_suggest"} <= set(domain.action_names)
    assert {"cuisine", "location", "people", "price", "info", "matches"} <= set(domain.slot_names)
    # vector order: intents, entities, slot features, previous actions
    states = domain.input_states
    assert states[: len(domain.intents)] == [f"intent_{i}" for i in domain.intents]
    assert states[-domain.num_actions:] == [f"prev_{a}" for a in domain.action_names]
    assert domain.num_states == 5 + 5 + 5 + 18


@pytest.mark.parametrize("name", ["restaurant_domain.yml", "restaurant_domain_v0_7.yml"])
def test_rasa_domain_files_load_as_they_are(name):
    d = Domain.load(RASA_DATA / name)
    assert d.action_names[0] == ACTION_LISTEN_NAME
    assert "utter_ask_price" in d.templates
    if name == "restaurant_domain_v0_7.yml":
        assert "examples.restaurant_example.ActionSuggest" in d.action_names
        assert d.slot("matches").type_name == "list"
    else:
        assert d.templates["utter_ask_price"][0].buttons


def test_round_trip_through_dict(domain):
    again = Domain.from_dict(domain.to_dict(), "again")
    assert again.action_names == domain.action_names
    assert again.input_states == domain.input_states
    assert again.fingerprint() == domain.fingerprint()


def test_template_fill(domain):
    text = domain.utter("utter_ask_moreupdates", {"cuisine": "thai", "location": None})
    assert "thai" in text and "?" in text


@pytest.mark.parametrize("body, key", [
    ("intents: [greet\n", "YAML syntax error"),
    ("slots:\n  x: {type: weird}\n", "slots.x.type"),
    ("slots:\n  x: {type: categorical}\n", "slots.x.values"),
    ("slots:\n  x: {type: categorical, values: []}\n", "slots.x.values"),
    ("slots:\n  x: {type: float, min_value: 2, max_value: 1}\n", "slots.x"),
    ("slots:\n  x: {type: text, colour: red}\n", "slots.x"),
    ("slots:\n  x: text\n", "slots.x"),
    ("actions: [utter_a, utter_a]\n", "duplicate action 'utter_a'"),
    ("actions: [utter_a]\ntemplates:\n  utter_b: [hi]\n", "templates.utter_b"),
    ("actions: [utter_a]\ntemplates:\n  utter_a: []\n", "templates.utter_a"),
    ("intents: [greet, greet]\n", "duplicate intent"),
    ("intents: greet\n", "intents"),
    ("actions: [utter_a]\ncolour: red\n", "colour"),
    ("- just\n- a list\n", "mapping"),
])
def test_malformed_domains_name_file_and_key(tmp_path: Path, body: str, key: str):
    path = tmp_path / "bad_domain.yml"
    path.write_text(body)
    with pytest.raises(DomainError) as info:
        Domain.load(path)
    message = str(info.value)
    assert str(path) in message
    assert key in message


def test_missing_file_is_a_domain_error(tmp_path: Path):
    with pytest.raises(DomainError, match="not found"):
        Domain.load(tmp_path / "nope.yml")


def test_minimal_domain_and_unknown_action(tmp_path: Path):
    d = Domain.from_yaml(MINIMAL, "min")
    assert d.action_names == ("action_listen", "action_restart", "utter_greet")
    with pytest.raises(DomainError, match="unknown action"):
        d.index_for_action("utter_nope")

"""Story reading, writing and training-tracker generation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.cli import main
from dialog_gym.errors import StoryError
from dialog_gym.events import ActionExecuted, SlotSet, UserUttered
from dialog_gym.stories import (
    UserTurn,
    events_to_story,
    generate_trackers,
    graph_to_string,
    parse_stories,
    read_stories,
    write_stories,
)

CHECKPOINTED = """
<!-- a comment
     over two lines -->
## greet part
* greet
 - utter_ask_howcanhelp
> asked

## answer: italian
> asked
* inform{"cuisine": "italian"}   <!-- inline comment -->
 - utter_on_it
 - slot{"price": "cheap"}

## answer: old format or affirm
> asked
* _inform[location=rome, people=two] OR affirm
 - utter_ask_moreupdates
"""


def test_all_babi_stories_parse(babi_stories_path, domain):
    graph = read_stories(babi_stories_path)
    stats = graph.stats()
    assert stats["stories"] == 1000
    assert stats["bot_actions"] == 14805  # mean 14.8 bot actions (data/rasa_babi/README.md)
    graph.validate(domain)
    trackers = generate_trackers(graph, domain, augmentation_factor=0)
    assert len(trackers) == 999  # story_01283865 and story_02751982 are identical: one is a duplicate


def test_checkpoints_or_comments_and_old_format(domain):
    graph = parse_stories(CHECKPOINTED, "mem")
    assert graph.stats() == {"stories": 3, "blocks": 3, "user_turns": 3, "bot_actions": 3, "other_events": 1,
                             "checkpoints": 1}
    old = graph.steps[2].items[0]
    assert isinstance(old, UserTurn) and len(old.alternatives) == 2
    assert old.alternatives[0].entity_dict() == {"location": "rome", "people": "two"}
    trackers = generate_trackers(graph, domain, augmentation_factor=0)
    assert len(trackers) == 3  # greet part joined with each of three continuations
    names = [[e.action_name for e in t.events if isinstance(e, ActionExecuted)] for t in trackers]
    assert names[0] == ["action_listen", "utter_ask_howcanhelp", "action_listen", "utter_on_it", "action_listen"]
    italian = trackers[0]
    assert italian.get_slot("cuisine") == "italian" and italian.get_slot("price") == "cheap"
    assert all(t.sender_id == "greet part" for t in trackers)


def test_round_trip_read_write_read(babi_stories_path, tmp_path: Path):
    for graph in (parse_stories(CHECKPOINTED, "mem"), read_stories(babi_stories_path)):
        path = write_stories(tmp_path / "again.md", graph)
        assert read_stories(path) == graph
        assert graph_to_string(read_stories(path)) == graph_to_string(graph)


def test_events_to_story_leaves_out_implied_events(domain):
    events = [ActionExecuted("action_listen"), UserUttered.with_intent("inform", {"price": "cheap"}),
              SlotSet("price", "cheap"), ActionExecuted("action_search_restaurants"), SlotSet("matches", ["a"]),
              ActionExecuted("action_listen")]
    assert events_to_story("s", events, domain) == (
        "## s\n* inform{\"price\": \"cheap\"}\n - action_search_restaurants\n")
    # without the domain the unfeaturized slot event is kept, and reading it back restores it
    text = events_to_story("s", events)
    assert ' - slot{"matches": ["a"]}' in text
    (tracker,) = generate_trackers(parse_stories(text), domain, augmentation_factor=0)
    assert tracker.events == events


def test_augmentation_glues_stories_and_deduplicates(babi_stories_path, domain):
    graph = read_stories(babi_stories_path)
    trackers = generate_trackers(graph, domain, augmentation_factor=5, seed=1)
    original = [t for t in trackers if not t.is_augmented]
    augmented = [t for t in trackers if t.is_augmented]
    assert len(original) == 999
    assert 0 < len(augmented) <= 50
    # an augmented dialogue holds two or more stories: at least two greets
    greets = sum(isinstance(e, UserUttered) and e.intent_name == "greet" for e in augmented[0].applied_events())
    assert greets >= 2
    again = generate_trackers(graph, domain, augmentation_factor=5, seed=1)
    assert [t.events for t in again] == [t.events for t in trackers]  # deterministic under a seed
    other = generate_trackers(graph, domain, augmentation_factor=5, seed=2)
    assert [t.events for t in other] != [t.events for t in trackers]  # ... and the seed is used


@pytest.mark.parametrize("text, line, expected", [
    ("* greet\n", 1, "expected '## story name'"),
    ("## s\n* greet{\"a\": }\n", 2, "invalid JSON"),
    ("## s\n* greet{\"a\": 1}x\n", 2, "expected 'intent'"),
    ("## s\n- slot{\"a\": 1, \"b\": 2}\n", 2, "exactly one slot"),
    ("## s\n* _inform[location]\n", 2, "entity=value"),
    ("## s\nhello\n", 2, "expected '* intent'"),
    ("## s\n- utter_x{\"a\": 1}\n", 2, "unexpected parameters"),
    ("# s\n* greet\n", 1, "two '#'"),
    ("##\n", 1, "story name"),
    ("## s\n", 1, "has no events"),
    ("## s\n<!-- never closed\n* greet\n", 2, "unterminated comment"),
    ("## s\n> nowhere\n* greet\n", 1, "no story ends with"),
    ("## s\n* greet\n> dangling\n", 1, "no story starts with"),
])
def test_malformed_stories_name_file_line_and_expectation(tmp_path: Path, text, line, expected):
    path = tmp_path / "bad.md"
    path.write_text(text)
    with pytest.raises(StoryError) as info:
        read_stories(path)
    assert f"{path}:{line}:" in str(info.value)
    assert expected in str(info.value)


def test_unknown_action_is_reported_with_line(domain):
    graph = parse_stories("## s\n* greet\n - utter_nope\n", "mem.md")
    with pytest.raises(StoryError, match=r"mem.md:3: .*utter_nope"):
        graph.validate(domain)


def test_missing_story_file():
    with pytest.raises(StoryError, match="not found"):
        read_stories("/nonexistent/stories.md")


def test_a_story_ending_with_a_user_message_is_warned_about(babi_stories_path, capsys):
    text = "## fine\n* greet\n - utter_ask_howcanhelp\n\n## cut short\n* greet\n - utter_ask_howcanhelp\n* thankyou\n"
    graph = parse_stories(text, "mem.md")
    assert graph.warnings() == ["mem.md:8: story 'cut short' ends with a user message (thankyou): "
                                "trained as 'the bot listens here'"]
    assert parse_stories(CHECKPOINTED, "cp.md").warnings() == []  # a block ending in a checkpoint continues
    # the one truncated story of Rasa's bAbI data (it teaches silence after "thankyou")
    assert main(["stories", "check", str(babi_stories_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["warnings"]) == 1 and ":9152: story 'story_03973524'" in doc["warnings"][0]

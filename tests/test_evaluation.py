"""Teacher-forced story evaluation: metrics on a hand-checked example, failed stories, reports, splits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agents.evaluation import (
    action_metrics,
    confusion_matrix,
    evaluate_stories,
    split_stories,
    write_report,
)
from agents.policy import Policy
from dialog_gym.stories import parse_stories, read_stories
from tests.policy_helpers import trackers_from_text


def test_metrics_by_hand():
    gold = ["a", "a", "a", "b", "c", "c"]
    pred = ["a", "a", "b", "b", "c", "a"]
    m = action_metrics(gold, pred)
    # per label: a: P = 2/3 (a predicted 3x, 2 right), R = 2/3; b: P = 1/2, R = 1; c: P = 1, R = 1/2
    p = {"a": 2 / 3, "b": 1 / 2, "c": 1.0}
    r = {"a": 2 / 3, "b": 1.0, "c": 1 / 2}
    f = {k: 2 * p[k] * r[k] / (p[k] + r[k]) for k in p}  # a: 2/3, b: 2/3, c: 2/3
    w = {"a": 3 / 6, "b": 1 / 6, "c": 2 / 6}  # support weights
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["precision"] == pytest.approx(sum(w[k] * p[k] for k in w)) == pytest.approx(3 / 4)  # 1/3 + 1/12 + 1/3
    assert m["recall"] == pytest.approx(sum(w[k] * r[k] for k in w)) == pytest.approx(4 / 6)
    assert m["f1"] == pytest.approx(sum(w[k] * f[k] for k in w)) == pytest.approx(2 / 3)
    assert m["per_label"]["b"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1}


def test_a_label_only_predicted_counts_with_zero_weight():
    m = action_metrics(["a", "a"], ["a", "z"])
    assert m["accuracy"] == 0.5 and m["precision"] == pytest.approx(1.0) and m["recall"] == pytest.approx(0.5)
    assert m["per_label"]["z"]["support"] == 0


def test_confusion_matrix():
    matrix, labels = confusion_matrix(["a", "b", "b"], ["b", "b", "a"])
    assert labels == ["a", "b"] and matrix.tolist() == [[0, 1], [1, 1]]


STORIES = """
## s1
* greet
 - utter_ask_howcanhelp
* thankyou
 - utter_goodbye

## s2
* greet
 - utter_ask_howcanhelp
"""


class ListenAfterThanks(Policy):
    """Listens after every bot action; answers greet with howcanhelp, anything else with greet."""

    def predict_action_probabilities(self, tracker, domain):
        out = np.zeros(domain.num_actions)
        if tracker.latest_action_name not in (None, "action_listen"):
            out[0] = 1.0
        elif tracker.latest_message.intent_name == "greet":
            out[domain.index_for_action("utter_ask_howcanhelp")] = 1.0
        elif tracker.latest_message.intent_name is not None:
            out[domain.index_for_action("utter_greet")] = 1.0
        else:
            out[0] = 1.0
        return out


def test_teacher_forced_evaluation_by_hand(domain, tmp_path):
    trackers = trackers_from_text(STORIES, domain)
    ev = evaluate_stories(ListenAfterThanks(), trackers, domain, name="hand")
    # s1: listen, howcanhelp, listen, goodbye (predicted utter_greet), listen -> 4 of 5 right
    # s2: listen, howcanhelp, listen -> 3 of 3 right
    m = ev.metrics()
    assert (m["actions"], m["correct_actions"], m["stories"], m["correct_stories"]) == (8, 7, 2, 1)
    assert m["action_accuracy"] == pytest.approx(7 / 8) and m["story_accuracy"] == 0.5
    # precision: listen 5/5, howcanhelp 2/2, goodbye 0 (never predicted), utter_greet 0 (support 0)
    # weights: listen 5/8, howcanhelp 2/8, goodbye 1/8 -> P = R = 7/8; F1 = 5/8 + 2/8 + 0 = 7/8
    assert m["precision"] == pytest.approx(7 / 8) and m["recall"] == pytest.approx(7 / 8)
    assert m["f1"] == pytest.approx(7 / 8)
    (failed,) = ev.failed_stories
    assert "## s1" in failed and " - utter_goodbye   <!-- predicted: utter_greet -->" in failed
    assert parse_stories(failed).steps[0].block_name == "s1"  # still a valid story

    report = write_report(ev, tmp_path / "hand")
    saved = json.loads((tmp_path / "hand" / "report.json").read_text())
    assert saved["failed_stories"] == ["s1"] and saved["action_accuracy"] == pytest.approx(7 / 8)
    assert (tmp_path / "hand" / "confusion_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "predicted: utter_greet" in (tmp_path / "hand" / "failed_stories.md").read_text()
    assert report["f1"] == pytest.approx(7 / 8)
    # the failed-stories file parses as stories
    assert len(read_stories(tmp_path / "hand" / "failed_stories.md").steps) == 1


def test_all_zero_predictions_count_as_action_listen_and_abstentions(domain):
    class Nothing(Policy):
        def predict_action_probabilities(self, tracker, domain):
            return np.zeros(domain.num_actions)

    ev = evaluate_stories(Nothing(), trackers_from_text(STORIES, domain), domain)
    assert ev.abstained == 8 and set(ev.predicted) == {"action_listen"}


def test_split_stories_by_story():
    graph = parse_stories(STORIES + "\n## s3\n* deny\n - utter_goodbye\n")
    train, test = split_stories(graph, 2)
    assert [s.block_name for s in train.steps] == ["s1", "s2"] and [s.block_name for s in test.steps] == ["s3"]
    with pytest.raises(ValueError):
        split_stories(graph, 3)
    with pytest.raises(ValueError, match="checkpoints"):
        split_stories(parse_stories("## a\n* greet\n - utter_greet\n> c\n\n## b\n> c\n* deny\n - utter_goodbye\n"), 1)

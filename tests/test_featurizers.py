"""Featurization against hand-computed vectors: every slot type, padding, X/y shapes, deduplication."""

from __future__ import annotations

import numpy as np
import pytest

from dialog_gym.domain import Domain
from dialog_gym.events import ActionExecuted, SlotSet, UserUttered
from dialog_gym.featurizers import (
    BinarySingleStateFeaturizer,
    FullDialogueTrackerFeaturizer,
    MaxHistoryTrackerFeaturizer,
)
from dialog_gym.slots import (
    BooleanSlot,
    CategoricalSlot,
    FloatSlot,
    ListSlot,
    TextSlot,
    UnfeaturizedSlot,
)
from dialog_gym.tracker import DialogueStateTracker

TYPED = """
intents: [greet, inform]
entities: [name]
slots:
  name: {type: text}
  vip: {type: bool}
  size: {type: categorical, values: [small, Large]}
  budget: {type: float, min_value: 10, max_value: 30}
  items: {type: list}
  notes: {type: unfeaturized}
actions: [utter_hi, action_x]
"""


@pytest.mark.parametrize("slot, value, expected", [
    (TextSlot("t"), None, [0.0]),
    (TextSlot("t"), "x", [1.0]),
    (BooleanSlot("b"), None, [0.0, 0.0]),
    (BooleanSlot("b"), True, [1.0, 1.0]),
    (BooleanSlot("b"), False, [1.0, 0.0]),
    (BooleanSlot("b"), "false", [1.0, 0.0]),
    (CategoricalSlot("c", values=("a", "B")), "b", [0.0, 1.0]),
    (CategoricalSlot("c", values=("a", "B")), "zzz", [0.0, 0.0]),  # unknown value -> zeros
    (CategoricalSlot("c", values=("a", "B")), None, [0.0, 0.0]),
    (FloatSlot("f", min_value=10, max_value=30), 15, [0.25]),
    (FloatSlot("f", min_value=10, max_value=30), 99, [1.0]),   # clipped
    (FloatSlot("f", min_value=10, max_value=30), -5, [0.0]),
    (FloatSlot("f"), 0.3, [0.3]),                               # default range 0..1
    (ListSlot("l"), [], [0.0]),
    (ListSlot("l"), ["a"], [1.0]),
    (UnfeaturizedSlot("u"), "anything", []),
])
def test_slot_features(slot, value, expected):
    assert slot.as_feature(value) == pytest.approx(expected)
    assert slot.feature_dimensionality() == len(expected)


def typed_domain() -> Domain:
    return Domain.from_yaml(TYPED, "typed")


def test_state_vector_layout_by_hand():
    d = typed_domain()
    # intents(2) entities(1) slots: name 1, vip 2, size 2, budget 1, items 1 (notes 0) = 7, prev actions 4
    assert d.num_states == 2 + 1 + 7 + 4
    t = DialogueStateTracker.for_domain(d)
    for e in [ActionExecuted("action_listen"), UserUttered.with_intent("inform", {"name": "bo"}, confidence=0.4),
              SlotSet("vip", True), SlotSet("size", "large"), SlotSet("budget", 20), SlotSet("items", ["a"]),
              SlotSet("notes", "ignored")]:
        t.update(e, d)
    f = BinarySingleStateFeaturizer()
    f.prepare_from_domain(d)
    vec = f.encode(t.active_state(d))
    #                 greet inform name | name vip   size   budget items | listen restart hi x
    expected = np.array([0, 1, 1, 1, 1, 1, 0, 1, 0.5, 1, 1, 0, 0, 0], dtype=np.float32)
    np.testing.assert_allclose(vec, expected)
    assert np.all(f.encode(None) == -1)  # padding
    # intent probabilities: the NLU confidence instead of 1.0
    np.testing.assert_allclose(f.encode(t.active_state(d, use_intent_probabilities=True))[1], 0.4)


def story_tracker(d: Domain) -> DialogueStateTracker:
    t = DialogueStateTracker.for_domain(d)
    for e in [ActionExecuted("action_listen"), UserUttered.with_intent("greet"), ActionExecuted("utter_hi"),
              ActionExecuted("action_listen"), UserUttered.with_intent("inform", {"name": "x"}),
              ActionExecuted("action_x"), ActionExecuted("action_listen")]:
        t.update(e, d)
    return t


def test_max_history_training_data_shapes_and_padding():
    d = typed_domain()
    t = story_tracker(d)
    feat = MaxHistoryTrackerFeaturizer(max_history=3)
    data = feat.featurize_trackers([t], d)
    assert data.X.shape == (5, 3, d.num_states)  # one example per action
    assert data.y.shape == (5, d.num_actions)
    # the first action (action_listen) is predicted from [pad, pad, empty state]
    assert np.all(data.X[0, :2] == -1) and np.all(data.X[0, 2] == 0)
    assert data.y[0, d.index_for_action("action_listen")] == 1
    assert data.y[1, d.index_for_action("utter_hi")] == 1
    # a second identical dialogue adds no examples
    assert len(feat.featurize_trackers([t, story_tracker(d)], d)) == 5
    assert len(MaxHistoryTrackerFeaturizer(3, remove_duplicates=False).featurize_trackers([t, t], d)) == 10


def test_full_dialogue_featurizer_pads_at_the_end_with_minus_one_labels():
    d = typed_domain()
    long_t = story_tracker(d)
    short_t = DialogueStateTracker.for_domain(d)
    for e in [ActionExecuted("action_listen"), UserUttered.with_intent("greet"), ActionExecuted("utter_hi")]:
        short_t.update(e, d)
    data = FullDialogueTrackerFeaturizer().featurize_trackers([long_t, short_t], d)
    assert data.X.shape == (2, 5, d.num_states)
    assert data.y.shape == (2, 5, d.num_actions)
    assert list(data.true_length) == [5, 2]
    assert np.all(data.X[1, 2:] == -1) and np.all(data.y[1, 2:] == -1)
    assert data.y[1, 1, d.index_for_action("utter_hi")] == 1


def test_prediction_features_equal_the_incremental_window():
    d = typed_domain()
    t = story_tracker(d)
    feat = MaxHistoryTrackerFeaturizer(max_history=4)
    window = feat.window(d)
    window.reset(t.past_states(d))
    np.testing.assert_array_equal(window.matrix(), feat.create_X([t], d)[0])


def test_featurizer_round_trips_through_dict():
    feat = MaxHistoryTrackerFeaturizer(max_history=7, remove_duplicates=False, use_intent_probabilities=True)
    again = MaxHistoryTrackerFeaturizer.from_dict(feat.to_dict())
    assert (again.max_history, again.remove_duplicates, again.use_intent_probabilities) == (7, False, True)

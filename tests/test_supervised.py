"""The supervised (Keras-style) policy: masking, learning, determinism, online updates, custom networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from agents.evaluation import evaluate_stories
from agents.policy_training import expert_story_graph, story_trackers
from agents.supervised import MaskedLSTM, SupervisedPolicy, collapse_duplicates
from tests.policy_helpers import prefix_before_action, trackers_from_text


@pytest.fixture(scope="module")
def expert():
    """20 dialogues of the rule expert with the simulated user, as story trackers."""
    graph, domain = expert_story_graph(20, seed=7)
    return story_trackers(graph, domain, augmentation=0), domain


@pytest.fixture(scope="module")
def trained(expert):
    trackers, domain = expert
    policy = SupervisedPolicy(max_history=3, epochs=100, learning_rate=0.01, seed=1)
    policy.train(trackers, domain)
    return policy


def test_the_supervised_policy_is_saved_as_supervised():
    assert SupervisedPolicy.name == "supervised"


def test_masking_ignores_left_padding():
    torch.manual_seed(0)
    rnn = MaskedLSTM(4, 8).eval()
    seq = torch.rand(1, 3, 4)
    padded = torch.cat([torch.full((1, 2, 4), -1.0), seq], dim=1)
    steps_plain, last_plain = rnn(seq)
    steps_padded, last_padded = rnn(padded)
    assert torch.allclose(last_plain, last_padded, atol=1e-6)
    assert torch.allclose(steps_padded[:, 2:], steps_plain, atol=1e-6)
    assert torch.all(steps_padded[:, :2] == 0)


def test_learns_the_expert_well_above_chance(expert, trained):
    trackers, domain = expert
    metrics = evaluate_stories(trained, trackers, domain).metrics()
    chance = 1 / domain.num_actions
    assert metrics["action_accuracy"] > 0.9 > 10 * chance
    assert trained.history and trained.history[-1]["loss"] < trained.history[0]["loss"]
    p = trained.predict_action_probabilities(trackers[0], domain)
    assert p.shape == (domain.num_actions,) and p.sum() == pytest.approx(1.0)


def test_training_is_deterministic_under_a_seed(expert):
    trackers, domain = expert
    a, b = (SupervisedPolicy(max_history=3, epochs=3, seed=5) for _ in range(2))
    a.train(trackers[:5], domain)
    b.train(trackers[:5], domain)
    for (ka, va), (kb, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    c = SupervisedPolicy(max_history=3, epochs=3, seed=6)
    c.train(trackers[:5], domain)
    assert not torch.equal(a.model.dense.weight, c.model.dense.weight)


def test_duplicates_become_weights():
    X = np.array([[[1, 0]], [[0, 1]], [[1, 0]], [[1, 0]]], dtype=np.float32)
    y = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=np.float32)
    Xu, yu, counts = collapse_duplicates(X, y)
    pairs = {(tuple(x.ravel()), tuple(t)): int(c) for x, t, c in zip(Xu, yu, counts, strict=True)}
    assert pairs == {((1, 0), (1, 0)): 2, ((0, 1), (0, 1)): 1, ((1, 0), (0, 1)): 1}


def test_early_stopping_and_validation(expert):
    trackers, domain = expert
    policy = SupervisedPolicy(max_history=3, seed=0)
    policy.train(trackers, domain, epochs=200, validation_split=0.2, early_stopping=2, learning_rate=0.05)
    assert len(policy.history) < 200 and "val_loss" in policy.history[-1]


def test_full_dialogue_variant(expert):
    trackers, domain = expert
    policy = SupervisedPolicy(full_dialogue=True, epochs=60, learning_rate=0.02, seed=0, batch_size=4)
    policy.train(trackers[:6], domain)
    assert policy.output_shape == (policy.input_shape[0], domain.num_actions)
    metrics = evaluate_stories(policy, trackers[:6], domain).metrics()
    assert metrics["action_accuracy"] > 0.9
    assert policy.predict_action_probabilities(trackers[0], domain).shape == (domain.num_actions,)


def test_continue_training_learns_a_correction(domain):
    stories = trackers_from_text("## a\n* greet\n - utter_ask_howcanhelp\n", domain)
    policy = SupervisedPolicy(max_history=3, epochs=150, seed=0, validation_split=0.0, learning_rate=0.01)
    policy.train(stories, domain)
    after_greet = prefix_before_action(stories[0], "utter_ask_howcanhelp")
    assert domain.action_names[int(policy.predict_action_probabilities(after_greet, domain).argmax())] \
        == "utter_ask_howcanhelp"
    n_before = len(policy.data)
    correction = trackers_from_text("## b\n* greet\n - utter_greet\n", domain)
    policy.continue_training(correction, domain)  # defaults: at least 5 epochs, then until it is learned
    assert len(policy.data) == n_before + 3  # the correction's three actions were added
    assert domain.action_names[int(policy.predict_action_probabilities(after_greet, domain).argmax())] \
        == "utter_greet"


def test_continue_training_for_exactly_the_given_epochs(expert):
    trackers, domain = expert
    policy = SupervisedPolicy(max_history=3, epochs=2, seed=0)
    policy.train(trackers[:3], domain)
    calls = []
    fit = policy._fit
    policy._fit = lambda *a, **k: calls.append(fit(*a, **k))
    policy.continue_training(trackers[3:4], domain, epochs=3, until_learned=False)
    assert len(calls[0]) == 3


def test_continue_training_an_untrained_policy_trains_it(domain):
    policy = SupervisedPolicy(max_history=2, epochs=2)
    policy.continue_training(trackers_from_text("## a\n* greet\n - utter_greet\n", domain), domain, epochs=2)
    assert policy.model is not None and len(policy.history) == 2


class TinyPolicy(SupervisedPolicy):
    """A custom network: flatten the window, one linear layer."""

    name = "tiny_supervised_test"

    def model_architecture(self, input_shape, output_shape):
        return nn.Sequential(nn.Flatten(), nn.Linear(input_shape[0] * input_shape[1], output_shape[-1]))


def test_model_architecture_is_overridable(expert, tmp_path):
    trackers, domain = expert
    policy = TinyPolicy(max_history=2, epochs=30)
    policy.train(trackers, domain)
    assert isinstance(policy.model, nn.Sequential)
    policy.persist(tmp_path / "tiny")
    loaded = SupervisedPolicy.load(tmp_path / "tiny")
    assert type(loaded) is TinyPolicy
    assert np.allclose(loaded.predict_action_probabilities(trackers[1], domain),
                       policy.predict_action_probabilities(trackers[1], domain))


def test_untrained_policy_cannot_predict_or_be_saved(domain, tmp_path):
    from dialog_gym.errors import DialogGymError, PersistenceError

    tracker = trackers_from_text("## a\n* greet\n - utter_greet\n", domain)[0]
    with pytest.raises(DialogGymError, match="not trained"):
        SupervisedPolicy().predict_action_probabilities(tracker, domain)
    with pytest.raises(PersistenceError, match="not trained"):
        SupervisedPolicy().persist(tmp_path / "x")


def test_full_dialogue_continue_training_pads_to_the_longer_dialogue(domain):
    short = trackers_from_text("## a\n* greet\n - utter_ask_howcanhelp\n", domain)
    longer = trackers_from_text("## b\n* greet\n - utter_ask_howcanhelp\n* thankyou\n - utter_goodbye\n", domain)
    policy = SupervisedPolicy(full_dialogue=True, epochs=2, validation_split=0.0)
    policy.train(short, domain)
    steps = policy.data.X.shape[1]
    policy.continue_training(longer, domain, epochs=2)
    assert policy.data.X.shape[0] == 2 and policy.data.X.shape[1] > steps
    assert (policy.data.y[0, steps:] == -1).all()  # the short dialogue's new steps are padding
    assert policy.predict_action_probabilities(longer[0], domain).shape == (domain.num_actions,)


def test_fit_options_take_the_known_keyword_arguments_only():
    from agents.supervised import FitOptions

    options = FitOptions.from_kwargs({"epochs": 3, "learning_rate": 0.5, "augmentation_factor": 20})
    assert options == FitOptions(epochs=3, learning_rate=0.5)


def test_train_and_continue_training_are_fit_on_the_featurized_trackers(expert):
    """Rasa's two entry points are the one ``fit``: same data and options give the same weights."""
    from agents.supervised import FitOptions

    trackers, domain = expert
    a, b = (SupervisedPolicy(max_history=3, epochs=3, seed=4) for _ in range(2))
    a.train(trackers[:4], domain, epochs=2, validation_split=0.0)
    b.fit(b.featurize_for_training(trackers[:4], domain), domain, FitOptions(epochs=2, validation_split=0.0))
    a.continue_training(trackers[4:5], domain, epochs=2, until_learned=False)
    b.fit(b.featurize_for_training(trackers[4:5], domain), domain, FitOptions(epochs=2, until_learned=False),
          online=True)
    assert len(a.history) == len(b.history) == 2 and len(a.data) == len(b.data) > 0
    for (name, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items(), strict=True):
        assert torch.equal(x, y), name

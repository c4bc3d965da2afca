"""The one agent contract (dialog_gym.agent): every kind of agent acts as ``agent(obs, info)``, ranks as
``action_probabilities(obs, info)``, gets the mask only from ``info["action_mask"]`` and the dialogue state
only from ``info["tracker"]`` (``info_tracker=True``), never from the env."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents import Policy, PolicyAgent, PolicyEnsemble, RandomPolicy, RulePolicy
from agents.learners import SB3Learner, SupervisedLearner
from agents.rl import SB3Agent
from dialog_gym.agent import Agent, Ranker, action_mask, greedy_allowed, sample_allowed
from dialog_gym.errors import DialogGymError
from dialog_gym.rollout import expert_act, random_act, run_episodes

torch.set_num_threads(1)
ENV_ID = "dialog_gym/Restaurant-v0"


def test_greedy_allowed_hand_computed():
    assert greedy_allowed(np.array([0.1, 0.5, 0.4]), np.array([1, 0, 1], np.int8)) == 2
    assert greedy_allowed(np.array([0.9, 0.0, 0.0, 0.1]), np.array([0, 1, 1, 1])) == 3
    # no allowed action has any probability: the first allowed one
    assert greedy_allowed(np.array([1.0, 0.0, 0.0]), np.array([0, 0, 1])) == 2


def test_sample_allowed_draws_uniformly_among_the_allowed_with_one_draw():
    mask = np.array([0, 1, 0, 1, 1, 0], np.int8)
    rng, ref = np.random.default_rng(7), np.random.default_rng(7)
    draws = [sample_allowed(rng, mask) for _ in range(3000)]
    assert draws[:20] == [int([1, 3, 4][ref.integers(3)]) for _ in range(20)]
    counts = np.bincount(draws, minlength=6)
    assert counts[[0, 2, 5]].sum() == 0 and all(900 < c < 1100 for c in counts[[1, 3, 4]])


def test_action_mask_reads_info():
    assert action_mask({}) is None
    assert action_mask({"action_mask": [1, 0]}).tolist() == [1, 0]


class RecordingPolicy(Policy):
    """A mask-aware policy: remembers the mask it was given."""

    name = "recording_test"

    def __init__(self) -> None:
        super().__init__()
        self.masks: list[np.ndarray | None] = []

    def predict_action_probabilities(self, tracker, domain):
        return np.ones(domain.num_actions)

    def predict_masked(self, tracker, domain, action_mask=None):
        self.masks.append(action_mask)
        return super().predict_masked(tracker, domain, action_mask)


class RasaPolicy(Policy):
    """Rasa's contract only: ``predict_action_probabilities(tracker, domain)``, two positional arguments."""

    name = "rasa_only_test"

    def predict_action_probabilities(self, tracker, domain):
        return np.eye(domain.num_actions)[5]


def test_the_mask_reaches_a_policy_only_from_info():
    env = gym.make(ENV_ID, info_tracker=True)
    obs, info = env.reset(seed=0)
    tracker = info["tracker"]
    policy = RecordingPolicy()
    agent = PolicyAgent(policy, env)
    fake = np.zeros(env.action_space.n, np.int8)
    fake[4] = 1  # not the env's mask: the agent must use the one in info
    assert agent(obs, {"action_mask": fake, "tracker": tracker}) == 4
    assert policy.masks[-1] is not None and policy.masks[-1].tolist() == fake.tolist()
    assert PolicyAgent(policy, env, respect_mask=False)(obs, {"action_mask": fake, "tracker": tracker}) == 0
    assert policy.masks[-1] is None
    # an ensemble hands the mask to each member
    PolicyAgent(PolicyEnsemble([policy, RasaPolicy()]), env)(obs, info)
    assert policy.masks[-1].tolist() == info["action_mask"].tolist()
    # a Rasa policy is called as Rasa calls it and its prediction is masked afterwards
    rasa = PolicyAgent(RasaPolicy(), env)
    assert rasa(obs, {"action_mask": fake, "tracker": tracker}) == 4
    allowed5 = np.zeros_like(fake)
    allowed5[[3, 5]] = 1
    assert rasa(obs, {"action_mask": allowed5, "tracker": tracker}) == 5


def test_the_tracker_reaches_a_policy_only_from_info():
    env = gym.make(ENV_ID, info_tracker=True)
    obs, info = env.reset(seed=0)
    agent = PolicyAgent(RulePolicy(), env)
    greet = agent(obs, info)  # the rule policy answers the greeting
    obs, _, _, _, info = env.step(greet)
    after = info["tracker"]
    assert after.latest_action_name == env.unwrapped.domain.action_names[greet]
    # the tracker of the info, not the env's: the env's moves on, the info's copy stays
    env.step(agent(obs, info))
    assert after.latest_action_name == env.unwrapped.domain.action_names[greet]
    with pytest.raises(DialogGymError, match="info_tracker=True"):
        agent(obs, {"action_mask": info["action_mask"]})
    plain = gym.make(ENV_ID)
    assert "tracker" not in plain.reset(seed=0)[1]  # opt-in: without it, infos stay as they were


def test_rule_policy_prediction_is_rasas_when_no_mask():
    env = gym.make(ENV_ID)
    env.reset(seed=3)
    base = env.unwrapped
    rule = RulePolicy()
    assert np.array_equal(rule.predict_action_probabilities(base.tracker, base.domain),
                          rule.predict_masked(base.tracker, base.domain, None))


def _agents(env: gym.Env) -> dict[str, object]:
    from agents.hyperparams import load_hyperparams
    from agents.policy_training import TrainingOptions, build_policy
    from agents.rl import build_model, make_vec_env

    model = build_model("maskable_ppo", make_vec_env(ENV_ID, 1, 0), load_hyperparams("maskable_ppo", ENV_ID), 0)
    supervised = build_policy("supervised", TrainingOptions(max_history=5, epochs=1, seed=0))
    return {
        "expert": expert_act(env), "random": random_act(env, 0),
        "rule policy": PolicyAgent(RulePolicy(), env), "random policy": PolicyAgent(RandomPolicy(seed=1), env),
        "sb3": SB3Agent(model), "sb3 learner": SB3Learner(model),
        "supervised learner": SupervisedLearner(supervised, env.unwrapped.domain),  # type: ignore[arg-type]
    }


def test_every_kind_of_agent_follows_the_contract():
    env = gym.make(ENV_ID, info_tracker=True)
    rankers = {"rule policy", "random policy", "sb3", "sb3 learner", "supervised learner"}
    for name, agent in _agents(env).items():
        assert isinstance(agent, Agent), name
        assert isinstance(agent, Ranker) == (name in rankers), name
        obs, info = env.reset(seed=11)
        for _ in range(6):
            action = agent(obs, info)  # type: ignore[operator]
            assert isinstance(action, int) and info["action_mask"][action], name
            if isinstance(agent, Ranker):
                probs = agent.action_probabilities(obs, info)
                assert probs.shape == (env.action_space.n,) and np.all(probs >= 0), name
            obs, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break


@pytest.mark.parametrize("name", ["expert", "rule policy"])
def test_the_expert_succeeds_through_run_episodes(name):
    env = gym.make(ENV_ID, info_tracker=True)
    results, _ = run_episodes(env, _agents(env)[name], 5, seed=0)  # type: ignore[arg-type]
    assert all(r.success for r in results) and all(r.invalid_actions == 0 for r in results)


@pytest.mark.parametrize("env_id", [ENV_ID, "dialog_gym/PyDial-CR-Env3-v0"])
def test_the_tracker_info_is_picklable_and_the_env_too(env_id):
    """What crosses a process boundary (AsyncVectorEnv): the env, and infos with the dialogue state."""
    env = gym.make(env_id, info_tracker=True)
    obs, info = env.reset(seed=2)
    expert = expert_act(env)
    obs, _, _, _, info = env.step(expert(obs, info))
    copied = pickle.loads(pickle.dumps(info))
    assert copied["tracker"].events == info["tracker"].events
    assert expert(obs, copied) == expert(obs, info)  # the rule expert reads only what crossed
    clone = pickle.loads(pickle.dumps(env.unwrapped))
    assert clone.info_tracker and clone.step(expert(obs, info))[4]["tracker"].events == \
        env.unwrapped.step(expert(obs, info))[4]["tracker"].events

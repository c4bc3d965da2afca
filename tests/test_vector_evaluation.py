"""Evaluation over a Gymnasium vector env: ``n_envs=K`` gives the same per-dialogue results as one env for
every kind of agent (each dialogue keeps its reset seed), SB3 models predicting in batches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import dialog_gym  # noqa: F401
from agents.evaluation_sim import evaluate_dialogues
from agents.loading import make_agent
from agents.policy import PolicyAgent
from agents.rl import SB3Agent, build_model, make_vec_env
from dialog_gym.metrics import EpisodeResult
from dialog_gym.rollout import info_at, run_dialogues, run_episodes, vector_env

torch.set_num_threads(1)
ENV = "dialog_gym/Restaurant-Env3-v0"  # noise: the dialogues differ in length, so sub-envs finish out of order
EPISODES = 12


def _per_dialogue(make: Callable[[gym.Env], Any], env_id: str, n_envs: int, **kwargs: Any) -> list[EpisodeResult]:
    (results,) = evaluate_dialogues(make, env_id, EPISODES, seeds=[3], n_envs=n_envs, **kwargs)
    return results


def _rasa_policies() -> dict[str, Callable[[gym.Env], Any]]:
    from agents.policy_training import TrainingOptions, expert_story_graph, story_trackers, train_policies

    graph, domain = expert_story_graph(20, seed=0, env_id=ENV)
    trackers = story_trackers(graph, domain, augmentation=0)
    trained = train_policies(["memo", "supervised", "ensemble"], trackers, domain,
                             TrainingOptions(seed=0, epochs=3))
    return {name: (lambda env, p=policy: PolicyAgent(p, env)) for name, (policy, _) in trained.items()}


def _sb3_models() -> dict[str, Callable[[gym.Env], Any]]:
    from agents.hyperparams import load_hyperparams

    models = {}
    generator = torch.Generator().manual_seed(0)
    for algo in ("ppo", "maskable_ppo", "a2c", "dqn", "maskable_dqn"):
        model = build_model(algo, make_vec_env(ENV, 1, 0), load_hyperparams(algo, ENV), 0)
        with torch.no_grad():  # large random weights: the choice depends on the observation
            for param in model.policy.parameters():
                param.normal_(0.0, 1.0, generator=generator)
        models[algo] = lambda env, m=model: SB3Agent(m)
    return models


def test_every_agent_kind_gives_the_same_dialogues_over_eight_envs():
    agents: dict[str, Callable[[gym.Env], Any]] = {
        "rule": lambda env: make_agent("rule", env), "random": lambda env: make_agent("random", env, seed=4),
        **_rasa_policies(), **_sb3_models()}
    for name, make in agents.items():
        one = _per_dialogue(make, ENV, 1)
        assert len(one) == EPISODES, name
        # not all alike (unmasked SB3 models may repeat one masked-out action until the step limit)
        assert len({(r.steps, r.reward) for r in one}) > 1 or name in ("ppo", "a2c", "dqn"), name
        assert _per_dialogue(make, ENV, 8) == one, name
        assert _per_dialogue(make, ENV, 5) == one, name  # more dialogues than sub-envs, uneven


@pytest.mark.parametrize("env_id", ["dialog_gym/Restaurant-Summary-Env3-v0", "dialog_gym/PyDial-CR-Env3-v0"])
def test_the_rule_expert_and_random_agent_of_each_family_too(env_id):
    for spec in ("rule", "random"):
        one = _per_dialogue(lambda env, s=spec: make_agent(s, env, seed=1), env_id, 1)
        assert _per_dialogue(lambda env, s=spec: make_agent(s, env, seed=1), env_id, 4) == one, (env_id, spec)


def test_async_vector_env_gives_the_same_dialogues():
    make = lambda env: make_agent("rule", env)  # noqa: E731
    one = _per_dialogue(make, ENV, 1)
    assert _per_dialogue(make, ENV, 2, asynchronous=True) == one


def test_n_envs_one_is_the_single_env_run():
    """One sub-environment replays run_episodes on a plain env: the same seeds, the same dialogues."""
    env = gym.make(ENV, info_tracker=True)
    plain, events = run_episodes(env, make_agent("rule", env), 4, seed=3, keep_events=True)
    assert _per_dialogue(lambda e: make_agent("rule", e), ENV, 1)[:4] == plain
    assert all(ev and ev[0].as_dict()["event"] == "action" for ev in events)  # each dialogue's own tracker


class CountingBatchAgent:
    """A batch agent that records the batch sizes it was given (and acts like the first allowed action)."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def __call__(self, obs: np.ndarray, info: dict[str, Any]) -> int:
        raise AssertionError("a batch agent is called per batch")

    def act_batch(self, observations: np.ndarray, infos: list[dict[str, Any]]) -> np.ndarray:
        self.sizes.append(len(infos))
        assert observations.shape[0] == len(infos)
        return np.array([int(np.flatnonzero(i["action_mask"])[0]) for i in infos])


def test_a_batch_agent_gets_the_running_dialogues_in_one_call():
    envs = vector_env(lambda: gym.make(ENV), 4)
    agent = CountingBatchAgent()
    results, _ = run_dialogues(envs, agent, list(range(6)))
    assert len(results) == 6
    assert agent.sizes[0] == 4 and max(agent.sizes) == 4 and min(agent.sizes) >= 1
    assert sum(agent.sizes) == sum(r.steps for r in results)  # fillers are not asked


def test_info_at_unbatches_nested_infos():
    infos = {"a": np.array([1, 2]), "_a": np.array([True, False]),
             "goal": {"x": np.array(["p", "q"], dtype=object), "_x": np.array([True, True])}}
    assert info_at(infos, 0) == {"a": 1, "goal": {"x": "p"}}
    assert info_at(infos, 1) == {"goal": {"x": "q"}}
    assert type(info_at(infos, 0)["a"]) is int


class VectorPath:
    """An agent run through the vector path even over one sub-environment (a batch agent is never stepped by
    the fast path): acts as the agent it wraps, state by state, and passes on each dialogue's reset seed."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent

    def __call__(self, obs: np.ndarray, info: dict[str, Any]) -> int:
        return self.agent(obs, info)

    def act_batch(self, observations: np.ndarray, infos: list[dict[str, Any]]) -> np.ndarray:
        return np.array([self.agent(o, i) for o, i in zip(observations, infos, strict=True)])

    def reset(self, seed: int | None) -> None:
        if hasattr(self.agent, "reset"):
            self.agent.reset(seed)


@pytest.mark.parametrize("env_id", ["dialog_gym/PyDial-CR-Env3-v0", ENV])
def test_the_direct_paths_give_the_vector_envs_dialogues_and_events(env_id, monkeypatch):
    """run_dialogues steps a SyncVectorEnv's sub-environments itself (one sub-environment and an agent acting
    per state: the plain loop of ``_run_in_env``); the dialogues, results and events are those of an
    AsyncVectorEnv's batched infos, for agents acting per state and in batches."""
    import dialog_gym.rollout as rollout
    from agents.gp_sarsa import GPSarsa, GPSarsaAgent
    from agents.hyperparams import load_hyperparams

    probe = gym.make(env_id, info_tracker=True)
    learner = GPSarsa(int(probe.action_space.n), int(np.prod(probe.observation_space.shape)), seed=0)
    expert = make_agent("rule", probe)
    for seed in range(3):  # learn the expert's first dialogues: the GP's choices then vary with the state
        obs, info = probe.reset(seed=seed)
        steps, done = [], False
        while not done:
            action = expert(obs, info)
            next_obs, reward, terminated, truncated, info = probe.step(action)
            steps.append((obs, action, float(reward)))
            obs, done = next_obs, terminated or truncated
        learner.learn_episode(*map(list, zip(*steps, strict=True)))
    model = build_model("maskable_ppo", make_vec_env(env_id, 1, 0), load_hyperparams("maskable_ppo", env_id), 0)
    makers = {"rule": lambda env: make_agent("rule", env), "random": lambda env: make_agent("random", env, seed=2),
              "gp_sarsa": lambda env: GPSarsaAgent(learner), "maskable_ppo": lambda env: SB3Agent(model)}
    if env_id == ENV:  # GP-SARSA serves turn-level tasks only
        del makers["gp_sarsa"]
    seeds = list(range(100, 100 + EPISODES))
    plain_loops = []
    loop = rollout._run_in_env
    monkeypatch.setattr(rollout, "_run_in_env", lambda *a: plain_loops.append(1) or loop(*a))

    def run(make: Callable[[gym.Env], Any], n_envs: int, asynchronous: bool = False
            ) -> tuple[list[EpisodeResult], list[list[dict]]]:
        envs = vector_env(lambda: gym.make(env_id, info_tracker=True), n_envs, asynchronous)
        results, events = run_dialogues(envs, make(probe), seeds, keep_events=True)
        envs.close()
        return results, [[e.as_dict() for e in dialogue] for dialogue in events]

    for name, make in makers.items():
        plain_loops.clear()
        one = run(make, 1)
        assert plain_loops == ([] if name == "maskable_ppo" else [1]), name
        assert len({(r.steps, r.reward) for r in one[0]}) > 1, name
        assert run(lambda env, m=make: VectorPath(m(env)), 1) == one, name  # the direct loop over one env
        assert run(make, 3) == one, name
        assert run(make, 2, asynchronous=True) == one, name

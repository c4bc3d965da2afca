"""No learner is tested on its training dialogues: every reset seed is recorded while each kind of learner
trains and while it is then tested (with the defaults of its commands), and the two sets must not meet.

Kinds: Rasa-style policies (``train-policy`` then ``rollout``), pretrained and corrected learners
(``make_learner`` and ``learning_curve``), warm-started and resumed RL (``train`` then ``rollout``), and the
benchmark's imitation and RL agents."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

from agents.cli import main

ENV = "dialog_gym/Restaurant-v0"
FAST = ["--epochs", "5", "--augmentation", "0", "--max-history", "3"]


class Resets:
    """The reset seeds the environments see, by phase ("train" or "test"); unseeded resets (an RL environment
    continuing its own random generator) are not dialogues of any stream and are not recorded."""

    def __init__(self) -> None:
        self.phase = "train"
        self.seeds: dict[str, set[int]] = {"train": set(), "test": set()}

    @contextlib.contextmanager
    def testing(self) -> Iterator[None]:
        before, self.phase = self.phase, "test"
        try:
            yield
        finally:
            self.phase = before

    def while_testing(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """``function``, its resets counted as test dialogues."""
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with self.testing():
                return function(*args, **kwargs)
        return wrapped

    def check(self, least_train: int, least_test: int) -> None:
        train, test = self.seeds["train"], self.seeds["test"]
        assert len(train) >= least_train and len(test) >= least_test, (len(train), len(test))
        assert not train & test, f"tested on {len(train & test)} training dialogues, e.g. {sorted(train & test)[:5]}"


@pytest.fixture
def resets(monkeypatch: pytest.MonkeyPatch) -> Resets:
    record = Resets()
    original = gym.Env.reset

    def reset(self: gym.Env, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        if seed is not None:
            record.seeds[record.phase].add(seed)
        return original(self, seed=seed, options=options)

    monkeypatch.setattr(gym.Env, "reset", reset)
    return record


def test_the_recorder_sees_an_overlap(resets: Resets):
    """The check can fail: the old pretraining seeds (0, 1, ...) met the evaluation seeds of seed 0."""
    from dialog_gym.rollout import expert_act, run_episodes

    env = gym.make(ENV, info_tracker=True)
    for i in range(3):
        env.reset(seed=i)  # seeds 0, 1, 2: what make_learner("pretrained", seed=0) used to train on
    with resets.testing():
        run_episodes(env, expert_act(env), 3, seed=0)
    with pytest.raises(AssertionError, match="tested on 3 training dialogues"):
        resets.check(3, 3)


def test_train_policy_then_rollout(resets: Resets, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    stories = tmp_path / "expert.md"
    assert main(["stories", "simulate", "--episodes", "4", "--out", str(stories)]) == 0
    assert main(["train-policy", "--policy", "memo", "--stories", str(stories), "--out", str(tmp_path / "s"),
                 *FAST]) == 0
    assert main(["train-policy", "--policy", "memo", "--episodes", "4", "--out", str(tmp_path / "m"), *FAST]) == 0
    with resets.testing():
        for policy in ("s", "m"):
            assert main(["rollout", "--policy", str(tmp_path / policy), "--episodes", "4", "--json"]) == 0
    capsys.readouterr()
    resets.check(4, 4)


@pytest.mark.parametrize("learner, modes", [("supervised", ("correct", "bc")), ("sb3", ("correct",))])
def test_pretrained_and_corrected_learners(resets: Resets, monkeypatch: pytest.MonkeyPatch, learner: str,
                                           modes: tuple[str, ...]):
    import agents.imitation as imitation

    learned = imitation.make_learner("pretrained", seed=0, env_id=ENV, learner=learner, pretrain_dialogues=3)
    with resets.testing():
        imitation.evaluate_learner(learned, ENV, episodes=3, seed=0)
    resets.check(3, 3)
    # a learning curve: the start's training, the session's corrected dialogues, the tests after each
    monkeypatch.setattr(imitation, "evaluate_learner", resets.while_testing(imitation.evaluate_learner))
    for mode in modes:
        imitation.learning_curve(start="scratch", dialogues=1, eval_episodes=3, learner=learner, mode=mode,
                                 env_id=ENV)
    resets.check(4, 3)


def test_warm_started_and_resumed_rl_then_rollout(resets: Resets, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]):
    import agents.rl_training as rl_training

    monkeypatch.setattr(rl_training, "evaluate_agent", resets.while_testing(rl_training.evaluate_agent))
    spec = dict(algo="maskable_ppo", env_id=ENV, out=tmp_path, n_envs=2, overrides={"n_steps": 32, "batch_size": 32},
                eval_every=4, eval_episodes=3, progress=False, tensorboard=False)
    rl_training.train(rl_training.TrainSpec(dialogues=4, warm_start="rule", **spec))
    rl_training.train(rl_training.TrainSpec(dialogues=8, resume=True, **spec))
    with resets.testing():
        assert main(["rollout", "--policy", str(tmp_path), "--episodes", "3", "--json"]) == 0
    capsys.readouterr()
    resets.check(200 + 2 + 2, 3 + 3)  # demonstrations, the first resets of the 2 envs at the start and at resume


def test_the_benchmarks_agents(resets: Resets, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    import agents.benchmark as benchmark
    from dialog_gym.envs import EnvRef

    env = EnvRef.of(ENV)  # the benchmark's runners take an environment by value
    monkeypatch.setattr(benchmark, "_test", resets.while_testing(benchmark._test))
    budget = benchmark.Budget("tiny", seeds=2, batches=(3,), test_episodes=3, agents=("memo", "maskable_ppo"),
                              imitation_epochs=1)
    for seed in (0, 1):
        benchmark._run_imitation(["memo"], env, seed, budget)
    resets.check(6, 3)
    import agents.rl_training as rl_training

    monkeypatch.setattr(rl_training, "evaluate_agent", resets.while_testing(rl_training.evaluate_agent))
    for seed in (0, 1):
        benchmark._run_rl("ppo_warm", env, seed, budget, tmp_path)
    resets.check(6 + 2 * 200, 3)
    assert json.loads((tmp_path / "ppo_warm_Restaurant-v0_s1" / "train.json").read_text())["demonstrations"] == 200


def test_a_hyperparameter_search_never_scores_on_the_test_dialogues(resets: Resets, monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path):
    """``tune`` picks hyperparameters by their trials' evaluations: those are the validation stream's dialogues,
    not the benchmark's test dialogues the tuned agent is then scored on."""
    import agents.rl_training as rl_training
    from agents.tuning import TuneSpec, run_trial
    from dialog_gym.seeds import benchmark_test_seed, validation_seed

    monkeypatch.setattr(rl_training, "evaluate_agent", resets.while_testing(rl_training.evaluate_agent))
    spec = TuneSpec("maskable_ppo", ENV, tmp_path, trials=1, dialogues=2, eval_every=2, eval_episodes=3)
    run_trial(spec, {"n_steps": 32, "batch_size": 32}, "trial0", lambda point: None)
    assert resets.seeds["test"] == {validation_seed(0, i) for i in range(3)}
    assert not resets.seeds["test"] & {benchmark_test_seed(0, i) for i in range(3)}

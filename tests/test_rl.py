"""RL training: hyperparameter files, smoke training of every algorithm on every env, save/load,
warm start, resume, and the train command."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dialog_gym
from agents.cli import main
from agents.hyperparams import ALGORITHMS, load_hyperparams, load_warm_start, parse_policy_kwargs
from agents.loading import make_agent
from agents.rl import load_agent
from agents.rl_training import TrainSpec, train
from agents.warm_start import behaviour_clone, expert_demonstrations
from dialog_gym.errors import ConfigError, PersistenceError
from dialog_gym.resources import configs_dir
from dialog_gym.seeds import episode_seed


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_every_hyperparameter_file_loads_for_every_env(algo):
    for env_id in dialog_gym.env_ids():
        hp = load_hyperparams(algo, env_id)
        assert hp["n_envs"] >= 1 and hp["n_timesteps"] > 0
        assert isinstance(hp["policy_kwargs"], dict)


def test_glob_entries_apply_in_file_order_before_the_exact_id(tmp_path: Path):
    path = tmp_path / "dqn.yml"
    path.write_text("default: {learning_rate: 0.1, gamma: 0.9, tau: 0.5}\n"
                    "dialog_gym/PyDial-*: {learning_rate: 0.2, gamma: 0.8}\n"
                    "dialog_gym/PyDial-CR-*: {learning_rate: 0.3}\n"
                    "dialog_gym/PyDial-CR-Env2-v0: {tau: 0.25}\n")
    cr2 = load_hyperparams("dqn", "dialog_gym/PyDial-CR-Env2-v0", path=path)
    assert (cr2["learning_rate"], cr2["gamma"], cr2["tau"]) == (0.3, 0.8, 0.25)
    sfr = load_hyperparams("dqn", "dialog_gym/PyDial-SFR-Env1-v0", path=path)
    assert (sfr["learning_rate"], sfr["gamma"], sfr["tau"]) == (0.2, 0.8, 0.5)
    rest = load_hyperparams("dqn", "dialog_gym/Restaurant-v0", path=path)
    assert (rest["learning_rate"], rest["gamma"], rest["tau"]) == (0.1, 0.9, 0.5)
    path.write_text("default: {}\ndialog_gym/PyDial-*: {colour: red}\n")
    with pytest.raises(ConfigError, match=r"PyDial-\*.*colour"):
        load_hyperparams("dqn", "dialog_gym/PyDial-CR-Env2-v0", path=path)


def test_train_freq_in_episodes(tmp_path: Path):
    path = tmp_path / "dqn.yml"
    path.write_text("default: {train_freq: [2, episode]}\n")
    assert load_hyperparams("dqn", "dialog_gym/PyDial-CR-Env2-v0", path=path)["train_freq"] == (2, "episode")
    for bad in ("[2, dialogue]", "[0, step]", "[2]", "[2.5, step]"):
        path.write_text(f"default: {{train_freq: {bad}}}\n")
        with pytest.raises(ConfigError, match=r"dqn.yml: train_freq: expected a whole number"):
            load_hyperparams("dqn", "dialog_gym/PyDial-CR-Env2-v0", path=path)


def test_every_key_of_every_yaml_is_consumed(tmp_path: Path):
    for path in sorted((configs_dir() / "hyperparams").glob("*.yml")):
        if path.stem == "warm_start":
            for mode in ("conservative", "naive"):
                load_warm_start(mode, path)
            continue
        bad = tmp_path / path.name
        bad.write_text(path.read_text() + "  colour: red\n")
        with pytest.raises(ConfigError, match=r"unknown key\(s\) 'colour'"):
            load_hyperparams(path.stem, "dialog_gym/Restaurant-v0", path=bad)
    with pytest.raises(ConfigError, match="unknown key"):
        load_hyperparams("ppo", "dialog_gym/Restaurant-v0", {"learning_rat": 0.1})
    # YAML 1.1 reads 1e-4 as a string: it is coerced to the number
    assert load_hyperparams("ppo", "dialog_gym/Restaurant-v0", {"learning_rate": "1e-4"})["learning_rate"] == 1e-4


@pytest.mark.parametrize("text, expected", [
    ("dict(net_arch=[64, 64])", {"net_arch": [64, 64]}),
    ("dict(net_arch=dict(pi=[32], vf=[16]))", {"net_arch": {"pi": [32], "vf": [16]}}),
])
def test_policy_kwargs_parser(text, expected):
    assert parse_policy_kwargs(text, "x") == expected


@pytest.mark.parametrize("text", ["__import__('os').system('true')", "dict(a=open('x'))", "dict(a=nn.Foo)", "[1]"])
def test_policy_kwargs_parser_refuses_code(text):
    with pytest.raises(ConfigError):
        parse_policy_kwargs(text, "x")


@pytest.mark.parametrize("algo", ALGORITHMS)
@pytest.mark.parametrize("env_id", dialog_gym.env_ids())
def test_smoke_train_save_load(tmp_path: Path, algo, env_id):
    n_envs = 1 if algo == "dqn" else 2
    overrides = {"n_steps": 64, "batch_size": 64} if algo in ("ppo", "maskable_ppo") else {}
    if algo in ("dqn", "maskable_dqn"):
        overrides = {"learning_starts": 50}
    result = train(TrainSpec(algo, env_id, tmp_path, timesteps=256, n_envs=n_envs, overrides=overrides,
                             eval_every=10**6, eval_episodes=2, progress=False, tensorboard=False))
    assert result.timesteps >= 256
    _, meta = load_agent(tmp_path / "final")
    assert meta["algo"] == algo and meta["env_id"] == env_id
    import gymnasium as gym

    env = gym.make(env_id)
    agent = make_agent(str(tmp_path), env)
    obs, info = env.reset(seed=0)
    assert 0 <= agent(obs, info) < env.action_space.n


def _batch() -> tuple[np.ndarray, np.ndarray]:
    """A fixed batch of real observations and their masks: the rule expert's first 3 evaluation dialogues."""
    demos = expert_demonstrations("dialog_gym/Restaurant-v0", 3, seed=0, stream=episode_seed)
    return demos.obs, demos.masks


def _predictions(model, obs: np.ndarray, masks: np.ndarray) -> dict[str, np.ndarray]:
    """What a model says about ``obs``: its deterministic actions (under the masks where it takes them), its
    action probabilities and state values (actor-critics) or Q-values (DQN)."""
    import torch

    from agents.rl import is_masked_model

    policy = model.policy
    masked = is_masked_model(model)
    tensor = policy.obs_to_tensor(obs)[0]
    with torch.no_grad():
        if hasattr(policy, "q_net"):
            out = {"q": policy.q_net(tensor).numpy()}
        else:
            dist = policy.get_distribution(tensor, action_masks=masks) if masked else \
                policy.get_distribution(tensor)
            out = {"probs": dist.distribution.probs.numpy(), "values": policy.predict_values(tensor).numpy()}
    actions, _ = model.predict(obs, deterministic=True, action_masks=masks) if masked else \
        model.predict(obs, deterministic=True)
    return {**out, "actions": np.asarray(actions)}


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.allclose(a[k], b[k], rtol=0, atol=1e-6) for k in a)


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_a_saved_model_predicts_like_the_trained_one(tmp_path: Path, algo):
    """Round trip: a model trained (behaviour cloning of the expert moves every weight) and saved, then loaded,
    gives the same actions, probabilities and values as the trained model in memory, and not those of a fresh
    model of the same seed (which a load that dropped the weights would return)."""
    from agents.rl import build_model, make_vec_env, save_agent

    env_id = "dialog_gym/Restaurant-v0"
    hp = load_hyperparams(algo, env_id)
    obs, masks = _batch()
    trained = build_model(algo, make_vec_env(env_id, 1, 0), hp, seed=0)
    fresh = _predictions(trained, obs, masks)
    behaviour_clone(trained, expert_demonstrations(env_id, 10, seed=0), epochs=10, batch_size=64,
                    learning_rate=3e-3)
    expected = _predictions(trained, obs, masks)
    assert not _same(expected, fresh)  # else the comparison below could not tell a load from no load
    save_agent(trained, tmp_path / "agent", {"algo": algo, "env_id": env_id, "hyperparams": hp, "seed": 0})
    loaded, meta = load_agent(tmp_path / "agent")
    assert meta["algo"] == algo and type(loaded) is type(trained)
    assert _same(_predictions(loaded, obs, masks), expected)
    with pytest.raises(PersistenceError):
        load_agent(tmp_path / "nope")


def test_a_resumed_run_starts_from_the_checkpoint(tmp_path: Path, monkeypatch):
    """The model a resumed run continues from predicts exactly like the model the first run saved last (seen
    in memory as it was saved, not through a load), with the same optimizer state; so does ``load_agent``."""
    import torch

    import agents.rl_training as rl_training

    obs, masks = _batch()
    saved: dict[str, Any] = {}
    resumed: dict[str, Any] = {}
    real_save, real_load = rl_training.save_agent, rl_training.load_agent

    def save(model, folder, meta):
        if Path(folder).name == "final":
            saved.update(predictions=_predictions(model, obs, masks),
                         optimizer=copy.deepcopy(model.policy.optimizer.state_dict()))
        return real_save(model, folder, meta)

    def load(folder, env=None, load_optimizer=False):
        model, meta = real_load(folder, env=env, load_optimizer=load_optimizer)
        resumed.update(predictions=_predictions(model, obs, masks),
                       optimizer=copy.deepcopy(model.policy.optimizer.state_dict()))
        return model, meta

    monkeypatch.setattr(rl_training, "save_agent", save)
    monkeypatch.setattr(rl_training, "load_agent", load)
    spec = dict(algo="maskable_ppo", env_id="dialog_gym/Restaurant-v0", out=tmp_path, n_envs=2,
                overrides={"n_steps": 64, "batch_size": 64}, eval_every=20, eval_episodes=2, progress=False,
                tensorboard=False)
    first = train(TrainSpec(dialogues=20, warm_start="rule", **spec))
    checkpoint = dict(saved)
    loaded, _ = load_agent(tmp_path / "final")
    assert _same(_predictions(loaded, obs, masks), checkpoint["predictions"])
    second = train(TrainSpec(dialogues=40, resume=True, **spec))
    assert _same(resumed["predictions"], checkpoint["predictions"])
    state, expected_state = resumed["optimizer"]["state"], checkpoint["optimizer"]["state"]
    assert state.keys() == expected_state.keys() and state
    for key in state:
        for name in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(state[key][name], expected_state[key][name])
    assert second.dialogues >= 40 and second.timesteps > first.timesteps
    assert [p["dialogues"] for p in second.curve][: len(first.curve)] == [p["dialogues"] for p in first.curve]


def test_behaviour_cloning_imitates_the_expert():
    from agents.hyperparams import load_hyperparams as lh
    from agents.rl import build_model, make_vec_env

    env = make_vec_env("dialog_gym/Restaurant-v0", 1, 0)
    model = build_model("maskable_ppo", env, lh("maskable_ppo", "dialog_gym/Restaurant-v0"), seed=0)
    demos = expert_demonstrations("dialog_gym/Restaurant-v0", 20, seed=0)
    stats = behaviour_clone(model, demos, epochs=40, batch_size=64, learning_rate=3e-3)
    assert stats["accuracy"] > 0.95 and stats["examples"] == len(demos)


def test_schedules_decay_over_a_dialogue_budget(tmp_path: Path):
    """With a dialogue budget, SB3's progress counts dialogues: DQN's epsilon falls linearly from 1.0 to 0.05
    over the whole budget (exploration_fraction=1). The epsilon a point shows was set at the step before the
    one that finished its last dialogue, so it lies between the values for d - 1 and d dialogues."""
    result = train(TrainSpec("dqn", "dialog_gym/PyDial-CR-Env1-v0", tmp_path, dialogues=40, eval_every=20,
                             eval_episodes=2, progress=False, tensorboard=False,
                             overrides={"learning_starts": 10, "exploration_fraction": 1.0,
                                        "exploration_initial_eps": 1.0, "exploration_final_eps": 0.05}))
    eps = {p["dialogues"]: p.get("exploration_rate") for p in result.curve}
    assert eps[0] is None  # not yet acting
    for d in (20, 40):
        assert 1 - 0.95 * d / 40 - 1e-9 <= eps[d] <= 1 - 0.95 * (d - 1) / 40 + 1e-9, (d, eps[d])
    # a timestep budget keeps SB3's own progress (timesteps), as before
    timed = train(TrainSpec("dqn", "dialog_gym/PyDial-CR-Env1-v0", tmp_path / "t", timesteps=200, eval_every=1000,
                            eval_episodes=2, progress=False, tensorboard=False,
                            overrides={"learning_starts": 10, "exploration_fraction": 0.5,
                                       "exploration_initial_eps": 1.0, "exploration_final_eps": 0.05}))
    assert timed.final["exploration_rate"] == pytest.approx(0.05)


def test_train_command_json(tmp_path: Path, capsys):
    code = main(["train", "--algo", "a2c", "--timesteps", "200", "--out", str(tmp_path), "--eval-episodes", "2",
                 "--no-progress", "--json", "--set", "n_steps=8"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["timesteps"] >= 200 and data["curve"][0]["dialogues"] == 0
    assert (tmp_path / "best" / "agent.json").is_file() and (tmp_path / "train.json").is_file()
    assert main(["train", "--algo", "a2c", "--out", str(tmp_path), "--warm-start", "nope"]) == 2


def test_tensorboard_logs_when_the_extra_is_installed(tmp_path: Path, monkeypatch):
    pytest.importorskip("tensorboard")
    spec = TrainSpec("maskable_ppo", "dialog_gym/Restaurant-v0", tmp_path / "on", timesteps=128, n_envs=1,
                     overrides={"n_steps": 64, "batch_size": 64}, eval_every=10**6, eval_episodes=1, progress=False)
    train(spec)
    assert list((tmp_path / "on" / "tensorboard").rglob("events.out.tfevents.*"))
    # without the extra, training runs and simply does not log
    import agents.rl_training as rl_training

    monkeypatch.setattr(rl_training, "tensorboard_available", lambda: False)
    train(replace(spec, out=tmp_path / "off"))
    assert not (tmp_path / "off" / "tensorboard").exists() and (tmp_path / "off" / "final").is_dir()


@pytest.mark.parametrize(("algo", "seed"), [("ppo", 2), ("maskable_ppo", 1), ("a2c", 2)])  # seeds where they do
def test_several_envs_test_after_exactly_each_batch(tmp_path: Path, algo, seed):
    """With 8 training envs, dialogues end together: the points come after exactly 8, 16 and 24 dialogues
    (those past a point count toward the next batch) and the budget is exact; the model and its numbers are
    those of the old counting (tested at the first step past each point), only the labels differ."""
    spec = TrainSpec(algo, "dialog_gym/PyDial-CR-Env1-v0", tmp_path / "exact", dialogues=24, eval_every=8,
                     eval_episodes=1, n_envs=8, seed=seed, progress=False, tensorboard=False,
                     overrides={"n_steps": 8})
    exact = train(spec)
    assert [p["dialogues"] for p in exact.curve] == [0, 8, 16, 24] and exact.dialogues == 24
    old = train(replace(spec, out=tmp_path / "old", exact_dialogues=False))
    labels = [p["dialogues"] for p in old.curve]
    assert labels != [0, 8, 16, 24] and all(b <= a < b + 8 for a, b in zip(labels, [0, 8, 16, 24], strict=True))
    same = ("success_rate", "mean_reward", "mean_turns", "timesteps")
    assert [{k: p[k] for k in same} for p in exact.curve] == [{k: p[k] for k in same} for p in old.curve]


def test_one_env_is_counted_as_before(tmp_path: Path):
    """One training env never passes a point: exact counting changes nothing."""
    spec = TrainSpec("ppo", "dialog_gym/PyDial-CR-Env1-v0", tmp_path / "a", dialogues=10, eval_every=5,
                     eval_episodes=3, n_envs=1, progress=False, tensorboard=False, overrides={"n_steps": 16})
    exact, old = train(spec), train(replace(spec, out=tmp_path / "b", exact_dialogues=False))
    assert [p["dialogues"] for p in exact.curve] == [0, 5, 10]
    assert exact.curve == old.curve and exact.timesteps == old.timesteps

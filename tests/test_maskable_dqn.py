"""The masked DQN (agents/maskable_dqn.py): hand-computed targets, acting only among allowed actions, the next
state's mask in the replay buffer, and the CLI (train, rollout, benchmark) on tiny budgets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from hypothesis import given, settings
from hypothesis import strategies as st
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

from agents.cli import main
from agents.hyperparams import load_hyperparams
from agents.maskable_dqn import MaskableDQN, MaskableReplayBufferSamples, masked_td_targets
from agents.rl import build_model, make_vec_env

ENV = "dialog_gym/PyDial-CR-Env1-v0"


def test_the_target_maxes_over_the_next_states_allowed_actions():
    rewards = th.tensor([[1.0], [0.5], [-1.0]])
    dones = th.tensor([[0.0], [0.0], [1.0]])
    next_q = th.tensor([[3.0, 10.0, 1.0], [-2.0, 5.0, -1.0], [7.0, 7.0, 7.0]])
    masks = th.tensor([[True, False, True], [True, False, False], [True, True, True]])
    targets = masked_td_targets(rewards, dones, next_q, masks, gamma=0.9)
    # 1 + 0.9 * max(3, 1); 0.5 + 0.9 * (-2) (the only allowed action, though 5 is larger); terminal: r alone
    assert targets.flatten().tolist() == pytest.approx([3.7, -1.3, -1.0])
    nothing = masked_td_targets(rewards[:1], dones[:1], next_q[:1], th.zeros((1, 3), dtype=th.bool), gamma=0.9)
    assert nothing.item() == pytest.approx(1.0)  # no allowed action: nothing to bootstrap from


def _model(**overrides: Any) -> MaskableDQN:
    hp = load_hyperparams("maskable_dqn", ENV, overrides)
    model = build_model("maskable_dqn", make_vec_env(ENV, 1, 0), hp, seed=0)
    assert isinstance(model, MaskableDQN)
    return model


def test_the_loss_uses_the_stored_next_masks():
    """The model's loss on a fixed batch is the Huber loss to the hand-made masked target (computed here from the
    model's own Q-values), not to the unmasked one."""
    model = _model()
    n = int(model.action_space.n)  # type: ignore[attr-defined]
    rng = np.random.default_rng(0)
    obs = th.as_tensor(rng.random((2, model.observation_space.shape[0])), dtype=th.float32)  # type: ignore[index]
    nxt = th.as_tensor(rng.random((2, model.observation_space.shape[0])), dtype=th.float32)  # type: ignore[index]
    with th.no_grad():
        q_next = model.q_net_target(nxt)
        q_now = model.q_net(obs)
    # allow only each row's lowest next Q-value: the masked target differs from the unmasked one
    masks = th.zeros((2, n), dtype=th.bool)
    masks[th.arange(2), q_next.argmin(dim=1)] = True
    actions = th.tensor([[0], [n - 1]])
    rewards, dones = th.tensor([[1.0], [2.0]]), th.tensor([[0.0], [1.0]])
    data = MaskableReplayBufferSamples(obs, actions, nxt, dones, rewards, masks)
    gamma = model.gamma
    expected_targets = [1.0 + gamma * float(q_next[0].min()), 2.0]
    current = [float(q_now[0, 0]), float(q_now[1, n - 1])]
    diffs = [c - t for c, t in zip(current, expected_targets, strict=True)]
    huber = np.mean([0.5 * d * d if abs(d) < 1 else abs(d) - 0.5 for d in diffs])
    assert model.masked_loss(data).item() == pytest.approx(huber, rel=1e-5)
    unmasked = MaskableReplayBufferSamples(obs, actions, nxt, dones, rewards, th.ones((2, n), dtype=th.bool))
    assert model.masked_loss(unmasked).item() != pytest.approx(huber, rel=1e-5)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), eps=st.sampled_from([0.0, 0.5, 1.0]), deterministic=st.booleans(),
       batch=st.integers(min_value=1, max_value=4))
def test_greedy_and_epsilon_greedy_choose_only_allowed_actions(data, eps, deterministic, batch):
    model = _MODEL
    n = int(model.action_space.n)  # type: ignore[attr-defined]
    dim = model.observation_space.shape[0]  # type: ignore[index]
    masks = np.array([data.draw(st.lists(st.booleans(), min_size=n, max_size=n).filter(any)) for _ in range(batch)])
    obs = np.array(data.draw(st.lists(st.floats(0, 1, width=32), min_size=batch * dim, max_size=batch * dim)),
                   dtype=np.float32).reshape(batch, dim)
    model.exploration_rate = eps
    actions, _ = model.predict(obs, deterministic=deterministic, action_masks=masks)
    assert actions.shape == (batch,)
    assert all(masks[i, a] for i, a in enumerate(actions))
    one, _ = model.predict(obs[0], deterministic=deterministic, action_masks=masks[0])
    assert np.ndim(one) == 0 and masks[0, int(one)]


_MODEL = _model()


class _MaskChecker(gym.Wrapper):
    """Records every action the mask did not allow, and keeps the masks of the states the env returned."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.violations = 0
        self.steps = 0

    def action_masks(self) -> np.ndarray:
        return np.asarray(self.env.unwrapped.action_masks(), dtype=bool)  # type: ignore[attr-defined]

    def step(self, action: Any) -> Any:
        self.steps += 1
        self.violations += int(not self.action_masks()[int(action)])
        return self.env.step(action)


def test_training_acts_only_among_allowed_actions_and_stores_the_next_masks():
    """Warm-up, ε-greedy and greedy steps all respect the mask, and each stored transition carries the mask of
    the state it led to (a finished dialogue's from its last step's info, not the next dialogue's)."""
    checkers: list[_MaskChecker] = []

    def make() -> gym.Env:
        checkers.append(_MaskChecker(Monitor(gym.make(ENV, render_mode=None))))
        return checkers[-1]

    env = DummyVecEnv([make, make])
    hp = load_hyperparams("maskable_dqn", ENV, {"learning_starts": 50, "exploration_initial_eps": 0.5})
    model = build_model("maskable_dqn", env, hp, seed=0)
    model.learn(200)
    assert sum(c.steps for c in checkers) >= 200 and sum(c.violations for c in checkers) == 0
    buf = model.replay_buffer
    stored = buf.pos
    assert not buf.next_action_masks[:stored].all()  # PyDial's masks forbid something at some step
    dones = buf.dones[:stored]
    assert dones.any()
    ended = buf.next_action_masks[:stored][dones.astype(bool)]
    assert ended.any(axis=1).all()


def test_without_the_mask_a_plain_dqn_would_break_the_check():
    """The checker above can fail: SB3's DQN, blind to the mask, takes forbidden actions."""
    checkers: list[_MaskChecker] = []

    def make() -> gym.Env:
        checkers.append(_MaskChecker(Monitor(gym.make(ENV, render_mode=None))))
        return checkers[-1]

    hp = load_hyperparams("dqn", ENV, {"learning_starts": 20})
    build_model("dqn", DummyVecEnv([make]), hp, seed=0).learn(100)
    assert checkers[0].violations > 0


def test_train_rollout_and_benchmark_commands(tmp_path: Path, capsys):
    out = tmp_path / "train"
    assert main(["train", "--algo", "maskable_dqn", "--env", "PyDial-CR-Env1-v0", "--timesteps", "120", "--out",
                 str(out), "--eval-episodes", "2", "--no-progress", "--json", "--set", "learning_starts=20"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["timesteps"] >= 120 and (out / "final" / "agent.json").is_file()
    assert main(["rollout", "--env", "PyDial-CR-Env1-v0", "--policy", str(out / "final"), "--episodes", "3",
                 "--json"]) == 0
    rollout = json.loads(capsys.readouterr().out)
    assert rollout["invalid_action_rate"] == 0.0
    bench = tmp_path / "bench"
    assert main(["benchmark", "--agents", "maskable_dqn", "--envs", "PyDial-CR-Env1-v0", "--seeds", "1",
                 "--batches", "3", "--episodes", "2", "--out", str(bench)]) == 0
    capsys.readouterr()
    doc = json.loads((bench / "results.json").read_text())
    assert [r["agent"] for r in doc["runs"]] == ["maskable_dqn"]

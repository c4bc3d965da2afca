"""GP-SARSA (agents/gp_sarsa.py): the ALD test and a one-step posterior by hand, acting among allowed acts, the
save/load round trip without pickle, and the CLI (train, rollout, benchmark) on tiny budgets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agents.cli import main
from agents.gp_sarsa import GP_FILE, GPSarsa, GPSarsaAgent
from agents.rl import load_gp_agent, save_gp_agent
from dialog_gym.errors import PersistenceError

ENV = "dialog_gym/PyDial-CR-Env1-v0"


def test_the_ald_test_keeps_only_independent_points():
    gp = GPSarsa(n_actions=2, obs_dim=2)
    gp._grow(np.array([1.0, 0.0]), 0, np.zeros(0), 1.0)
    residual, coeffs, k = gp.ald_residual(np.array([1.0, 1.0]), 0)
    # k = <[1,0],[1,1]> = 1; K_inv = [[1]]: residual = 2 - 1 * 1 * 1
    assert (residual, coeffs.tolist(), k.tolist()) == (1.0, [1.0], [1.0])
    gp._grow(np.array([1.0, 1.0]), 0, coeffs, residual)
    # the partitioned inverse is the Gram matrix's inverse: [[1, 1], [1, 2]]^-1 = [[2, -1], [-1, 1]]
    assert gp.k_inv.tolist() == [[2.0, -1.0], [-1.0, 1.0]]
    residual, coeffs, _ = gp.ald_residual(np.array([0.0, 1.0]), 0)
    assert residual == pytest.approx(0.0) and coeffs.tolist() == [-1.0, 1.0]  # [0,1] = [1,1] - [1,0]
    assert gp.ald_residual(np.array([0.0, 1.0]), 1)[0] == 1.0  # the other act: nothing to depend on
    # learning a dialogue of linearly dependent pairs adds no point; a new act does
    gp.learn_episode([np.array([0.0, 1.0]), np.array([3.0, 3.0])], [0, 0], [-1.0, -1.0])
    assert len(gp.acts) == 2
    gp.learn_episode([np.array([0.0, 1.0])], [1], [-1.0])
    assert gp.acts.tolist() == [0, 0, 1]


def test_the_posterior_after_one_transition():
    """One dialogue of one turn (x = [1, 0], act 0, reward 10): GP regression of the return with noise
    sigma^2 = 25 and prior k(x, x) = 1: mean 10 / 26, variance 1 - 1 / 26; the other act keeps its prior."""
    gp = GPSarsa(n_actions=2, obs_dim=2, gamma=1.0, sigma=5.0)
    gp.learn_episode([np.array([1.0, 0.0])], [0], [10.0])
    assert gp.alpha.tolist() == pytest.approx([10 / 26]) and gp.cov.ravel().tolist() == pytest.approx([1 / 26])
    means, variances = gp.q_posterior(np.array([1.0, 0.0]), np.array([0, 1]))
    assert means.tolist() == pytest.approx([10 / 26, 0.0])
    assert variances.tolist() == pytest.approx([25 / 26, 1.0])
    means, variances = gp.q_posterior(np.array([2.0, 0.0]), np.array([0]))  # linear in the observation
    assert (means[0], variances[0]) == (pytest.approx(20 / 26), pytest.approx(4 - 4 / 26))


def test_two_turns_pass_the_return_back():
    """Two turns with gamma 1 on orthogonal observations: the first pair's mean moves toward the whole
    return (reward 0 then 10) and the second's toward 10, by the GP's joint posterior."""
    gp = GPSarsa(n_actions=1, obs_dim=2, gamma=1.0, sigma=5.0)
    x0, x1 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    gp.learn_episode([x0, x1], [0, 0], [0.0, 10.0])
    # the GP-TD model: r0 = Q0 - Q1 + n0, r1 = Q1 + n1 with noise covariance sigma^2 [[2, -1], [-1, 1]]
    # (Engel et al.'s episodic correlated noise), Q ~ N(0, I): the posterior mean is H^T (H H^T + S)^-1 r
    h = np.array([[1.0, -1.0], [0.0, 1.0]])
    noise = 25.0 * np.array([[2.0, -1.0], [-1.0, 1.0]])
    expected = h.T @ np.linalg.solve(h @ h.T + noise, np.array([0.0, 10.0]))
    means = [gp.q_posterior(x, np.array([0]))[0][0] for x in (x0, x1)]
    assert means == pytest.approx(expected.tolist())


def test_acting_only_among_allowed_acts():
    gp = GPSarsa(n_actions=4, obs_dim=3, seed=1)
    rng = np.random.default_rng(0)
    for _ in range(5):
        gp.learn_episode([rng.random(3) for _ in range(3)], list(rng.integers(4, size=3)), [-1.0, -1.0, 20.0])
    for _ in range(200):
        mask = rng.integers(2, size=4)
        if not mask.any():
            continue
        for explore in (True, False):
            assert mask[gp.act(rng.random(3), mask, explore)] == 1


def test_save_load_round_trip(tmp_path: Path):
    gp = GPSarsa(n_actions=3, obs_dim=4, sigma=2.0, scale=1.0)
    rng = np.random.default_rng(0)
    for _ in range(8):
        gp.learn_episode([rng.random(4) for _ in range(4)], list(rng.integers(3, size=4)), [-1.0, -1.0, -1.0, 20.0])
    folder = save_gp_agent(gp, tmp_path / "gp", {"algo": "gp_sarsa", "env_id": ENV, "hyperparams": {}})
    meta = json.loads((folder / "agent.json").read_text())
    loaded = load_gp_agent(folder, meta)
    assert loaded.settings() == gp.settings() and len(loaded.acts) == len(gp.acts) > 1
    probes = rng.random((10, 4))
    for x in probes:
        for mine, theirs in zip(gp.q_posterior(x, np.arange(3)), loaded.q_posterior(x, np.arange(3)), strict=True):
            assert np.array_equal(mine, theirs)
        assert GPSarsaAgent(loaded)(x, {"action_mask": np.array([1, 0, 1])}) == \
            GPSarsaAgent(gp)(x, {"action_mask": np.array([1, 0, 1])})
    with np.load(folder / GP_FILE, allow_pickle=False) as data:  # arrays only
        assert set(data.files) == {"points", "acts", "k_inv", "alpha", "cov"}
    np.savez(folder / GP_FILE, points=np.zeros((1, 4)), acts=np.zeros(2), k_inv=np.zeros((1, 1)), alpha=np.zeros(1),
             cov=np.zeros((1, 1)))
    with pytest.raises(PersistenceError, match="shape"):
        load_gp_agent(folder, meta)


def test_train_rollout_and_benchmark_commands(tmp_path: Path, capsys):
    out = tmp_path / "train"
    assert main(["train", "--algo", "gp_sarsa", "--env", "PyDial-CR-Env1-v0", "--dialogues", "6", "--eval-every",
                 "3", "--out", str(out), "--eval-episodes", "2", "--no-progress", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dialogues"] == 6 and [p["dialogues"] for p in data["curve"]] == [0, 3, 6]
    assert data["curve"][-1]["dictionary_size"] > 0 and (out / "final" / GP_FILE).is_file()
    assert main(["rollout", "--env", "PyDial-CR-Env1-v0", "--policy", str(out), "--episodes", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["invalid_action_rate"] == 0.0
    assert main(["train", "--algo", "gp_sarsa", "--env", "Restaurant-v0", "--dialogues", "2", "--out",
                 str(tmp_path / "no"), "--no-progress"]) != 0
    err = capsys.readouterr().err
    assert "gp_sarsa runs on the turn-level families" in err and "Traceback" not in err
    bench = tmp_path / "bench"
    assert main(["benchmark", "--agents", "rule,gp_sarsa", "--envs", "PyDial-CR-Env1-v0,Restaurant-v0", "--seeds",
                 "1", "--batches", "3", "--episodes", "2", "--out", str(bench)]) == 0
    capsys.readouterr()
    doc = json.loads((bench / "results.json").read_text())
    assert sorted((r["env"], r["agent"]) for r in doc["runs"]) == [
        (ENV, "gp_sarsa"), (ENV, "rule"), ("dialog_gym/Restaurant-v0", "rule")]


class DenseGPSarsa:
    """The episodic GP-SARSA updates written densely (full kernel vectors, C updated at every turn): the
    reference for GPSarsa's block-wise, lazily updated form."""

    def __init__(self, gamma: float, sigma: float, nu: float) -> None:
        self.g, self.s2, self.nu = gamma, sigma ** 2, nu
        self.points: list[np.ndarray] = []
        self.acts: list[int] = []
        self.k_inv, self.alpha, self.cov = np.zeros((0, 0)), np.zeros(0), np.zeros((0, 0))

    def k(self, x: np.ndarray, act: int) -> np.ndarray:
        return np.array([float(p @ x) * (a == act) for p, a in zip(self.points, self.acts, strict=True)])

    def grow(self, x: np.ndarray, act: int, coeffs: np.ndarray, delta: float) -> None:
        n = len(self.acts)
        k_inv = np.zeros((n + 1, n + 1))
        k_inv[:n, :n] = self.k_inv + np.outer(coeffs, coeffs) / delta
        k_inv[:n, n] = k_inv[n, :n] = -coeffs / delta
        k_inv[n, n] = 1.0 / delta
        cov = np.zeros((n + 1, n + 1))
        cov[:n, :n] = self.cov
        self.k_inv, self.cov, self.alpha = k_inv, cov, np.append(self.alpha, 0.0)
        self.points.append(x)
        self.acts.append(act)

    def episode(self, xs: list[np.ndarray], acts: list[int], rewards: list[float]) -> None:
        g, s2 = self.g, self.s2
        a_vec = c = np.zeros(0)
        d, s = 0.0, np.inf
        for t in range(len(acts)):
            x, act, initial = xs[t], acts[t], t == 0
            nxt = None if t == len(acts) - 1 else (xs[t + 1], acts[t + 1])
            if initial:
                if not self.acts:
                    self.grow(x, act, np.zeros(0), float(x @ x))
                    a_vec = np.ones(1)
                else:
                    k = self.k(x, act)
                    a_vec, delta = self.k_inv @ k, float(x @ x) - float(k @ self.k_inv @ k)
                    if delta > self.nu:
                        self.grow(x, act, a_vec, delta)
                        a_vec = np.eye(len(self.acts))[-1]
                c, d, s = np.zeros(len(self.acts)), 0.0, np.inf
            k_prev = self.k(x, act)
            if nxt is None:
                a_new, delta_new, k_new = np.zeros(len(self.acts)), 0.0, np.zeros(len(self.acts))
            else:
                k_new = self.k(*nxt)
                a_new = self.k_inv @ k_new
                delta_new = float(nxt[0] @ nxt[0]) - float(k_new @ a_new)
            dk = k_prev - g * k_new
            carry = 0.0 if initial else g * s2 / s
            d = rewards[t] + carry * d - float(dk @ self.alpha)
            if nxt is not None and delta_new > self.nu:
                cdk = self.cov @ dk
                c_new = a_vec - cdk + carry * c
                s_new = (1 + g * g) * s2 + float(a_vec @ (k_prev - 2 * g * k_new)) + g * g * float(nxt[0] @ nxt[0]) \
                    - float(dk @ cdk)
                if not initial:
                    s_new += (2 * float(c @ dk) - g * s2) * g * s2 / s
                self.grow(nxt[0], nxt[1], a_new, delta_new)
                c, a_vec, s = np.append(c_new, -g), np.eye(len(self.acts))[-1], s_new
            else:
                c_new = carry * c + a_vec - g * a_new - self.cov @ dk
                s_new = (1 + (0 if nxt is None else g * g)) * s2 + float(dk @ (c_new + carry * c))
                if not initial:
                    s_new -= g * g * s2 * s2 / s
                c, s, a_vec = c_new, s_new, a_new
            self.alpha = self.alpha + c * (d / s)
            self.cov = self.cov + np.outer(c, c) / s


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_the_block_wise_lazy_updates_are_the_dense_algebra(gamma):
    """Random dialogues over 4 acts in 5 dimensions (so that the dictionary fills up and later points are
    dependent): the dictionary, K_inv, alpha and C of GPSarsa equal the dense reference's; the posterior too."""
    rng = np.random.default_rng(3)
    gp, ref = GPSarsa(n_actions=4, obs_dim=5, gamma=gamma, sigma=2.0, nu=0.01), DenseGPSarsa(gamma, 2.0, 0.01)
    for _ in range(40):
        turns = int(rng.integers(1, 7))
        xs = [rng.integers(0, 2, size=5) * rng.random(5) for _ in range(turns)]
        acts = rng.integers(4, size=turns).tolist()
        rewards = [-1.0] * (turns - 1) + [float(rng.choice([0.0, 20.0]))]
        gp.learn_episode(xs, acts, rewards)
        ref.episode(xs, acts, rewards)
        assert gp.acts.tolist() == ref.acts
    assert len(ref.acts) == 20  # full (4 acts x 5 dimensions): the later pairs were dependent, left out
    np.testing.assert_allclose(gp.points, np.array(ref.points))
    np.testing.assert_allclose(gp.k_inv, ref.k_inv, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(gp.alpha, ref.alpha, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(gp.cov, ref.cov, rtol=1e-9, atol=1e-9)
    for x in rng.random((5, 5)):
        means, variances = gp.q_posterior(x, np.arange(4))
        k_all = [ref.k(x, a) for a in range(4)]
        np.testing.assert_allclose(means, [k @ ref.alpha for k in k_all], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(variances, [max(float(x @ x) - k @ ref.cov @ k, 0.0) for k in k_all], rtol=1e-9,
                                   atol=1e-9)

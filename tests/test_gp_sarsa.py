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

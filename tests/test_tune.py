"""dialog-gym tune, serially (Optuna TPE + median pruner): search spaces checked, trials written, and the
best hyperparameters in a file that ``dialog-gym train --hyperparams`` accepts (Ray Tune: test_ray_backend)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from agents.cli import main  # noqa: E402
from agents.hyperparams import ALGORITHMS, load_hyperparams  # noqa: E402
from agents.tuning import TuneSpec, best_hyperparams, load_space, sample  # noqa: E402
from dialog_gym.errors import ConfigError  # noqa: E402

ENV = "dialog_gym/Restaurant-v0"
TINY = ["--env", "Restaurant-v0", "--dialogues", "10", "--eval-every", "5", "--eval-episodes", "2"]


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_shipped_search_spaces_load(algo):
    space = load_space(algo)
    assert "learning_rate" in space and space["learning_rate"].log


def test_sample_and_best_hyperparams(tmp_path: Path):
    space = load_space("maskable_ppo")
    chosen = {"learning_rate": 1e-4, "n_steps": 128, "batch_size": 64, "n_epochs": 5, "gamma": 0.98,
              "gae_lambda": 0.95, "clip_range": 0.3, "ent_coef": 0.001, "policy_kwargs": "dict(net_arch=[128, 128])"}
    assert sample(optuna.trial.FixedTrial(chosen), space) == chosen
    entry = best_hyperparams(TuneSpec("maskable_ppo", ENV, tmp_path), chosen)[ENV]
    assert entry["n_steps"] == 128 and entry["policy"] == "MlpPolicy" and entry["vf_coef"] == 0.5  # the file's


@pytest.mark.parametrize(("text", "message"), [
    ("gamma: {choice: [0.9, 1.5]}", r"space\.yml: gamma: 1\.5 is out of range \[0, 1\]"),
    ("alpha: {choice: [1]}", "space.yml: alpha: not a hyperparameter of maskable_ppo"),
    ("gamma: {uniform: [0.9, 0.99]}", "space.yml: gamma: expected exactly one of float, log_float, int, choice"),
    ("gamma: {float: [0.99, 0.9]}", r"space\.yml: gamma: float: expected \[low, high\] with low < high"),
    ("ent_coef: {log_float: [0, 0.1]}", "space.yml: ent_coef: log_float: the low bound must be > 0"),
    ("n_steps: {int: [16.5, 64]}", "space.yml: n_steps: int: expected integer bounds"),
    ("policy_kwargs: {choice: ['dict(net_arch=eval(1))']}", "space.yml: policy_kwargs: only literals"),
    ("[1, 2]", "space.yml: expected a mapping"),
])
def test_bad_search_spaces_name_file_and_key(tmp_path: Path, text, message):
    (tmp_path / "space.yml").write_text(text + "\n")
    with pytest.raises(ConfigError, match=message):
        load_space("maskable_ppo", tmp_path / "space.yml")


def test_tune_serially_writes_hyperparameters_that_train_accepts(tmp_path: Path, capsys):
    out = tmp_path / "tune"
    assert main(["tune", "--algo", "maskable_ppo", "--trials", "3", *TINY, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "3 trials (" in printed and "--hyperparams" in printed
    with open(out / "trials.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["trial"] for r in rows] == ["0", "1", "2"]
    assert all(r["state"] in ("complete", "pruned") for r in rows)
    header = (out / "trials.md").read_text().splitlines()[0]
    assert [c.strip() for c in header.strip("|").split("|")][:5] == ["trial", "state", "mean_reward", "dialogues",
                                                                     "seconds"]
    assert (out / "trials.png").stat().st_size > 5_000
    best = next(r for r in rows if r["state"] == "complete" and float(r["mean_reward"]) == max(
        float(x["mean_reward"]) for x in rows if x["state"] == "complete"))
    hp = load_hyperparams("maskable_ppo", ENV, path=out / "best_hyperparams.yml")
    assert hp["n_steps"] == int(best["n_steps"]) and hp["batch_size"] == int(best["batch_size"])
    assert main(["train", "--algo", "maskable_ppo", "--hyperparams", str(out / "best_hyperparams.yml"),
                 "--env", "Restaurant-v0", "--dialogues", "5", "--eval-every", "5", "--eval-episodes", "2",
                 "--no-progress", "--out", str(tmp_path / "train")]) == 0
    assert '"n_steps": ' + best["n_steps"] in (tmp_path / "train" / "final" / "agent.json").read_text()


def test_tune_arguments_checked(tmp_path: Path, capsys, monkeypatch):
    assert main(["tune", "--algo", "ppo", "--dialogues", "10", "--eval-every", "4", "--out", str(tmp_path)]) == 2
    assert "--dialogues must be a multiple of --eval-every" in capsys.readouterr().err
    assert main(["tune", "--algo", "ppo", "--workers", "2", "--out", str(tmp_path)]) == 2
    (tmp_path / "bad.yml").write_text("gamma: {choice: [2]}\n")
    assert main(["tune", "--algo", "ppo", "--search-space", str(tmp_path / "bad.yml"), "--out", str(tmp_path)]) == 1
    assert "bad.yml: gamma: 2 is out of range" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "optuna", None)  # as if the extra were not installed
    assert main(["tune", "--algo", "ppo", "--out", str(tmp_path)]) == 1  # an environment problem, not usage
    assert capsys.readouterr().err == ("dialog-gym tune: error: this command needs the ray extra (optuna is not "
                                       "installed): pip install 'dialog-gym[ray]'\n")

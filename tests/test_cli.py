"""The dialog-gym command: outputs, JSON shapes, and one-line errors with a non-zero exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agents.cli import main


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_rollout_json(capsys):
    code, out, _ = run_cli(capsys, "rollout", "--env", "Restaurant-v0", "--policy", "rule", "--episodes", "20",
                           "--json")
    data = json.loads(out)
    assert code == 0
    assert data["success_rate"] == 1.0 and data["episodes"] == 20
    assert {"mean_turns", "mean_reward", "success_ci95"} <= set(data)


@pytest.mark.parametrize("policy", ["rule", "random"])
def test_rollout_over_a_vector_env_gives_the_same_dialogues(capsys, policy):
    runs = []
    for n_envs in ("1", "4"):
        code, out, _ = run_cli(capsys, "rollout", "--env", "Restaurant-Env3-v0", "--policy", policy, "--episodes", "9",
                               "--n-envs", n_envs, "--json")
        assert code == 0
        runs.append(json.loads(out))
    one, four = runs
    assert [d["index"] for d in one["dialogues"]] == list(range(9)) and one["dialogues"][1]["reset_seed"] == 1
    assert one["dialogues"] == four["dialogues"]
    assert {k: v for k, v in one.items() if k != "n_envs"} == {k: v for k, v in four.items() if k != "n_envs"}


def test_rollout_writes_stories(capsys, tmp_path: Path):
    path = tmp_path / "sim.md"
    code, out, _ = run_cli(capsys, "rollout", "--policy", "rule", "--episodes", "3", "--stories-out", str(path))
    assert code == 0 and "100.0%" in out
    code, out, _ = run_cli(capsys, "stories", "check", str(path), "--json", "--domain", "restaurant")
    assert json.loads(out)["stories"] == 3


def test_demo_runs(capsys):
    code, out, _ = run_cli(capsys, "demo", "--episodes", "5", "--suite", "default")
    assert code == 0 and "| Restaurant-v0 | rule" in out.replace("  ", " ").replace("  ", " ")


def test_stories_check_reports_the_first_error(capsys, tmp_path: Path):
    bad = tmp_path / "bad.md"
    bad.write_text("## s\n* greet\noops\n")
    code, out, err = run_cli(capsys, "stories", "check", str(bad))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and f"{bad}:3:" in err


@pytest.mark.parametrize("args, fragment, status", [
    (["rollout", "--policy", "nope"], "unknown agent", 2),
    (["rollout", "--policy", "/tmp"], "not a saved agent", 1),
    (["demo", "--suite", "nope"], "unknown suite", 2),
])
def test_errors_are_one_line(capsys, args, fragment, status):
    code, _, err = run_cli(capsys, *args)
    assert code == status and fragment in err and err.count("\n") == 1 and "Traceback" not in err


def test_bad_env_id_is_a_usage_error(capsys):
    assert main(["rollout", "--env", "NoSuchEnv-v9"]) == 2
    assert "unknown environment" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    proc = subprocess.run([sys.executable, "-m", "agents", "envs", "--json"], capture_output=True, text=True,
                          check=True)
    assert "dialog_gym/Restaurant-Env6-v0" in json.loads(proc.stdout)["envs"]

"""The rough edges a new user hit: a server that cannot start, a closed pipe, an import over an
existing task, counts without bound, Ctrl-C in training, the suites of ``dialog-gym envs``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from agents.cli import EXIT_CLOSED_OUTPUT, main
from tests.test_pydial import UNSEEN_RULES, unseen_rows, write_pydial_source

REPO = Path(__file__).resolve().parents[1]


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------ serve: start-up errors
def test_serve_on_a_port_that_does_not_exist_is_a_usage_error(capsys, tmp_path: Path) -> None:
    code, out, err = run_cli(capsys, "serve", "--out", str(tmp_path / "out"), "--port", "99999")
    assert code == 2 and out == ""
    assert err == "dialog-gym serve: error: argument --port: expected a TCP port in [0, 65535], got 99999\n"
    assert not (tmp_path / "out").exists()


def test_serve_on_a_port_in_use_is_one_line_status_1_and_no_lock(capsys, tmp_path: Path) -> None:
    pytest.importorskip("uvicorn")  # the web extra (part of dev)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run_cli(capsys, "serve", "--out", str(tmp_path / "out"), "--port", str(port))
    assert code == 1 and out == ""
    assert err == (f"dialog-gym serve: error: cannot listen on 127.0.0.1:{port}: Address already in use: another "
                   "program listens there; choose another --port (0: any free port)\n")
    assert not (tmp_path / "out" / ".lock").exists()


def test_a_folder_lock_goes_with_its_holder(tmp_path: Path) -> None:
    from dialog_gym.errors import PersistenceError
    from dialog_gym.utils import exclusive_folder

    with exclusive_folder(tmp_path, "first"):
        assert (tmp_path / ".lock").read_text() == f"first (pid {os.getpid()})"
        with pytest.raises(PersistenceError, match="in use by first"), exclusive_folder(tmp_path, "second"):
            pass
    assert not (tmp_path / ".lock").exists()
    with pytest.raises(RuntimeError), exclusive_folder(tmp_path, "failing"):
        raise RuntimeError("the holder failed")
    assert not (tmp_path / ".lock").exists()
    with exclusive_folder(tmp_path, "next"):
        assert (tmp_path / ".lock").read_text() == f"next (pid {os.getpid()})"


def test_a_lock_taken_on_a_file_its_holder_removed_is_taken_again(tmp_path: Path, monkeypatch) -> None:
    """A process that opened ``.lock`` just before the holder removed it locks a file no one else finds: it
    must notice and lock the path's current file (else two processes would hold the folder)."""
    from dialog_gym.utils import exclusive_folder

    lock = tmp_path / ".lock"
    lock.write_text("a previous holder")
    real_open = open
    opened = []

    def open_then_lose_the_race(path, *args, **kwargs):
        handle = real_open(path, *args, **kwargs)
        if Path(path) == lock and not opened:  # the previous holder lets go right after our open
            opened.append(path)
            lock.unlink()
            lock.write_text("")  # and the next process creates a new file there
        return handle

    monkeypatch.setattr("builtins.open", open_then_lose_the_race)
    with exclusive_folder(tmp_path, "me"):
        assert opened and lock.read_text() == f"me (pid {os.getpid()})"


# ------------------------------------------------------------------ a closed pipe
@pytest.mark.parametrize("command", [["envs", "--json"], ["envs"], ["rollout", "--episodes", "2", "--json"]])
def test_a_closed_pipe_ends_quietly(command: list[str]) -> None:
    """``dialog-gym envs --json | head -c 0``: the reader has gone before anything is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "agents", *command], stdout=write_end, stderr=subprocess.PIPE,
                              text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    finally:
        os.close(write_end)
    assert proc.stderr == ""
    assert proc.returncode == EXIT_CLOSED_OUTPUT


# ------------------------------------------------------------------ import-pydial over an existing task
def test_import_pydial_refuses_to_replace_a_task_without_force(capsys, tmp_path: Path) -> None:
    rules, db = write_pydial_source(tmp_path, "TinyHotels", UNSEEN_RULES,
                                    ["id", "name", "area", "stars", "parking", "phone", "postcode"], unseen_rows())
    out = tmp_path / "task"
    command = ["domain", "import-pydial", str(rules), str(db), "--out", str(out), "--id-prefix", "Hot"]
    assert run_cli(capsys, *command)[0] == 0
    (out / "notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code, stdout, err = run_cli(capsys, *command)
    assert code == 1 and stdout == ""
    assert err == (f"dialog-gym domain import-pydial: error: {out}: is a task folder already: add --force to "
                   "replace it, or name another --out\n")
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    code, stdout, err = run_cli(capsys, *command, "--force")
    assert code == 0, err
    assert not (out / "notes.txt").exists() and (out / "env.yml").is_file()  # replaced, not merged
    assert not [p for p in tmp_path.iterdir() if p.name.endswith((".tmp", ".old"))]


def test_import_pydial_into_an_empty_folder_needs_no_force(capsys, tmp_path: Path) -> None:
    rules, db = write_pydial_source(tmp_path, "TinyHotels", UNSEEN_RULES,
                                    ["id", "name", "area", "stars", "parking", "phone", "postcode"], unseen_rows())
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(capsys, "domain", "import-pydial", str(rules), str(db), "--out", str(tmp_path / "empty"))
    assert code == 0, err
    assert (tmp_path / "empty" / "env.yml").is_file()


# ------------------------------------------------------------------ counts have a bound
@pytest.mark.parametrize(("args", "message"), [
    (["train", "--algo", "ppo", "--dialogues", "99999999999999999999999", "--out", "OUT"],
     "argument --dialogues: expected at most 10,000,000 dialogues, got 99999999999999999999999"),
    (["rollout", "--episodes", "10000001"], "argument --episodes: expected at most 10,000,000 dialogues"),
    (["train", "--algo", "ppo", "--timesteps", "1000000001", "--out", "OUT"],
     "argument --timesteps: expected at most 1,000,000,000 steps, got 1000000001"),
    (["bench-env", "--steps", "1e30"], "argument --steps: expected an integer, got '1e30'"),
    (["rollout", "--seeds", "10000000000"], "argument --seeds: expected at most 1,000,000,000, got 10000000000"),
    (["rollout", "--seed", "10000000000"], "argument --seed: expected a seed from 0 to 9999, got 10000000000"),
])
def test_counts_are_bounded(capsys, tmp_path: Path, args: list[str], message: str) -> None:
    args = [str(tmp_path / "out") if a == "OUT" else a for a in args]
    code, out, err = run_cli(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith(f"dialog-gym {args[0]}: error: {message}") and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()


def test_the_largest_count_is_accepted(capsys) -> None:
    from agents.commands.common import MAX_DIALOGUES, dialogue_count

    assert dialogue_count(str(MAX_DIALOGUES)) == MAX_DIALOGUES


# ------------------------------------------------------------------ Ctrl-C in train, then --resume
def test_ctrl_c_in_train_keeps_what_was_trained_and_resume_goes_on(tmp_path: Path, monkeypatch) -> None:
    """Ctrl-C after 7 training dialogues (before the first evaluation at 10): final/ holds the model at 7
    dialogues, train.json says it was interrupted, and --resume trains the remaining dialogues on top."""
    from agents import rl_training
    from dialog_gym.utils import read_json

    out = tmp_path / "run"
    command = ["train", "--algo", "a2c", "--dialogues", "20", "--eval-every", "10", "--eval-episodes", "2",
               "--n-envs", "1", "--no-progress", "--out", str(out), "--json"]
    on_step = rl_training._Budget._on_step

    def interrupted_at_7(self):
        go_on = on_step(self)
        if self.dialogues >= 7:
            raise KeyboardInterrupt
        return go_on

    monkeypatch.setattr(rl_training._Budget, "_on_step", interrupted_at_7)
    assert main(command) == 130
    final = read_json(out / "final" / "agent.json")
    assert final["dialogues"] == 7 and final["interrupted"] is True and final["num_timesteps"] > 0
    assert [p["dialogues"] for p in final["curve"]] == [0]
    summary = read_json(out / "train.json")
    assert summary["interrupted"] is True and summary["dialogues"] == 7
    assert summary["timesteps"] == final["num_timesteps"]
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]

    monkeypatch.setattr(rl_training._Budget, "_on_step", on_step)
    assert main([*command, "--resume"]) == 0
    summary = read_json(out / "train.json")
    assert summary["interrupted"] is False and summary["dialogues"] >= 20
    assert [p["dialogues"] for p in summary["curve"]][:2] == [0, 10]  # the curve goes on from the first point
    assert summary["timesteps"] > final["num_timesteps"]


# ------------------------------------------------------------------ envs: the suites column
def test_envs_lists_each_ids_suites(capsys) -> None:
    from dialog_gym.envs import SUITES

    code, out, _ = run_cli(capsys, "envs")
    assert code == 0
    lines = out.splitlines()
    assert [c.strip() for c in lines[0].split("|")[1:-1]] == ["id", "setting", "suites"]
    rows = {cells[0]: cells[2] for cells in ([c.strip() for c in line.split("|")[1:-1]] for line in lines[2:])}
    for suite, members in SUITES.items():
        for env_id in members:
            assert suite in rows[env_id].split(", ")
    assert rows["dialog_gym/Restaurant-v0"] == ", ".join(s for s, m in SUITES.items() if "dialog_gym/Restaurant-v0"
                                                           in m)
    assert json.loads(run_cli(capsys, "envs", "--json")[1])["suites"] == SUITES

"""``dialog-gym interactive`` and scripts/fake_user.py: argument errors, and a real session in a pty."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agents.cli import main

REPO = Path(__file__).resolve().parent.parent


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_start_is_required(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["interactive"])
    assert exc.value.code == 2
    assert "one of the arguments --scratch --pretrained is required" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["--scratch", "--stories", "x.md"], "--stories goes with --pretrained"),
    (["--pretrained", "--stories", "missing.md"], "missing.md: no such stories file"),
    (["--scratch", "--resume"], "fake_user_session.jsonl: no session to resume"),
    (["--scratch", "--dialogues", "0"], "--dialogues must be at least 1, got 0"),
    (["--scratch", "--top", "0"], "--top must be at least 1, got 0"),
])
def test_bad_arguments_are_one_line_errors(capsys, tmp_path: Path, monkeypatch, args: list[str],
                                           message: str) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "interactive", *args)
    assert code == 1
    assert err.startswith(f"dialog-gym: error: {message}")
    assert err.count("\n") == 1 and out == ""


def test_an_existing_session_is_never_overwritten(capsys, tmp_path: Path) -> None:
    log = tmp_path / "session.jsonl"
    log.write_text('{"kind": "header"}\n')
    code, out, err = run_cli(capsys, "interactive", "--scratch", "--log", str(log))
    assert code == 1 and out == ""
    assert err == (f"dialog-gym: error: {log} already holds a session: add --resume to continue it, "
                   "or name another --log\n")
    assert log.read_text() == '{"kind": "header"}\n'


def test_fake_user_script_is_the_same_command(tmp_path: Path) -> None:
    script = str(REPO / "scripts" / "fake_user.py")
    usage = subprocess.run([sys.executable, script], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert usage.returncode == 2
    assert usage.stderr == "usage: python scripts/fake_user.py pretrained|scratch [dialog-gym interactive options]\n"
    # the options go through to dialog-gym interactive: its own check answers
    done = subprocess.run([sys.executable, script, "scratch", "--resume"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert done.returncode == 1
    assert done.stderr == "dialog-gym: error: fake_user_session.jsonl: no session to resume\n"

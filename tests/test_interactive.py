"""``dialog-gym interactive`` and scripts/fake_user.py: argument errors, and a real session in a pty."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agents.cli import main
from dialog_gym.domain import Domain
from dialog_gym.stories import read_stories

REPO = Path(__file__).resolve().parent.parent


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_start_is_required(capsys) -> None:
    assert main(["interactive"]) == 2
    assert "one of the arguments --scratch --pretrained is required" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message", "status"), [
    (["--scratch", "--stories", "x.md"], "--stories goes with --pretrained", 2),
    (["--pretrained", "--stories", "missing.md"], "missing.md: no such stories file", 1),
    (["--scratch", "--resume"], "runs/interactive/session.jsonl: no session to resume", 1),
    (["--scratch", "--dialogues", "0"], "argument --dialogues: expected a positive integer, "
                                        "got 0", 2),
    (["--scratch", "--top", "0"], "argument --top: expected a positive integer, got 0", 2),
    (["--pretrained", "--examples", "3"], "--examples goes with --scratch", 2),
    (["--scratch", "--retrain-every", "-1"], "argument --retrain-every: expected an "
                                             "integer >= 0, got -1", 2),
    (["--scratch", "--examples", "-1"], "argument --examples: expected an integer >= 0, "
                                        "got -1", 2),
])
def test_bad_arguments_are_one_line_errors(capsys, tmp_path: Path, monkeypatch, args: list[str],
                                           message: str, status: int) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "interactive", *args)
    assert code == status
    assert err.startswith(f"dialog-gym interactive: error: {message}")
    assert err.count("\n") == 1 and out == ""


def test_an_existing_session_is_never_overwritten(capsys, tmp_path: Path) -> None:
    log = tmp_path / "session.jsonl"
    log.write_text('{"kind": "header"}\n')
    code, out, err = run_cli(capsys, "interactive", "--scratch", "--log", str(log))
    assert code == 1 and out == ""
    assert err == (f"dialog-gym interactive: error: {log} already holds a session: add --resume to continue it, "
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
    assert done.stderr == "dialog-gym interactive: error: runs/interactive/session.jsonl: no session to resume\n"


# ---------------------------------------------------------------------------- a real terminal
class Screen:
    """A child process on a pseudo-terminal (standard library ``pty``): type into it, wait for text.

    Every wait has a deadline, so a hang fails the test in seconds with the screen's tail.
    """

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        import fcntl
        import pty
        import termios

        pid, fd = pty.fork()
        if pid == 0:  # the child: the pty is its controlling terminal, so ^C is a real SIGINT
            try:
                os.chdir(cwd)
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.pid, self.fd = pid, fd
        self.text = ""  # everything shown so far (the terminal echoes what is typed)
        self.mark = 0  # expect() searches from here
        self.status: int | None = None

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            data = b""
        if not data:
            return False
        self.text += data.decode("utf-8", "replace").replace("\r\n", "\n")
        return True

    def expect(self, pattern: str, timeout: float = 30.0) -> re.Match:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            found = regex.search(self.text, self.mark)
            if found:
                self.mark = found.end()
                return found
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(left):
                raise AssertionError(f"{'timeout' if left <= 0 else 'end of output'} waiting for {pattern!r}; "
                                     f"the screen ends with:\n{self.text[-2000:]}")

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def wait(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._read(0.05)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                while self._read(0.05) and select.select([self.fd], [], [], 0)[0]:
                    pass
                return self.status
        self.kill()
        raise AssertionError(f"the session did not end; the screen ends with:\n{self.text[-2000:]}")

    def kill(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.status = -9
        os.close(self.fd)


def _session(tmp_path: Path, *extra: str) -> Screen:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(NO_COLOR="1", TERM="dumb", PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    argv = [sys.executable, "-m", "agents.cli", "interactive", "--scratch", "--seed", "0",
            "--log", "session.jsonl", "--stories-out", "taught.md", *extra]
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return Screen(argv, tmp_path, env)


def _choices(screen_text: str) -> dict[int, str]:
    """The numbered actions of the last list on the screen."""
    block = screen_text[screen_text.rindex("choices:"):]
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^ [ *] +(\d+)  (\w+) ", block, re.M)}


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


PROMPT = r"\n> $"


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_a_session_at_a_real_terminal(tmp_path: Path) -> None:
    screen = _session(tmp_path)
    try:
        screen.expect("Interactive learning with a fake user")
        screen.expect(r"=== dialogue 1 =+\nUSER: hello\n--- bot action 1 -+\n")
        screen.expect(r"user said: greet  \(NLU confidence 1\.00\)\nslots: \(none set\)\n")
        screen.expect("> ")
        # a garbage keystroke re-prompts with a reason
        screen.type("zz\n")
        screen.expect(r"zz\nunknown key 'zz': \? shows the keys\n> ")
        # correct: choose the action numbered 2
        choices = _choices(screen.text)
        proposed, corrected_to = choices[1], choices[2]
        screen.type("2\n")
        screen.expect(r"--- bot action (\d+) ")
        screen.expect("> ")
        # accept the proposal at the next choice
        before_accept = screen.text[screen.text.rindex("--- bot action"):]
        step_before = int(re.match(r"--- bot action (\d+)", before_accept).group(1))
        accepted = _choices(screen.text)[1]
        screen.type("\n")
        screen.expect(r"--- bot action (\d+) ")
        screen.expect("> ")
        # undo takes back the accepted step (and the forced listen after it, if any)
        screen.type("u\n")
        screen.expect(r"\* undone: " + accepted)
        screen.expect(r"\(after the undo: the (last lines of the )?dialogue(; t shows all)?\)\n")
        back = screen.expect(r"--- bot action (\d+) ")
        assert int(back.group(1)) == step_before
        screen.expect("> ")
        # export: the stories file parses
        screen.type("e\n")
        screen.expect(r"\* exported 1 dialogues to taught\.md\n\(bot action \d+ still: Enter accepts \w+\)\n> ")
        assert read_stories(tmp_path / "taught.md").stats()["stories"] == 1
        # reset: a new customer
        screen.type("r\n")
        screen.expect(r"\* dialogue 1 abandoned \(reset\)")
        screen.expect(r"=== dialogue 2 =+\n")
        screen.expect("> ")
        # quit, exporting first
        screen.type("q\n")
        screen.expect(r"Export the session as stories before quitting\? \[y/n\] ")
        screen.type("maybe\n")
        screen.expect("please answer y or n\n")
        screen.type("y\n")
        screen.expect(r"\* exported 1 dialogues to taught\.md")
        screen.expect(r"1 dialogue\(s\) finished, 0 successful; 1 correction\(s\) in \d+ step\(s\)\.\n"
                      r"Corrections per dialogue: 1\n"
                      r"The session is in session\.jsonl: continue it with the same command and --resume\.")
        assert screen.wait() == 0
    finally:
        screen.kill()
    domain = Domain.load("restaurant")
    records = _records(tmp_path / "session.jsonl")
    steps = [r for r in records if r["type"] == "step"]
    assert steps[0]["corrected"] is True
    assert domain.action_names[steps[0]["proposal"]] == proposed
    assert domain.action_names[steps[0]["label"]] == domain.action_names[steps[0]["action"]] == corrected_to
    assert sum(r["type"] == "undo" for r in records) >= 1
    assert [r["reason"] for r in records if r["type"] == "end"] == ["reset"]
    assert [r["type"] for r in records if r["type"] == "export"] == ["export", "export"]
    # the exported story holds the corrected action
    story = (tmp_path / "taught.md").read_text()
    assert f" - {corrected_to}\n" in story

    # resume, then Ctrl-C: asked whether to export, answer no
    resumed = _session(tmp_path, "--resume")
    try:
        resumed.expect(r"\* resumed 1 finished dialogue")
        resumed.expect("> ")
        resumed.type("\x03")
        resumed.expect(r"Export the session as stories before quitting\? \[y/n\] ")
        resumed.type("n\n")
        assert resumed.wait() == 0
    finally:
        resumed.kill()
    assert _records(tmp_path / "session.jsonl")[:len(records)] == records


def test_resuming_needs_the_same_environment_and_bot(capsys, tmp_path: Path) -> None:
    log = tmp_path / "s.jsonl"
    log.write_text(json.dumps({"type": "header", "format": 1, "env_id": "dialog_gym/Restaurant-v0", "env_kwargs": {},
                               "seed": 0, "beta": 1.0, "retrain_every": None,
                               "learner": {"learner": "supervised", "start": "untrained", "max_history": 5,
                                           "seed": 0}}) + "\n")
    code, _, err = run_cli(capsys, "interactive", "--scratch", "--resume", "--log", str(log), "--env",
                           "Restaurant-Env3-v0")
    assert code == 1
    assert err == (f"dialog-gym interactive: error: {log} is a session in dialog_gym/Restaurant-v0: resume it with "
                   "--env dialog_gym/Restaurant-v0\n")
    code, _, err = run_cli(capsys, "interactive", "--scratch", "--resume", "--log", str(log), "--seed", "3")
    assert code == 1
    assert err == (f"dialog-gym interactive: error: {log} began with another bot (untrained, seed 0): resume it "
                   "with the options it began with (--scratch/--pretrained, --stories, --seed)\n")

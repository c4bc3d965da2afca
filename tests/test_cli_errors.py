"""The newcomer sweep: every bad input to every command is one line on stderr with the exit
status of its kind (2: usage, 1: bad data, 130: Ctrl-C), a JSON object under --json, never a traceback;
environments are named the same way everywhere; models carry their environment; --help shows defaults."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import pytest

import dialog_gym
from agents.cli import COMMAND_MODULES, main

REPO = Path(__file__).resolve().parents[1]


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, str]:
    """Bad inputs of every kind: missing, a folder, empty, random bytes, a story with a typo."""
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 4)
    (tmp_path / "junk.yml").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "empty.yml").write_text("")
    empty = tmp_path / "empty.md"
    empty.write_text("")
    comments = tmp_path / "comments.md"
    comments.write_text("<!-- nothing but a comment -->\n\n")
    typo = tmp_path / "typo.md"
    typo.write_text("## s\n* greet\n - utter_greetz\n")
    notjson = tmp_path / "results.json"
    notjson.write_text('{"runs": 3}')
    badmodel = tmp_path / "badmodel"
    badmodel.mkdir()
    (badmodel / "agent.json").write_text("{ not json")
    return {"JUNK_YML": str(tmp_path / "junk.yml"), "EMPTY_YML": str(tmp_path / "empty.yml"),
            "JUNK": str(junk), "EMPTY": str(empty), "COMMENTS": str(comments), "TYPO": str(typo),
            "DIR": str(tmp_path), "MISSING": str(tmp_path / "missing.md"), "NOTRESULTS": str(notjson),
            "BADMODEL": str(badmodel), "OUT": str(tmp_path / "out")}


def _fill(args: list[str], files: dict[str, str]) -> list[str]:
    out = []
    for a in args:
        for key, value in files.items():
            a = a.replace(key, value)
        out.append(a)
    return out


USAGE_ERRORS = [  # (arguments, a fragment of the message): exit status 2
    (["rollout", "--episodes", "-1"], "argument --episodes: expected a positive integer, got -1"),
    (["rollout", "--episodes", "0"], "expected a positive integer, got 0"),
    (["rollout", "--episodes", "abc"], "expected an integer, got 'abc'"),
    (["rollout", "--seeds", "1.5"], "expected an integer, got '1.5'"),
    (["rollout", "--env", "Nope-v0"], "unknown environment 'Nope-v0'"),
    (["rollout", "--policy", "no_such_agent"], "unknown agent 'no_such_agent'"),
    (["rollout", "--bogus"], "unrecognized arguments: --bogus"),
    (["imitate", "--dialogues", "-1", "--out", "OUT"], "argument --dialogues: expected a positive integer, got -1"),
    (["imitate", "--error-rate", "2", "--out", "OUT"], "argument --error-rate: expected a number in [0, 1], got 2"),
    (["imitate", "--env", "Nope-v0", "--out", "OUT"], "unknown environment 'Nope-v0'"),
    (["imitate", "--stories", "TYPO", "--out", "OUT"], "--stories goes with --start pretrained"),
    (["train", "--algo", "ppo", "--out", "OUT", "--set", "learning_rate=abc"],
     "--set learning_rate: expected a number, got 'abc'"),
    (["train", "--algo", "ppo", "--out", "OUT", "--set", "gamma=2"], "--set gamma: 2 is out of range [0, 1]"),
    (["train", "--algo", "ppo", "--out", "OUT", "--set", "n_steps=-5"], "--set n_steps: -5 is out of range"),
    (["train", "--algo", "ppo", "--out", "OUT", "--set", "n_epochs=2.5"], "--set n_epochs: expected an integer"),
    (["train", "--algo", "ppo", "--out", "OUT", "--set", "batch_size=1"],
     "--set batch_size: 1 is out of range (1, inf)"),
    (["train", "--algo", "dqn", "--out", "OUT", "--set", "exploration_fraction=-0.1"],
     "--set exploration_fraction: -0.1 is out of range [0, 1]"),
    (["train", "--algo", "ppo", "--out", "OUT", "--set", "normalize_advantage=3"],
     "--set normalize_advantage: expected true or false"),
    (["train", "--algo", "ppo", "--out", "OUT", "--set", "no_such_key=1"], "--set no_such_key: not a hyperparameter"),
    (["train", "--algo", "ppo", "--out", "OUT", "--set", "learning_rate"], "--set expects KEY=VALUE"),
    (["train", "--algo", "ppo", "--out", "OUT", "--set", "policy_kwargs=dict(net_arch=os.system)"],
     "--set policy_kwargs: only literals"),
    (["train", "--algo", "sarsa", "--out", "OUT"], "argument --algo: invalid choice: 'sarsa'"),
    (["train", "--algo", "ppo", "--out", "OUT", "--timesteps", "0"], "expected a positive integer, got 0"),
    (["train", "--algo", "ppo", "--out", "OUT", "--warm-start", "expert"], "--warm-start must be 'rule'"),
    (["train", "--algo", "ppo"], "the following arguments are required: --out"),
    (["train-policy", "--policy", "lstm", "--out", "OUT"], "unknown policy 'lstm'"),
    (["train-policy", "--policy", "memo", "--out", "OUT", "--augmentation", "-1"], "expected an integer >= 0, got -1"),
    (["train-policy", "--policy", "memo", "--out", "OUT", "--validation-split", "1.5"],
     "expected a number in [0, 1), got 1.5"),
    (["evaluate-stories", "--train", "TYPO", "--out", "OUT"], "give either --test FILE or --split N"),
    (["evaluate-stories", "--train", "TYPO", "--split", "0", "--out", "OUT"], "expected a positive integer, got 0"),
    (["bench-env", "--steps", "0"], "expected a positive integer, got 0"),
    (["bench-env", "--steps", "10", "--reference", "NoSuchEnv-v0"], "unknown Gymnasium environment"),
    (["bench-env", "--env", "Nope-v0"], "unknown environment"),
    (["benchmark", "--suite", "nope", "--out", "OUT"], "unknown suite 'nope'"),
    (["benchmark", "--agents", "alphago", "--out", "OUT"], "unknown agent(s) alphago"),
    (["benchmark", "--batches", "5,3", "--out", "OUT"], "--batches must be increasing positive numbers"),
    (["benchmark", "--batches", "a,b", "--out", "OUT"], "expected comma-separated integers"),
    (["benchmark", "--batches", "100,150", "--agents", "ppo", "--out", "OUT"], "multiple of the first"),
    (["benchmark", "--strict", "--out", "OUT"], "--strict goes with --compare"),
    (["benchmark", "--envs", "Restaurant-v0,Nope-v0", "--out", "OUT"], "unknown environment 'Nope-v0'"),
    (["benchmark", "--suite", "small", "--envs", "Restaurant-v0", "--out", "OUT"], "not allowed with argument"),
    (["demo", "--suite", "nope"], "unknown suite 'nope'"),
    (["demo", "--episodes", "0"], "expected a positive integer, got 0"),
    (["stories", "simulate", "--episodes", "-3", "--out", "OUT"], "expected a positive integer, got -3"),
    (["stories", "simulate", "--env", "Nope-v0", "--out", "OUT"], "unknown environment"),
    (["stories"], "the following arguments are required: SUBCOMMAND"),
    (["interactive", "--scratch", "--top", "0"], "expected a positive integer, got 0"),
    (["interactive", "--pretrained", "--examples", "2"], "--examples goes with --scratch"),
    (["demo", "--seed", "-5"], "argument --seed: expected a seed from 0 to 9999, got -5"),
    (["train", "--algo", "ppo", "--seed", "10000", "--out", "OUT"], "expected a seed from 0 to 9999, got 10000"),
    (["rollout", "--seed", "9999", "--seeds", "2"], "--seeds: seeds 9999 to 10000 go past the last seed, 9999"),
    (["benchmark", "--first-seed", "9998", "--seeds", "3", "--out", "OUT"], "seeds 9998 to 10000 go past"),
    (["benchmark", "--agents", "", "--out", "OUT"], "unknown agent(s) (none given)"),
    (["train-policy", "--policy", "memo", "--domain", "restaurant", "--out", "OUT"], "--domain goes with --stories"),
    (["no-such-command"], "invalid choice: 'no-such-command'"),
    ([], "the following arguments are required: COMMAND"),
]

DATA_ERRORS = [  # (arguments, a fragment of the message): exit status 1, the file named
    (["stories", "check", "JUNK"], "junk.bin: not UTF-8 text"),
    (["stories", "check", "EMPTY"], "empty.md: no story in it"),
    (["stories", "check", "COMMENTS"], "comments.md: no story in it"),
    (["stories", "check", "MISSING"], "missing.md: file not found"),
    (["stories", "check", "TYPO"], "typo.md:3: story 's': unknown action 'utter_greetz'"),
    (["stories", "check", "TYPO", "--domain", "JUNK"], "junk.bin: not UTF-8 text"),
    (["stories", "check", "TYPO", "--domain", "DIR/nodomain.yml"], "nodomain.yml: file not found"),
    (["train-policy", "--policy", "memo", "--stories", "JUNK", "--out", "OUT"], "junk.bin: not UTF-8 text"),
    (["train-policy", "--policy", "memo", "--stories", "EMPTY", "--out", "OUT", "--domain", "JUNK"],
     "junk.bin: not UTF-8 text"),
    (["evaluate-stories", "--train", "JUNK", "--split", "3", "--out", "OUT"], "junk.bin: not UTF-8 text"),
    (["imitate", "--start", "pretrained", "--stories", "MISSING", "--out", "OUT"], "no such stories file"),
    (["rollout", "--policy", "BADMODEL"], "agent.json: cannot read"),
    (["rollout", "--policy", "DIR"], "not a saved agent"),
    (["benchmark", "--compare", "MISSING", "--out", "OUT"], "missing.md: not found"),
    (["benchmark", "--compare", "JUNK", "--out", "OUT"], "junk.bin: cannot read"),
    (["benchmark", "--compare", "NOTRESULTS", "--out", "OUT"], "not a benchmark results.json"),
    (["interactive", "--scratch", "--log", "DIR"], "is a folder (--log names an output file)"),
    (["train-policy", "--policy", "memo", "--stories", "EMPTY", "--out", "OUT"], "empty.md: no story in it"),
    (["evaluate-stories", "--train", "COMMENTS", "--test", "TYPO", "--out", "OUT"], "comments.md: no story in it"),
    (["rollout", "--episodes", "1", "--stories-out", "DIR"], "is a folder (--stories-out names an output file)"),
    (["stories", "simulate", "--episodes", "1", "--out", "JUNK/x.md"], "junk.bin: is a file, so"),
    (["train", "--algo", "ppo", "--out", "JUNK"], "junk.bin: exists and is not a folder"),
    (["train-policy", "--policy", "memo", "--out", "JUNK"], "junk.bin: exists and is not a folder"),
    (["imitate", "--out", "JUNK"], "junk.bin: exists and is not a folder"),
    (["benchmark", "--agents", "rule", "--out", "JUNK"], "junk.bin: exists and is not a folder"),
    (["rollout", "--env", "JUNK_YML"], "junk.yml: a binary file"),
    (["train", "--algo", "ppo", "--env", "JUNK_YML", "--out", "OUT"], "junk.yml: a binary file"),
    (["imitate", "--env", "JUNK_YML", "--out", "OUT"], "junk.yml: a binary file"),
    (["rollout", "--env", "EMPTY_YML"], "empty.yml: an environment config must be a mapping"),
    (["interactive", "--scratch", "--resume", "--log", "MISSING"], "no session to resume"),
]


def prog(args: list[str]) -> str:
    """The (sub)command an error line names: ``dialog-gym rollout``, ``dialog-gym stories check``, or
    ``dialog-gym`` before a command is known."""
    from agents.cli import build_parser

    words = ["dialog-gym"]
    parser = build_parser()
    for arg in args:
        commands = next((a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if not commands or arg not in commands:
            break
        words.append(arg)
        parser = commands[arg]
    return " ".join(words)


def _check_one_line(code: int, out: str, err: str, status: int, fragment: str, args: list[str]) -> None:
    assert code == status, err
    # one prefix, once: "dialog-gym rollout: error: argument --env: ..."
    assert err.startswith(f"{prog(args)}: error: ") and err.count(": error: ") == 1, err
    assert err.count("\n") == 1, err
    assert fragment in err, err
    assert "Traceback" not in err and "internal error" not in err
    assert out == ""


@pytest.mark.parametrize(("args", "fragment"), USAGE_ERRORS)
def test_usage_errors_exit_2_in_one_line(capsys, files, args, fragment):
    code, out, err = run_cli(capsys, *_fill(args, files))
    _check_one_line(code, out, err, 2, fragment, args)
    assert not Path(files["OUT"]).exists()  # refused before anything was written


@pytest.mark.parametrize(("args", "fragment"), DATA_ERRORS)
def test_bad_files_exit_1_naming_the_file(capsys, files, args, fragment):
    code, out, err = run_cli(capsys, *_fill(args, files))
    _check_one_line(code, out, err, 1, fragment, args)


@pytest.mark.parametrize(("args", "status"), [
    (["rollout", "--episodes", "-1", "--json"], 2),
    (["imitate", "--dialogues", "-1", "--out", "OUT", "--json"], 2),
    (["train", "--algo", "ppo", "--out", "OUT", "--set", "learning_rate=abc", "--json"], 2),
    (["benchmark", "--suite", "nope", "--json"], 2),
    (["rollout", "--json", "--no-such-option"], 2),
    (["stories", "check", "JUNK", "--json"], 1),
    (["rollout", "--policy", "BADMODEL", "--json"], 1),
])
def test_json_errors_are_json_on_stdout(capsys, files, args, status):
    code, out, err = run_cli(capsys, *_fill(args, files))
    assert code == status
    doc = json.loads(out)
    assert set(doc) == {"error", "exit_status"} and doc["exit_status"] == status
    assert err == f"{prog(args)}: error: {doc['error']}\n"


def test_an_unexpected_exception_is_one_line_too(capsys, monkeypatch):
    import agents.commands.envs as envs

    def boom(args):
        raise AssertionError("deep inside a library")

    monkeypatch.setattr(envs, "run", boom)
    code, out, err = run_cli(capsys, "envs", "--json")
    assert code == 1
    assert json.loads(out)["error"].startswith("internal error (AssertionError: deep inside a library)")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_ctrl_c_inside_a_command_is_one_line_and_130(capsys, monkeypatch):
    import agents.evaluation_sim as sim

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sim, "evaluate_agent", interrupted)
    code, out, err = run_cli(capsys, "rollout", "--episodes", "3", "--json")
    assert code == 130 and err.count("\n") == 1 and "interrupted" in err
    assert json.loads(out)["exit_status"] == 130


def test_ctrl_c_wrapped_by_python_in_another_exception_is_still_an_interruption(capsys, monkeypatch):
    """Ctrl-C while a class is created surfaces as RuntimeError("Error calling __set_name__ ...") caused by the
    KeyboardInterrupt: that is an interruption (130), not an internal error."""
    import agents.commands.envs as envs

    def interrupted(args):
        class Named:
            def __set_name__(self, owner, name):
                raise KeyboardInterrupt

        type("Owner", (), {"attribute": Named()})

    monkeypatch.setattr(envs, "run", interrupted)
    code, out, err = run_cli(capsys, "envs", "--json")
    assert code == 130 and err.count("\n") == 1 and "interrupted (Ctrl-C)" in err
    assert json.loads(out)["exit_status"] == 130


def test_ctrl_c_that_passed_through_exec_still_exits_130_under_python_m(tmp_path: Path):
    """CPython remembers a KeyboardInterrupt that left ``exec(str)`` code (a dataclass defined during a lazy
    import) even after we catch it, and ``python -m`` then kills itself with SIGINT: status 130 must win."""
    (tmp_path / "interrupted_cli.py").write_text(
        "import sys\n"
        "import agents.cli as cli\n"
        "import agents.commands.envs as envs\n"
        "def interrupted(args):\n"
        "    exec('raise KeyboardInterrupt')  # as when Ctrl-C lands in a dataclass being defined\n"
        "envs.run = interrupted\n"
        "sys.exit(cli.main(['envs']))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    proc = subprocess.run([sys.executable, "-m", "interrupted_cli"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.splitlines() == ["dialog-gym envs: error: interrupted (Ctrl-C); files written so far are "
                                        "complete, "
                                        "nothing is half-written"]


SWALLOWING_CLI = """
import sys, time
import agents.cli as cli
import agents.commands.envs as envs
import agents.interrupts as interrupts
interrupts.GRACE_SECONDS = float(sys.argv[1])
def swallowing(args):  # a library that catches KeyboardInterrupt and carries on
    ready = False
    while True:
        try:  # "ready" is said inside the try: a Ctrl-C right after it is swallowed too
            if not ready:
                ready = True
                print("ready", flush=True)
            time.sleep(0.05)
        except KeyboardInterrupt:
            pass
envs.run = swallowing
sys.exit(cli.main(["envs", "--json"]))
"""


def start_swallowing_cli(tmp_path: Path, grace: float) -> subprocess.Popen:
    (tmp_path / "swallowing_cli.py").write_text(SWALLOWING_CLI)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    proc = subprocess.Popen([sys.executable, "-m", "swallowing_cli", str(grace)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdout.readline() == "ready\n"
    return proc


@pytest.mark.parametrize("second_ctrl_c", [False, True])
def test_ctrl_c_swallowed_by_a_library_still_ends_the_command_with_130(tmp_path: Path, second_ctrl_c: bool):
    """If the command goes on after Ctrl-C (a library caught the KeyboardInterrupt), the process ends anyway:
    after the grace period, or at once at a second Ctrl-C; one line (and the JSON error), status 130."""
    proc = start_swallowing_cli(tmp_path, grace=600.0 if second_ctrl_c else 1.0)
    try:
        proc.send_signal(signal.SIGINT)
        if second_ctrl_c:
            time.sleep(0.5)
            assert proc.poll() is None  # the grace period is long: only the second Ctrl-C ends it
            proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert stderr.splitlines() == ["dialog-gym envs: error: interrupted (Ctrl-C); files written so far are complete, "
                                   "nothing is half-written"]
    assert json.loads(stdout)["exit_status"] == 130


def test_the_interrupt_guard_is_for_batch_commands_only(capsys, monkeypatch):
    """Batch commands run under the guard and give SIGINT's handler back; interactive and serve handle Ctrl-C
    themselves (questions, a server's shutdown) and run without it."""
    import agents.commands.envs as envs
    import agents.commands.interactive as interactive

    seen = {}
    monkeypatch.setattr(envs, "run", lambda args: seen.setdefault("envs", signal.getsignal(signal.SIGINT)) and 0)
    monkeypatch.setattr(interactive, "run",
                        lambda args: seen.setdefault("interactive", signal.getsignal(signal.SIGINT)) and 0)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert run_cli(capsys, "envs")[0] == 0
    assert run_cli(capsys, "interactive", "--scratch")[0] == 0
    assert seen["envs"] is not signal.default_int_handler and seen["interactive"] is signal.default_int_handler
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize(("command", "marker"), [
    (["train", "--algo", "a2c", "--dialogues", "100000", "--eval-episodes", "2", "--eval-every", "20", "--n-envs", "1",
      "--no-progress"], "final/agent.json"),
    (["benchmark", "--agents", "a2c", "--seeds", "1", "--batches", "100000", "--episodes", "2", "--suite", "default"],
     "runs/a2c_Restaurant-v0_s0/final/agent.json"),
    (["imitate", "--dialogues", "500", "--eval-episodes", "5", "--json"], "session.jsonl"),
])
def test_sigint_exits_130_in_one_line_and_leaves_complete_files(tmp_path: Path, command, marker):
    """A real Ctrl-C (SIGINT) in the middle of a long command: one line, status 130, every file whole."""
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # as from a terminal: SIGINT at its default even when the tests run in the background (`pytest &` starts
    # them with SIGINT ignored, which a command rightly keeps)
    proc = subprocess.Popen([sys.executable, "-m", "agents", *command, "--out", str(out)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not (out / marker).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (out / marker).exists()
        time.sleep(1.0)  # at work now
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert stderr.splitlines()[-1].startswith(f"dialog-gym {command[0]}: error: interrupted (Ctrl-C)"), stderr
    assert "Traceback" not in stderr
    if "--json" in command:
        assert json.loads(stdout)["exit_status"] == 130
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]  # no write was left half-done
    for path in out.rglob("*.json"):
        json.loads(path.read_text())
    for path in out.rglob("*.jsonl"):  # the session log resumes (a torn last line is never a confirmed step)
        from dialog_gym.wrappers import read_log

        assert read_log(path).header["type"] == "header"


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_help_shows_defaults(capsys, module):
    name = module.rsplit(".", 1)[1].replace("_", "-")
    args = {"stories": ["stories", "check"], "domain": ["domain", "import-pydial"]}.get(name, [name])
    assert main([*args, "--help"]) == 0
    out = capsys.readouterr().out
    if name not in ("envs",):  # envs has only --json
        assert "(default: " in out, out


def test_help_explains_masks_warm_start_and_beta(capsys):
    main(["train", "--help"])
    train = " ".join(capsys.readouterr().out.split())
    assert "behaviour-clone the policy network" in train
    main(["imitate", "--help"])
    imitate = " ".join(capsys.readouterr().out.split())
    assert "DAgger's beta: the probability that the teacher's action is executed" in imitate
    main(["benchmark", "--help"])
    assert "mask allows" in " ".join(capsys.readouterr().out.split())
    from agents.terminal import HELP

    assert "Masks: the environment's action mask" in HELP


@pytest.mark.parametrize("name", ["Restaurant-Env2-v0", "dialog_gym/Restaurant-Env2-v0"])
def test_an_environment_is_named_the_same_way_everywhere(name):
    from agents.commands.common import env_arg

    env = env_arg(name)
    assert (env.id, env.kwargs) == ("dialog_gym/Restaurant-Env2-v0", {})
    assert env.to_json() == "dialog_gym/Restaurant-Env2-v0" and str(env) == "dialog_gym/Restaurant-Env2-v0"


@pytest.mark.parametrize("command", [
    ["rollout", "--episodes", "2", "--json"],
    ["bench-env", "--steps", "50", "--repeats", "1", "--json"],
    ["stories", "simulate", "--episodes", "2", "--out", "OUT/s.md"],
    ["benchmark", "--agents", "rule", "--seeds", "1", "--batches", "2", "--episodes", "2", "--out", "OUT/b"],
])
def test_every_env_option_takes_a_config_path(capsys, files, command):
    config = str(REPO / "configs" / "envs" / "restaurant.yml")
    option = "--envs" if command[0] == "benchmark" else "--env"
    code, _, err = run_cli(capsys, *_fill(command, files), option, config)
    assert code == 0, err


@pytest.mark.parametrize("command", [
    ["rollout", "--episodes", "2", "--json"],
    ["bench-env", "--steps", "50", "--repeats", "1", "--json"],
    ["stories", "simulate", "--episodes", "2", "--out", "OUT/s.md"],
    ["benchmark", "--agents", "rule", "--seeds", "1", "--batches", "2", "--episodes", "2", "--out", "OUT/b"],
])
def test_every_env_option_runs_an_imported_tasks_other_settings(capsys, files, tmp_path: Path, command):
    """An imported PyDial task's Env2-Env6 by ``DIR/env.yml:EnvN``: a copy of a shipped task (so nothing
    registered knows it)."""
    import shutil

    task = tmp_path / "imported"
    shutil.copytree(REPO / "configs" / "pydial" / "CamRestaurants", task)
    option = "--envs" if command[0] == "benchmark" else "--env"
    code, out, err = run_cli(capsys, *_fill(command, files), option, f"{task / 'env.yml'}:Env3")
    assert code == 0, err
    if command[0] == "rollout":
        by_variant = json.loads(out)
        assert by_variant["env_kwargs"] == {"config": str(task / "env.yml"), "variant": "Env3"}
        code, out, err = run_cli(capsys, *command, "--env", "PyDial-CR-Env3-v0")
        registered = json.loads(out)
        for key in ("success_rate", "mean_turns", "mean_reward"):  # the same dialogues as the registered Env3
            assert by_variant[key] == registered[key]


def test_a_folder_is_answered_with_its_env_yml(capsys, tmp_path: Path):
    folder = REPO / "configs" / "pydial" / "CamRestaurants"
    code, out, err = run_cli(capsys, "rollout", "--env", str(folder))
    _check_one_line(code, out, err, 2, f"did you mean {folder / 'env.yml'}?", ["rollout"])


def test_an_unknown_id_is_answered_with_the_nearest(capsys):
    code, out, err = run_cli(capsys, "rollout", "--env", "Restaurant-Env7-v0")
    _check_one_line(code, out, err, 2, "did you mean dialog_gym/Restaurant-Env6-v0", ["rollout"])
    assert "Hotel-Env4-v0" not in err  # not every registered id


def test_a_config_path_that_is_not_a_config_is_one_line(capsys, files):
    code, out, err = run_cli(capsys, "rollout", "--env", files["MISSING"].replace(".md", ".yml"))
    _check_one_line(code, out, err, 2, "unknown environment", ["rollout"])
    junk = Path(files["DIR"]) / "junk.yml"
    junk.write_bytes(bytes(range(256)))
    code, out, err = run_cli(capsys, "rollout", "--env", str(junk))
    _check_one_line(code, out, err, 1, "junk.yml", ["rollout"])


def test_imitate_takes_a_short_id(capsys, tmp_path: Path):
    code, out, err = run_cli(capsys, "imitate", "--env", "Restaurant-Env2-v0", "--dialogues", "1", "--eval-episodes",
                             "2", "--out", str(tmp_path / "im"), "--json")
    assert code == 0, err
    assert [p["dialogues"] for p in json.loads(out)["curve"]] == [0, 1]
    assert "after   1 of 1 dialogue(s)" in err  # progress on stderr under --json
    assert json.loads((tmp_path / "im" / "curve.json").read_text())["env"] == "dialog_gym/Restaurant-Env2-v0"


def test_a_policy_carries_its_environment(capsys, tmp_path: Path):
    folder = tmp_path / "memo"
    code, out, err = run_cli(capsys, "train-policy", "--policy", "memo", "--episodes", "5", "--env",
                             "Restaurant-Env2-v0", "--out", str(folder), "--quiet")
    assert code == 0, err
    assert "5 stories -> " in out and "training dialogues after augmentation (x20)" in out
    meta = json.loads((folder / "policy.json").read_text())
    assert meta["env"] == {"env_id": "dialog_gym/Restaurant-Env2-v0", "env_kwargs": {}}
    code, out, err = run_cli(capsys, "rollout", "--policy", str(folder), "--episodes", "2", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["env"] == "dialog_gym/Restaurant-Env2-v0" and "the environment it was trained on" in doc["note"]
    code, out, err = run_cli(capsys, "rollout", "--policy", str(folder), "--episodes", "2", "--env", "Restaurant-v0")
    assert code == 0, err
    assert (f"note: {folder} was trained on dialog_gym/Restaurant-Env2-v0 but runs in dialog_gym/Restaurant-v0 "
            "(--env)") in out
    assert "Warning" not in err


def test_maskable_ppo_without_masks_says_why(capsys, tmp_path: Path):
    code, out, err = run_cli(capsys, "train", "--algo", "maskable_ppo", "--env", "Restaurant-Env2-v0", "--timesteps",
                             "64", "--eval-episodes", "2", "--n-envs", "1", "--set", "n_steps=32", "--set",
                             "batch_size=32", "--no-progress", "--out", str(tmp_path / "m"))
    assert code == 0, err
    assert err.startswith("note: dialog_gym/Restaurant-Env2-v0 has action masks off")
    assert "trains as plain PPO" in err
    code, out, err = run_cli(capsys, "rollout", "--policy", str(tmp_path / "m"), "--episodes", "1")
    assert code == 0 and "note: running" in out and "Restaurant-Env2-v0, the environment it was trained on" in out


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"noise": 2}, "gym.make keyword argument noise=2: noise.error_rate must be in [0, 1), got 2.0"),
    ({"noise": -0.1}, "noise.error_rate must be in [0, 1), got -0.1"),
    ({"noise": float("nan")}, "noise.error_rate must be in [0, 1), got nan"),
    ({"noise": "abc"}, "gym.make keyword argument noise='abc'"),
    ({"noise": {"error_rate": 0.1, "x": 1}}, "noise: unknown key(s) 'x'"),
    ({"masks": "yes"}, "masks must be true or false, got 'yes'"),
    ({"max_history": 0}, "max_history must be at least 1, got 0"),
    ({"max_steps": -1}, "max_steps must be at least 10, got -1"),
    ({"reward": 5}, "reward: expected a mapping"),
    ({"reward": {"failure": "x"}}, "reward: values must be numbers"),
    ({"reward": {"bogus": 1}}, "reward: unknown key(s) 'bogus'"),
    ({"bogus": 1}, "unknown keyword argument(s) bogus"),
    ({"user": "grumpy"}, "unknown user profile 'grumpy': the shipped ones are "),  # then the list: standard, ...
    ({"actions": {"search": "nope"}}, "actions.search: action 'nope' is not in the domain"),
    ({"domain": "/no/such/domain.yml"}, "/no/such/domain.yml"),
    ({"domain": "/"}, "is a directory"),
])
def test_gym_make_keywords_raise_the_packages_errors(kwargs, message):
    with pytest.raises(dialog_gym.DialogGymError) as info:
        gym.make("dialog_gym/Restaurant-v0", **kwargs)
    assert message in str(info.value)
    if "user" in kwargs:
        assert "standard" in str(info.value) and "unfriendly" in str(info.value)


@pytest.mark.parametrize("keyword", ["domain", "config"])
def test_gym_make_with_a_binary_file_raises_the_packages_error(tmp_path: Path, keyword: str):
    junk = tmp_path / "junk.yml"
    junk.write_bytes(bytes(range(256)))
    with pytest.raises(dialog_gym.DialogGymError, match=r"junk\.yml"):
        gym.make("dialog_gym/Restaurant-v0", **{keyword: str(junk)})


def _tiny_benchmark(capsys, out: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli(capsys, "benchmark", "--agents", "random,rule", "--seeds", "1", "--batches", "10",
                   "--episodes", "3", "--suite", "default", "--out", str(out), *extra)


def test_compare_prints_a_verdict_and_strict_fails_on_differences(capsys, tmp_path: Path):
    code, _, _ = _tiny_benchmark(capsys, tmp_path / "a")
    assert code == 0
    reference = tmp_path / "a" / "results.json"
    code, out, _ = _tiny_benchmark(capsys, tmp_path / "b", "--compare", str(reference), "--strict")
    assert code == 0
    assert f"compared with {reference}: identical: every number equals the reference's" in out
    doc = json.loads(reference.read_text())
    doc["runs"][0]["curve"][0]["success_rate"] = 0.5  # the random agent's first point, changed by hand
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(doc))
    old = json.loads((tmp_path / "b" / "results.json").read_text())["runs"][0]["curve"][0]["success_rate"]
    code, out, _ = _tiny_benchmark(capsys, tmp_path / "c", "--compare", str(changed))
    assert code == 0  # a difference is information, not an error
    assert "1 number differs from the reference's" in out
    assert f"('dialog_gym/Restaurant-v0', 'random', 0, 0) success_rate: 0.5 -> {old}" in out
    code, out, _ = _tiny_benchmark(capsys, tmp_path / "d", "--compare", str(changed), "--strict", "--json")
    assert code == 3
    result = json.loads(out)
    assert result["identical"] is False and len(result["differences"]) == 1


def test_the_shipped_reference_is_a_small_benchmark():
    from agents.benchmark import BUDGETS, load_results, suite_envs

    doc = load_results(REPO / "reference" / "small" / "results.json")
    budget = BUDGETS["small"]
    assert doc["envs"] == suite_envs(budget.suite) and doc["agents"] == list(budget.agents)
    assert doc["seeds"] == list(range(budget.seeds)) and doc["budget"]["batches"] == list(budget.batches)
    table = (REPO / "reference" / "small" / "table.md").read_text()
    assert "| Restaurant-Env3-v0 | maskable_ppo | 100.0% [100.0, 100.0] |" in " ".join(table.split())


def test_every_agent_has_a_panel_and_the_plot_is_written(tmp_path: Path):
    from agents.benchmark import ALL_AGENTS, FAMILIES, RunRecord, plot_curves

    members = [a for _, agents, _ in FAMILIES for a in agents]
    assert sorted(members) == sorted(ALL_AGENTS) and len(members) == len(set(members))
    curve = [{"dialogues": d, "success_rate": 1.0} for d in (0, 10)]
    records = [RunRecord("dialog_gym/Restaurant-v0", a, 0, curve, 0.0, 10) for a in ALL_AGENTS]
    plot_curves(tmp_path / "c.png", records, "dialog_gym/Restaurant-v0")
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_benchmark_says_why_maskable_ppo_is_plain_ppo_without_masks(capsys, tmp_path: Path):
    code, _, err = run_cli(capsys, "benchmark", "--agents", "rule,maskable_ppo", "--envs", "Restaurant-Env2-v0",
                           "--seeds", "1", "--batches", "4", "--episodes", "1", "--out", str(tmp_path / "b"))
    assert code == 0, err
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert notes == [notes[0]] and "Restaurant-Env2-v0 has action masks off" in notes[0]
    assert "maskable_ppo trains as plain PPO" in notes[0]


def test_every_option_of_every_command_is_explained():
    import argparse

    from agents.cli import build_parser

    missing = []

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, subparser in action.choices.items():
                    walk(subparser, f"{name} {sub}")
            elif action.option_strings and not action.help:
                missing.append(f"{name} {action.option_strings[0]}")

    walk(build_parser(), "dialog-gym")
    assert missing == []


def test_a_zero_default_is_shown(capsys):
    main(["rollout", "--help"])
    assert "first seed (default: 0)" in " ".join(capsys.readouterr().out.split())

"""A lean install (``pip install dialog-gym``, no extra): the environments, the rule experts and the commands
that need no learner work without torch, stable-baselines3, sb3-contrib, matplotlib and tqdm; a command that
needs an extra says which in one line. Tested in this venv by refusing those imports in a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agents.extras import EXTRAS, install_hint

REPO = Path(__file__).resolve().parents[1]
#: what a lean install lacks (every module of the rl and plots extras)
BLOCKED = ("torch", "stable_baselines3", "sb3_contrib", "matplotlib", "tqdm")

BLOCKER = f"""
import sys

BLOCKED = {BLOCKED!r}


class Refuse:
    '''As if the rl and plots extras were not installed.'''

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, Refuse())
"""

LIBRARY = """
import sys

import gymnasium as gym

import dialog_gym
from dialog_gym.resources import config_path
from dialog_gym.rollout import expert_act, run_episodes

ids = [env_id for env_id in gym.registry if env_id.startswith("dialog_gym/")]
successes = {}
for env_id in ids:
    kwargs = {"config": str(config_path("envs", "restaurant.yml"))} if env_id == "dialog_gym/Dialogue-v0" else {}
    env = gym.make(env_id, info_tracker=True, **kwargs)
    results, _ = run_episodes(env, expert_act(env), 3, seed=0)
    successes[env_id] = sum(r.success for r in results)
    env.close()
loaded = sorted({m.partition(".")[0] for m in sys.modules} & set(BLOCKED))
print(json.dumps({"ids": ids, "successes": successes, "loaded": loaded}))
"""

CLI = """
import runpy
import sys

sys.argv = ["dialog-gym", *sys.argv[1:]]
runpy.run_module("agents", run_name="__main__", alter_sys=True)
"""


def lean_python(tmp_path: Path, code: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a Python where the rl and plots extras cannot be imported."""
    (tmp_path / "lean_blocker.py").write_text(BLOCKER)
    script = tmp_path / "lean_script.py"
    script.write_text(f"import json\nimport lean_blocker\nfrom lean_blocker import BLOCKED\n{code}")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    env.pop("DIALOG_GYM_TRACEBACK", None)
    return subprocess.run([sys.executable, str(script), *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)


def test_the_blocker_refuses_what_a_lean_install_lacks(tmp_path: Path) -> None:
    """The test's premise: in the subprocess, importing torch fails as on a machine without it."""
    proc = lean_python(tmp_path, "import torch\n")
    assert proc.returncode == 1 and "ModuleNotFoundError: No module named 'torch'" in proc.stderr


def test_every_env_and_the_rule_experts_run_without_the_extras(tmp_path: Path) -> None:
    proc = lean_python(tmp_path, LIBRARY)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    from dialog_gym.envs import GENERIC_ENV_ID, env_descriptions

    assert set(doc["ids"]) == {*env_descriptions(), GENERIC_ENV_ID}  # every registered id was made
    assert len(doc["ids"]) > 30 and "dialog_gym/Restaurant-v0" in doc["ids"]
    assert doc["loaded"] == []
    # the rule expert succeeds on the noiseless default task (3 of 3 dialogues, as with the extras installed)
    assert doc["successes"]["dialog_gym/Restaurant-v0"] == 3
    assert doc["successes"]["dialog_gym/PyDial-CR-Env1-v0"] == 3


def test_the_commands_without_a_learner_run_without_the_extras(tmp_path: Path) -> None:
    envs = lean_python(tmp_path, CLI, "envs")
    assert envs.returncode == 0, envs.stderr
    assert [c.strip() for c in envs.stdout.splitlines()[0].split("|")[1:-1]] == ["id", "setting", "suites"]
    for policy, success in (("rule", 1.0), ("random", None)):
        proc = lean_python(tmp_path, CLI, "rollout", "--policy", policy, "--episodes", "3", "--json")
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["episodes"] == 3 and doc["policy"] == policy
        if success is not None:
            assert doc["success_rate"] == success
    stories = lean_python(tmp_path, CLI, "stories", "simulate", "--episodes", "2", "--out", "s.md")
    assert stories.returncode == 0, stories.stderr
    assert (tmp_path / "s.md").read_text().count("## ") == 2
    bench = lean_python(tmp_path, CLI, "bench-env", "--steps", "100", "--repeats", "1", "--json")
    assert bench.returncode == 0, bench.stderr
    assert json.loads(bench.stdout)["steps"] == 100
    usage = lean_python(tmp_path, CLI, "--help")  # every command's parser is built
    assert usage.returncode == 0 and "train" in usage.stdout and usage.stderr == ""


@pytest.mark.parametrize(("command", "extra", "module"), [
    (["train", "--algo", "ppo", "--out", "run"], "rl", "torch"),
    (["benchmark", "--agents", "rule", "--out", "run"], "rl", "torch"),
    (["imitate", "--out", "run"], "rl", "torch"),
])
def test_a_command_that_needs_a_missing_extra_says_which_in_one_line(tmp_path: Path, command, extra, module):
    proc = lean_python(tmp_path, CLI, *command)
    assert proc.returncode == 1
    assert proc.stderr == (f"dialog-gym {command[0]}: error: this command needs the {extra} extra ({module} is "
                           f"not installed): {install_hint(extra)}\n")
    assert proc.stdout == "" and not (tmp_path / "run").exists()


def test_a_saved_model_without_the_rl_extra_names_it_too(tmp_path: Path) -> None:
    """A path no command declares (rollout of a saved SB3 model) meets the missing module while it runs: the
    same one line, not an internal error."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "agent.json").write_text(json.dumps({"algo": "ppo", "env_id": "dialog_gym/Restaurant-v0",
                                                  "hyperparams": {}}))
    proc = lean_python(tmp_path, CLI, "rollout", "--policy", str(model), "--episodes", "1")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == ["dialog-gym rollout: error: this command needs the rl extra (torch is not "
                                        "installed): pip install 'dialog-gym[rl]'"]


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0].lower() for r in requirements}


#: distribution name -> import name, where they differ
IMPORT_NAMES = {"stable-baselines3": "stable_baselines3", "sb3-contrib": "sb3_contrib", "pyyaml": "yaml"}


def test_the_extras_are_those_of_pyproject() -> None:
    """``agents/extras.py`` (the CLI's messages) and ``pyproject.toml`` (what pip installs) say the same."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert _requirement_names(project["dependencies"]) == {"gymnasium", "numpy", "pyyaml"}
    declared = project["optional-dependencies"]
    for extra, modules in EXTRAS.items():
        names = {IMPORT_NAMES.get(n, n) for n in _requirement_names(declared[extra])}
        assert names == set(modules), extra
    assert declared["all"] == [f"dialog-gym[{','.join(EXTRAS)}]"]
    assert "dialog-gym[all,docs]" in declared["dev"]
    assert _requirement_names(declared["docs"]) == {"sphinx", "furo", "myst-parser"}
    # the private SB3 hook of agents/sb3_adapter.py: pinned below the next major
    pins = {r.split(">=")[0]: r for r in declared["rl"]}
    assert pins["stable-baselines3"].endswith(",<3") and pins["sb3-contrib"].endswith(",<3")

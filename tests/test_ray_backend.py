"""The benchmark on Ray: a local 2-CPU cluster on 127.0.0.1 started (and shut down) by this module; the
same numbers as the serial backend, a worker killed mid-cell (retried), the driver killed (resumed), a
failing cell reported."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # the cluster talks over 127.0.0.1 only
os.environ.setdefault("RAY_worker_niceness", "0")  # its workers as busy as the serial runs beside them
ray = pytest.importorskip("ray")

from agents.benchmark import BUDGETS, compare, run_benchmark  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ENV = "dialog_gym/Restaurant-v0"
TINY = replace(BUDGETS["small"], batches=(10, 20), test_episodes=4)
AGENTS = ["random", "rule", "memo", "maskable_ppo"]
SEEDS = [0, 1]


@pytest.fixture(scope="module")
def cluster() -> str:
    """A local Ray instance with 2 CPUs; its GCS address (for drivers in other processes)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="error")
    address = ray.get_runtime_context().gcs_address
    assert address.startswith("127.0.0.1:")
    yield address
    ray.shutdown()


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> Path:
    """The tiny benchmark run serially: the numbers every Ray run must give."""
    out = tmp_path_factory.mktemp("serial")
    run_benchmark(out, TINY, [ENV], AGENTS, SEEDS)
    return out / "results.json"


def test_ray_gives_the_serial_numbers(cluster, serial, tmp_path: Path):
    doc = run_benchmark(tmp_path, TINY, [ENV], AGENTS, SEEDS, backend="ray")
    assert compare(serial, tmp_path / "results.json") == []
    assert [c["status"] for c in doc["cells"]] == ["done"] * 8
    assert len({c["key"] for c in doc["cells"]}) == 8 and len(list((tmp_path / "cells").glob("*.json"))) == 8
    assert doc["backend"] == "ray"


def _cell_workers() -> list[int]:
    """Pids of the Ray workers running a cell now (Ray titles a busy worker ``ray::<function>``)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "cmdline").read_bytes().startswith(b"ray::execute_cell"):
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def test_a_killed_worker_gets_its_cell_retried(cluster, serial, tmp_path: Path):
    result: dict = {}
    runner = threading.Thread(target=lambda: result.update(doc=run_benchmark(tmp_path, TINY, [ENV], AGENTS, SEEDS,
                                                                              backend="ray", retries=2)))
    runner.start()
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and runner.is_alive() and time.monotonic() < deadline:
        pids = _cell_workers()
        if pids:
            killed = pids[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    runner.join(timeout=300)
    assert killed is not None, "no worker ran a cell"
    doc = result["doc"]
    assert [c["status"] for c in doc["cells"]] == ["done"] * 8
    pids = [json.loads(p.read_text())["pid"] for p in (tmp_path / "cells").glob("*.json")]
    assert killed not in pids  # the killed worker's cell was finished by another worker
    assert compare(serial, tmp_path / "results.json") == []


def _cli(out: Path, address: str) -> list[str]:
    return [sys.executable, "-m", "agents", "benchmark", "--envs", ENV, "--agents", ",".join(AGENTS),
            "--seeds", "2", "--batches", "10,20", "--episodes", "4", "--backend", "ray", "--address", address,
            "--out", str(out), "--no-progress"]


def test_a_killed_driver_resumes_where_it_stopped(cluster, serial, tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    driver = subprocess.Popen(_cli(tmp_path, cluster), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    cells = tmp_path / "cells"
    deadline = time.monotonic() + 120
    while driver.poll() is None and time.monotonic() < deadline and not list(cells.glob("*.json")):
        time.sleep(0.05)
    driver.kill()  # SIGKILL: no clean-up of any kind
    driver.wait()
    finished = len(list(cells.glob("*.json")))
    assert 1 <= finished < 8 and not (tmp_path / "results.json").exists()
    rerun = subprocess.run(_cli(tmp_path, cluster), cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"note: {finished} of 8 cells reused from {cells}, {8 - finished} new" in rerun.stderr
    assert compare(serial, tmp_path / "results.json") == []
    assert json.loads((tmp_path / "results.json").read_text())["cells_skipped"] == finished


def test_a_task_given_only_by_its_config_path_runs_on_ray_workers(cluster, serial, tmp_path: Path):
    """``--envs path/to/env.yml`` (relative to the driver's folder, which no worker shares): the cells carry the
    env reference by value, so the workers make the task without anything registered for it."""
    config = tmp_path / "task" / "my_restaurant.yml"
    config.parent.mkdir()
    shutil.copy(ROOT / "configs" / "envs" / "restaurant.yml", config)
    agents = ["random", "rule", "memo"]
    command = [*_cli(tmp_path / "out", cluster), "--agents", ",".join(agents), "--envs", "task/my_restaurant.yml"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["envs"] == ["task/my_restaurant.yml"] and doc["backend"] == "ray"
    assert [c["status"] for c in doc["cells"]] == ["done"] * 6
    assert all(c["host"] for c in doc["cells"])
    # the same task as the registered id: the same dialogues, so the same curves
    reference = {(r["agent"], r["seed"]): r["curve"] for r in json.loads(serial.read_text())["runs"]}
    assert {(r["agent"], r["seed"]): r["curve"] for r in doc["runs"]} == {k: reference[k] for k in
                                                                          [(a, s) for a in agents for s in SEEDS]}
    assert {r["env"] for r in doc["runs"]} == {"task/my_restaurant.yml"}


def test_a_failing_cell_on_ray_is_reported(cluster, tmp_path: Path):
    budget = replace(TINY, batches=(3, 5))  # PPO needs batches that are multiples of the first: its cell fails
    doc = run_benchmark(tmp_path, budget, [ENV], ["rule", "ppo"], [0], backend="ray")
    assert [(c["key"].split("__")[1], c["status"]) for c in doc["cells"]] == [("rule", "done"), ("ppo", "failed")]
    assert doc["cells"][1]["error"] == "ConfigError: RL batches must be multiples of the first batch"
    assert "failed: ConfigError" in (tmp_path / "table.md").read_text()


def test_tune_on_ray_writes_hyperparameters_that_train_accepts(cluster, tmp_path: Path):
    pytest.importorskip("optuna")
    from agents.hyperparams import load_hyperparams
    from agents.rl_training import TrainSpec, train
    from agents.tuning import TuneSpec, tune

    doc = tune(TuneSpec("maskable_ppo", ENV, tmp_path, trials=3, dialogues=10, eval_every=5, eval_episodes=2,
                        backend="ray"))
    assert len(doc["trials"]) == 3 and doc["best"]["state"] == "complete"
    assert {t["state"] for t in doc["trials"]} <= {"complete", "pruned"}
    hp = load_hyperparams("maskable_ppo", ENV, path=tmp_path / "best_hyperparams.yml")
    assert all(hp[k] == v for k, v in doc["best"]["params"].items() if k != "policy_kwargs")
    result = train(TrainSpec("maskable_ppo", ENV, tmp_path / "train", dialogues=5, eval_every=5, eval_episodes=2,
                             progress=False, tensorboard=False, hyperparams=str(tmp_path / "best_hyperparams.yml")))
    assert result.dialogues >= 5

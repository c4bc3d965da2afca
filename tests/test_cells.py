"""Cells, serially: each finished cell written at once, a re-run reuses them, a cell whose parameters changed
is recomputed (and the run says why), a cell that raises is reported as failed and the rest completes (the Ray
backend: test_ray_backend.py)."""

from __future__ import annotations

import io
import json
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from agents.benchmark import BUDGETS, benchmark_cell, compare, plan_cells, run_benchmark
from agents.cells import (
    Cell,
    CellProgress,
    CellStore,
    changed_parts,
    estimate_wall_time,
    execute_cell,
    format_duration,
    run_cells,
    time_left,
)
from agents.cli import main
from dialog_gym.errors import DialogGymError, PersistenceError

ENV = "dialog_gym/Restaurant-v0"
TINY = replace(BUDGETS["small"], batches=(3, 5), test_episodes=3)


def _square(cell: Cell) -> int:
    if cell.params["x"] < 0:
        raise ValueError("negative")
    return cell.params["x"] ** 2


def test_plan_keeps_the_imitation_agents_together_in_table_order():
    cells = plan_cells(TINY, [ENV], ["rule", "memo", "ppo", "supervised"], [0, 1], "/tmp/w")
    assert [c.params["agents"] for c in cells] == [["rule"], ["rule"], ["memo", "supervised"],
                                                   ["memo", "supervised"], ["ppo"], ["ppo"]]
    assert cells[2].key == "dialog_gym_Restaurant-v0__memo+supervised__s0"
    assert cells[0].params["batches"] == [3, 5] and cells[0].params["torch_threads"] == 1
    assert cells[0].context == {"workdir": "/tmp/w"}
    assert len({c.key for c in cells}) == 6


def test_execute_cell_records_the_result_or_the_error():
    ok = execute_cell(_square, Cell("a", {"x": 3}))
    assert ok["status"] == "done" and ok["result"] == 9 and ok["params"] == {"x": 3}
    bad = execute_cell(_square, Cell("b", {"x": -1}))
    assert bad["status"] == "failed" and bad["error"] == "ValueError: negative"
    assert "raise ValueError" in bad["traceback"]


def test_run_cells_reuses_finished_reruns_failed_and_recomputes_changed(tmp_path: Path):
    cells = [Cell("a", {"x": 2}), Cell("b", {"x": -1}), Cell("c", {"x": 4})]
    run = run_cells(_square, cells, tmp_path)
    assert run.reused == [] and [run.records[k]["status"] for k in "abc"] == ["done", "failed", "done"]
    assert json.loads((tmp_path / "cells" / "c.json").read_text())["result"] == 16
    notes: list[str] = []
    run = run_cells(_square, cells, tmp_path, note=notes.append)
    assert run.reused == ["a", "c"] and run.records["b"]["status"] == "failed"  # failed cells run again
    assert notes == [f"2 of 3 cells reused from {tmp_path / 'cells'}, 1 new (--fresh recomputes every cell)"]
    notes.clear()
    changed = [Cell("a", {"x": 5, "code": "v2"}), Cell("c", {"x": 4})]
    run = run_cells(_square, changed, tmp_path, note=notes.append, parts={"code": "code"})
    assert run.records["a"]["result"] == 25 and run.reused == ["c"]
    assert run.recomputed == {"a": ["code", "settings (x)"]} and run.reasons() == {"code": 1, "settings (x)": 1}
    assert notes == [f"1 of 2 cells reused from {tmp_path / 'cells'}, 1 recomputed (code changed: 1, settings (x) "
                     "changed: 1), 0 new (--fresh recomputes every cell)"]
    assert json.loads((tmp_path / "cells" / "a.json").read_text())["params"] == {"x": 5, "code": "v2"}
    run = run_cells(_square, [Cell("a", {"x": 5, "code": "v2"})], tmp_path, fresh=True)
    assert run.reused == [] and run.recomputed == {} and run.records["a"]["result"] == 25
    (tmp_path / "cells" / "c.json").write_text("[1, 2]")
    with pytest.raises(PersistenceError, match="not a cell file"):
        CellStore(tmp_path).finished(cells[2:])
    with pytest.raises(DialogGymError, match="unknown backend"):
        run_cells(_square, cells, tmp_path, backend="dask")


def test_changed_parts_names_each_part_once():
    assert changed_parts({"x": 1, "code": "a", "env": "e"}, {"x": 1, "code": "b", "env": "f"},
                         {"code": "code", "env": "env data"}) == ["code", "env data"]
    assert changed_parts({"x": 1}, {"x": 1, "y": 2}) == ["settings (y)"]
    assert changed_parts({"x": 1}, {"x": 1}) == []


def test_a_failing_cell_is_reported_and_the_rest_completes(tmp_path: Path):
    # PPO cannot run batches 3, 5 (not multiples of the first; the CLI refuses them): its cells fail
    doc = run_benchmark(tmp_path / "b", TINY, [ENV], ["rule", "ppo"], [0, 1])
    assert [c["status"] for c in doc["cells"]] == ["done", "done", "failed", "failed"]
    assert doc["failed"][0] == {"env": ENV, "agent": "ppo", "seed": 0,
                                "error": "ConfigError: RL batches must be multiples of the first batch"}
    assert [r["agent"] for r in doc["runs"]] == ["rule", "rule"]
    table = (tmp_path / "b" / "table.md").read_text()
    assert "| ppo   | failed: ConfigError: RL batches must be multiples of the first batch" in table
    assert "| rule  | 100.0%" in table


def test_resume_runs_only_the_missing_cells_and_gives_the_same_results(tmp_path: Path):
    agents, seeds = ["random", "rule"], [0, 1]
    first = run_benchmark(tmp_path, TINY, [ENV], agents, seeds)
    (tmp_path / "results.json").rename(tmp_path / "first.json")
    (tmp_path / "cells" / "dialog_gym_Restaurant-v0__random__s1.json").unlink()  # as if killed before it ended
    again = run_benchmark(tmp_path, TINY, [ENV], agents, seeds)
    assert again["cells_skipped"] == 3 and first["cells_skipped"] == 0
    assert compare(tmp_path / "first.json", tmp_path / "results.json") == []
    assert [r["curve"] for r in first["runs"]] == [r["curve"] for r in again["runs"]]


def test_estimate_wall_time_is_the_greedy_longest_first_schedule():
    assert estimate_wall_time([5, 4, 3, 3], 2) == 8  # 5+3 on one worker, 4+3 on the other
    assert estimate_wall_time([5, 4, 3, 3], 1) == 15
    assert estimate_wall_time([10, 1, 1], 4) == 10
    assert estimate_wall_time([], 3) == 0


def test_backend_options_checked(tmp_path: Path, capsys, monkeypatch):
    assert main(["benchmark", "--address", "auto", "--out", str(tmp_path)]) == 2
    assert "--address and --workers go with --backend ray" in capsys.readouterr().err
    assert main(["benchmark", "--backend", "ray", "--address", "auto", "--workers", "2",
                 "--out", str(tmp_path)]) == 2
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    assert main(["benchmark", "--backend", "ray", "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err.strip().endswith("needs Ray, an optional extra: pip install 'dialog-gym[ray]'")


def test_a_worker_with_other_versions_refuses_the_cell(tmp_path: Path):
    cell = plan_cells(TINY, [ENV], ["rule"], [0], tmp_path)[0]
    other = Cell(cell.key, {**cell.params, "versions": {**cell.params["versions"], "torch": "0.0"}}, cell.context)
    record = execute_cell(benchmark_cell, other)
    assert record["status"] == "failed"
    assert record["error"].startswith("ConfigError: this worker has other versions than the driver: torch 0.0 (driver)")
    assert execute_cell(benchmark_cell, cell)["status"] == "done"


# ---------------------------------------------------------------------- the progress bar
def test_time_left_is_the_cost_weighted_rate_of_the_finished_cells():
    assert time_left(60.0, 0.0, 10.0) is None  # nothing finished: no estimate
    assert time_left(60.0, 1.0, 4.0) == 180.0  # 1 cost unit a minute, 3 left
    assert time_left(60.0, 100.0, 101.0) == pytest.approx(0.6)  # the costly cell done: the cheap one is quick
    assert time_left(60.0, 4.0, 4.0) == 0.0
    assert time_left(60.0, 1.0, 4.0, running_credit=1.0) == 60.0  # half worked off in a minute: one more
    assert [format_duration(s) for s in (0, 59.9, 90, 3600 + 61)] == ["0:00", "0:59", "1:30", "1:01:01"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_bar_shows_time_moving_while_a_cell_runs_and_an_eta_by_cost():
    """A cheap cell (cost 1) and a costly one (cost 3): 90 s pass with nothing finished (the elapsed time
    moves at each tick: the timer's), then the cheap cell ends: 3 cost units left at 1 per 90 s = 4:30;
    while the costly cell runs at that rate the time left counts down, and once it overruns 90% of its
    cost the estimate grows with the time spent (the rate was slower than it looked)."""
    clock = FakeClock()
    cells = [Cell("cheap", {}, cost=1.0), Cell("costly", {}, cost=3.0)]
    bar = CellProgress(cells, skipped=0, enabled=True, refresh=0, clock=clock, file=io.StringIO())
    assert bar.text() == "0:00 elapsed, time left: ?, running 0, failed 0"
    bar.start(2)
    clock.now += 90
    bar.tick()
    assert bar.text().startswith("1:30 elapsed, time left: ?, running 2")
    assert "1:30 elapsed" in bar.bar.postfix
    bar.finish({"key": "cheap", "status": "done"}, running=1)
    assert bar.text() == "1:30 elapsed, about 4:30 left, running 1, failed 0"
    clock.now += 30  # 2:00 in: a third of a cost unit of the costly cell worked off, 4:30 - 0:30 left
    bar.tick()
    assert bar.text() == "2:00 elapsed, about 4:00 left, running 1, failed 0"
    clock.now += 400  # 8:40 in, past 90% of the costly cell (2.7 units at 90 s each = 4:03): 520 s for 3.7 units
    assert bar.text() == f"8:40 elapsed, about {format_duration(520 * 0.3 / 3.7)} left, running 1, failed 0"
    bar.finish({"key": "costly", "status": "failed"}, running=0)
    assert bar.text() == "8:40 elapsed, about 0:00 left, running 0, failed 1"
    bar.close()


def test_the_time_left_credits_the_cells_running_next_in_the_order_they_run():
    """Ray runs the costliest first: with that order the running cell is the costly one, not the cheap one."""
    clock = FakeClock()
    cells = [Cell("a", {}, cost=1.0), Cell("b", {}, cost=1.0), Cell("costly", {}, cost=10.0)]
    bar = CellProgress(cells, skipped=0, enabled=True, refresh=0, clock=clock, file=io.StringIO())
    bar.start(1, order=["costly", "a", "b"])
    clock.now += 10
    bar.finish({"key": "a", "status": "done"}, running=1)  # 10 s per cost unit
    clock.now += 50
    assert bar.running_credit(clock.now) == pytest.approx(5.0)  # half of the costly cell, not all of 'b'
    bar.close()


def test_the_timer_redraws_the_bar_without_any_cell_finishing():
    calls = threading.Semaphore(0)

    def clock() -> float:
        calls.release()
        return 0.0

    bar = CellProgress([Cell("a", {})], skipped=0, enabled=True, refresh=0.01, clock=clock, file=io.StringIO())
    try:
        for _ in range(5):  # the constructor's draw, then the timer's (nothing else draws)
            assert calls.acquire(timeout=30)
    finally:
        bar.close()
    assert bar._timer is not None and not bar._timer.is_alive()


def _burn(cell: Cell) -> int:
    """Some CPU work (a loop of the given length)."""
    return sum(i * i for i in range(cell.params["n"]))


def test_execute_cell_records_cpu_seconds():
    record = execute_cell(_burn, Cell("a", {"n": 200_000}))
    assert record["cpu_seconds"] > 0 and record["seconds"] > 0
    failed = execute_cell(_square, Cell("b", {"x": -1}))
    assert failed["cpu_seconds"] >= 0


def test_cpu_summary_sums_per_agent_and_in_hours():
    from agents.benchmark import cpu_summary, cpu_table

    cells = [{"agent": "ppo", "cpu_seconds": 10.0}, {"agent": "ppo", "cpu_seconds": 30.0},
             {"agent": "ppo", "cpu_seconds": 5.0}, {"agent": "rule", "cpu_seconds": 0.5},
             {"agent": "memo+supervised", "cpu_seconds": 3554.5}, {"agent": "rule", "cpu_seconds": None}]
    cpu = cpu_summary(cells)
    assert cpu["agents"] == {"ppo": {"cells": 3, "cpu_seconds": 45.0, "median_cpu_seconds": 10.0},
                             "rule": {"cells": 1, "cpu_seconds": 0.5, "median_cpu_seconds": 0.5},
                             "memo+supervised": {"cells": 1, "cpu_seconds": 3554.5, "median_cpu_seconds": 3554.5}}
    assert cpu["cpu_seconds"] == 3600.0 and cpu["cpu_hours"] == 1.0
    assert cpu["cells_unmeasured"] == {"rule": 1}
    text = cpu_table(cpu)
    assert "| ppo             | 3     | 45.0 " in text
    assert "total: 3600 CPU seconds = 1.00 CPU-hours over 5 cells (1 reused cell without a CPU record" in text


def test_a_run_reports_its_cells_cpu_seconds_and_reused_cells_keep_theirs(tmp_path: Path):
    agents, seeds = ["random", "rule"], [0, 1]
    first = run_benchmark(tmp_path, TINY, [ENV], agents, seeds)
    assert all(c["cpu_seconds"] >= 0 for c in first["cells"])
    per_agent = {a: sum(c["cpu_seconds"] for c in first["cells"] if c["agent"] == a) for a in agents}
    assert {a: v["cpu_seconds"] for a, v in first["cpu"]["agents"].items()} == pytest.approx(per_agent)
    assert first["cpu"]["cpu_seconds"] == pytest.approx(sum(per_agent.values()))
    assert "## CPU time" in (tmp_path / "table.md").read_text()
    # a later session reuses the finished cells with the CPU seconds they were computed with
    store = CellStore(tmp_path)
    for i, key in enumerate(c["key"] for c in first["cells"]):
        record = store.read(key)
        assert record is not None
        store.write(record | {"cpu_seconds": 100.0 * (i + 1)})
    again = run_benchmark(tmp_path, TINY, [ENV], agents, seeds)
    assert again["cells_skipped"] == 4
    assert [c["cpu_seconds"] for c in again["cells"]] == [100.0, 200.0, 300.0, 400.0]
    assert again["cpu"]["agents"]["random"] == {"cells": 2, "cpu_seconds": 300.0, "median_cpu_seconds": 150.0}
    assert again["cpu"]["cpu_seconds"] == 1000.0

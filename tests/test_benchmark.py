"""The benchmark end to end with a tiny budget: table rows and columns, raw results, curves, compare."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import pytest

from agents.benchmark import (
    BUDGETS,
    RunRecord,
    compare,
    discrimination,
    discrimination_table,
    run_benchmark,
    suite_envs,
)
from agents.cli import main
from dialog_gym.errors import ConfigError


def test_tiny_benchmark_end_to_end(tmp_path: Path, capsys):
    code = main(["benchmark", "--agents", "random,rule,maskable_ppo,dqn", "--seeds", "2", "--batches", "10,20",
                 "--episodes", "4", "--suite", "default", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    table = (tmp_path / "table.md").read_text()
    assert table.strip() in out
    assert table.startswith("# Benchmark: success of each agent after 20 training dialogues\n")
    assert "- seeds: 2 (0, 1); training in batches, tested after 10, 20 dialogues" in table
    results, cpu = table.split("\n## CPU time\n")
    lines = results[results.index("| env"):].strip().splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["env", "agent", "success (mean over seeds) [95% CI]", "user turns", "bot actions",
                      "mean reward", "training dialogues", "wall time / seed"]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    assert [r[1] for r in rows] == ["random", "rule", "maskable_ppo", "dqn"]
    assert all(r[0] == "Restaurant-v0" for r in rows)
    assert rows[1][2].startswith("100.0%")
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["seeds"] == [0, 1] and doc["envs"] == ["dialog_gym/Restaurant-v0"]
    assert {"cpu", "cores", "torch", "stable_baselines3"} <= set(doc["hardware"])
    assert len(doc["runs"]) == 8
    rl = [r for r in doc["runs"] if r["agent"] == "maskable_ppo"]
    assert [p["dialogues"] for p in rl[0]["curve"]] == [0, 10, 20]
    with open(tmp_path / "results.csv") as handle:
        assert len(list(csv.DictReader(handle))) == sum(len(r["curve"]) for r in doc["runs"])
    assert (tmp_path / "curves_Restaurant-v0.png").stat().st_size > 10_000
    assert compare(tmp_path / "results.json", tmp_path / "results.json") == []
    assert set(doc["discrimination"]["separated_tasks"]) == {"10", "20"}
    assert (tmp_path / "discrimination.md").read_text().count("| Restaurant-v0 ") == 2  # a row per learner
    assert "Telling learners apart (maskable_ppo, dqn;" in out
    cpu_rows = [[c.strip() for c in line.strip("|").split("|")] for line in cpu.splitlines() if line.startswith("|")]
    assert cpu_rows[0] == ["agent", "cells", "CPU seconds (total)", "CPU seconds per cell (median)"]
    assert [(r[0], r[1]) for r in cpu_rows[2:]] == [("random", "2"), ("rule", "2"), ("maskable_ppo", "2"), ("dqn", "2")]
    assert all(c["cpu_seconds"] >= 0 for c in doc["cells"])
    assert doc["cpu"]["cpu_seconds"] == pytest.approx(sum(c["cpu_seconds"] for c in doc["cells"]))


def _curve(*rates: float) -> list[dict]:
    return [{"dialogues": 10 * (i + 1), "success_rate": r, "success_ci95": [r, r]} for i, r in enumerate(rates)]


def test_discrimination_counts_tasks_where_two_learners_intervals_are_apart():
    # env A after 10: a = (0.9, 1.0) -> mean 0.95, t(1 df)=12.706, sd=0.0707 -> half 0.635: [0.315, 1.0];
    # b = (0.1, 0.2) -> [0, 0.785]: overlap. After 20: a = (0.9, 0.9) -> [0.9, 0.9], b = (0.5, 0.5): apart.
    # env B: one seed each -> the Wilson interval each curve point carries ([r, r] here): 0.5 vs 0.6 apart.
    # The rule agent is a fixed baseline, never counted as a learner.
    recs = [RunRecord("A", "a", 0, _curve(0.9, 0.9), 0, 20), RunRecord("A", "a", 1, _curve(1.0, 0.9), 0, 20),
            RunRecord("A", "b", 0, _curve(0.1, 0.5), 0, 20), RunRecord("A", "b", 1, _curve(0.2, 0.5), 0, 20),
            RunRecord("A", "rule", 0, _curve(1.0, 1.0), 0, 0), RunRecord("A", "rule", 1, _curve(1.0, 1.0), 0, 0),
            RunRecord("B", "a", 0, _curve(0.5, 0.5), 0, 20), RunRecord("B", "b", 0, _curve(0.6, 0.6), 0, 20)]
    recs[2].curve[0]["dialogues"] = 11  # several envs stop just past a batch: still the test after 10
    disc = discrimination(recs, ["A", "B"], ["rule", "a", "b"], [10, 20])
    assert disc["learners"] == ["a", "b"]
    assert disc["separated"] == {"10": {"B": [["a", "b"]]}, "20": {"A": [["a", "b"]], "B": [["a", "b"]]}}
    assert disc["separated_tasks"] == {"10": 1, "20": 2}
    lo, hi = disc["success"]["A"]["a"]["10"]["success_ci95"]
    assert disc["success"]["A"]["a"]["10"]["success_rate"] == pytest.approx(0.95)
    assert lo == pytest.approx(0.95 - 12.706 * 0.05) and hi == 1.0
    text = discrimination_table(disc)
    assert "| A | a | 95.0% [31.5, 100.0] | 90.0% [90.0, 90.0] * |" in " ".join(text.split())
    assert "after 10 dialogues: two learners' 95% intervals are apart on 1 of 2 tasks" in text


def test_same_seeds_same_numbers(tmp_path: Path):
    budget = replace(BUDGETS["small"], batches=(8,), test_episodes=3)
    a = run_benchmark(tmp_path / "a", budget, ["dialog_gym/Restaurant-Env3-v0"], ["rule", "maskable_ppo"], [3])
    b = run_benchmark(tmp_path / "b", budget, ["dialog_gym/Restaurant-Env3-v0"], ["rule", "maskable_ppo"], [3])
    assert [r["curve"] for r in a["runs"]] == [r["curve"] for r in b["runs"]]
    assert compare(tmp_path / "a" / "results.json", tmp_path / "b" / "results.json") == []


def test_bad_arguments():
    with pytest.raises(ConfigError, match="unknown suite"):
        suite_envs("nope")
    with pytest.raises(ConfigError, match="unknown agent"):
        run_benchmark("/tmp/x", BUDGETS["small"], ["dialog_gym/Restaurant-v0"], ["alphago"], [0])
    assert main(["benchmark", "--batches", "5,3"]) == 2


def test_list_names_agents_budgets_and_suites(capsys):
    assert main(["benchmark", "--list"]) == 0
    out = capsys.readouterr().out
    assert "ppo_warm_naive" in out
    noisy = ", ".join(f"dialog_gym/Restaurant-Env{i}-v0" for i in (3, 5, 6))
    assert f"suite noisy: {noisy}" in out
    assert suite_envs("small") == ["dialog_gym/Restaurant-v0", "dialog_gym/Restaurant-Env3-v0"]


def test_the_full_budget_on_pydial18_plans_every_agent_that_can_run(tmp_path: Path):
    """PyDial's protocol on its 18 tasks: 10 seeds of every agent of the action-level list but the Rasa policies,
    which predict the domain's actions over a Rasa tracker and are skipped there (one cell per env, agent and
    seed)."""
    from agents.benchmark import IMITATION_AGENTS, plan_cells, unsupported_agents

    budget = BUDGETS["full"]
    envs = suite_envs("pydial18")
    assert len(envs) == 18 and budget.seeds == 10 and budget.batches == (1000, 2000, 3000, 4000)
    assert set(unsupported_agents(envs[0], budget.agents)) == set(IMITATION_AGENTS)
    cells = plan_cells(budget, envs, budget.agents, range(budget.seeds), tmp_path)
    runnable = [a for a in budget.agents if a not in IMITATION_AGENTS]
    assert len(cells) == 18 * len(runnable) * 10 == 1620
    assert {c.params["agents"][0] for c in cells} == set(runnable)


def test_the_full_budget_runs_the_protocols_seven_agents_on_turn_level_tasks(tmp_path: Path, monkeypatch):
    """`benchmark --budget full --suite pydial18` runs exactly random, rule, ppo, maskable_ppo, dqn,
    maskable_dqn and gp_sarsa: 18 x 7 x 10 cells; action-level suites keep the budget's own list, and the
    small budget is the same everywhere."""
    import agents.benchmark as benchmark
    from agents.benchmark import plan_cells

    protocol = ["random", "rule", "ppo", "maskable_ppo", "dqn", "maskable_dqn", "gp_sarsa"]
    full, small = BUDGETS["full"], BUDGETS["small"]
    assert full.default_agents(suite_envs("pydial18")) == protocol
    assert full.default_agents(suite_envs("summary")) == protocol
    assert full.default_agents(suite_envs("pydial")) == list(full.agents)
    assert "memo" in full.agents and "gp_sarsa" not in full.agents
    mixed = full.default_agents(["dialog_gym/Restaurant-v0", "dialog_gym/PyDial-CR-Env1-v0"])
    assert mixed == list(dict.fromkeys([*full.agents, *protocol]))
    for suite in ("small", "pydial18"):
        assert small.default_agents(suite_envs(suite)) == list(small.agents)
    cells = plan_cells(full, suite_envs("pydial18"), protocol, range(full.seeds), tmp_path)
    assert len(cells) == 18 * 7 * 10

    seen = {}

    def fake_run(out, budget, envs, agents, seeds, **kwargs):
        seen.update(agents=agents, seeds=seeds, envs=envs)
        raise KeyboardInterrupt  # stop here: the CLI reports an interrupted run

    monkeypatch.setattr(benchmark, "run_benchmark", fake_run)
    main(["benchmark", "--budget", "full", "--suite", "pydial18", "--out", str(tmp_path / "o")])
    assert seen["agents"] == protocol and seen["seeds"] == list(range(10)) and len(seen["envs"]) == 18

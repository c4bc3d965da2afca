"""The benchmark's figures and table.md: one colour per agent in every panel and plot, no point at a negative
x, the shaded band is the table's interval, and table.md says what it shows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.benchmark import (
    ALL_AGENTS,
    INTERVAL_TEXT,
    RunRecord,
    curve_figure,
    results_table,
    summarize_runs,
    table_document,
)
from agents.imitation import LEARNER_AGENTS
from agents.plotting import AGENT_STYLES, agent_styles

ENV_A, ENV_B = "dialog_gym/Restaurant-v0", "dialog_gym/Restaurant-Env3-v0"


def curve(*rates: float, step: int = 50) -> list[dict]:
    """A curve tested after 0, 50, 100, ... dialogues, every point with what the benchmark writes."""
    return [{"dialogues": step * i, "success_rate": r, "success_ci95": [max(0.0, r - 0.1), min(1.0, r + 0.1)],
             "mean_turns": 10.0, "mean_bot_actions": 14.0, "mean_reward": 1.0} for i, r in enumerate(rates)]


def records(env: str, agents, seeds=(0, 1)) -> list[RunRecord]:
    """Every agent reaches 100% (equal curves: the case the old offsets were for)."""
    return [RunRecord(env, a, s, curve(0.0, 1.0, 1.0), 1.0, 100) for a in agents for s in seeds]


def lines_by_agent(fig) -> dict[str, object]:
    return {line.get_label(): line for ax in fig.axes for line in ax.get_lines()}


def test_each_agent_has_one_colour_in_every_panel_and_every_plot():
    run_agents = [*ALL_AGENTS, "mine"]
    first = lines_by_agent(curve_figure(records(ENV_A, run_agents), ENV_A, run_agents))
    second = lines_by_agent(curve_figure(records(ENV_B, ["mine", "ppo", "memo", "random"]), ENV_B, run_agents))
    assert set(first) == set(run_agents) and len(second) == 4
    colours = {agent: line.get_color() for agent, line in first.items()}
    assert len(set(colours.values())) == len(run_agents)  # no two agents share a colour, in any panel
    assert {agent: line.get_color() for agent, line in second.items()} == {a: colours[a] for a in second}
    assert colours["random"] == AGENT_STYLES["random"][0] and colours["memo"] == AGENT_STYLES["memo"][0]
    # the old figure restarted tab10 in each panel: random, memo and ppo were all blue
    assert len({colours["random"], colours["memo"], colours["ppo"]}) == 3
    # a figure of fewer agents keeps the colours (an agent outside AGENT_STYLES: by its place in the run's list)
    assert agent_styles(["mine", "ppo"])["ppo"] == agent_styles(ALL_AGENTS)["ppo"]


def test_no_point_is_at_a_negative_x():
    fig = curve_figure(records(ENV_A, ALL_AGENTS), ENV_A)
    for line in lines_by_agent(fig).values():
        assert list(line.get_xdata()) == [0, 50, 100]  # each point at its own number of dialogues
    for ax in fig.axes:
        for band in ax.collections:
            assert band.get_paths()[0].vertices[:, 0].min() >= 0
        assert ax.get_xlim()[0] > -0.05 * 100  # a small margin, not a shifted point


def band_at(fig, agent: str, x: float) -> tuple[float, float]:
    """The shaded band's low and high at ``x`` for ``agent`` (the band drawn in the agent's colour)."""
    colour = lines_by_agent(fig)[agent].get_color()
    for ax in fig.axes:
        for band in ax.collections:
            if np.allclose(band.get_facecolor()[0][:3], _rgb(colour)):
                ys = [y for vx, y in band.get_paths()[0].vertices if math.isclose(vx, x)]
                return min(ys), max(ys)
    raise AssertionError(f"no band for {agent}")


def _rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def test_the_band_is_the_interval_of_the_table():
    """Three seeds end at 60, 70 and 80%: mean 70, sd 10, t(2 df) = 4.303, half-width 4.303 * 10 / sqrt(3)
    = 24.84 points: [45.16, 94.84], in table.md and in the band at the last point."""
    runs = [RunRecord(ENV_A, "ppo", s, curve(0.0, r), 1.0, 50) for s, r in enumerate([0.6, 0.7, 0.8])]
    row = summarize_runs(runs)[0]
    assert row["success_ci95"] == pytest.approx([0.4516, 0.9484], abs=1e-4)
    assert "70.0% [45.2, 94.8]" in results_table([row], [ENV_A], ["ppo"])
    lo, hi = band_at(curve_figure(runs, ENV_A), "ppo", 50)
    assert (lo, hi) == pytest.approx((45.16, 94.84), abs=0.01)
    assert (lo / 100, hi / 100) == pytest.approx(tuple(row["success_ci95"]), abs=1e-9)
    # one seed: the table's Wilson interval of that seed's test dialogues, and so the band
    single = [RunRecord(ENV_A, "ppo", 0, curve(0.0, 0.7), 1.0, 50)]
    assert band_at(curve_figure(single, ENV_A), "ppo", 50) == pytest.approx((60.0, 80.0))
    assert "70.0% [60.0, 80.0]" in results_table(summarize_runs(single), [ENV_A], ["ppo"])


def test_table_md_says_what_it_shows():
    runs = records(ENV_A, ["random", "rule"], seeds=(0, 1, 2)) + records(ENV_B, ["random", "rule"], seeds=(0, 1, 2))
    doc = {"budget": {"suite": "small", "batches": [50, 100], "test_episodes": 40},
           "envs": [ENV_A, ENV_B], "agents": ["random", "rule"], "seeds": [0, 1, 2], "dialog_gym_version": "9.9",
           "started": "2026-12-07 22:00:00", "hardware": {"cpu": "AMD EPYC", "cores": 2, "python": "3.11.7"},
           "summary": summarize_runs(runs)}
    text = table_document(doc)
    lines = text.splitlines()
    assert lines[0] == "# Benchmark: success of each agent after 100 training dialogues"
    assert "- environments: Restaurant-v0, Restaurant-Env3-v0" in lines
    assert any(line.startswith("- seeds: 3 (0, 1, 2); training in batches, tested after 50, 100 dialogues")
               for line in lines)
    assert any(line.startswith("- test: 40 test dialogues per seed after each batch") for line in lines)
    assert f"[low, high] is {INTERVAL_TEXT}" in text and "Student-t" in INTERVAL_TEXT and "Wilson" in INTERVAL_TEXT
    assert "- run: dialog_gym 9.9, started 2026-12-07 22:00:00, AMD EPYC, 2 cores, Python 3.11.7" in lines
    assert text.endswith(results_table(doc["summary"], doc["envs"], doc["agents"]))


@pytest.mark.parametrize("learner, agent", [("supervised", "supervised"), ("sb3", "maskable_ppo")])
def test_the_correction_loops_curve_has_its_models_benchmark_colour(learner, agent):
    from agents.imitation import LEARNERS
    from agents.imitation import curve_figure as imitation_figure

    assert set(LEARNERS) <= set(LEARNER_AGENTS) and set(LEARNER_AGENTS.values()) <= set(ALL_AGENTS)
    result = {"env": ENV_A, "start": "scratch", "learner": learner, "mode": "correct", "seed": 0, "eval_episodes": 5,
              "curve": [{"dialogues": k, "success_rate": k / 4, "corrections": 4 - k} for k in range(5)]}
    fig = imitation_figure(result)
    (line,) = [line for line in fig.axes[0].get_lines() if line.get_label() == "learner alone: success %"]
    assert (line.get_color(), line.get_marker()) == AGENT_STYLES[agent]
    assert list(line.get_xdata()) == [0, 1, 2, 3, 4]
    benchmark = lines_by_agent(curve_figure(records(ENV_A, ALL_AGENTS), ENV_A))[agent]
    assert benchmark.get_color() == line.get_color()


@pytest.mark.parametrize("name", ["small", "pydial18"])
def test_the_shipped_tables_are_their_results(name):
    """reference/<name>/table.md is what table_document makes of the results.json beside it (the benchmark
    writes both; a results.json re-made or edited alone would leave the table behind)."""
    from pathlib import Path

    from agents.benchmark import load_results

    folder = Path(__file__).resolve().parents[1] / "reference" / name
    expected = table_document(load_results(folder / "results.json")) + "\n"
    assert (folder / "table.md").read_text() == expected, (
        f"{folder}/table.md is not its results.json's: rewrite it with agents.benchmark.table_document")

"""The README's PyDial tables from a benchmark run on the 18 PyDial tasks.

    python scripts/pydial_report.py results/pydial18/results.json [MORE_RESULTS.json ...]
    python scripts/pydial_report.py results/pydial18 results/pydial18_masked     (output folders: their cells)

Several results (e.g. a run of more agents on some tasks) are read as one: their runs are joined, one per
(task, agent, seed). An output folder is read from its finished cells, so a run still going is reported as
far as it got.

Prints three markdown tables: every task's success per agent with 95% intervals after the first and the last
batch (the discrimination table, with the count of tasks where two learners' intervals are apart), the
learnability check (PPO and DQN per seed on CR Env2 / Env4 after the last batch, median against the 85%
target), and CamRestaurants beside PyDial's own numbers. Numbers come from the results file only; PyDial's are its
published reproduction logs for CamRestaurants (10 seeds x 500 test dialogues).
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from agents.benchmark import ALL_AGENTS, RunRecord, discrimination, load_results, point_at, success_interval
from dialog_gym import SUITES
from dialog_gym.errors import DialogGymError
from dialog_gym.utils import read_json

#: PyDial on CamRestaurants (its published reproduction logs): success % after 1000 / 4000 dialogues
PYDIAL = {
    "Env1": {"hdc": "100", "dqn": (91.2, 92.4), "acer": (94.0, 98.5)},
    "Env3": {"hdc": "96.8", "dqn": (82.0, 94.3), "acer": (89.0, 93.8)},
    "Env4": {"hdc": "–", "dqn": (81.8, 93.1), "acer": (78.4, 92.3)},
}


def _cell(records: list[RunRecord], n: int) -> str:
    points = [p for r in records for p in [point_at(r.curve, n)] if p is not None]
    if not points:
        return "–"
    mean, lo, hi = success_interval(points)
    return f"{100 * mean:.1f} [{100 * lo:.0f}, {100 * hi:.0f}]"


def load(paths: list[str]) -> tuple[list[RunRecord], list[str], list[str], list[int], list[int]]:
    """Runs from results.json files or benchmark output folders (their finished cells, so that a run still
    going, or stopped, is reported as far as it got), joined one per (task, agent, seed); tasks in the
    pydial18 suite's order, agents in the benchmark's."""
    runs: dict[tuple[str, str, int], dict] = {}
    batches: list[int] = []
    for path in map(Path, paths):
        if path.is_dir():
            for cell in sorted((path / "cells").glob("*.json")):
                data = read_json(cell, "expected a benchmark cell file")
                if isinstance(data, dict) and data.get("status") == "done":
                    batches = batches or list(data["params"]["batches"])
                    runs.update({(r["env"], r["agent"], r["seed"]): r for r in data["result"]["runs"]})
        else:
            doc = load_results(path)
            batches = batches or list(doc["budget"]["batches"])
            runs.update({(r["env"], r["agent"], r["seed"]): r for r in doc["runs"]})
    if not runs:
        raise DialogGymError(f"{', '.join(paths)}: no finished runs (expected results.json files or benchmark "
                             "output folders with finished cells)")
    records = [RunRecord(**r) for r in runs.values()]
    order = {e: i for i, e in enumerate(SUITES["pydial18"])}
    envs = sorted({r.env for r in records}, key=lambda e: (order.get(e, len(order)), e))
    agents = [a for a in ALL_AGENTS if any(r.agent == a for r in records)]
    seeds = sorted({r.seed for r in records})
    return records, envs, agents, batches, seeds


def main(paths: list[str]) -> None:
    records, envs, agents, batches, seeds = load(paths)
    first, last = batches[0], batches[-1]
    disc = discrimination(records, envs, agents, [first, last])
    learners = disc["learners"]
    fixed = [a for a in agents if a not in learners]
    by = {(r.env, r.agent): [] for r in records}
    for r in records:
        by[(r.env, r.agent)].append(r)

    head = ["task", *fixed, *(f"{a} {n}" for a in learners for n in (first, last))]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for env in envs:
        row = [env.split("/")[-1].removeprefix("PyDial-").removesuffix("-v0")]
        row += [_cell(by.get((env, a), []), last) for a in fixed]
        for a in learners:
            for n in (first, last):
                apart = any(a in pair for pair in disc["separated"][str(n)].get(env, []))
                row.append(_cell(by.get((env, a), []), n) + (" *" if apart else ""))
        print("| " + " | ".join(row) + " |")
    print()
    for n in (first, last):
        print(f"After {n} dialogues two learners' 95% intervals are apart on {disc['separated_tasks'][str(n)]} of "
              f"{disc['tasks']} tasks.")
    print()

    print("| task | learner | " + " | ".join(f"seed {s}" for s in seeds) + f" | median after {last} |")
    print("|" + "---|" * (len(seeds) + 3))
    for env in ("dialog_gym/PyDial-CR-Env2-v0", "dialog_gym/PyDial-CR-Env4-v0"):
        for a in learners:
            runs = sorted(by.get((env, a), []), key=lambda r: r.seed)
            rates = [100 * p["success_rate"] for r in runs for p in [point_at(r.curve, last)] if p is not None]
            if rates:
                print(f"| {env.split('/')[-1]} | {a} | " + " | ".join(f"{x:.1f}" for x in rates)
                      + f" | {statistics.median(rates):.1f} |")
    print()

    print(f"| CR | handcrafted: ours / PyDial | DQN {first} / {last}: ours ; PyDial | PPO (ours) {first} / {last} "
          f"| MaskablePPO (ours) {first} / {last} | ACER (PyDial) {first} / {last} |")
    print("|---|---|---|---|---|---|")
    for env_name, ref in PYDIAL.items():
        env = f"dialog_gym/PyDial-CR-{env_name}-v0"
        mean = lambda a, n, env=env: _cell(by.get((env, a), []), n).split(" [")[0]  # noqa: E731
        print(f"| {env_name} | {mean('rule', last)} / {ref['hdc']} | {mean('dqn', first)} / {mean('dqn', last)} ; "
              f"{ref['dqn'][0]} / {ref['dqn'][1]} | {mean('ppo', first)} / {mean('ppo', last)} | "
              f"{mean('maskable_ppo', first)} / {mean('maskable_ppo', last)} | {ref['acer'][0]} / {ref['acer'][1]} |")


if __name__ == "__main__":
    if len(sys.argv) < 2 or not all(Path(p).exists() for p in sys.argv[1:]):
        sys.exit("usage: python scripts/pydial_report.py RESULTS.json|OUT_DIR [...]")
    try:
        main(sys.argv[1:])
    except DialogGymError as exc:  # bad input: one line, no traceback
        sys.exit(f"pydial_report: {exc}")

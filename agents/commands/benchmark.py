"""``dialog-gym benchmark``: train and compare agents on a suite of environments, over seeds."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agents.commands.common import positive_int, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "benchmark", help="train and evaluate agents on a suite; write a table, curves and raw results",
        description="Train and evaluate agents on each environment of a suite over seeds (PyDial's protocol: "
                    "training in batches of dialogues, test dialogues after each batch). Writes OUT/table.md "
                    "(also printed), OUT/results.json and .csv, and OUT/curves_<env>.png.")
    p.add_argument("--budget", choices=["small", "full"], default="small",
                   help="small: about 10 minutes on 2 CPU cores; full: PyDial's 4x1000 dialogues, 500 tests, "
                        "10 seeds (hours)")
    p.add_argument("--suite", help="default, pydial or small (default: the budget's)")
    p.add_argument("--agents", help="comma-separated subset (default: the budget's); see --list")
    p.add_argument("--seeds", type=positive_int, help="number of seeds (default: the budget's)")
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--episodes", type=positive_int, help="test dialogues after each batch (default: the budget's)")
    p.add_argument("--batches", help="comma-separated cumulative training dialogues, e.g. 250,500,750,1000")
    p.add_argument("--out", type=Path, default=Path("results/benchmark"))
    p.add_argument("--compare", type=Path, metavar="OLD_RESULTS_JSON",
                   help="after the run, list every number that differs from an earlier results.json")
    p.add_argument("--list", action="store_true", help="list the agents and suites, and exit")
    p.add_argument("--json", action="store_true", help="print the summary as JSON instead of the table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from agents.benchmark import (
        BUDGETS,
        SUITES_EXTRA,
        available_agents,
        compare,
        results_table,
        run_benchmark,
        suite_envs,
    )
    from dialog_gym import SUITES
    from dialog_gym.errors import ConfigError

    if args.list:
        print("agents:", ", ".join(available_agents()))
        print("budgets:", ", ".join(f"{k} (suite {b.suite}, {b.seeds} seeds, batches {list(b.batches)}, "
                                    f"{b.test_episodes} tests)" for k, b in BUDGETS.items()))
        for name in [*SUITES, *SUITES_EXTRA]:
            print(f"suite {name}:", ", ".join(suite_envs(name)))
        return 0
    budget = BUDGETS[args.budget]
    if args.batches:
        try:
            batches = tuple(int(x) for x in args.batches.split(","))
        except ValueError:
            raise ConfigError(f"--batches: expected comma-separated integers, got {args.batches!r}") from None
        if not batches or any(b <= 0 for b in batches) or list(batches) != sorted(set(batches)):
            raise ConfigError("--batches must be increasing positive numbers")
        budget = replace(budget, batches=batches)
    if args.episodes:
        budget = replace(budget, test_episodes=args.episodes)
    envs = suite_envs(args.suite or budget.suite)
    agents = [a.strip() for a in args.agents.split(",")] if args.agents else list(budget.agents)
    available = set(available_agents())
    if not args.agents:
        agents = [a for a in agents if a in available]
    seeds = list(range(args.first_seed, args.first_seed + (args.seeds or budget.seeds)))

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    doc = run_benchmark(args.out, budget, envs, agents, seeds, progress=progress)
    if args.json:
        print_json({"summary": doc["summary"], "out": str(args.out), "wall_time": doc["wall_time"]})
    else:
        print(results_table(doc["summary"], envs, agents))
        print(f"\n{len(seeds)} seeds x {budget.test_episodes} test dialogues after each of the batches "
              f"{list(budget.batches)}; success is the final batch's, mean over seeds with a 95% t-interval. "
              f"Outputs in {args.out}/ ({doc['wall_time'] / 60:.1f} min).")
    if args.compare:
        diffs = compare(args.compare, args.out / "results.json")
        print(f"\ncompared with {args.compare}: " + ("identical" if not diffs else f"{len(diffs)} differences"))
        for line in diffs[:50]:
            print("  " + line)
    return 0

"""``dialog-gym demo``: the rule policy and a random policy on every environment, as a table."""

from __future__ import annotations

import argparse

from agents.commands.common import dialogue_count, format_table, pct, print_json, run_seed


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the rule and random policies on the environments (quick)",
                       description="Run the rule policy and a mask-respecting random policy on each "
                                   "environment and print success rate, turns and reward.")
    p.add_argument("--episodes", type=dialogue_count, default=200, help="dialogues per agent and environment")
    p.add_argument("--seed", type=run_seed, default=0, help="seed of the dialogues and the random agent")
    p.add_argument("--suite", default="all", help="'all' (every registered id) or a suite: 'default', 'pydial', ...")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from functools import partial

    from agents.commands.common import UsageError
    from agents.evaluation_sim import evaluate_agent
    from agents.loading import make_agent
    from dialog_gym import SUITES, env_ids

    if args.suite == "all":
        ids = env_ids()
    elif args.suite in SUITES:
        ids = SUITES[args.suite]
    else:
        raise UsageError(f"unknown suite {args.suite!r} (all, {', '.join(SUITES)})")
    rows, results = [], []
    for eid in ids:
        for agent in ("rule", "random"):
            s = evaluate_agent(partial(make_agent, agent, seed=args.seed), eid, args.episodes,
                               seeds=[args.seed])
            results.append({"env": eid, "agent": agent, **s})
            rows.append([eid.split("/")[-1], agent, pct(s["success_rate"], s["success_ci95"]),
                         f"{s['mean_turns']:.1f}", f"{s['mean_bot_actions']:.1f}", f"{s['mean_reward']:.2f}"])
    if args.json:
        print_json({"results": results})
    else:
        print(format_table(["env", "agent", "success [95% CI]", "user turns", "bot actions", "mean reward"], rows))
        print(f"\n{args.episodes} dialogues per row, seed {args.seed}. The random agent picks uniformly among "
              "the actions the mask allows (all actions where masks are off).")
    return 0

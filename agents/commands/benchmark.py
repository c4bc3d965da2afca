"""``dialog-gym benchmark``: train and compare agents on a suite of environments, over seeds."""

from __future__ import annotations

import argparse
from pathlib import Path

from agents.commands.backend_args import add_backend_arguments, check_backend_arguments
from agents.commands.common import (
    UsageError,
    check_output,
    check_seed_range,
    dialogue_count,
    env_list,
    masks_note,
    nonnegative_int,
    note,
    positive_int,
    print_json,
    run_seed,
)
from agents.commands.llm_args import add_llm_arguments, check_llm_arguments, llm_settings

#: exit status of ``--compare --strict`` when the numbers differ (1 and 2 are errors)
EXIT_DIFFERENT = 3

#: the optional extras this command needs (checked before it starts; see agents/extras.py)
EXTRAS = ("rl", "plots")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "benchmark", help="train and evaluate agents on a suite; write a table, curves and raw results",
        description="Train and evaluate agents on each environment of a suite over seeds (PyDial's protocol: "
                    "training in batches of dialogues, test dialogues after each batch). Writes OUT/table.md "
                    "(also printed), OUT/results.json and .csv, and OUT/curves_<env>.png. The unit of work is a "
                    "cell (environment, agent, seed; the Rasa policies of a seed are one cell): each finished "
                    "cell is written at once to OUT/cells/<key>.json with a fingerprint of everything its numbers "
                    "depend on (code, environment config and data, hyperparameters, versions, settings), so the same "
                    "command run again reuses the finished cells whose fingerprint is unchanged, recomputes the "
                    "others (and says why) and resumes an interrupted run; a cell that fails is reported as failed "
                    "and the rest completes. --backend ray runs the cells as Ray tasks on this machine's "
                    "cores or on a cluster (pip install 'dialog-gym[ray]').")
    p.add_argument("--budget", choices=["small", "full"], default="small",
                   help="small: 2 environments, 2 seeds, up to 1000 dialogues (5-10 minutes on 2 CPU cores); full: "
                        "PyDial's 4x1000 dialogues, 500 tests, 10 seeds (hours)")
    envs = p.add_mutually_exclusive_group()
    envs.add_argument("--suite", help="a suite of environments, e.g. default, pydial, noisy, small (see --list; "
                                      "default: the budget's)")
    envs.add_argument("--envs", type=env_list, metavar="ENV,ENV,...",
                      help="instead of --suite: environments, each a short id, a full id or an env config YAML path")
    p.add_argument("--agents", help="comma-separated subset (default: the budget's; the full budget runs random, rule, "
                                    "ppo, maskable_ppo, dqn, maskable_dqn and gp_sarsa on turn-level tasks such as "
                                    "--suite pydial18); see --list. Families: fixed "
                                    "baselines (random, rule), Rasa policies trained on expert dialogues (memo, "
                                    "augmented, supervised, ensemble), RL from scratch (ppo, maskable_ppo: PPO that "
                                    "only samples the actions the environment's mask allows, a2c, dqn, "
                                    "maskable_dqn: DQN that acts and bootstraps among the allowed actions, gp_sarsa: "
                                    "PyDial's GP-SARSA on turn-level tasks) and RL with "
                                    "a warm start (ppo_warm, ppo_warm_naive: behaviour-cloned from the rule expert "
                                    "before RL); and openai:MODEL, a language model behind an OpenAI-compatible "
                                    "endpoint (--base-url), tested on the same customers through the chat "
                                    "interface, without training")
    p.add_argument("--seeds", type=positive_int, help="number of seeds (default: the budget's)")
    p.add_argument("--first-seed", type=run_seed, default=0, help="the first seed")
    p.add_argument("--episodes", type=dialogue_count, help="test dialogues after each batch (default: the budget's)")
    p.add_argument("--batches", help="comma-separated cumulative training dialogues, e.g. 250,500,750,1000")
    p.add_argument("--out", type=Path, default=Path("results/benchmark"), help="output folder")
    p.add_argument("--compare", type=Path, metavar="OLD_RESULTS_JSON",
                   help="after the run, compare every number with an earlier results.json (e.g. the shipped "
                        "reference/small/results.json) and what made them (the code's, each environment's and "
                        "each cell's fingerprints, the library versions), and print the verdict: identical "
                        "(same numbers, code, data and versions), or each difference")
    p.add_argument("--strict", action="store_true",
                   help=f"with --compare: exit with status {EXIT_DIFFERENT} if any number differs (for CI on the "
                        "machine that made the reference; other CPUs or torch builds can differ legitimately). "
                        "A difference of code or data alone, with the same numbers, is reported but passes")
    add_backend_arguments(p, "cell")
    p.add_argument("--cpus-per-cell", type=positive_int, default=1,
                   help="CPUs a cell may use (Ray reserves them; torch threads are set to match). Results "
                        "depend on it: the reference numbers are made with 1")
    p.add_argument("--retries", type=nonnegative_int, default=3,
                   help="with --backend ray: times a cell is retried when its worker process dies")
    p.add_argument("--fresh", action="store_true",
                   help="recompute every cell instead of reusing the finished cells in OUT/cells")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--list", action="store_true", help="list the agents and suites, and exit")
    p.add_argument("--json", action="store_true", help="print the summary as JSON instead of the table")
    add_llm_arguments(p)
    p.set_defaults(func=run, extras=EXTRAS)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from agents.benchmark import (
        BUDGETS,
        RL_AGENTS,
        available_agents,
        compare_results,
        load_results,
        run_benchmark,
        suite_envs,
        table_document,
    )
    from dialog_gym import SUITES, EnvRef
    from dialog_gym.errors import DialogGymError

    if args.list:
        print("agents:", ", ".join(available_agents()))
        print("budgets:", ", ".join(f"{k} (suite {b.suite}, {b.seeds} seeds, batches {list(b.batches)}, "
                                    f"{b.test_episodes} tests)" for k, b in BUDGETS.items()))
        for k, b in BUDGETS.items():
            print(f"budget {k} agents:", ", ".join(b.agents)
                  + (f"; on turn-level tasks: {', '.join(b.turn_agents)}" if b.turn_agents else ""))
        for name in SUITES:
            print(f"suite {name}:", ", ".join(suite_envs(name)))
        return 0
    budget = BUDGETS[args.budget]
    if args.batches:
        try:
            batches = tuple(int(x) for x in args.batches.split(","))
        except ValueError:
            raise UsageError(f"--batches: expected comma-separated integers, got {args.batches!r}") from None
        if not batches or any(b <= 0 for b in batches) or list(batches) != sorted(set(batches)):
            raise UsageError("--batches must be increasing positive numbers")
        budget = replace(budget, batches=batches)
    if args.episodes:
        budget = replace(budget, test_episodes=args.episodes)
    if args.envs:
        envs = list(args.envs)
    else:
        try:
            envs = [EnvRef.parse(e) for e in suite_envs(args.suite or budget.suite)]
        except DialogGymError as exc:
            raise UsageError(str(exc)) from None
    given = args.agents is not None
    try:
        agents = [a.strip() for a in args.agents.split(",") if a.strip()] if given else budget.default_agents(envs)
    except DialogGymError as exc:
        raise UsageError(str(exc)) from None
    from agents.llm_agent import import_openai, is_llm_agent, model_of

    available = set(available_agents())
    unknown = [a for a in agents if a not in available and not is_llm_agent(a)]
    if given and (unknown or not agents):
        raise UsageError(f"--agents: unknown agent(s) {', '.join(unknown) or '(none given)'} "
                         f"(known: {', '.join(available_agents())}, and openai:MODEL for a language model)")
    agents = [a for a in agents if a in available or is_llm_agent(a)]
    llms = [a for a in agents if is_llm_agent(a)]
    check_llm_arguments(args, bool(llms), "an openai:MODEL agent in --agents")
    for agent in llms:
        try:
            model_of(agent)
        except DialogGymError as exc:
            raise UsageError(f"--agents: {exc}") from None
    if llms:
        import_openai()  # the openai extra, before any cell runs
    if any(agent in RL_AGENTS for agent in agents) and any(b % budget.batches[0] for b in budget.batches):
        raise UsageError("--batches: RL agents need every batch to be a multiple of the first")
    if args.strict and not args.compare:
        raise UsageError("--strict goes with --compare")
    if args.compare:
        load_results(args.compare)  # a wrong path fails now, not after the run
    check_backend_arguments(args)
    check_seed_range(args.first_seed, args.seeds or budget.seeds, "--seeds")
    check_output(args.out, "--out", folder=True)
    seeds = list(range(args.first_seed, args.first_seed + (args.seeds or budget.seeds)))

    for env in envs:
        for agent in agents:
            remark = masks_note(RL_AGENTS[agent][0], env) if agent in RL_AGENTS else None
            if remark:
                note(remark)

    doc = run_benchmark(args.out, budget, envs, agents, seeds, progress=not args.no_progress and not args.json,
                        backend=args.backend, address=args.address, workers=args.workers,
                        cpus_per_cell=args.cpus_per_cell, retries=args.retries, fresh=args.fresh, note=note,
                        llm=llm_settings(args, "") if llms else None)
    comparison = compare_results(args.compare, args.out / "results.json") if args.compare else None
    this_session = doc["history"][-1]
    if args.json:
        result = {"summary": doc["summary"], "out": str(args.out), "wall_time": this_session["wall_time"],
                  "cells": len(doc["cells"]), "cells_skipped": doc["cells_skipped"],
                  "cells_recomputed": this_session["cells_recomputed"],
                  "recomputed_because": this_session["recomputed_because"], "failed": doc["failed"],
                  "separated_tasks": doc["discrimination"]["separated_tasks"], "cpu": doc["cpu"]}
        if comparison is not None:
            result.update(compare=str(args.compare), identical=comparison.identical,
                          numbers_identical=not comparison.numbers, differences=comparison.numbers,
                          provenance_differences=comparison.provenance, verdict=comparison.verdict())
        print_json(result)
    else:
        print(table_document(doc))
        recomputed = this_session["cells_recomputed"]
        why = ", ".join(f"{part}: {n}" for part, n in this_session["recomputed_because"].items())
        print(f"\nOutputs in {args.out}/ ({this_session['wall_time'] / 60:.1f} min; {len(doc['cells'])} cells, "
              f"{doc['cells_skipped']} reused from an earlier run, {recomputed} recomputed"
              f"{f' because their inputs changed ({why})' if recomputed else ''}, "
              f"{sum(c['status'] == 'failed' for c in doc['cells'])} failed).")
        disc = doc["discrimination"]
        if len(disc["learners"]) > 1:
            print("Telling learners apart (" + ", ".join(disc["learners"]) + f"; {args.out}/discrimination.md): "
                  + "; ".join(f"after {n} dialogues their 95% intervals are apart on {k} of {disc['tasks']} "
                              "environment(s)" for n, k in disc["separated_tasks"].items()) + ".")
        for cell in doc["cells"]:
            if cell["status"] == "failed":
                print(f"failed: {cell['key']}: {cell['error']}")
        if comparison is not None:
            print(f"\ncompared with {args.compare}: {comparison.verdict()}")
            for line in comparison.provenance:
                print("  " + line)
            for line in comparison.numbers[:50]:
                print("  " + line)
            if len(comparison.numbers) > 50:
                print(f"  ... and {len(comparison.numbers) - 50} more")
    if comparison is not None and comparison.numbers and args.strict:
        return EXIT_DIFFERENT
    return 0

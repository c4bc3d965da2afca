"""Measure the CPU cost of PyDial's protocol (``dialog-gym benchmark --budget full --suite pydial18``) and estimate it.

Runs the full budget's cells (4 x 1000 training dialogues, 500 test dialogues after each) of the protocol's agents
on a few tasks, one seed each, one after another in this process (so that the measured CPU seconds are the
cells' own; run it on an otherwise idle machine), and prints the CPU seconds per cell of each agent on each task,
then an estimate of the whole protocol: each of the suite's 18 tasks costs what the measured task of its domain
(CR, SFR, LAP) cost, times the seeds (10). A domain's six environments differ in noise and masks, so the estimate
is as good as the measured task is typical of its domain: measure more tasks (``--envs``) to narrow it.

Usage: PYTHONPATH=. python scripts/protocol_cost.py [--envs PyDial-CR-Env1-v0,PyDial-SFR-Env5-v0,PyDial-LAP-Env6-v0]
[--out protocol_cost] [--seeds-in-estimate 10]; writes OUT/cost.json and OUT/<env>/ (each a benchmark output
folder, whose cells a re-run reuses).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from agents.benchmark import BUDGETS, PROTOCOL_AGENTS, run_benchmark
from agents.provenance import hardware
from dialog_gym import SUITES
from dialog_gym.utils import write_json


def domain_of(env_id: str) -> str:
    """``CR``, ``SFR`` or ``LAP`` of a PyDial id (``dialog_gym/PyDial-CR-Env1-v0``)."""
    return env_id.split("PyDial-", 1)[1].split("-", 1)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", default="PyDial-CR-Env1-v0,PyDial-SFR-Env5-v0,PyDial-LAP-Env6-v0")
    parser.add_argument("--out", type=Path, default=Path("protocol_cost"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds-in-estimate", type=int, default=BUDGETS["full"].seeds)
    args = parser.parse_args()
    budget = BUDGETS["full"]
    envs = [e if "/" in e else f"dialog_gym/{e}" for e in args.envs.split(",")]
    measured: dict[str, dict[str, float]] = {}
    for env in envs:
        doc = run_benchmark(args.out / env.split("/")[-1], budget, [env], list(PROTOCOL_AGENTS), [args.seed])
        measured[env] = {agent: a["cpu_seconds"] for agent, a in doc["cpu"]["agents"].items()}
        print(env, {agent: round(s, 1) for agent, s in measured[env].items()},
              f"total {sum(measured[env].values()):.0f} CPU-s", flush=True)
    by_domain: dict[str, dict[str, float]] = {}
    for env, per_agent in measured.items():
        by_domain.setdefault(domain_of(env), per_agent)  # the first measured task of each domain stands for it
    suite = SUITES["pydial18"]
    missing = sorted({domain_of(e) for e in suite} - set(by_domain))
    if missing:
        raise SystemExit(f"no task measured for the domain(s) {', '.join(missing)}: add one to --envs")
    per_agent_total = {agent: sum(by_domain[domain_of(e)].get(agent, 0.0) for e in suite) * args.seeds_in_estimate
                       for agent in PROTOCOL_AGENTS}
    total = sum(per_agent_total.values())
    report = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "hardware": hardware(),
              "budget": "full", "agents": list(PROTOCOL_AGENTS), "measured_cpu_seconds": measured,
              "estimate": {"tasks": len(suite), "seeds": args.seeds_in_estimate,
                           "cpu_seconds_per_agent": per_agent_total, "cpu_seconds": total,
                           "cpu_hours": total / 3600}}
    write_json(args.out / "cost.json", report)
    print(json.dumps(report["estimate"], indent=1))
    print(f"pydial18, {args.seeds_in_estimate} seeds, {len(PROTOCOL_AGENTS)} agents: about {total / 3600:.1f} "
          "CPU-hours")


if __name__ == "__main__":
    main()

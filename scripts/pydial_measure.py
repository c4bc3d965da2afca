"""Measure the PyDial tasks: the handcrafted expert's success and turns, random agents, the expert's speed.

Usage: PYTHONPATH=. python scripts/pydial_measure.py [--episodes 500] [--out pydial_measure.json]
[--config DIR/env.yml ...] (extra, unregistered tasks: their Env1 is measured too).
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import numpy as np

import dialog_gym
from agents.provenance import hardware
from dialog_gym.rollout import expert_act, random_act, run_episodes


def summary(results: list) -> dict:
    n = len(results)
    p = sum(r.success for r in results) / n
    half = 1.96 * (p * (1 - p) / n) ** 0.5
    return {"success": round(100 * p, 1), "ci95": round(100 * half, 1),
            "turns": round(float(np.mean([r.turns for r in results])), 2),
            "return": round(float(np.mean([r.reward for r in results])), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="pydial_measure.json")
    parser.add_argument("--config", action="append", default=[])
    parser.add_argument("--speed-episodes", type=int, default=3000)
    args = parser.parse_args()
    machine = hardware()
    report: dict = {"cpu": machine["cpu"], "hardware": machine,
                    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    "episodes": args.episodes, "expert": {}, "random_allowed": {}, "random_all": {}}
    for env_id in dialog_gym.SUITES["pydial18"]:
        env = gym.make(env_id, info_tracker=True)  # the expert reads info["belief"]
        if env_id.endswith(("Env1-v0", "Env3-v0", "Env6-v0")):
            results, _ = run_episodes(env, expert_act(env), args.episodes, args.seed)
            report["expert"][env_id] = summary(results)
        results, _ = run_episodes(env, random_act(env, args.seed), args.episodes, args.seed)
        report["random_allowed"][env_id] = summary(results)
        results, _ = run_episodes(env, random_act(env, args.seed, respect_mask=False), args.episodes, args.seed)
        report["random_all"][env_id] = summary(results)
        print(env_id, report["expert"].get(env_id), report["random_allowed"][env_id], report["random_all"][env_id],
              flush=True)
    for config in args.config:
        env = gym.make("dialog_gym/Dialogue-v0", config=config, noise=0.0, masks=True, info_tracker=True)
        results, _ = run_episodes(env, expert_act(env), args.episodes, args.seed)
        report["expert"][config] = summary(results)
        print(config, report["expert"][config], flush=True)
    # speed: the expert on CR Env1 in this process, one env, seeded resets as run_episodes does (evaluation seed 1)
    env = gym.make("dialog_gym/PyDial-CR-Env1-v0", info_tracker=True)
    agent = expert_act(env)
    wall, cpu = time.perf_counter(), time.process_time()
    results, _ = run_episodes(env, agent, args.speed_episodes, 1)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    report["speed"] = {"dialogues": args.speed_episodes, "per_s_wall": round(args.speed_episodes / wall, 1),
                       "per_s_cpu": round(args.speed_episodes / cpu, 1),
                       "turns_per_s_cpu": round(sum(r.turns for r in results) / cpu, 1)}
    print(report["speed"], flush=True)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=1)


if __name__ == "__main__":
    main()

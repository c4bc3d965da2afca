"""Dialogues per second of the chat layer (dialog_gym.chat) with the rule expert, beside the vector env's.

    PYTHONPATH=. python scripts/bench_chat.py [--env dialog_gym/PyDial-CR-Env1-v0] [--dialogues 500] [--repeats 5]

Both run the same dialogues (episode seeds 0, 1, ...: the evaluation stream of seed 0) with the family's rule
expert; measurements alternate between the two and are repeated; the medians are printed with the machine
and the date. The clock is this process's CPU time (other processes on a shared machine do not count). The
target is >= 1,000 dialogues per second through the chat layer on CR Env1.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import time

import gymnasium as gym

import dialog_gym  # noqa: F401  (registers the environments)
from agents.provenance import hardware
from dialog_gym.chat import rule_agent, run_chat_episodes
from dialog_gym.rollout import expert_act, run_episodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="dialog_gym/PyDial-CR-Env1-v0")
    parser.add_argument("--dialogues", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    env = gym.make(args.env)
    runs: dict[str, list[float]] = {"vector": [], "chat": []}
    for _ in range(args.repeats):
        start = time.process_time()
        run_episodes(env, expert_act(env), args.dialogues)
        runs["vector"].append(args.dialogues / (time.process_time() - start))
        start = time.process_time()
        run_chat_episodes(env, rule_agent, args.dialogues)
        runs["chat"].append(args.dialogues / (time.process_time() - start))
    machine = hardware()
    print(json.dumps({
        "env": args.env, "dialogues": args.dialogues, "repeats": args.repeats, "clock": "cpu",
        "median_dialogues_per_second": {k: round(statistics.median(v), 1) for k, v in runs.items()},
        "all": {k: [round(x, 1) for x in v] for k, v in runs.items()},
        "machine": f"{machine['cpu']} ({machine['cores']} cores)",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}, indent=1))


if __name__ == "__main__":
    main()

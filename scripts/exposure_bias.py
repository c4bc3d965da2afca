"""Exposure bias of the Rasa baselines: offline story accuracy beside success against the simulated user.

Each policy (memo, augmented, supervised, ensemble = memoization + supervised) is trained twice:

1. on the first ``--train-stories`` bAbI task-5 stories (Rasa's restaurant bot data), and
2. on ``--expert-dialogues`` dialogues of the rule expert with the simulated user (``Restaurant-v0``),

then evaluated (a) teacher-forced on the held-out bAbI stories (action and story accuracy, as
``dialog-gym evaluate-stories``) and (b) in closed loop against the simulated user, where its own
mistakes shape what it sees next (``agents.evaluation_sim.evaluate_agent``: success rate with a 95%
Wilson interval over ``--episodes`` dialogues x ``--seeds`` seeds), with the action masks on
(``Restaurant-v0``) and off (``Restaurant-Env2-v0``). With masks on, an all-zero prediction (memoization
on an unseen state) becomes the first action the mask allows; with masks off it is ``action_listen``.

    python scripts/exposure_bias.py [--babi data/rasa_babi/babi_stories.md] [--out results/exposure]

Prints a markdown table and writes ``exposure_bias.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from agents import PolicyAgent
from agents.commands.common import format_table, pct
from agents.evaluation import evaluate_stories, split_stories
from agents.evaluation_sim import evaluate_agent
from agents.policy_training import POLICY_NAMES, TrainingOptions, expert_story_graph, story_trackers, train_policies
from agents.provenance import hardware
from dialog_gym.domain import Domain
from dialog_gym.stories import generate_trackers, read_stories
from dialog_gym.utils import write_json

BABI_STORIES = Path(__file__).resolve().parents[1] / "data" / "rasa_babi" / "babi_stories.md"  # in the repository
ENVS = {"masks on": "dialog_gym/Restaurant-v0", "masks off": "dialog_gym/Restaurant-Env2-v0"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--babi", default=str(BABI_STORIES),
                        help="the bAbI story file (default: the repository's data/rasa_babi/babi_stories.md)")
    parser.add_argument("--train-stories", type=int, default=800, help="bAbI stories to train on (the rest: test)")
    parser.add_argument("--expert-dialogues", type=int, default=800, help="simulated expert dialogues to train on")
    parser.add_argument("--episodes", type=int, default=200, help="simulated dialogues per seed")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-history", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--augmentation", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/exposure_bias")
    args = parser.parse_args(argv)

    domain = Domain.load("restaurant")  # the environments' domain: policies must fit it
    train_graph, test_graph = split_stories(read_stories(args.babi), args.train_stories)
    test_trackers = generate_trackers(test_graph, domain, augmentation_factor=0)
    expert_graph, _ = expert_story_graph(args.expert_dialogues, seed=args.seed)  # the expert-dialogue stream
    sources = {
        f"bAbI stories 1-{args.train_stories}": train_graph,
        f"{args.expert_dialogues} expert dialogues": expert_graph,
    }
    options = TrainingOptions(max_history=args.max_history, epochs=args.epochs, seed=args.seed)
    rows, results = [], []
    for source, graph in sources.items():
        trackers = story_trackers(graph, domain, augmentation=args.augmentation, seed=42 + args.seed)
        for name, (policy, seconds) in train_policies(POLICY_NAMES, trackers, domain, options).items():
            offline = evaluate_stories(policy, test_trackers, domain, name=name).metrics()
            entry = {"trained_on": source, "policy": name, "train_seconds": seconds, "offline": offline}
            for label, env_id in ENVS.items():
                start = time.perf_counter()
                entry[label] = evaluate_agent(lambda env, p=policy: PolicyAgent(p, env), env_id, args.episodes,
                                              seeds=range(args.seed, args.seed + args.seeds))
                entry[label]["seconds"] = time.perf_counter() - start
            results.append(entry)
            rows.append([source, name, f"{100 * offline['action_accuracy']:.2f}%",
                         f"{100 * offline['story_accuracy']:.1f}%",
                         *(pct(entry[label]["success_rate"], entry[label]["success_ci95"]) for label in ENVS),
                         f"{entry['masks on']['mean_reward']:.2f}", f"{seconds:.1f}"])
            print(f"{source} / {name}: done", flush=True)
    table = format_table(["trained on", "policy", "bAbI test action acc.", "bAbI test story acc.",
                          "success, masks on [95% CI]", "success, masks off [95% CI]", "reward (masks on)",
                          "train s"], rows)
    print(table)
    out = Path(args.out)
    write_json(out / "exposure_bias.json", {
        "results": results, "table": table, "args": vars(args), "hardware": hardware(),
    })
    print(f"\nwrote {out / 'exposure_bias.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

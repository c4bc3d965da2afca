"""``dialog-gym train-policy``: train a Rasa-style policy on stories (or on the rule expert's dialogues)
and save it as a folder that ``dialog-gym rollout --policy DIR`` runs."""

from __future__ import annotations

import argparse

from agents.commands.common import positive_int, print_json
from agents.commands.training_args import add_training_arguments, training_options
from dialog_gym.envs import DEFAULT_ENV_ID


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-policy", help="train a memoization, supervised or ensemble policy and save it",
                       description="Train a policy on Rasa markdown stories, or, without --stories, on dialogues "
                                   "of the rule expert with the simulated user, and save it to a folder.")
    p.add_argument("--policy", required=True, help="memo, augmented, supervised (alias keras) or ensemble "
                                                   "(memoization + supervised)")
    p.add_argument("--stories", metavar="FILE", help="a story file or folder (default: simulate the expert)")
    p.add_argument("--episodes", type=positive_int, default=200,
                   help="expert dialogues to simulate when --stories is not given")
    p.add_argument("--env", default=DEFAULT_ENV_ID, help="environment of the simulated expert")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to save the trained policy in")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_training_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from agents.policy_training import canonical_name, describe, expert_story_graph, story_trackers, train_policies
    from dialog_gym.domain import Domain

    options = training_options(args)
    name = canonical_name(args.policy)
    start = time.perf_counter()
    if args.stories:
        domain = Domain.load(args.domain)
        graph, source = args.stories, args.stories
    else:
        graph, domain = expert_story_graph(args.episodes, seed=args.seed, env_id=args.env)
        source = f"{args.episodes} expert dialogues in {args.env} (seed {args.seed})"
    trackers = story_trackers(graph, domain, augmentation=args.augmentation, seed=42 + args.seed)
    data_seconds = time.perf_counter() - start
    policy, seconds = train_policies([name], trackers, domain, options)[name]
    policy.persist(args.out)
    result = {"out": args.out, "trained_on": source, "trackers": len(trackers), "data_seconds": data_seconds,
              "train_seconds": seconds, **describe(policy)}
    if args.json:
        print_json(result)
    else:
        print(f"trained {policy.name} on {source} ({len(trackers)} dialogues) in {seconds:.1f} s; saved to {args.out}")
        print(f"run it: dialog-gym rollout --policy {args.out}")
    return 0

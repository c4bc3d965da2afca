"""``dialog-gym train-policy``: train a Rasa-style policy on stories (or on the rule expert's dialogues)
and save it as a folder that ``dialog-gym rollout --policy DIR`` runs."""

from __future__ import annotations

import argparse

from agents.commands.common import (
    DEFAULT_ENV,
    StageBar,
    UsageError,
    check_output,
    check_readable,
    check_story_count,
    dialogue_count,
    env_arg,
    print_json,
    record_env,
)
from agents.commands.training_args import add_training_arguments, training_options


def policy_name(text: str) -> str:
    """An argparse type: a policy name or alias (memo, augmented, supervised/keras, ensemble)."""
    from agents.policy_training import canonical_name
    from dialog_gym.errors import DialogGymError

    try:
        return canonical_name(text)
    except DialogGymError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None

#: the optional extras this command needs (checked before it starts; see agents/extras.py)
EXTRAS = ("rl",)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-policy", help="train a memoization, supervised or ensemble policy and save it",
                       description="Train a policy on Rasa markdown stories, or, without --stories, on dialogues "
                                   "of the rule expert with the simulated user, and save it to a folder. The "
                                   "folder records --env, so 'dialog-gym rollout --policy DIR' runs it there.")
    p.add_argument("--policy", required=True, type=policy_name,
                   help="memo, augmented, supervised (alias keras) or ensemble (memoization + supervised)")
    p.add_argument("--stories", metavar="FILE", help="a story file or folder (default: simulate the expert)")
    p.add_argument("--episodes", type=dialogue_count, default=200,
                   help="expert dialogues to simulate when --stories is not given")
    p.add_argument("--env", type=env_arg, default=DEFAULT_ENV,
                   help="environment of the simulated expert, and the one the saved policy records "
                        "(a short id, a full id or an env config YAML path)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to save the trained policy in, e.g. "
                                                               "runs/policies/sup")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_training_arguments(p)
    p.set_defaults(func=run, extras=EXTRAS)


def run(args: argparse.Namespace) -> int:
    import time

    from agents.policy_training import describe, expert_story_graph, train_policies
    from dialog_gym.domain import Domain
    from dialog_gym.envs import dialogue_env_of
    from dialog_gym.stories import generate_trackers, read_stories

    if args.stories:
        check_readable(args.stories, "a Rasa markdown story file", folder_ok=True)
    elif args.domain is not None:
        raise UsageError("--domain goes with --stories (the simulated expert's dialogues use the environment's domain)")
    check_output(args.out, "--out", folder=True)
    options = training_options(args)
    options.verbose = not args.quiet  # the policy's own per-epoch bar follows the data bar
    name = args.policy
    start = time.perf_counter()
    bar = StageBar(["reading stories" if args.stories else f"simulating {args.episodes} expert dialogues",
                    "augmenting and featurizing", "training"], enabled=not args.quiet)
    try:
        if args.stories:
            if args.domain:
                domain = Domain.load(args.domain)
            else:  # the domain of the environment the policy is for (and records)
                env = args.env.make()
                domain = dialogue_env_of(env).domain
                env.close()
            graph = read_stories(args.stories)
            check_story_count(graph, args.stories)
            source = args.stories
        else:
            graph, domain = expert_story_graph(args.episodes, seed=args.seed, env_id=args.env.id, **args.env.kwargs)
            source = f"{args.episodes} expert dialogues in {args.env} (seed {args.seed})"
        stories = graph.stats()["stories"]
        bar.next(f"augmenting (x{args.augmentation}) and featurizing {stories} stories")
        trackers = generate_trackers(graph, domain, augmentation_factor=args.augmentation, seed=42 + args.seed)
        bar.next(f"training {name} on {len(trackers)} dialogues")
    finally:
        bar.close()  # cleared, so an error below it stays one line
    data_seconds = time.perf_counter() - start
    policy, seconds = train_policies([name], trackers, domain, options)[name]
    policy.persist(args.out)
    record_env(args.out, args.env)
    made = (f"{stories} stories -> {len(trackers)} training dialogues after augmentation (x{args.augmentation})"
            if args.augmentation else f"{stories} stories -> {len(trackers)} training dialogues (no augmentation)")
    result = {"out": args.out, "trained_on": source, "stories": stories, "trackers": len(trackers),
              "augmentation": args.augmentation, "env": args.env.id, "env_kwargs": args.env.kwargs,
              "data_seconds": data_seconds, "train_seconds": seconds, **describe(policy)}
    if args.json:
        print_json(result)
    else:
        print(f"{source}: {made}")
        print(f"trained {policy.name} in {seconds:.1f} s (data {data_seconds:.1f} s); saved to {args.out}")
        print(f"run it: dialog-gym rollout --policy {args.out}   (in {args.env}, recorded in the folder)")
    return 0

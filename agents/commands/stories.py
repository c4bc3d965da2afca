"""``dialog-gym stories``: check a story file; simulate expert stories."""

from __future__ import annotations

import argparse

from agents.commands.common import (
    DEFAULT_ENV,
    check_domain_arg,
    check_output,
    check_readable,
    check_story_count,
    dialogue_count,
    env_arg,
    print_json,
    run_seed,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stories", help="check or generate Rasa markdown story files")
    ssub = p.add_subparsers(dest="stories_command", required=True, metavar="SUBCOMMAND")
    c = ssub.add_parser("check", help="parse a story file and print its counts, or its first error",
                        description="Parse a story file (or a folder of them) and check every intent, entity, "
                                    "slot and action against a domain. A file without any story is an error.")
    c.add_argument("file", help="a .md story file or a folder of them")
    c.add_argument("--domain", default="restaurant",
                   help="check intents, entities, slots and actions against this domain (a shipped domain's name "
                        "or a domain YAML file)")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.set_defaults(func=check)
    s = ssub.add_parser("simulate", help="roll the rule expert out and write the dialogues as stories")
    s.add_argument("--episodes", type=dialogue_count, default=100, help="dialogues to simulate")
    s.add_argument("--seed", type=run_seed, default=0,
                   help="run seed of the dialogues (the expert-dialogue stream, which no evaluation seed meets)")
    s.add_argument("--env", type=env_arg, default=DEFAULT_ENV,
                   help="environment: a short id, a full id or an env config YAML path")
    s.add_argument("--out", required=True, metavar="FILE", help="story file to write")
    s.set_defaults(func=simulate)


def check(args: argparse.Namespace) -> int:
    from dialog_gym.domain import Domain
    from dialog_gym.stories import read_stories

    check_readable(args.file, "a Rasa markdown story file", folder_ok=True)
    check_domain_arg(args.domain)
    graph = read_stories(args.file)
    check_story_count(graph, args.file)
    stats = graph.stats()
    domain = Domain.load(args.domain)
    graph.validate(domain)
    warnings = graph.warnings()
    if args.json:
        print_json({"file": args.file, "ok": True, "domain": str(domain.source), **stats, "warnings": warnings})
    else:
        print(f"{args.file}: ok — {stats['stories']} stories ({stats['blocks']} blocks), {stats['user_turns']} "
              f"user turns, {stats['bot_actions']} bot actions, {stats['other_events']} other events, "
              f"{stats['checkpoints']} checkpoints; checked against the domain {domain.source}")
        for warning in warnings:
            print(f"warning: {warning}")
    return 0


def simulate(args: argparse.Namespace) -> int:
    from dialog_gym.rollout import simulate_stories

    check_output(args.out, "--out", folder=False)

    stories = simulate_stories(args.episodes, seed=args.seed, path=args.out, env_id=args.env.id, **args.env.kwargs)
    print(f"wrote {len(stories)} simulated stories to {args.out}")
    return 0

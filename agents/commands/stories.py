"""``dialog-gym stories``: check a story file; simulate expert stories."""

from __future__ import annotations

import argparse

from agents.commands.common import positive_int, print_json
from dialog_gym.envs import DEFAULT_ENV_ID


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stories", help="check or generate Rasa markdown story files")
    ssub = p.add_subparsers(dest="stories_command", required=True, metavar="SUBCOMMAND")
    c = ssub.add_parser("check", help="parse a story file and print its counts, or its first error")
    c.add_argument("file", help="a .md story file or a folder of them")
    c.add_argument("--domain", help="also check intents, entities and actions against this domain")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=check)
    s = ssub.add_parser("simulate", help="roll the rule expert out and write the dialogues as stories")
    s.add_argument("--episodes", type=positive_int, default=100)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--env", default=DEFAULT_ENV_ID)
    s.add_argument("--out", required=True, metavar="FILE")
    s.set_defaults(func=simulate)


def check(args: argparse.Namespace) -> int:
    from dialog_gym.domain import Domain
    from dialog_gym.stories import read_stories

    graph = read_stories(args.file)
    if args.domain:
        graph.validate(Domain.load(args.domain))
    stats = graph.stats()
    warnings = graph.warnings()
    if args.json:
        print_json({"file": args.file, "ok": True, **stats, "warnings": warnings})
    else:
        print(f"{args.file}: ok — {stats['stories']} stories ({stats['blocks']} blocks), {stats['user_turns']} "
              f"user turns, {stats['bot_actions']} bot actions, {stats['other_events']} other events, "
              f"{stats['checkpoints']} checkpoints")
        for warning in warnings:
            print(f"warning: {warning}")
    return 0


def simulate(args: argparse.Namespace) -> int:
    from dialog_gym.rollout import simulate_stories

    stories = simulate_stories(args.episodes, seed=args.seed, path=args.out, env_id=args.env)
    print(f"wrote {len(stories)} simulated stories to {args.out}")
    return 0

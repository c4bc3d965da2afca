"""``dialog-gym envs``: list the registered environments, their settings and the suites they belong to."""

from __future__ import annotations

import argparse

from agents.commands.common import format_table, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("envs", help="list the registered environment ids")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dialog_gym.envs import SUITES, env_descriptions

    descriptions = env_descriptions()
    if args.json:
        print_json({"envs": descriptions, "suites": SUITES})
        return 0
    rows = [[env_id, desc, ", ".join(suite for suite, members in SUITES.items() if env_id in members)]
            for env_id, desc in descriptions.items()]
    print(format_table(["id", "setting", "suites"], rows))
    return 0

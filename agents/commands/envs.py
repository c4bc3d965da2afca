"""``dialog-gym envs``: list the registered environments and their settings."""

from __future__ import annotations

import argparse

from agents.commands.common import format_table, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("envs", help="list the registered environment ids")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dialog_gym.envs import SUITES, env_descriptions

    rows = [[env_id, desc] for env_id, desc in env_descriptions().items()]
    if args.json:
        print_json({"envs": {r[0]: r[1] for r in rows}, "suites": SUITES})
    else:
        print(format_table(["id", "setting"], rows))
    return 0

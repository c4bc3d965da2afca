"""The ``dialog-gym`` command: the top floor; nothing imports it.

Each subcommand lives in ``agents/commands/<name>.py`` with ``register(subparsers)``; heavy imports
happen inside the command, so ``dialog-gym --help`` is quick. Errors a user can cause are printed as
one line on stderr with exit status 1; usage errors exit with 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from dialog_gym.errors import DialogGymError

COMMAND_MODULES = (
    "agents.commands.demo",
    "agents.commands.envs",
    "agents.commands.rollout",
    "agents.commands.train_policy",
    "agents.commands.evaluate_stories",
    "agents.commands.bench_env",
    "agents.commands.stories",
    "agents.commands.train",
    "agents.commands.benchmark",
    "agents.commands.imitate",
    "agents.commands.interactive",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dialog-gym",
        description="Task-oriented dialogue management as Gymnasium environments.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DialogGymError as exc:
        print(f"dialog-gym: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"dialog-gym: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dialog-gym: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

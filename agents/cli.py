"""The ``dialog-gym`` command: the top floor; nothing imports it.

Each subcommand lives in ``agents/commands/<name>.py`` with ``register(subparsers)``; heavy imports
happen inside the command, so ``dialog-gym --help`` is quick.

One error path for every command (see ``agents/commands/common.py``): a usage error exits with 2, bad
data (a missing, unreadable or malformed file) with 1, Ctrl-C with 130; each prints one line on stderr
and, when ``--json`` was asked for, also ``{"error": "...", "exit_status": N}`` on stdout. No input
produces a traceback: an unexpected exception is reported in one line as an internal error (exit 1;
``DIALOG_GYM_TRACEBACK=1`` shows the traceback).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys

from agents.commands.common import Parser, UsageError
from agents.interrupts import InterruptGuard, caused_by_interrupt, forget_handled_interrupt
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
    "agents.commands.tune",
    "agents.commands.imitate",
    "agents.commands.interactive",
    "agents.commands.serve",
    "agents.commands.domain",
)

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
INTERRUPTED = "interrupted (Ctrl-C); files written so far are complete, nothing is half-written"
#: commands that stay up until the user ends them and handle Ctrl-C themselves
LONG_LIVED = ("interactive", "serve")


def build_parser() -> Parser:
    parser = Parser(
        prog="dialog-gym",
        description="Task-oriented dialogue management as Gymnasium environments. Exit status: 0 success, "
                    "1 bad data (a missing, unreadable or malformed file), 2 a usage error (unknown option or "
                    "environment, a value out of range), 130 interrupted.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def fail(message: str, status: int, as_json: bool) -> int:
    """Report an error the one way: a line on stderr, and a JSON object on stdout under ``--json``."""
    message = " ".join(str(message).split()) or "error"
    print(f"dialog-gym: error: {message}", file=sys.stderr, flush=True)
    if as_json:
        print(json.dumps({"error": message, "exit_status": status}), flush=True)
    return status


def main(argv: list[str] | None = None) -> int:
    status = _main(argv)
    if status == EXIT_INTERRUPTED:
        forget_handled_interrupt()
    return status


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    try:
        args = build_parser().parse_args(argv)
        # the long-lived commands handle Ctrl-C themselves (questions, a server's shutdown)
        guard = (contextlib.nullcontext() if args.command in LONG_LIVED
                 else InterruptGuard(lambda: fail(INTERRUPTED, EXIT_INTERRUPTED, as_json), EXIT_INTERRUPTED))
        with guard:
            return int(args.func(args) or 0)
    except SystemExit as exc:  # --help and --version exit through argparse
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_ERROR)
    except KeyboardInterrupt:
        return fail(INTERRUPTED, EXIT_INTERRUPTED, as_json)
    except UsageError as exc:
        return fail(str(exc), EXIT_USAGE, as_json)
    except DialogGymError as exc:
        return fail(str(exc), EXIT_ERROR, as_json)
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return fail(f"{where}{exc.strerror or exc}", EXIT_ERROR, as_json)
    except Exception as exc:  # a bug, not bad input: still one line, but say so
        if caused_by_interrupt(exc):  # e.g. Ctrl-C inside a class body: RuntimeError("Error calling __set_name__")
            return fail(INTERRUPTED, EXIT_INTERRUPTED, as_json)
        if os.environ.get("DIALOG_GYM_TRACEBACK"):
            raise
        return fail(f"internal error ({type(exc).__name__}: {exc}); please report it "
                    "(DIALOG_GYM_TRACEBACK=1 shows the traceback)", EXIT_ERROR, as_json)


if __name__ == "__main__":
    sys.exit(main())

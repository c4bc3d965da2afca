"""The ``dialog-gym`` command: the top floor; nothing imports it.

Each subcommand lives in ``agents/commands/<name>.py`` with ``register(subparsers)``; heavy imports
happen inside the command, so ``dialog-gym --help`` is quick. A command that needs an optional extra
declares it (``set_defaults(extras=("rl",))``) and is refused before it starts when the extra is missing.

One error path for every command (see ``agents/commands/common.py``), each printing one line on stderr,
``dialog-gym COMMAND: error: MESSAGE`` (``dialog-gym: error: ...`` before a command is known), and, when
``--json`` was asked for, also ``{"error": "...", "exit_status": N}`` on stdout:

* 2: a usage error (an unknown option or environment, a value out of range, options that do not go together);
* 1: bad data (a missing, unreadable or malformed file) or an environment problem (a missing extra, a port
  that cannot be listened on);
* 130: Ctrl-C;
* 141 (as a Unix tool killed by SIGPIPE): the reader of the output went away (``dialog-gym envs | head``);
  nothing is printed.

No input produces a traceback: an unexpected exception is reported in one line as an internal error
(exit 1; ``DIALOG_GYM_TRACEBACK=1`` shows the traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys

from agents.commands.common import Parser, UsageError
from agents.extras import missing_extra_error, require
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
EXIT_CLOSED_OUTPUT = 141
PROG = "dialog-gym"
INTERRUPTED = "interrupted (Ctrl-C); files written so far are complete, nothing is half-written"
#: commands that stay up until the user ends them and handle Ctrl-C themselves
LONG_LIVED = ("interactive", "serve")


def build_parser() -> Parser:
    parser = Parser(
        prog=PROG,
        description="Task-oriented dialogue management as Gymnasium environments. Exit status: 0 success, "
                    "1 bad data (a missing, unreadable or malformed file), 2 a usage error (unknown option or "
                    "environment, a value out of range), 130 interrupted, 141 the output's reader went away (as with "
                    "| head). Commands that need an optional extra (rl, plots, ray, web, minari) say which when "
                    "it is missing (status 1).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    _name_commands(parser)
    return parser


def _name_commands(parser: argparse.ArgumentParser) -> None:
    """Record each (sub)command's name, ``dialog-gym stories check``, in the arguments it parses: the
    prefix of its error messages."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                command.set_defaults(command_prog=command.prog)
                _name_commands(command)


def fail(message: str, status: int, as_json: bool, prog: str = PROG) -> int:
    """Report an error the one way: a line on stderr, and a JSON object on stdout under ``--json``."""
    message = " ".join(str(message).split()) or "error"
    print(f"{prog}: error: {message}", file=sys.stderr, flush=True)
    if as_json:
        print(json.dumps({"error": message, "exit_status": status}), flush=True)
    return status


def main(argv: list[str] | None = None) -> int:
    try:
        status = _main(argv)
    except BrokenPipeError:  # the error report itself met the closed pipe
        status = _closed_output()
    if status == EXIT_INTERRUPTED:
        forget_handled_interrupt()
    return status


def _closed_output() -> int:
    """The reader of our output went away (``dialog-gym envs | head``): end quietly, as Unix tools do. What
    is still buffered for stdout goes nowhere (Python would report the closed pipe again when it flushes at
    exit)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return EXIT_CLOSED_OUTPUT


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    prog = PROG

    def report(message: str, status: int) -> int:
        return fail(message, status, as_json, prog)

    try:
        args, unknown = build_parser().parse_known_args(argv)
        prog = getattr(args, "command_prog", PROG)
        if unknown:  # as parse_args would say, but naming the command
            raise UsageError(f"unrecognized arguments: {' '.join(unknown)}")
        require(getattr(args, "extras", ()), "this command")
        # the long-lived commands handle Ctrl-C themselves (questions, a server's shutdown)
        guard = (contextlib.nullcontext() if args.command in LONG_LIVED
                 else InterruptGuard(lambda: report(INTERRUPTED, EXIT_INTERRUPTED), EXIT_INTERRUPTED))
        with guard:
            status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except SystemExit as exc:  # --help and --version exit through argparse
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_ERROR)
    except KeyboardInterrupt:
        return report(INTERRUPTED, EXIT_INTERRUPTED)
    except UsageError as exc:
        prog = exc.prog or prog
        return report(str(exc), EXIT_USAGE)
    except DialogGymError as exc:
        return report(str(exc), EXIT_ERROR)
    except BrokenPipeError:
        return _closed_output()
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return report(f"{where}{exc.strerror or exc}", EXIT_ERROR)
    except Exception as exc:  # a bug, not bad input: still one line, but say so
        if caused_by_interrupt(exc):  # e.g. Ctrl-C inside a class body: RuntimeError("Error calling __set_name__")
            return report(INTERRUPTED, EXIT_INTERRUPTED)
        missing = missing_extra_error(exc, "this command") if isinstance(exc, ImportError) else None
        if missing is not None:  # an optional module imported on a path no command declared
            return report(str(missing), EXIT_ERROR)
        if os.environ.get("DIALOG_GYM_TRACEBACK"):
            raise
        return report(f"internal error ({type(exc).__name__}: {exc}); please report it "
                      "(DIALOG_GYM_TRACEBACK=1 shows the traceback)", EXIT_ERROR)


if __name__ == "__main__":
    sys.exit(main())

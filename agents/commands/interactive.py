"""``dialog-gym interactive``: teach the bot at a terminal against the fake user (Rasa's tutorial).

The simulated customer secretly picks a cuisine, a location, a price range and a party size; the bot
(a supervised policy) proposes each action; the human accepts it or picks another, and the bot is
retrained after each correction (``--retrain-every``). Every confirmed step is appended to a JSON-lines log,
so a session that dies (even ``kill -9``) resumes with ``--resume``.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.commands.common import (
    DEFAULT_ENV,
    UsageError,
    check_output,
    check_readable,
    dialogue_count,
    env_arg,
    nonnegative_int,
    positive_int,
    run_seed,
)
from dialog_gym.errors import DialogGymError
from dialog_gym.utils import as_json

if TYPE_CHECKING:
    from dialog_gym.wrappers import SessionSummary

DEFAULT_LOG = "runs/interactive/session.jsonl"
DEFAULT_STORIES_OUT = "runs/interactive/stories.md"

INTRO = """\
Interactive learning with a fake user
-------------------------------------
A fake customer has secretly decided what restaurant they want: a cuisine,
a location, a price range and a number of people (they may change their
mind). The bot talks to them; before each of its actions it shows what it
proposes and how sure it is. Press Enter if the proposal is right, or type
the number of the right action to correct it. The bot learns from each
correction at once: after a few dialogues it should not need much help.
Steps where only one action is allowed (the bot listening) go by
themselves.

Keys: Enter accept, 1-9 another action, l list all, u undo, r reset (a new
customer), e export as stories, q quit, ? help.
"""

#: the optional extras this command needs (checked before it starts; see agents/extras.py)
EXTRAS = ("rl",)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("interactive", help="teach the bot at a terminal against the fake user (Rasa's tutorial)",
                       description="Interactive learning with a fake user: the bot proposes each action, you "
                                   "accept or correct it, and it learns from each correction. Every "
                                   "confirmed step is logged (--log), so a session can be resumed (--resume).")
    start = p.add_mutually_exclusive_group(required=True)
    start.add_argument("--scratch", dest="start", action="store_const", const="scratch",
                       help="start from an untrained policy: it learns only from your corrections")
    start.add_argument("--pretrained", dest="start", action="store_const", const="pretrained",
                       help="start from a policy trained on stories (by default the expert's simulated "
                            "dialogues, which the package generates; or --stories FILE)")
    p.add_argument("--stories", metavar="FILE", help="with --pretrained: train on this Rasa stories file "
                                                     "(e.g. the bAbI stories)")
    p.add_argument("--examples", type=nonnegative_int, default=0, metavar="N",
                   help="with --scratch: first train the bot on N of the expert's simulated dialogues "
                        "(0: untrained)")
    p.add_argument("--learner", choices=("supervised", "sb3"), default="supervised",
                   help="the bot: Rasa's supervised policy (default) or a MaskablePPO policy network "
                        "trained by behaviour cloning")
    p.add_argument("--env", type=env_arg, default=DEFAULT_ENV,
                   help="environment: a short id, a full id or an env config YAML path. With masks on (e.g. "
                        "Restaurant-v0) only sensible actions are offered at each step; with masks off "
                        "(Restaurant-Env2-v0) every action is, and you correct more")
    p.add_argument("--seed", type=run_seed, default=0, help="seed of the fake users and of the learner")
    p.add_argument("--log", metavar="FILE", default=DEFAULT_LOG,
                   help="correction log, appended and fsynced per step")
    p.add_argument("--stories-out", metavar="FILE", default=DEFAULT_STORIES_OUT,
                   help="where e (export) writes the session as Rasa stories")
    p.add_argument("--retrain-every", type=nonnegative_int, default=1, metavar="K",
                   help="retrain the bot after every K corrections (1: after each correction, as in "
                        "Rasa's tutorial; 0: only at the end of each dialogue)")
    p.add_argument("--resume", action="store_true", help="continue the session held by --log")
    p.add_argument("--dialogues", type=dialogue_count, default=None, metavar="N",
                   help="stop after N dialogues (default: until you quit)")
    p.add_argument("--top", type=positive_int, default=5, metavar="K", help="actions shown per step")
    p.set_defaults(func=run, extras=EXTRAS)


def run(args: argparse.Namespace) -> int:
    check_paths(args)
    args.env.make().close()  # a broken env config fails now, before the intro
    header = resumed_header(args) if args.resume else None
    import dialog_gym  # noqa: F401  (registers the environments)
    from agents.imitation import make_learner
    from agents.terminal import TerminalTeacher
    from dialog_gym.envs import dialogue_env_of
    from dialog_gym.wrappers import CorrectionSession

    if sys.stdin.isatty():  # Ctrl-C must reach the teacher (it asks about exporting), even when the shell
        signal.signal(signal.SIGINT, signal.default_int_handler)  # started us with SIGINT ignored
    out = sys.stdout
    out.write(INTRO)
    what = (f"trained on the stories of {args.stories}" if args.stories else
            "trained on the expert's simulated dialogues" if args.start == "pretrained" else
            f"trained on {args.examples} expert dialogue(s) only" if args.examples else
            "untrained: it knows nothing yet and learns from you")
    out.write(f"\nPreparing the bot ({what}) ...\n")
    out.flush()
    learner = make_learner(args.start, stories=args.stories, seed=args.seed, env_id=args.env, learner=args.learner,
                           scratch_dialogues=args.examples)
    if header is not None:
        check_same_bot(header, learner, args.log)
    env = args.env.make()
    teacher = TerminalTeacher(top_k=args.top, transcript_source=lambda: dialogue_env_of(env).transcript())
    session = CorrectionSession(env, learner, teacher, log_path=args.log, stories_path=args.stories_out,
                                seed=args.seed, retrain_every=args.retrain_every or None)
    if args.resume:
        out.write(f"Resuming the session of {args.log} (replaying and checking it) ...\n")
    else:
        Path(args.log).parent.mkdir(parents=True, exist_ok=True)
    out.write(f"Log: {args.log}   stories (e): {args.stories_out}\n")
    out.flush()
    try:
        summary = session.run(args.dialogues)
    except KeyboardInterrupt:  # outside a question (e.g. while the bot retrains): nothing confirmed is lost
        out.write(f"\nInterrupted. Every confirmed step is in {args.log}: continue with --resume.\n")
        return 130
    finally:
        teacher.close()
        env.close()
    out.write(report(summary, args.log))
    return 0


def report(summary: SessionSummary, log: str) -> str:
    """The end of a session in a few lines: how much help the bot needed, dialogue by dialogue."""
    lines = [f"\n{summary.dialogues} dialogue(s) finished, {summary.successes} successful; "
             f"{summary.corrections} correction(s) in {summary.steps} step(s)."]
    if summary.corrections_per_dialogue:
        lines.append("Corrections per dialogue: " + ", ".join(map(str, summary.corrections_per_dialogue)))
    lines.append(f"The session is in {log}: continue it with the same command and --resume.")
    return "\n".join(lines) + "\n"


def check_paths(args: argparse.Namespace) -> None:
    """User errors before anything slow happens: one line each, never an overwritten session."""
    if args.stories and args.start != "pretrained":
        raise UsageError("--stories goes with --pretrained (--scratch starts from an untrained bot)")
    if args.examples and args.start != "scratch":
        raise UsageError("--examples goes with --scratch (--pretrained trains on the expert's dialogues)")
    if args.stories and not Path(args.stories).exists():
        raise DialogGymError(f"{args.stories}: no such stories file")
    if args.stories:
        check_readable(args.stories, "a Rasa markdown story file", folder_ok=True)
    check_output(args.stories_out, "--stories-out", folder=False)
    check_output(args.log, "--log", folder=False)
    log = Path(args.log)
    has_session = log.is_file() and log.stat().st_size > 0
    if args.resume and not has_session:
        raise DialogGymError(f"{args.log}: no session to resume")
    if has_session and not args.resume:
        raise DialogGymError(f"{args.log} already holds a session: add --resume to continue it, "
                             "or name another --log")


def resumed_header(args: argparse.Namespace) -> dict[str, Any]:
    """The header of the session to resume; its environment must be ``--env``."""
    from dialog_gym.envs import GENERIC_ENV_ID, EnvRef
    from dialog_gym.wrappers import read_log

    header = read_log(args.log).header
    recorded = header.get("env_kwargs") or {}
    if header.get("env_id") is not None and (header["env_id"] != args.env.id or any(
            recorded.get(key) != value for key, value in args.env.kwargs.items())):
        generic = header["env_id"] == GENERIC_ENV_ID  # a config's env: the config (and variant) name it
        then = EnvRef(header["env_id"], {k: v for k, v in recorded.items() if generic and k in ("config", "variant")})
        raise DialogGymError(f"{args.log} is a session in {then}: resume it with --env {then}")
    return header


def check_same_bot(header: dict[str, Any], learner: Any, log: str) -> None:
    """A resumed session retrains its bot from the log: the bot must start as it started then."""
    then = header.get("learner")
    now = as_json(learner.describe()) if hasattr(learner, "describe") else None
    if then and now and then != now:
        raise DialogGymError(f"{log} began with another bot ({then.get('start')}, seed {then.get('seed')}): resume "
                             "it with the options it began with (--scratch/--pretrained, --stories, --seed)")

"""``dialog-gym interactive``: teach the bot at a terminal against the fake user (Rasa's tutorial).

The simulated customer secretly picks a cuisine, a location, a price range and a party size; the bot
(a supervised policy) proposes each action; the human accepts it or picks another, and the bot is
retrained on the corrections after every dialogue. Every confirmed step is appended to a JSON-lines log,
so a session that dies (even ``kill -9``) resumes with ``--resume``.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from agents.commands.common import env_id
from dialog_gym.errors import DialogGymError

DEFAULT_LOG = "fake_user_session.jsonl"
DEFAULT_STORIES_OUT = "fake_user_stories.md"

INTRO = """\
Interactive learning with a fake user
-------------------------------------
A fake customer has secretly decided what restaurant they want: a cuisine,
a location, a price range and a number of people (they may change their
mind). The bot talks to them; before each of its actions it shows what it
proposes and how sure it is. Press Enter if the proposal is right, or type
the number of the right action to correct it. After each dialogue the bot
is retrained on your corrections: after a few dialogues it should not need
much help. Steps where only one action is allowed (the bot listening) go by
themselves.

Keys: Enter accept, 1-9 another action, l list all, u undo, r reset (a new
customer), e export as stories, q quit, ? help.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("interactive", help="teach the bot at a terminal against the fake user (Rasa's tutorial)",
                       description="Interactive learning with a fake user: the bot proposes each action, you "
                                   "accept or correct it, and it is retrained after every dialogue. Every "
                                   "confirmed step is logged (--log), so a session can be resumed (--resume).")
    start = p.add_mutually_exclusive_group(required=True)
    start.add_argument("--scratch", dest="start", action="store_const", const="scratch",
                       help="start from an untrained policy: it learns only from your corrections")
    start.add_argument("--pretrained", dest="start", action="store_const", const="pretrained",
                       help="start from a policy trained on stories (by default the expert's simulated "
                            "dialogues, which the package generates; or --stories FILE)")
    p.add_argument("--stories", metavar="FILE", help="with --pretrained: train on this Rasa stories file "
                                                     "(e.g. the bAbI stories)")
    p.add_argument("--env", type=env_id, default="dialog_gym/Restaurant-v0", help="environment id")
    p.add_argument("--seed", type=int, default=0, help="seed of the fake users and of the learner")
    p.add_argument("--log", metavar="FILE", default=DEFAULT_LOG,
                   help=f"correction log, appended and fsynced per step (default {DEFAULT_LOG})")
    p.add_argument("--stories-out", metavar="FILE", default=DEFAULT_STORIES_OUT,
                   help=f"where e (export) writes the session as Rasa stories (default {DEFAULT_STORIES_OUT})")
    p.add_argument("--resume", action="store_true", help="continue the session held by --log")
    p.add_argument("--dialogues", type=int, default=None, metavar="N",
                   help="stop after N dialogues (default: until you quit)")
    p.add_argument("--top", type=int, default=5, metavar="K", help="actions shown per step (default 5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_paths(args)
    import gymnasium as gym

    import dialog_gym  # noqa: F401  (registers the environments)
    from agents.imitation import make_learner
    from dialog_gym.wrappers import CorrectionSession
    from dialog_gym.wrappers.terminal import TerminalTeacher

    if sys.stdin.isatty():  # Ctrl-C must reach the teacher (it asks about exporting), even when the shell
        signal.signal(signal.SIGINT, signal.default_int_handler)  # started us with SIGINT ignored
    out = sys.stdout
    out.write(INTRO)
    what = (f"trained on the stories of {args.stories}" if args.stories else
            "trained on the expert's simulated dialogues" if args.start == "pretrained" else
            "untrained: it knows nothing yet and learns from you")
    out.write(f"\nPreparing the bot ({what}) ...\n")
    out.flush()
    learner = make_learner(args.start, stories=args.stories, seed=args.seed, env_id=args.env)
    env = gym.make(args.env)
    teacher = TerminalTeacher(top_k=args.top, transcript_source=lambda: env.unwrapped.transcript())
    session = CorrectionSession(env, learner, teacher, log_path=args.log, stories_path=args.stories_out,
                                seed=args.seed)
    if args.resume:
        out.write(f"Resuming the session of {args.log}.\n")
    out.write(f"Log: {args.log}   stories (e): {args.stories_out}\n")
    out.flush()
    try:
        session.run(args.dialogues)
    finally:
        teacher.close()
        env.close()
    out.write(f"The session is in {args.log}: continue it with the same command and --resume.\n")
    return 0


def check_paths(args: argparse.Namespace) -> None:
    """User errors before anything slow happens: one line each, never an overwritten session."""
    if args.stories and args.start != "pretrained":
        raise DialogGymError("--stories goes with --pretrained (--scratch starts from a handful of examples)")
    if args.stories and not Path(args.stories).is_file():
        raise DialogGymError(f"{args.stories}: no such stories file")
    if args.dialogues is not None and args.dialogues < 1:
        raise DialogGymError(f"--dialogues must be at least 1, got {args.dialogues}")
    if args.top < 1:
        raise DialogGymError(f"--top must be at least 1, got {args.top}")
    log = Path(args.log)
    has_session = log.is_file() and log.stat().st_size > 0
    if args.resume and not has_session:
        raise DialogGymError(f"{args.log}: no session to resume")
    if has_session and not args.resume:
        raise DialogGymError(f"{args.log} already holds a session: add --resume to continue it, "
                             "or name another --log")

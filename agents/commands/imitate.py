"""``dialog-gym imitate``: the automated counterpart of the interactive session. A scripted teacher
corrects the learner for N dialogues; after each, the learner alone is evaluated on fresh dialogues.
Writes the learning curve as OUT/curve.json and OUT/curve.png (and the session log OUT/session.jsonl)."""

from __future__ import annotations

import argparse

from agents.commands.common import print_json
from dialog_gym.envs import DEFAULT_ENV_ID

TEACHERS = ("scripted",)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("imitate", help="learning curve of a learner corrected by the scripted teacher",
                       description="Run N dialogues in which the learner proposes and the scripted teacher (the rule "
                                   "expert) corrects it; after each dialogue evaluate the learner alone on fresh "
                                   "seeded dialogues. --mode bc is the baseline without corrections: behaviour "
                                   "cloning on the teacher's own rollouts of the same dialogues.")
    p.add_argument("--teacher", default="scripted", help="who corrects: scripted (the rule expert)")
    p.add_argument("--start", default="scratch", help="scratch (untrained) or pretrained (expert dialogues, or "
                                                      "--stories)")
    p.add_argument("--stories", metavar="FILE", help="with --start pretrained: train the start policy on this Rasa "
                                                     "stories file instead of simulated expert dialogues")
    p.add_argument("--learner", default="supervised", help="supervised (the Rasa-style network) or sb3 "
                                                           "(a MaskablePPO policy network, behaviour cloning)")
    p.add_argument("--mode", default="correct", help="correct (the correction loop) or bc (baseline: behaviour "
                                                     "cloning of the teacher's rollouts, no corrections)")
    p.add_argument("--beta", type=float, default=1.0, help="DAgger's beta: probability that the teacher's action "
                                                           "is executed (else the learner's; default 1)")
    p.add_argument("--error-rate", type=float, default=0.0, help="the scripted teacher's error rate")
    p.add_argument("--dialogues", type=int, default=20, help="corrected dialogues (N >= 1)")
    p.add_argument("--eval-episodes", type=int, default=100, help="evaluation dialogues after each corrected one")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--env", default=DEFAULT_ENV_ID, help="environment id")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for curve.json, curve.png, session.jsonl")
    p.add_argument("--json", action="store_true", help='print {"curve": [{"dialogues", "success_rate", '
                                                       '"corrections"}, ...]}')
    p.add_argument("--minari", metavar="DATASET_ID", help="also write the session as this Minari dataset under "
                                                          "OUT/minari (needs the minari extra)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    import torch

    from agents.imitation import learning_curve, plot_curve
    from dialog_gym.errors import DialogGymError
    from dialog_gym.utils import write_json

    if args.teacher not in TEACHERS:
        raise DialogGymError(f"unknown teacher {args.teacher!r}: expected one of {', '.join(TEACHERS)} "
                             f"(the human teacher is `dialog-gym interactive`)")
    if args.dialogues < 1:
        raise DialogGymError(f"--dialogues must be >= 1, got {args.dialogues}")
    if args.eval_episodes < 1:
        raise DialogGymError(f"--eval-episodes must be >= 1, got {args.eval_episodes}")
    if not 0.0 <= args.beta <= 1.0:
        raise DialogGymError(f"--beta must be in [0, 1], got {args.beta}")
    import gymnasium as gym

    import dialog_gym  # noqa: F401

    if args.env not in gym.registry:
        raise DialogGymError(f"unknown environment {args.env!r}")
    torch.set_num_threads(1)  # tiny networks: one thread is fastest (and the machine is shared)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def progress(entry: dict) -> None:
        if not args.quiet and not args.json:
            c = "-" if entry["corrections"] is None else entry["corrections"]
            print(f"after {entry['dialogues']:3d} dialogue(s): learner alone {entry['success_rate']:6.1%} success; "
                  f"corrections in the dialogue: {c}  [{entry['seconds']:.0f}s]", flush=True)

    result = learning_curve(start=args.start, dialogues=args.dialogues, seed=args.seed,
                            eval_episodes=args.eval_episodes, stories=args.stories, learner=args.learner,
                            beta=args.beta, mode=args.mode, env_id=args.env, error_rate=args.error_rate,
                            out=out, progress=progress, minari_id=args.minari)
    write_json(out / "curve.json", result)
    plot_curve(result, out / "curve.png")
    if args.json:
        print_json({"curve": [{"dialogues": p["dialogues"], "success_rate": p["success_rate"],
                               "corrections": p["corrections"]} for p in result["curve"]]})
    else:
        print(f"wrote {out / 'curve.json'} and {out / 'curve.png'}", file=sys.stdout)
    return 0

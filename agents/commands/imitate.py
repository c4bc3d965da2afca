"""``dialog-gym imitate``: the automated counterpart of the interactive session. A scripted teacher
corrects the learner for N dialogues; after each, the learner alone is evaluated on fresh dialogues.
Writes the learning curve as OUT/curve.json and OUT/curve.png (and the session log OUT/session.jsonl)."""

from __future__ import annotations

import argparse

from agents.commands.common import (
    DEFAULT_ENV,
    UsageError,
    check_output,
    check_readable,
    dialogue_count,
    env_arg,
    note,
    print_json,
    probability,
    run_seed,
)

TEACHERS = ("scripted",)

#: the optional extras this command needs (checked before it starts; see agents/extras.py)
EXTRAS = ("rl", "plots")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("imitate", help="learning curve of a learner corrected by the scripted teacher",
                       description="Run N dialogues in which the learner proposes and the scripted teacher (the rule "
                                   "expert) corrects it; after each dialogue evaluate the learner alone on fresh "
                                   "seeded dialogues. --mode bc is the baseline without corrections: behaviour "
                                   "cloning on the teacher's own rollouts of the same dialogues.")
    p.add_argument("--teacher", default="scripted", choices=TEACHERS,
                   help="who corrects: scripted (the rule expert; the human teacher is `dialog-gym interactive`)")
    p.add_argument("--start", default="scratch", choices=("scratch", "pretrained"),
                   help="scratch (untrained) or pretrained (on expert dialogues, or on --stories)")
    p.add_argument("--stories", metavar="FILE", help="with --start pretrained: train the start policy on this Rasa "
                                                     "stories file instead of simulated expert dialogues")
    p.add_argument("--learner", default="supervised", choices=("supervised", "sb3"),
                   help="supervised (the Rasa-style network) or sb3 (a MaskablePPO policy network, behaviour "
                        "cloning)")
    p.add_argument("--mode", default="correct", choices=("correct", "bc"),
                   help="correct (the correction loop) or bc (baseline: behaviour cloning of the teacher's "
                        "rollouts, no corrections)")
    p.add_argument("--beta", type=probability, default=1.0,
                   help="DAgger's beta: the probability that the teacher's action is executed at a step; otherwise "
                        "the learner's own proposal is (its mistakes then lead it into states the teacher would "
                        "never visit, which it learns to recover from). 1: the teacher always drives")
    p.add_argument("--error-rate", type=probability, default=0.0,
                   help="probability that the scripted teacher gives a wrong action")
    p.add_argument("--dialogues", type=dialogue_count, default=20, help="corrected dialogues")
    p.add_argument("--eval-episodes", type=dialogue_count, default=100,
                   help="evaluation dialogues after each corrected one")
    p.add_argument("--seed", type=run_seed, default=0, help="seed of the dialogues, the teacher and the learner")
    p.add_argument("--env", type=env_arg, default=DEFAULT_ENV,
                   help="environment: a short id (Restaurant-Env2-v0), a full id or an env config YAML path")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for curve.json, curve.png, session.jsonl")
    p.add_argument("--json", action="store_true", help='print {"curve": [{"dialogues", "success_rate", '
                                                       '"corrections"}, ...]} (progress goes to stderr)')
    p.add_argument("--minari", metavar="DATASET_ID", help="also write the session as this Minari dataset under "
                                                          "OUT/minari (needs the minari extra)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--reuse", action="store_true",
                   help="keep OUT/curve.json if it was made from the same inputs (settings, code, environment "
                        "config and data, hyperparameters, library versions: its fingerprint) and only add this "
                        "run to its history; otherwise compute it (again) and say what changed")
    p.set_defaults(func=run, extras=EXTRAS)


def run(args: argparse.Namespace) -> int:
    import sys
    import time
    from pathlib import Path

    import torch

    from agents.cells import changed_parts
    from agents.hyperparams import load_hyperparams
    from agents.imitation import learning_curve, plot_curve
    from agents.provenance import (
        INPUT_PARTS,
        earlier_sessions,
        hardware,
        path_sha256,
        run_inputs,
        session_record,
    )
    from dialog_gym.errors import DialogGymError
    from dialog_gym.utils import read_json, write_json

    if args.stories and args.start != "pretrained":
        raise UsageError("--stories goes with --start pretrained")
    if args.stories and not Path(args.stories).exists():
        raise DialogGymError(f"{args.stories}: no such stories file")
    if args.stories:
        check_readable(args.stories, "a Rasa markdown story file", folder_ok=True)
    check_output(args.out, "--out", folder=True)
    args.env.make().close()  # a broken env config fails now, before anything is printed or written
    torch.set_num_threads(1)  # tiny networks: one thread is fastest (and the machine is shared)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    stream = sys.stderr if args.json else sys.stdout  # under --json stdout holds only the JSON object
    inputs = run_inputs({"teacher": args.teacher, "start": args.start, "learner": args.learner, "mode": args.mode,
                         "beta": args.beta, "error_rate": args.error_rate, "dialogues": args.dialogues,
                         "eval_episodes": args.eval_episodes, "seed": args.seed, "env": args.env.to_json(),
                         "stories": path_sha256(args.stories) if args.stories else None, "minari": args.minari},
                        args.env, load_hyperparams("maskable_ppo", args.env.id) if args.learner == "sb3" else None)
    started = time.time()
    earlier = read_json(out / "curve.json") if (out / "curve.json").is_file() else None
    if args.reuse and isinstance(earlier, dict) and earlier.get("inputs") == inputs:
        earlier["history"] = [*earlier_sessions(out / "curve.json"), session_record(started, hardware(), reused=True)]
        write_json(out / "curve.json", earlier)
        note(f"{out / 'curve.json'}: made from the same inputs, reused (without --reuse it is recomputed)")
        if args.json:
            print_json(_curve_summary(earlier) | {"reused": True})
        return 0
    if args.reuse and isinstance(earlier, dict):
        why = changed_parts(earlier.get("inputs") or {}, inputs, INPUT_PARTS)
        note(f"{out / 'curve.json'}: recomputed ({', '.join(why)} changed)")

    def progress(entry: dict) -> None:
        if not args.quiet:
            c = "-" if entry["corrections"] is None else entry["corrections"]
            print(f"after {entry['dialogues']:3d} of {args.dialogues} dialogue(s): learner alone "
                  f"{entry['success_rate']:6.1%} success; corrections in the dialogue: {c}  [{entry['seconds']:.0f}s]",
                  file=stream, flush=True)

    if not args.quiet:
        print(f"preparing the {args.start} learner and evaluating it on {args.eval_episodes} dialogues ...",
              file=stream, flush=True)

    result = learning_curve(start=args.start, dialogues=args.dialogues, seed=args.seed,
                            eval_episodes=args.eval_episodes, stories=args.stories, learner=args.learner,
                            beta=args.beta, mode=args.mode, env_id=args.env,
                            error_rate=args.error_rate,
                            out=out, progress=progress, minari_id=args.minari)
    result.update(inputs=inputs, history=[session_record(started, hardware(), reused=False)])
    write_json(out / "curve.json", result)
    plot_curve(result, out / "curve.png")
    if args.json:
        print_json(_curve_summary(result))
    else:
        print(f"wrote {out / 'curve.json'} and {out / 'curve.png'}", file=sys.stdout)
    return 0


def _curve_summary(result: dict) -> dict:
    """What ``--json`` prints of a curve."""
    return {"curve": [{"dialogues": p["dialogues"], "success_rate": p["success_rate"], "corrections": p["corrections"]}
                      for p in result["curve"]]}

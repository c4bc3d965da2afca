"""``dialog-gym tune``: hyperparameter search for an RL algorithm on an environment (Optuna / Ray Tune)."""

from __future__ import annotations

import argparse
from pathlib import Path

from agents.commands.backend_args import add_backend_arguments, check_backend_arguments
from agents.commands.common import (
    DEFAULT_ENV,
    UsageError,
    check_output,
    dialogue_count,
    env_arg,
    format_table,
    positive_int,
    print_json,
    run_seed,
)
from agents.hyperparams import ALGORITHMS

#: the optional extras this command needs (checked before it starts; see agents/extras.py)
EXTRAS = ("rl", "ray", "plots")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tune", help="search an RL algorithm's hyperparameters (Optuna TPE + pruning; Ray Tune with --backend ray)",
        description="Hyperparameter search in the spirit of rl-baselines3-zoo's --optimize: each trial trains "
                    "ALGO with hyperparameters drawn from configs/hyperparams/search/<algo>.yml (on top of "
                    "configs/hyperparams/<algo>.yml) and is evaluated every --eval-every dialogues; Optuna's TPE "
                    "sampler proposes the next trial and a pruner stops the trials that lag behind (serial: "
                    "Optuna's median pruner; ray: Ray Tune's OptunaSearch and ASHA, trials in parallel). Writes "
                    "OUT/best_hyperparams.yml (for 'dialog-gym train --hyperparams'), OUT/trials.csv and .md, "
                    "OUT/trials.png and OUT/tune.json. Needs the ray extra: pip install 'dialog-gym[ray]'.")
    p.add_argument("--algo", required=True, choices=list(ALGORITHMS),
                   help="the algorithm whose hyperparameters to search (as in 'dialog-gym train')")
    p.add_argument("--env", type=env_arg, default=DEFAULT_ENV,
                   help="environment: a short id (Restaurant-Env3-v0), a full id or an env config YAML path")
    p.add_argument("--trials", type=positive_int, default=20, help="trials to run")
    p.add_argument("--dialogues", type=dialogue_count, default=1000, help="training dialogues per trial")
    p.add_argument("--eval-every", type=dialogue_count, default=250,
                   help="training dialogues between evaluations (the pruner's steps)")
    p.add_argument("--eval-episodes", type=dialogue_count, default=50, help="test dialogues per evaluation")
    p.add_argument("--metric", choices=["mean_reward", "success_rate"], default="mean_reward",
                   help="the objective: this metric of the last evaluation, maximised")
    p.add_argument("--search-space", type=Path, metavar="YAML",
                   help="search space (default: configs/hyperparams/search/<algo>.yml)")
    p.add_argument("--seed", type=run_seed, default=0, help="seed of the sampler and of every trial's training")
    add_backend_arguments(p, "trial")
    p.add_argument("--out", required=True, type=Path, help="output folder, e.g. runs/tune_mppo")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=run, extras=EXTRAS)


def run(args: argparse.Namespace) -> int:
    from agents.tuning import TuneSpec, load_space, tune

    if args.dialogues < args.eval_every or args.dialogues % args.eval_every:
        raise UsageError("--dialogues must be a multiple of --eval-every")
    check_backend_arguments(args)
    check_output(args.out, "--out", folder=True)
    load_space(args.algo, args.search_space)  # a bad search space fails now, not after the first trial
    spec = TuneSpec(algo=args.algo, env_id=args.env.id, env_kwargs=args.env.kwargs, out=args.out, trials=args.trials,
                    dialogues=args.dialogues, eval_every=args.eval_every, eval_episodes=args.eval_episodes,
                    seed=args.seed, metric=args.metric, backend=args.backend, address=args.address,
                    workers=args.workers, space=str(args.search_space) if args.search_space else None)
    doc = tune(spec)
    best = doc["best"]
    if args.json:
        print_json({"out": str(args.out), "best": best, "trials": doc["trials"], "wall_time": doc["wall_time"],
                    "best_hyperparams": str(args.out / "best_hyperparams.yml")})
        return 0
    print((args.out / "trials.md").read_text().rstrip())
    counts = {s: sum(t["state"] == s for t in doc["trials"]) for s in ("complete", "pruned", "failed")}
    print(f"\n{len(doc['trials'])} trials ({counts['complete']} complete, {counts['pruned']} pruned, "
          f"{counts['failed']} failed) in {doc['wall_time'] / 60:.1f} min. Best: trial {best['number']}, "
          f"{args.metric} {best['value']:.4g}.")
    print(format_table(["hyperparameter", "best"], [[k, v] for k, v in best["params"].items()]))
    print(f"\nTrain with it: dialog-gym train --algo {args.algo} --env {args.env} --hyperparams "
          f"{args.out / 'best_hyperparams.yml'} --out runs/{args.algo}_tuned")
    return 0

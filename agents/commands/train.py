"""``dialog-gym train``: train an RL agent (PPO, A2C, DQN, MaskablePPO) on an environment."""

from __future__ import annotations

import argparse
from pathlib import Path

from agents.commands.common import (
    DEFAULT_ENV,
    UsageError,
    check_output,
    dialogue_count,
    env_arg,
    format_table,
    masks_note,
    note,
    pct,
    positive_int,
    print_json,
    run_seed,
    step_count,
)
from agents.hyperparams import LEARNERS

#: the optional extras this command needs (checked before it starts; see agents/extras.py)
EXTRAS = ("rl",)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train an RL agent with stable-baselines3 / sb3-contrib",
        description="Train PPO, A2C, DQN (stable-baselines3), MaskablePPO (sb3-contrib) or maskable_dqn (a DQN "
                    "in MaskablePPO's style). MaskablePPO and maskable_dqn only choose "
                    "the actions the environment's mask allows (the actions that make sense at this step; an "
                    "environment with masks off allows all, and they are then plain PPO and DQN); the others must "
                    "learn to avoid senseless actions from the reward. Hyperparameters come "
                    "from configs/hyperparams/<algo>.yml (keyed by env id, with a default); --set overrides them. "
                    "OUT holds best/ and final/ (both loadable by 'dialog-gym rollout --policy OUT'), "
                    "train.json with the learning curve and, with the tensorboard extra installed "
                    "(pip install 'dialog-gym[tensorboard]'), TensorBoard logs in tensorboard/.")
    p.add_argument("--algo", required=True, choices=list(LEARNERS), help="the algorithm")
    p.add_argument("--env", type=env_arg, default=DEFAULT_ENV,
                   help="environment: a short id (Restaurant-Env3-v0), a full id or an env config YAML path")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--timesteps", type=step_count, help="training steps (default: n_timesteps of the YAML)")
    budget.add_argument("--dialogues", type=dialogue_count, help="training dialogues instead of steps")
    p.add_argument("--seed", type=run_seed, default=0, help="seed of the model and the training environments")
    p.add_argument("--n-envs", type=positive_int, help="parallel training environments (default: the YAML's)")
    p.add_argument("--warm-start", metavar="rule|stories:FILE",
                   help="warm start: before RL, behaviour-clone the policy network from the rule expert's "
                        "dialogues (rule) or a story file's (stories:FILE), so RL starts from a policy that "
                        "already succeeds instead of from random behaviour")
    p.add_argument("--warm-start-mode", choices=["conservative", "naive"], default="conservative",
                   help="conservative: also pre-train the value head and fine-tune with small steps; naive: clone "
                        "the policy only (configs/hyperparams/warm_start.yml)")
    p.add_argument("--eval-every", type=dialogue_count, default=250, help="training dialogues between evaluations")
    p.add_argument("--eval-episodes", type=dialogue_count, default=100, help="test dialogues per evaluation")
    p.add_argument("--hyperparams", type=Path, metavar="YAML",
                   help="hyperparameter file in the rl-zoo format instead of configs/hyperparams/<algo>.yml, e.g. "
                        "the best_hyperparams.yml that 'dialog-gym tune' writes")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a hyperparameter (YAML value syntax), e.g. --set learning_rate=1e-4")
    p.add_argument("--resume", action="store_true", help="continue from OUT/final if it exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--out", required=True, type=Path, help="output folder, e.g. runs/mppo")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=run, extras=EXTRAS)


def parse_overrides(items: list[str], algo: str) -> dict:
    """``--set KEY=VALUE`` items as hyperparameter overrides, each checked against what ``algo`` accepts
    (a wrong key, type or range is a usage error before anything is built)."""
    import yaml

    from agents.hyperparams import META_KEYS, check_value, coerce_number, constructor_keys, parse_policy_kwargs
    from dialog_gym.errors import ConfigError

    allowed = META_KEYS | constructor_keys(algo)
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set expects KEY=VALUE, got {item!r}")
        if key not in allowed:
            raise UsageError(f"--set {key}: not a hyperparameter of {algo} "
                             f"(expected one of {', '.join(sorted(allowed))})")
        try:
            out[key] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise UsageError(f"--set {key}: cannot parse {value!r}") from None
        try:
            if key == "policy_kwargs":
                parse_policy_kwargs(out[key], f"--set {key}")
            else:
                check_value(algo, key, coerce_number(out[key]), f"--set {key}")
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
    return out


def run(args: argparse.Namespace) -> int:
    from agents.rl_training import TrainSpec, tensorboard_available, train

    overrides = parse_overrides(args.set, args.algo)
    check_output(args.out, "--out", folder=True)
    if args.warm_start and args.warm_start != "rule" and not args.warm_start.startswith("stories:"):
        raise UsageError(f"--warm-start must be 'rule' or 'stories:FILE', got {args.warm_start!r}")
    remark = masks_note(args.algo, args.env)
    if remark:
        note(remark)
    spec = TrainSpec(algo=args.algo, env_id=args.env.id, env_kwargs=args.env.kwargs, out=args.out,
                     timesteps=args.timesteps, dialogues=args.dialogues, seed=args.seed, n_envs=args.n_envs,
                     overrides=overrides, warm_start=args.warm_start, warm_start_mode=args.warm_start_mode,
                     hyperparams=str(args.hyperparams) if args.hyperparams else None, eval_every=args.eval_every,
                     eval_episodes=args.eval_episodes, resume=args.resume, progress=not args.no_progress)
    result = train(spec)
    if args.json:
        print_json({"out": str(result.out), "env": args.env.id, "env_kwargs": args.env.kwargs, "note": remark,
                    "curve": result.curve, "best": result.best, "final": result.final,
                    "dialogues": result.dialogues, "timesteps": result.timesteps,
                    "demonstrations": result.demonstrations, "wall_time": result.wall_time})
        return 0
    rows = [[p["dialogues"], p["timesteps"], pct(p["success_rate"], p["success_ci95"]), f"{p['mean_bot_actions']:.1f}",
             f"{p['mean_reward']:.2f}"] for p in result.curve]
    print(format_table(["dialogues", "timesteps", "success [95% CI]", "bot actions", "reward"], rows))
    if remark:
        print(f"note: {remark}")
    print(f"\n{args.algo} on {args.env}: {result.dialogues} training dialogues, {result.timesteps} steps, "
          f"{result.wall_time:.0f} s. Best: {pct(result.best['success_rate'])} -> {args.out / 'best'}")
    if not tensorboard_available():
        print("TensorBoard logging was off: pip install 'dialog-gym[tensorboard]' to have it.")
    return 0

"""``dialog-gym train``: train an RL agent (PPO, A2C, DQN, MaskablePPO) on an environment."""

from __future__ import annotations

import argparse
from pathlib import Path

from agents.commands.common import env_id, format_table, pct, positive_int, print_json
from dialog_gym.envs import DEFAULT_ENV_ID


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train an RL agent with stable-baselines3 / sb3-contrib",
        description="Train PPO, A2C, DQN (stable-baselines3) or MaskablePPO (sb3-contrib). Hyperparameters come "
                    "from configs/hyperparams/<algo>.yml (keyed by env id, with a default); --set overrides them. "
                    "OUT holds best/ and final/ (both loadable by 'dialog-gym rollout --policy OUT'), "
                    "train.json with the learning curve and, with the tensorboard extra installed "
                    "(pip install 'dialog-gym[tensorboard]'), TensorBoard logs in tensorboard/.")
    p.add_argument("--algo", required=True, choices=["ppo", "a2c", "dqn", "maskable_ppo"])
    p.add_argument("--env", type=env_id, default=DEFAULT_ENV_ID)
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--timesteps", type=positive_int, help="training steps (default: n_timesteps of the YAML)")
    budget.add_argument("--dialogues", type=positive_int, help="training dialogues instead of steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-envs", type=positive_int, help="parallel training environments (default: the YAML's)")
    p.add_argument("--warm-start", metavar="rule|stories:FILE",
                   help="behaviour-clone the policy from the rule expert's or a story file's dialogues first")
    p.add_argument("--warm-start-mode", choices=["conservative", "naive"], default="conservative")
    p.add_argument("--eval-every", type=positive_int, default=250, help="training dialogues between evaluations")
    p.add_argument("--eval-episodes", type=positive_int, default=100)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a hyperparameter (YAML value syntax), e.g. --set learning_rate=1e-4")
    p.add_argument("--resume", action="store_true", help="continue from OUT/final if it exists")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=run)


def parse_overrides(items: list[str]) -> dict:
    import yaml

    from dialog_gym.errors import ConfigError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ConfigError(f"--set {key}: cannot parse {value!r}") from None
    return out


def run(args: argparse.Namespace) -> int:
    from agents.rl_training import TrainSpec, tensorboard_available, train

    spec = TrainSpec(algo=args.algo, env_id=args.env, out=args.out, timesteps=args.timesteps,
                     dialogues=args.dialogues, seed=args.seed, n_envs=args.n_envs,
                     overrides=parse_overrides(args.set), warm_start=args.warm_start,
                     warm_start_mode=args.warm_start_mode, eval_every=args.eval_every,
                     eval_episodes=args.eval_episodes, resume=args.resume, progress=not args.no_progress)
    result = train(spec)
    if args.json:
        print_json({"out": str(result.out), "curve": result.curve, "best": result.best, "final": result.final,
                    "dialogues": result.dialogues, "timesteps": result.timesteps,
                    "demonstrations": result.demonstrations, "wall_time": result.wall_time})
        return 0
    rows = [[p["dialogues"], p["timesteps"], pct(p["success_rate"], p["success_ci95"]), f"{p['mean_bot_actions']:.1f}",
             f"{p['mean_reward']:.2f}"] for p in result.curve]
    print(format_table(["dialogues", "timesteps", "success [95% CI]", "bot actions", "reward"], rows))
    print(f"\n{args.algo} on {args.env}: {result.dialogues} training dialogues, {result.timesteps} steps, "
          f"{result.wall_time:.0f} s. Best: {pct(result.best['success_rate'])} -> {args.out / 'best'}")
    if not tensorboard_available():
        print("TensorBoard logging was off: pip install 'dialog-gym[tensorboard]' to have it.")
    return 0

"""``dialog-gym rollout``: run an agent for N dialogues and report success, turns and reward."""

from __future__ import annotations

import argparse

from agents.commands.common import env_id, format_table, pct, positive_int, print_json
from dialog_gym.envs import DEFAULT_ENV_ID


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rollout", help="run an agent in an environment and report its success rate",
                       description="Run an agent (rule, random, or a saved policy folder) for N dialogues "
                                   "per seed; optionally write the dialogues as Rasa markdown stories.")
    p.add_argument("--env", type=env_id, default=DEFAULT_ENV_ID, help="environment id")
    p.add_argument("--policy", default="rule", help="rule, random, or the folder of a saved policy/model")
    p.add_argument("--episodes", type=positive_int, default=100, help="dialogues per seed")
    p.add_argument("--seed", type=int, default=0, help="first seed")
    p.add_argument("--seeds", type=positive_int, default=1, help="number of seeds (seed, seed+1, ...)")
    p.add_argument("--stories-out", metavar="FILE", help="write the dialogues (of the first seed) as stories")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import gymnasium as gym

    from agents.evaluation_sim import evaluate_agent
    from agents.loading import make_agent
    from dialog_gym.rollout import run_episodes
    from dialog_gym.seeds import episode_seed
    from dialog_gym.stories import write_stories

    summary = evaluate_agent(lambda env: make_agent(args.policy, env, seed=args.seed), args.env, args.episodes,
                             seeds=range(args.seed, args.seed + args.seeds))
    if args.stories_out:
        env = gym.make(args.env)
        start = episode_seed(args.seed, 0)
        _, dialogues = run_episodes(env, make_agent(args.policy, env, seed=args.seed), args.episodes, start,
                                    keep_events=True)
        write_stories(args.stories_out, [(f"rollout_{start + i:07d}", ev) for i, ev in enumerate(dialogues)],
                      domain=env.unwrapped.domain)
        summary["stories_out"] = args.stories_out
    summary["policy"] = args.policy
    if args.json:
        print_json(summary)
        return 0
    print(format_table(
        ["env", "policy", "episodes", "success [95% CI]", "turns", "bot actions", "reward"],
        [[args.env, args.policy, summary["episodes"], pct(summary["success_rate"], summary["success_ci95"]),
          f"{summary['mean_turns']:.1f}", f"{summary['mean_bot_actions']:.1f}", f"{summary['mean_reward']:.2f}"]]))
    if args.stories_out:
        print(f"wrote {args.episodes} stories to {args.stories_out}")
    return 0

"""``dialog-gym rollout``: run an agent in an environment and report its success rate.

A saved model records the environment it was trained on (``agent.json`` of a ``train`` run,
``policy.json`` of ``train-policy``); without ``--env`` the rollout runs it there and says so. With
another ``--env`` it runs there too, with a one-line note: testing a model under another setting (e.g.
trained without noise, tested with it) is a legitimate experiment, so a mismatch is a note, not an
error. Environments whose observation or action spaces differ from the model's are an error.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agents.commands.common import (
    DEFAULT_ENV,
    check_output,
    check_seed_range,
    dialogue_count,
    env_arg,
    format_table,
    note,
    pct,
    positive_int,
    print_json,
    run_seed,
    saved_env,
)
from agents.commands.llm_args import add_llm_arguments, check_llm_arguments, llm_settings
from agents.llm_agent import is_llm_agent
from dialog_gym.envs import EnvRef


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rollout", help="run an agent in an environment and report its success rate",
                       description="Run an agent (rule, random, or a saved policy folder) for N dialogues "
                                   "per seed; optionally write the dialogues as Rasa markdown stories. "
                                   + " ".join(__doc__.split("\n\n")[1].replace("``", "").split()))
    p.add_argument("--env", type=env_arg, default=None,
                   help="environment: a short id (Restaurant-Env3-v0), a full id or an env config YAML path "
                        f"(default: the environment a saved --policy was trained on, else {DEFAULT_ENV})")
    p.add_argument("--policy", default="rule",
                   help="rule, random, the folder of a saved policy/model, or (with --interface chat) openai:MODEL, "
                        "a language model behind an OpenAI-compatible endpoint (see --base-url)")
    p.add_argument("--episodes", type=dialogue_count, default=100, help="dialogues per seed")
    p.add_argument("--seed", type=run_seed, default=0, help="first seed")
    p.add_argument("--seeds", type=positive_int, default=1, help="number of seeds (seed, seed+1, ...)")
    p.add_argument("--n-envs", type=positive_int, default=1,
                   help="run the dialogues over a Gymnasium vector env of N sub-environments (same results for "
                        "any N: each dialogue keeps its reset seed; SB3 models predict in batches)")
    p.add_argument("--async", dest="asynchronous", action="store_true",
                   help="with --n-envs: one process per sub-environment (AsyncVectorEnv)")
    p.add_argument("--stories-out", metavar="FILE", help="write the dialogues (of the first seed) as stories")
    p.add_argument("--interface", choices=("vector", "chat"), default="vector",
                   help="vector: the agent gets observations and picks action indices; chat: the dialogues run "
                        "through the chat interface for language-model agents (tool calls, English; turn-level "
                        "envs only: PyDial and summary-act ids), where --policy rule sends the rule expert's "
                        "act as a tool call and gives the same numbers as vector")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (with each dialogue's result under 'dialogues')")
    p.add_argument("--trials", type=positive_int, metavar="K",
                   help="with --policy openai:MODEL: play each customer K times (the same reset seed) and report "
                        "pass^k for k = 1..K beside success (default: 1)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="with --policy openai:MODEL (required there): OUT/transcripts.jsonl, one line per dialogue as "
                        "it ends, and OUT/summary.json; a rerun with the same settings plays only what is missing")
    p.add_argument("--fresh", action="store_true",
                   help="with --policy openai:MODEL: start OUT/transcripts.jsonl anew instead of resuming it")
    add_llm_arguments(p)
    p.set_defaults(func=run)


def choose_env(requested: EnvRef | None, policy: str) -> tuple[EnvRef, str | None]:
    """The environment to run ``policy`` in, and a note saying where it came from (None: nothing to say)."""
    from agents.commands.common import UsageError

    saved = saved_env(policy) if policy not in ("rule", "random") else None
    if saved is None:
        return requested or env_arg(DEFAULT_ENV), None
    trained = EnvRef(saved[0], saved[1])
    if requested is None:
        return trained, f"running {policy} in {trained}, the environment it was trained on ({saved[2]})"
    if requested == trained:
        return requested, None
    a, b = requested.make(), trained.make()
    same_spaces = a.observation_space == b.observation_space and a.action_space == b.action_space
    a.close()
    b.close()
    if not same_spaces:
        raise UsageError(f"{policy} was trained on {trained}, whose observation or action space differs from "
                         f"{requested}'s: it cannot act there")
    return requested, (f"{policy} was trained on {trained} but runs in {requested} (--env): the numbers are "
                       f"for {requested}")


def check_chat_env(env: EnvRef) -> None:
    """The chat interface runs turn-level environments only (one line otherwise)."""
    from agents.commands.common import UsageError

    if env.family().acts != "summary":
        raise UsageError(f"--interface chat runs turn-level environments (PyDial and summary-act ids); "
                         f"{env} is not one")


def run(args: argparse.Namespace) -> int:
    import warnings

    from agents.commands.common import UsageError
    from agents.evaluation_sim import evaluate_agent
    from agents.loading import BUILTIN_AGENTS, make_agent
    from dialog_gym.envs import dialogue_env_of
    from dialog_gym.rollout import run_episodes
    from dialog_gym.seeds import episode_seed
    from dialog_gym.stories import write_stories

    if is_llm_agent(args.policy):
        return run_llm(args)
    check_llm_arguments(args, False, "--policy openai:MODEL")
    for option, given in (("--trials", args.trials), ("--out", args.out), ("--fresh", args.fresh)):
        if given:
            raise UsageError(f"{option}: only with --policy openai:MODEL")
    if args.policy not in BUILTIN_AGENTS and not Path(args.policy).exists():
        raise UsageError(f"--policy: unknown agent {args.policy!r}: expected one of {', '.join(BUILTIN_AGENTS)}, "
                         "the folder of a saved policy, or the output folder of 'dialog-gym train'")
    check_seed_range(args.seed, args.seeds, "--seeds")
    if args.stories_out:
        check_output(args.stories_out, "--stories-out", folder=False)
    env, remark = choose_env(args.env, args.policy)
    chat_agent = None
    if args.interface == "chat":
        from dialog_gym.chat import rule_agent

        if args.policy != "rule":
            raise UsageError(f"--interface chat: --policy must be rule (got {args.policy!r})")
        if args.stories_out:
            raise UsageError("--interface chat: --stories-out is for the vector interface")
        check_chat_env(env)
        chat_agent = rule_agent
    warnings.filterwarnings("ignore", message=".* was trained on ")  # said above, in one line
    summary = evaluate_agent(lambda e: make_agent(args.policy, e, seed=args.seed), env, args.episodes,
                             seeds=range(args.seed, args.seed + args.seeds), chat_agent=chat_agent,
                             n_envs=args.n_envs, asynchronous=args.asynchronous, per_dialogue=args.json)
    if args.stories_out:
        gym_env = env.make(info_tracker=True)  # the stories are the trackers' events
        _, dialogues = run_episodes(gym_env, make_agent(args.policy, gym_env, seed=args.seed), args.episodes,
                                    args.seed, keep_events=True)
        write_stories(args.stories_out, [(f"rollout_{episode_seed(args.seed, i):07d}", ev)
                                         for i, ev in enumerate(dialogues)],
                      domain=dialogue_env_of(gym_env).domain)
        summary["stories_out"] = args.stories_out
    summary["policy"] = args.policy
    summary["n_envs"] = args.n_envs
    summary["interface"] = args.interface
    summary["env_kwargs"] = env.kwargs
    if remark:
        summary["note"] = remark
    if args.json:
        print_json(summary)
        return 0
    print(format_table(
        ["env", "policy", "episodes", "success [95% CI]", "turns", "bot actions", "reward"],
        [[str(env), args.policy, summary["episodes"], pct(summary["success_rate"], summary["success_ci95"]),
          f"{summary['mean_turns']:.1f}", f"{summary['mean_bot_actions']:.1f}", f"{summary['mean_reward']:.2f}"]]))
    if remark:
        print(f"note: {remark}")
    if args.stories_out:
        print(f"wrote {args.episodes} stories to {args.stories_out}")
    return 0


def run_llm(args: argparse.Namespace) -> int:
    """``rollout --interface chat --policy openai:MODEL``: the dialogues against the endpoint (see
    :mod:`agents.llm_agent`), the transcripts and summary in ``--out``, a table with success and pass^k."""
    import sys

    from agents.commands.common import UsageError
    from agents.llm_agent import (
        import_openai,
        model_of,
        plan_dialogues,
        play_dialogues,
        run_settings,
        settings_json,
        summarize_lines,
    )
    from agents.provenance import code_fingerprint
    from dialog_gym import __version__
    from dialog_gym.errors import DialogGymError
    from dialog_gym.seeds import episode_seed
    from dialog_gym.utils import write_json

    try:
        model = model_of(args.policy)
    except DialogGymError as exc:
        raise UsageError(f"--policy: {exc}") from None
    if args.interface != "chat":
        raise UsageError(f"--policy {args.policy} plays through the chat interface: add --interface chat")
    for option, given in (("--stories-out", args.stories_out), ("--n-envs", args.n_envs != 1),
                          ("--async", args.asynchronous)):
        if given:
            raise UsageError(f"{option}: not with --policy openai:MODEL (--concurrency sets the dialogues at once)")
    if args.out is None:
        raise UsageError(f"--policy {args.policy} needs --out DIR (where its transcripts and summary go)")
    check_seed_range(args.seed, args.seeds, "--seeds")
    check_output(args.out, "--out", folder=True)
    env = args.env or env_arg(DEFAULT_ENV)
    check_chat_env(env)
    import_openai()
    settings = llm_settings(args, model)
    trials = args.trials or 1
    seeds = list(range(args.seed, args.seed + args.seeds))
    dialogues = plan_dialogues(seeds, args.episodes, trials, episode_seed)
    progress = sys.stderr.isatty() and not args.json
    done = [0]

    def show(line: dict) -> None:
        done[0] += 1
        print(f"\r{done[0]} dialogues played", end="", file=sys.stderr, flush=True)

    run = run_settings(env, settings, seeds, episode_seed.name)
    try:
        lines = play_dialogues(env, settings, dialogues, args.out, run, fresh=args.fresh, note=note,
                               on_line=show if progress else None)
    finally:
        if progress and done[0]:
            print(file=sys.stderr)
    summary = summarize_lines(lines, seeds, trials)
    doc = {"env": str(env), "env_kwargs": env.kwargs, "policy": args.policy, "interface": "chat",
           "episodes": args.episodes, "seeds": seeds, "seed_stream": episode_seed.name, **summary,
           "settings": settings_json(settings), "dialog_gym_version": __version__,
           "code_fingerprint": code_fingerprint()["sha256"], "out": str(args.out)}
    write_json(args.out / "summary.json", doc)
    if args.json:
        print_json(doc)
    else:
        print(llm_table(doc))
    if summary["errors"]:
        note(f"{summary['errors']} of {summary['dialogues']} dialogues ended in an error (not counted in success or "
             f"pass^k; in {args.out / 'transcripts.jsonl'}): {summary['error_messages'][0]}; the same command "
             "plays them again")
        return 1
    return 0


def llm_table(doc: dict) -> str:
    """The table of a language-model rollout: success and pass^k with their intervals, errors, turns, tokens
    (``-`` where no dialogue finished)."""
    trials = doc["trials"]
    passes = {k: v for k, v in doc["pass_k"].items() if k != "1"}

    def cell(value: float | None, ci: list | None) -> str:
        return "-" if value is None else pct(value, ci)

    header = ["env", "policy", "customers x trials", "success [95% CI]",
              *(f"pass^{k} [95% CI]" for k in passes), "errors", "bad calls", "turns", "reward", "tokens in/out"]
    row = [doc["env"], doc["policy"], f"{doc['customers']} x {trials}", cell(doc["success_rate"], doc["success_ci95"]),
           *(cell(v["value"], v["ci95"]) for v in passes.values()), str(doc["errors"]), str(doc["tool_errors"]),
           "-" if doc["mean_turns"] is None else f"{doc['mean_turns']:.1f}",
           "-" if doc["mean_reward"] is None else f"{doc['mean_reward']:.2f}",
           f"{doc['tokens']['prompt']:,}/{doc['tokens']['completion']:,}"]
    interval = ("Wilson over dialogues" if trials == 1 else
                "percentile bootstrap over customers (2000 resamples)")
    return format_table(header, [row]) + f"\n95% intervals: {interval}; transcripts in {doc['out']}/transcripts.jsonl"

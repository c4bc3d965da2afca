"""``dialog-gym bench-env``: environment speed against Gymnasium's Taxi, measured in the same run.

Single-environment steps per second through ``gym.make``. Both environments are stepped by the same
loop, with actions drawn uniformly from those their ``info["action_mask"]`` allows (Taxi-v4 provides
one too), resetting at episode ends. Measurements alternate between the two environments and are
repeated; the medians and their ratio are reported (ratio >= 1.0: a dialogue step costs no more than a
Taxi step). The clock is the process's CPU time by default, so that other processes on a shared machine
do not count (``--clock wall`` for elapsed time); even so, compare the ratio, not absolute numbers.
"""

from __future__ import annotations

import argparse
import statistics
import time

from agents.commands.common import DEFAULT_ENV, UsageError, env_arg, positive_int, print_json, step_count
from agents.provenance import hardware
from dialog_gym.envs import EnvRef


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench-env", help="steps per second of an environment against Taxi-v4",
                       description=" ".join(__doc__.split("\n\n")[1].split()))
    p.add_argument("--env", type=env_arg, default=DEFAULT_ENV,
                   help="environment: a short id, a full id or an env config YAML path")
    p.add_argument("--reference", default="Taxi-v4", help="the Gymnasium environment to compare with")
    p.add_argument("--steps", type=step_count, default=100_000, help="steps per measurement")
    p.add_argument("--repeats", type=positive_int, default=5, help="measurements per environment")
    p.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                   help="cpu: CPU time of this process (default; robust to other load); wall: elapsed time")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


#: the clocks a measurement can use
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def steps_per_second(env_id: str, steps: int, seed: int = 0, env_kwargs: dict | None = None,
                     clock: str = "cpu") -> float:
    import gymnasium as gym
    import numpy as np

    import dialog_gym  # noqa: F401  (registers the environments)
    from dialog_gym.agent import sample_allowed

    env = gym.make(env_id, **(env_kwargs or {}))
    rng = np.random.default_rng(seed)
    _, info = env.reset(seed=seed)
    env.action_space.seed(seed)
    now = CLOCKS[clock]
    start = now()
    for _ in range(steps):
        if "action_mask" not in info:  # a reference without masks: uniform over its action space
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
        else:
            _, _, terminated, truncated, info = env.step(sample_allowed(rng, info["action_mask"]))
        if terminated or truncated:
            _, info = env.reset()
    elapsed = now() - start
    env.close()
    return steps / elapsed


def measure(env_id: str, reference: str, steps: int, repeats: int, env_kwargs: dict | None = None,
            clock: str = "cpu") -> dict:
    ours, ref = [], []
    for i in range(repeats):  # interleaved, so a drifting machine load hits both alike
        ours.append(steps_per_second(env_id, steps, seed=i, env_kwargs=env_kwargs, clock=clock))
        ref.append(steps_per_second(reference, steps, seed=i, clock=clock))
    return {
        "env": env_id, "reference": reference, "steps": steps, "repeats": repeats, "clock": clock,
        "env_steps_per_second": statistics.median(ours), "reference_steps_per_second": statistics.median(ref),
        "ratio": statistics.median(ours) / statistics.median(ref),
        "ratios": [o / r for o, r in zip(ours, ref, strict=True)],
        "hardware": hardware(),
    }


def run(args: argparse.Namespace) -> int:
    import gymnasium as gym

    if args.reference not in gym.registry:
        raise UsageError(f"--reference: unknown Gymnasium environment {args.reference!r}")
    env: EnvRef = args.env
    result = measure(env.id, args.reference, args.steps, args.repeats, env.kwargs, args.clock)
    result["env_kwargs"] = env.kwargs
    if args.json:
        print_json(result)
    else:
        print(f"{args.env}: {result['env_steps_per_second']:,.0f} steps/s (median of {args.repeats})")
        print(f"{args.reference}: {result['reference_steps_per_second']:,.0f} steps/s")
        print(f"ratio: {result['ratio']:.2f} (target >= 1.0); per repeat: "
              + ", ".join(f"{r:.2f}" for r in result["ratios"]))
        machine = result["hardware"]
        print(f"clock: {args.clock} time; {machine['cpu']}, Python {machine['python']}, "
              f"Gymnasium {machine['gymnasium']}")
    return 0

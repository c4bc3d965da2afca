"""Episode statistics: the consequences of the one success definition, reported everywhere alike.

An episode's success is ``info["success"]`` at its end (the simulated user confirmed a correct
reservation, ``SimulatedUser.reservation_ok``); rewards come from the environment's reward config.
Evaluation, the benchmark and the CLI all summarise episodes with :func:`summarize`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

# two-sided 95% Student-t quantiles for small samples (df = 1..30); 1.96 beyond
_T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042]


@dataclass(frozen=True)
class EpisodeResult:
    """What one dialogue came to."""

    success: bool
    reward: float          # undiscounted return
    turns: int             # user turns
    steps: int             # environment steps (every action, listens included)
    bot_actions: int       # bot actions other than action_listen
    invalid_actions: int   # masked actions attempted
    gave_up: bool          # the user ran out of patience or turns
    truncated: bool        # the step limit ended it

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (sensible at 0% and 100%, unlike Wald's)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def t_interval(values: Sequence[float]) -> tuple[float, float, float]:
    """Mean and 95% Student-t interval of per-seed values: ``(mean, low, high)``."""
    n = len(values)
    if n == 0:
        return (math.nan, math.nan, math.nan)
    mean = sum(values) / n
    if n == 1:
        return (mean, mean, mean)
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    t = _T95[n - 2] if n - 1 <= len(_T95) else 1.96
    half = t * math.sqrt(var / n)
    return (mean, mean - half, mean + half)


def summarize(results: Sequence[EpisodeResult]) -> dict[str, Any]:
    """Success rate with its 95% Wilson interval, mean turns, bot actions and reward."""
    n = len(results)
    if n == 0:
        raise ValueError("no episodes to summarize")
    wins = sum(r.success for r in results)
    lo, hi = wilson_interval(wins, n)
    mean = lambda xs: sum(xs) / n  # noqa: E731
    return {
        "episodes": n,
        "success_rate": wins / n,
        "success_ci95": [lo, hi],
        "mean_turns": mean([r.turns for r in results]),
        "mean_bot_actions": mean([r.bot_actions for r in results]),
        "mean_steps": mean([r.steps for r in results]),
        "mean_reward": mean([r.reward for r in results]),
        "invalid_action_rate": sum(r.invalid_actions for r in results) / max(1, sum(r.steps for r in results)),
        "gave_up_rate": sum(r.gave_up for r in results) / n,
        "truncated_rate": sum(r.truncated for r in results) / n,
    }


def summarize_seeds(per_seed: Sequence[Sequence[EpisodeResult]]) -> dict[str, Any]:
    """Pooled summary plus the across-seed mean and 95% t-interval of the success rate."""
    pooled = summarize([r for seed in per_seed for r in seed])
    rates = [summarize(seed)["success_rate"] for seed in per_seed]
    mean, lo, hi = t_interval(rates)
    pooled.update({"seeds": len(per_seed), "seed_success_rates": rates,
                   "seed_success_mean": mean, "seed_success_ci95": [lo, hi]})
    return pooled

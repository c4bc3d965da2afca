"""pass^k, τ-bench's measure of consistency: the chance that *all* k trials of the same customer succeed.

Each customer (one reset seed: the same goal, and the same noise given the same acts) is played n times.
With c successes among its n trials, the unbiased estimate of the chance that k trials drawn without
replacement all succeed is ``C(c, k) / C(n, k)`` (Yao et al. 2024, τ-bench, eq. 1); pass^k is its mean
over the customers. pass^1 is the success rate; pass^k falls with k unless every customer is solved
always or never.

The interval is a percentile bootstrap over customers (:data:`BOOTSTRAP_RESAMPLES` resamples of the
customers with replacement, the 2.5th and 97.5th percentiles of the resampled means), because the trials of
one customer are not independent of each other: the customer is the unit that was sampled. Its generator is
:func:`dialog_gym.seeds.bootstrap_rng`, so the same numbers always give the same interval. A customer whose
trials were not all finished (an endpoint error) counts for the k up to its number of finished trials.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dialog_gym.seeds import bootstrap_rng

#: resamples of the bootstrap interval (its percentiles move by well under a point between seeds at this size)
BOOTSTRAP_RESAMPLES = 2000


def pass_hat_k(successes: int, trials: int, k: int) -> float:
    """``C(c, k) / C(n, k)``: the chance that k of the customer's n trials, drawn without replacement, all
    succeed (0 when fewer than k succeeded)."""
    if not 1 <= k <= trials or not 0 <= successes <= trials:
        raise ValueError(f"pass^k needs 1 <= k <= trials and 0 <= successes <= trials (k={k}, "
                         f"trials={trials}, successes={successes})")
    return math.comb(successes, k) / math.comb(trials, k)


def bootstrap_interval(values: Sequence[float], seed: int = 0,
                       resamples: int = BOOTSTRAP_RESAMPLES) -> tuple[float, float]:
    """The 95% percentile-bootstrap interval of the mean of ``values`` (one per customer)."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return (math.nan, math.nan)
    rng = bootstrap_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


def pass_k(outcomes: Mapping[Any, Sequence[bool]], max_k: int, seed: int = 0) -> dict[str, dict[str, Any]]:
    """pass^k for k = 1..``max_k`` from each customer's trial outcomes (success True/False, finished trials
    only): ``{"k": {"value", "ci95", "customers"}}``, the customers being those with at least k finished
    trials (value None when there is none)."""
    result: dict[str, dict[str, Any]] = {}
    for k in range(1, max_k + 1):
        per_customer = [pass_hat_k(sum(trials), len(trials), k) for trials in outcomes.values() if len(trials) >= k]
        if not per_customer:
            result[str(k)] = {"value": None, "ci95": None, "customers": 0}
            continue
        low, high = bootstrap_interval(per_customer, seed)
        result[str(k)] = {"value": float(np.mean(per_customer)), "ci95": [low, high], "customers": len(per_customer)}
    return result

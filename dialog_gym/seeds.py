"""Every reset seed the project derives from a run's seed, in one place, so that streams never overlap.

A run's seed ``s`` (a benchmark seed, a training seed, a session seed) names several streams of episode
seeds; each function below is one stream, with the ranges chosen far apart:

=========================  ==================================  ==========================================
stream                     episode ``i`` is reset with          used by
=========================  ==================================  ==========================================
evaluation                 ``s * 100_000 + i``                  ``agents.evaluation_sim``, ``rollout``
benchmark test             evaluation of ``1000 + s``            the benchmark and RL training curves
expert demonstrations      ``500_000 + s + i``                   RL warm start from the rule expert
benchmark expert stories   ``2_000_000 + s * 10_000 + i``        the imitation agents of the benchmark
correction session         ``1_000_000_000 + s * 100_000 + i``   ``dialog_gym.wrappers`` sessions
=========================  ==================================  ==========================================

An agent's own randomness (the random agent) is not a reset seed: :func:`agent_rng` gives it one
generator per dialogue from the agent's seed and the dialogue's reset seed, a stream apart from the
environment's generator of that dialogue.
"""

from __future__ import annotations

import numpy as np

#: episodes one evaluation seed may run before the next seed's episodes begin
SEED_STRIDE = 100_000
#: the benchmark (and RL training curves) test seed ``s`` on evaluation seed ``TEST_SEED_OFFSET + s``
TEST_SEED_OFFSET = 1000
#: first reset seed of a session's dialogues: far from every evaluation seed
SESSION_SEED_BASE = 1_000_000_000


def episode_seed(seed: int, index: int) -> int:
    """Reset seed of episode ``index`` of evaluation seed ``seed``."""
    return seed * SEED_STRIDE + index


def benchmark_eval_seed(seed: int) -> int:
    """The evaluation seed on which the benchmark tests every agent of its seed ``seed``."""
    return TEST_SEED_OFFSET + seed


def demonstration_seed(seed: int) -> int:
    """First reset seed of the rule expert's warm-start demonstrations for training seed ``seed``."""
    return 500_000 + seed


def benchmark_story_seed(seed: int) -> int:
    """First reset seed of the expert dialogues the benchmark's imitation agents learn from."""
    return 2_000_000 + seed * 10_000


def dialogue_seed(seed: int, dialogue: int) -> int:
    """Reset seed of the ``dialogue``-th dialogue of a correction session with seed ``seed``."""
    return SESSION_SEED_BASE + seed * SEED_STRIDE + dialogue


#: the first word of every agent generator's seed sequence: keeps them apart from the environments' generators
AGENT_STREAM = 0xA6E27


def agent_rng(seed: int, reset_seed: int | None) -> np.random.Generator:
    """The generator of an agent with seed ``seed`` in the dialogue reset with ``reset_seed`` (None: the
    agent's stream across dialogues): seeded with the words ``(AGENT_STREAM, seed[, reset_seed])``, never
    the single word an environment's ``reset(seed=...)`` uses, so agent and environment draw apart."""
    words = [AGENT_STREAM, seed] if reset_seed is None else [AGENT_STREAM, seed, reset_seed]
    return np.random.default_rng(words)

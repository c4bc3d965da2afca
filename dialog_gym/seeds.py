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
"""

from __future__ import annotations

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

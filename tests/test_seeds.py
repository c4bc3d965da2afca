"""The seed streams of dialog_gym.seeds: hand-computed values, bounds, and disjointness of every stream
and run seed, proven by enumerating their intervals."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

from dialog_gym import seeds
from dialog_gym.errors import DialogGymError
from dialog_gym.seeds import (
    RUN_SEEDS,
    STREAMS,
    SeedStream,
    benchmark_story_seed,
    benchmark_test_seed,
    calibration_check_seed,
    calibration_seed,
    demonstration_seed,
    dialogue_seed,
    episode_seed,
    expert_dialogue_seed,
    llm_training_seed,
    training_env_seed,
    validation_seed,
)

ROOT = Path(__file__).resolve().parents[1]


def test_hand_computed_values():
    assert episode_seed(0, 7) == 7  # evaluation seed 0 keeps the reset seeds 0, 1, 2, ...
    assert episode_seed(2, 3) == 20_003
    assert training_env_seed(1, 4) == 1_000_100_000_004
    assert demonstration_seed(2, 5) == 2_000_000_200_005
    assert expert_dialogue_seed(0, 99) == 3_000_000_000_099
    assert benchmark_story_seed(1, 0) == 4_000_000_100_000
    assert dialogue_seed(1, 2) == 5_000_000_100_002
    assert calibration_seed(0, 2999) == 6_000_000_002_999
    assert calibration_check_seed(0, 0) == 7_000_000_000_000
    assert validation_seed(3, 1) == 8_000_000_300_001
    assert llm_training_seed(2, 7) == 9_000_000_200_007


def test_the_benchmark_test_stream_keeps_its_published_values():
    """reference/small/results.json was measured on (1000 + s) * 100_000 + i."""
    for s in range(10):
        for i in (0, 1, 499, 99_999):
            assert benchmark_test_seed(s, i) == (1000 + s) * 100_000 + i


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_bounds_raise_the_package_error(stream: SeedStream):
    assert stream(RUN_SEEDS - 1, stream.bound - 1) == stream.interval(RUN_SEEDS - 1)[1] - 1
    for seed, index in ((0, stream.bound), (0, -1), (RUN_SEEDS, 0), (-1, 0)):
        with pytest.raises(DialogGymError, match="seed"):
            stream(seed, index)


def test_every_stream_is_listed():
    found = {name for name, value in vars(seeds).items() if isinstance(value, SeedStream)}
    assert {stream.name for stream in STREAMS} == {vars(seeds)[name].name for name in found}
    assert len({stream.name for stream in STREAMS}) == len(STREAMS)


def _overlaps(intervals: list[tuple[int, int, str, int]]) -> list[str]:
    """Pairs of closed intervals ``(first, last, stream, seed)`` that meet: sorted, each must end before the
    next begins."""
    ordered = sorted(intervals)
    return [f"{name} seed {s} meets {other} seed {t}"
            for (_, last, name, s), (first, _, other, t) in itertools.pairwise(ordered) if last >= first]


def test_all_streams_are_pairwise_disjoint_for_every_run_seed():
    """Each (stream, run seed) owns [stream(s, 0), stream(s, bound - 1)]: 100,000 intervals, none meets another."""
    intervals = []
    for stream in STREAMS:
        for s in range(RUN_SEEDS):
            first, last = stream(s, 0), stream(s, stream.bound - 1)
            assert last - first == stream.bound - 1  # contiguous: every index in between is in the interval
            intervals.append((first, last, stream.name, s))
    assert min(intervals)[0] >= 0
    assert _overlaps(intervals) == []


def test_the_disjointness_check_catches_overlaps():
    """The old streams: warm-start demonstrations ``500_000 + s + i`` (200 a seed) overlap across seeds, and
    evaluation ``s * 100_000 + i`` meets the benchmark's test stream ``(1000 + s) * 100_000 + i`` at s = 1000."""
    warm = [(500_000 + s, 500_000 + s + 199, "warm", s) for s in range(3)]
    assert _overlaps(warm) == ["warm seed 0 meets warm seed 1", "warm seed 1 meets warm seed 2"]
    old_eval = [(s * 100_000, s * 100_000 + 99_999, "evaluation", s) for s in range(1001)]
    old_test = [((1000 + s) * 100_000, (1000 + s) * 100_000 + 99_999, "test", s) for s in range(2)]
    assert _overlaps(old_eval + old_test) == ["evaluation seed 1000 meets test seed 0"]


def _seed_arithmetic(tree: ast.AST) -> list[int]:
    """Lines where a reset seed is computed in place: ``reset(seed=a + b)``, ``run_episode(..., seed=a + b)``,
    ``.seed(a + b)``."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        values = [k.value for k in node.keywords if k.arg == "seed" and name in ("reset", "run_episode")]
        if name == "seed" and node.args:
            values.append(node.args[0])
        lines += [node.lineno for v in values if isinstance(v, ast.BinOp)]
    return lines


def test_no_reset_seed_is_computed_outside_the_streams():
    assert _seed_arithmetic(ast.parse("env.reset(seed=seed + i)\nvec.seed(s + 1)\nenv.reset(seed=f(s, i))")) == [1, 2]
    found = {}
    for folder in ("dialog_gym", "agents", "scripts"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            lines = _seed_arithmetic(ast.parse(path.read_text(encoding="utf-8")))
            if lines:
                found[str(path.relative_to(ROOT))] = lines
    assert found == {}

"""Trajectory equivalence: every registered id replays its golden trajectories bit for bit.

See ``tests/golden_trajectories.py`` for what is hashed and how to regenerate the golden file.
"""

from __future__ import annotations

import pytest

import dialog_gym
from tests import golden_trajectories as golden

GOLDEN = golden.load()


def test_golden_file_covers_every_registered_id():
    missing = [i for i in dialog_gym.env_ids() if i not in GOLDEN["envs"]]
    assert not missing, (f"no golden trajectories for {missing}: run "
                         "`PYTHONPATH=. python -m tests.golden_trajectories --add`")
    assert GOLDEN["seeds"] == list(golden.SEEDS) and GOLDEN["episodes"] == golden.EPISODES


@pytest.mark.parametrize("env_id", sorted(GOLDEN["envs"]))
def test_trajectories_and_transcripts_match_the_golden_file(env_id):
    assert env_id in dialog_gym.env_ids(), f"{env_id} has golden trajectories but is no longer registered"
    for seed, expected in GOLDEN["envs"][env_id].items():
        got = golden.rollout_digests(env_id, int(seed))
        for episode, (want, have) in enumerate(zip(expected["trajectories"], got["trajectories"], strict=True)):
            assert have == want, f"{env_id} seed {seed}: episode {episode} differs from the golden trajectory"
        for episode, (want, have) in enumerate(zip(expected["transcripts"], got["transcripts"], strict=True)):
            assert have == want, f"{env_id} seed {seed}: the transcript of episode {episode} differs"
        assert got["total_reward"] == expected["total_reward"]
        assert got["total_steps"] == expected["total_steps"]

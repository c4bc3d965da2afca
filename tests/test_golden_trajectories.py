"""Trajectory equivalence: every registered id replays its golden trajectories bit for bit.

The digests are stored per versioned id: an id whose trajectories change without a new version fails here
with what to do (see ``tests/golden_trajectories.py`` for what is hashed and how to store a new version).
"""

from __future__ import annotations

import re

import pytest

import dialog_gym
from tests import golden_trajectories as golden

GOLDEN = golden.load()
VERSIONED = re.compile(r"^(?P<name>.+)-v(?P<version>\d+)$")
BUMP = ("{env_id}'s behaviour changed while its version did not. An id's behaviour is frozen: if the change is "
        "intended, give the id a new version (-v{version} -> -v{next} in its config's register block), add a "
        "line to the 'Version History' section of its family's docstring and an entry to CHANGELOG.md, then "
        "store the new version's digests with `PYTHONPATH=. python -m tests.golden_trajectories --add` (never "
        "regenerate an existing version's digests). If the change is not intended, it is a bug")


def bump_message(env_id: str) -> str:
    match = VERSIONED.match(env_id)
    version = int(match["version"]) if match else 0
    return BUMP.format(env_id=env_id, version=version, next=version + 1)


def test_golden_file_covers_every_registered_id():
    missing = [i for i in dialog_gym.env_ids() if i not in GOLDEN["envs"]]
    assert not missing, (f"no golden trajectories for {missing}: run "
                         "`PYTHONPATH=. python -m tests.golden_trajectories --add`")
    assert GOLDEN["seeds"] == list(golden.SEEDS) and GOLDEN["episodes"] == golden.EPISODES


def test_every_id_is_versioned_and_retired_versions_were_superseded():
    registered = set(dialog_gym.env_ids())
    assert all(VERSIONED.match(i) for i in registered | set(GOLDEN["envs"])), "every id ends in -vN"
    versions: dict[str, set[int]] = {}
    for env_id in registered:
        match = VERSIONED.match(env_id)
        assert match is not None
        versions.setdefault(match["name"], set()).add(int(match["version"]))
    for env_id in sorted(set(GOLDEN["envs"]) - registered):
        match = VERSIONED.match(env_id)
        assert match is not None
        newer = [v for v in versions.get(match["name"], ()) if v > int(match["version"])]
        assert newer, (f"{env_id} has golden trajectories but is no longer registered, and no newer version of "
                       f"{match['name']} is: an id is retired only by a new version (see CHANGELOG.md)")


@pytest.mark.parametrize("env_id", sorted(GOLDEN["envs"]))
def test_trajectories_and_transcripts_match_the_golden_file(env_id):
    if env_id not in dialog_gym.env_ids():
        pytest.skip(f"{env_id} is a retired version (kept for the record)")
    for seed, expected in GOLDEN["envs"][env_id].items():
        got = golden.rollout_digests(env_id, int(seed))
        for episode, (want, have) in enumerate(zip(expected["trajectories"], got["trajectories"], strict=True)):
            assert have == want, f"seed {seed}, episode {episode}: " + bump_message(env_id)
        for episode, (want, have) in enumerate(zip(expected["transcripts"], got["transcripts"], strict=True)):
            assert have == want, f"seed {seed}, the transcript of episode {episode}: " + bump_message(env_id)
        assert got["total_reward"] == expected["total_reward"], bump_message(env_id)
        assert got["total_steps"] == expected["total_steps"], bump_message(env_id)


def test_the_message_names_the_next_version():
    message = bump_message("dialog_gym/Restaurant-Env3-v0")
    assert "-v0 -> -v1" in message and "CHANGELOG.md" in message and "--add" in message
    assert "-v4 -> -v5" in bump_message("dialog_gym/X-v4")


def test_each_family_lists_the_versions_of_its_ids():
    """Every registered id's version has a line in the "Version History" of its family's docstring."""
    import gymnasium as gym

    for env_id in dialog_gym.env_ids():
        match = VERSIONED.match(env_id)
        assert match is not None
        env_class = gym.spec(env_id).entry_point
        env = gym.make(env_id)
        doc = type(env.unwrapped).__doc__ or ""
        env.close()
        history = doc.partition("## Version History")[2]
        assert re.search(rf"^\s*\* v{match['version']}: ", history, re.MULTILINE), (
            f"{env_id} ({env_class}): no 'v{match['version']}:' line in the Version History section of "
            f"{type(env.unwrapped).__name__}'s docstring")

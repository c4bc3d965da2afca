"""Shared fixtures: the shipped domain, the Rasa data of ../shared (skipped where it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialog_gym.domain import Domain

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data" / "rasa_babi"
BABI_STORIES = SHARED_DATA / "babi_stories.md"


@pytest.fixture(scope="session")
def domain() -> Domain:
    return Domain.load("restaurant")


@pytest.fixture(scope="session")
def babi_stories_path() -> Path:
    if not BABI_STORIES.is_file():
        pytest.skip("../shared/data/rasa_babi is not present")
    return BABI_STORIES

"""Shared fixtures: the shipped domain, and the third-party data kept in the repository's ``data/`` folder
(Rasa's bAbI stories and domain files, PyDial's ontologies and tables; see data/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialog_gym.domain import Domain

REPO = Path(__file__).resolve().parent.parent
RASA_DATA = REPO / "data" / "rasa_babi"
PYDIAL_DATA = REPO / "data" / "pydial"
BABI_STORIES = RASA_DATA / "babi_stories.md"
RASA_DOMAIN = RASA_DATA / "restaurant_domain.yml"


@pytest.fixture(scope="session")
def domain() -> Domain:
    return Domain.load("restaurant")


@pytest.fixture(scope="session")
def babi_stories_path() -> Path:
    """The bAbI task-5 stories; a missing file is a failure (it is part of the repository), never a skip."""
    assert BABI_STORIES.is_file(), f"{BABI_STORIES} is missing: it is part of the repository (data/README.md)"
    return BABI_STORIES

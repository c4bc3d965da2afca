"""The repository is self-contained: no file of it names a path outside it (the third-party data the
commands and tests use is in ``data/``, with its licences)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHECKED = ("dialog_gym", "agents", "dialog_gym_verifiers", "configs", "scripts", "tests", "data", "reference", "docs",
           ".ci", "README.md", "CHANGELOG.md", "pyproject.toml")
SKIPPED_FOLDERS = {"__pycache__", "_build", "_generated"}  # made by the tools, not part of the repository
# a relative path climbing out of its folder, or an absolute path of the machine the project was built on
RELATIVE = re.compile(r"(?<![\w./])(?:\.\./)+[\w./-]*")
ABSOLUTE = re.compile(r"/work/|/home/\w+/|/Users/\w+/")
# path-traversal inputs the tests feed to the code to check that it refuses them
REFUSED_INPUTS = ('"../evil"', '"../../evil"', '"../evil-v0"', '["../x"]')


def _text_files() -> list[Path]:
    files: list[Path] = []
    for name in CHECKED:
        root = REPO / name
        if not root.exists():
            continue
        for path in [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()):
            if SKIPPED_FOLDERS & set(path.relative_to(REPO).parts) or path == Path(__file__):
                continue
            try:
                path.read_text(encoding="utf-8")
            except UnicodeDecodeError:  # images, databases
                continue
            files.append(path)
    return files


def outside(line: str, folder: Path) -> list[str]:
    """The paths in ``line`` that point outside the repository: absolute paths, and relative ones that
    resolve, from ``folder`` (a docs page's include) or from the repository's root (a command's
    argument), to nothing inside it."""
    line = re.sub("|".join(map(re.escape, REFUSED_INPUTS)), "", line)
    bad = ABSOLUTE.findall(line)
    for path in RELATIVE.findall(line):
        inside = [(base / path).resolve() for base in (folder, REPO)]
        if not any(p.is_relative_to(REPO) and (p.exists() or SKIPPED_FOLDERS & set(p.relative_to(REPO).parts))
                   for p in inside):  # a file the docs build makes is not there before the build
            bad.append(path)
    return bad


def test_the_check_catches_what_it_is_for():
    docs = REPO / "docs"
    assert outside("dialog-gym stories check ../shared/data/rasa_babi/babi_stories.md", REPO) == \
        ["../shared/data/rasa_babi/babi_stories.md"]
    assert outside("The statistics are in ../../DESIGN.md §3.", REPO / "data" / "rasa_babi") == ["../../DESIGN.md"]
    assert outside('src = Path("/work/shared/data/pydial")', REPO) == ["/work/"]
    assert outside("```{include} ../configs/README.md", docs) == []  # a docs page including a repository file
    assert outside("```{include} ../_generated/ids.md", docs / "envs") == []  # made by the docs build
    assert outside("a/../b and data/rasa_babi/babi_stories.md", REPO) == []
    assert outside('("ensemble", \'{"policies": ["../x"]}\')', REPO) == []  # a refused input


def test_no_file_points_outside_the_repository():
    offenders = [f"{path.relative_to(REPO)}:{number}: {line.strip()}"
                 for path in _text_files()
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if outside(line, path.parent)]
    assert offenders == []


def test_the_data_the_tests_and_commands_use_is_here_with_its_licences():
    data = REPO / "data"
    for name in ("babi_stories.md", "restaurant_domain.yml", "restaurant_domain_v0_7.yml", "LICENSE.txt", "README.md"):
        assert (data / "rasa_babi" / name).is_file(), name
    for domain in ("CamRestaurants", "SFRestaurants", "Laptops11"):
        for suffix in ("-rules.json", "-dbase.db"):
            assert (data / "pydial" / f"{domain}{suffix}").is_file(), domain + suffix
    assert "Apache License" in (data / "rasa_babi" / "LICENSE.txt").read_text()
    assert "Apache License, Version 2.0" in (data / "pydial" / "LICENSE").read_text()
    assert "rasa_babi/" in (data / "README.md").read_text() and "pydial/" in (data / "README.md").read_text()

"""The repository is self-contained: no file of the package, configs, scripts, tests or data names a path
outside it (the third-party data the commands and tests use is in ``data/``)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHECKED = ("dialog_gym", "agents", "configs", "scripts", "tests", "data", "reference", "pyproject.toml")
# a parent folder's sibling (../shared/..., ../../x) or an absolute path of the machine the project was built on
OUTSIDE = re.compile(r"(?<![\w./])\.\./|/work/|/home/\w+/")
# path-traversal inputs the tests feed to the code to check that it refuses them
REFUSED_INPUTS = ('"../evil"', '"../../evil"', '"../evil-v0"', '["../x"]')


def _text_files() -> list[Path]:
    files: list[Path] = []
    for name in CHECKED:
        root = REPO / name
        candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in candidates:
            if "__pycache__" in path.parts or path.suffix in {".db", ".png", ".pyc"} or path == Path(__file__):
                continue
            files.append(path)
    return files


def test_the_pattern_catches_what_it_is_for():
    hits = [s for s in ("../shared/data/x.md", "see ../../DESIGN.md", "/work/shared/data", "a/../b/c", "x.py")
            if OUTSIDE.search(s)]
    assert hits == ["../shared/data/x.md", "see ../../DESIGN.md", "/work/shared/data"]


def test_no_file_points_outside_the_repository():
    offenders = []
    for path in _text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(re.sub("|".join(map(re.escape, REFUSED_INPUTS)), "", line)):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
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

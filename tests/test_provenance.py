"""What made a number: env and code fingerprints, and a benchmark re-run that recomputes exactly the cells a
change of config or data touches, with ``--compare`` never calling numbers from other inputs "identical"."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import gymnasium as gym
import pytest

from agents import provenance
from agents.benchmark import compare_results
from agents.cli import main
from dialog_gym.resources import configs_dir

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--agents", "random,rule", "--seeds", "1", "--batches", "3,5", "--episodes", "3", "--no-progress", "--json"]


def _copy_task(folder: Path) -> Path:
    """The restaurant task copied to ``folder`` with its table beside it (the copy reads that one)."""
    (folder / "kb").mkdir(parents=True)
    shutil.copy(configs_dir() / "kb" / "restaurants.csv", folder / "kb" / "restaurants.csv")
    return Path(shutil.copy(configs_dir() / "envs" / "restaurant.yml", folder / "task.yml"))


def _fingerprint(config: Path | str) -> str:
    env = gym.make("dialog_gym/Dialogue-v0", config=str(config))
    try:
        return str(env.unwrapped.config_fingerprint)
    finally:
        env.close()


def test_env_fingerprint_covers_config_and_data_not_their_place(tmp_path: Path):
    task = _copy_task(tmp_path)
    shipped = provenance.env_fingerprint("dialog_gym/Restaurant-v0")
    assert len(shipped) == 64 and _fingerprint(task) == shipped  # the same config and data elsewhere
    table = tmp_path / "kb" / "restaurants.csv"
    lines = table.read_text().splitlines()
    table.write_text("\n".join([*lines[:-1], lines[-1].replace("4", "5", 1)]) + "\n")  # one row's rating or seats
    changed_data = _fingerprint(task)
    assert changed_data != shipped
    task.write_text(task.read_text().replace("  success: 20 ", "  success: 25 "))
    assert _fingerprint(task) not in (shipped, changed_data)
    for env_id in ("dialog_gym/Restaurant-Summary-Env1-v0", "dialog_gym/PyDial-CR-Env1-v0"):  # every family
        assert provenance.env_fingerprint(env_id) == gym.make(env_id).unwrapped.config_fingerprint


def test_pydial_fingerprint_covers_its_table(tmp_path: Path):
    folder = Path(shutil.copytree(configs_dir() / "pydial" / "CamRestaurants", tmp_path / "cr"))
    before = _fingerprint(folder / "env.yml")
    assert before == provenance.env_fingerprint("dialog_gym/PyDial-CR-Env1-v0")
    table = folder / "table.csv"
    table.write_text(table.read_text().replace("cheap", "expensive", 1))
    assert _fingerprint(folder / "env.yml") != before


def test_code_fingerprint_hashes_the_module_files_by_relative_path(tmp_path: Path, monkeypatch):
    package = tmp_path / "pkg_fp"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "m.py").write_text("x = 1\n")
    (package / "data.yml").write_text("not code")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(provenance, "CODE_PACKAGES", ("pkg_fp",))
    provenance.code_fingerprint.cache_clear()
    try:
        first = provenance.code_fingerprint()
        assert first["files"] == 2
        provenance.code_fingerprint.cache_clear()
        (package / "data.yml").write_text("other data")  # not a module
        assert provenance.code_fingerprint() == first
        provenance.code_fingerprint.cache_clear()
        (package / "sub" / "m.py").write_text("x = 2\n")
        assert provenance.code_fingerprint()["sha256"] != first["sha256"]
    finally:
        sys.modules.pop("pkg_fp", None)
        provenance.code_fingerprint.cache_clear()


def _bench(out: Path, envs: str, capsys, *extra: str) -> dict:
    assert main(["benchmark", "--envs", envs, "--out", str(out), *TINY, *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_changed_config_or_data_file_recomputes_exactly_its_cells(tmp_path: Path, capsys):
    task = _copy_task(tmp_path / "task")
    envs = f"dialog_gym/Restaurant-v0,{task}"
    out = tmp_path / "out"
    first = _bench(out, envs, capsys)
    assert first["cells"] == 4 and first["cells_skipped"] == 0
    shutil.copy(out / "results.json", tmp_path / "first.json")
    doc = json.loads((out / "results.json").read_text())
    shipped, copied = doc["envs"]
    assert doc["env_fingerprints"][shipped] == doc["env_fingerprints"][copied]
    assert doc["code_fingerprint"]["files"] > 50 and len(doc["history"]) == 1

    again = _bench(out, envs, capsys, "--compare", str(tmp_path / "first.json"))
    assert again["cells_skipped"] == 4 and again["cells_recomputed"] == 0
    assert again["identical"] and again["verdict"].startswith("identical")

    task.write_text(task.read_text().replace("  success: 20 ", "  success: 25 "))
    changed = _bench(out, envs, capsys, "--compare", str(tmp_path / "first.json"))
    assert changed["cells_skipped"] == 2 and changed["cells_recomputed"] == 2
    assert changed["recomputed_because"] == {"env data": 2}
    assert not changed["identical"] and "env data differs" in changed["verdict"]
    assert all(copied in d for d in changed["differences"])  # the rule agent's reward: only the copy's cells
    doc = json.loads((out / "results.json").read_text())
    assert doc["env_fingerprints"][shipped] != doc["env_fingerprints"][copied]
    # the original run's record is kept, each re-run appends its own
    assert [h["cells_reused"] for h in doc["history"]] == [0, 4, 2]
    assert doc["started"] == doc["history"][0]["started"] and doc["wall_time"] == doc["history"][0]["wall_time"]

    shutil.copy(out / "results.json", tmp_path / "second.json")
    table = task.parent / "kb" / "restaurants.csv"
    table.write_text(table.read_text() + "\n")  # a data file's bytes, not its rows: still another input
    data = _bench(out, envs, capsys, "--compare", str(tmp_path / "second.json"))
    assert data["cells_recomputed"] == 2 and data["recomputed_because"] == {"env data": 2}
    assert data["numbers_identical"] and not data["identical"]
    assert data["verdict"].startswith("numbers identical, env data differs")


def test_numbers_identical_but_code_differs_is_never_plain_identical(tmp_path: Path, capsys):
    out = tmp_path / "out"
    _bench(out, "dialog_gym/Restaurant-v0", capsys)
    doc = json.loads((out / "results.json").read_text())
    doc["code_fingerprint"] = {"sha256": "0" * 64, "files": 1}  # as if made before a refactor
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    comparison = compare_results(old, out / "results.json")
    assert comparison.numbers == [] and not comparison.identical
    assert comparison.verdict().startswith("numbers identical, code differs")
    assert comparison.provenance[0].startswith("code: 000000000000 (1 files) -> ")


def test_compare_with_a_reference_without_fingerprints_says_so(tmp_path: Path):
    reference = ROOT / "reference" / "small" / "results.json"
    doc = json.loads(reference.read_text())
    for key in ("code_fingerprint", "env_fingerprints", "versions", "history"):  # as written before 0.2.0
        doc.pop(key, None)
    for cell in doc["cells"]:
        cell.pop("fingerprint", None)
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    comparison = compare_results(old, reference)
    assert comparison.numbers == [] and not comparison.identical
    assert comparison.verdict() == ("numbers identical; the reference has no fingerprints (written before "
                                    "dialog_gym 0.2.0), so whether the same code and data made its numbers is "
                                    "unknown")


def test_the_version_is_semantic_written_once_and_in_the_changelog():
    import re

    import dialog_gym

    assert re.fullmatch(r"\d+\.\d+\.\d+", dialog_gym.__version__)
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["hatch"]["version"]["path"] == "dialog_gym/__init__.py"
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{dialog_gym.__version__}] - " in changelog, "CHANGELOG.md has no section for this version"


def test_strict_fails_on_numbers_only(tmp_path: Path, capsys):
    out = tmp_path / "out"
    _bench(out, "dialog_gym/Restaurant-v0", capsys)
    doc = json.loads((out / "results.json").read_text())
    doc["code_fingerprint"] = {"sha256": "0" * 64, "files": 1}
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    again = _bench(out, "dialog_gym/Restaurant-v0", capsys, "--compare", str(old), "--strict")
    assert again["numbers_identical"] and not again["identical"]
    assert again["provenance_differences"][0].startswith("code: 000000000000")
    doc["runs"][0]["curve"][0]["success_rate"] = 0.5
    old.write_text(json.dumps(doc))
    args = ["benchmark", "--envs", "dialog_gym/Restaurant-v0", "--out", str(out), *TINY, "--compare", str(old),
            "--strict"]
    assert main(args) == 3
    assert json.loads(capsys.readouterr().out)["verdict"].startswith("1 number differs from the reference's")

"""``dialog-gym imitate`` end to end with a tiny budget, its --json shape, make_learner, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from agents.cli import main
from dialog_gym.errors import DialogGymError

torch.set_num_threads(1)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_imitate_json_and_files(capsys, tmp_path: Path):
    code, out, err = run_cli(capsys, "imitate", "--teacher", "scripted", "--start", "scratch", "--dialogues", "2",
                             "--eval-episodes", "20", "--seed", "0", "--out", str(tmp_path), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert list(data) == ["curve"]
    assert [list(p) for p in data["curve"]] == [["dialogues", "success_rate", "corrections"]] * 3
    assert [p["dialogues"] for p in data["curve"]] == [0, 1, 2]
    first = data["curve"][0]
    # before any correction the untrained learner proposes the first allowed action: no dialogue succeeds,
    # and the first corrected dialogue needs corrections
    assert first["success_rate"] == 0.0 and first["corrections"] is None
    assert data["curve"][1]["corrections"] > 0
    assert all(0.0 <= p["success_rate"] <= 1.0 for p in data["curve"])
    saved = json.loads((tmp_path / "curve.json").read_text())
    assert [p["success_rate"] for p in saved["curve"]] == [p["success_rate"] for p in data["curve"]]
    assert saved["mode"] == "correct" and saved["start"] == "scratch" and saved["eval_episodes"] == 20
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    log = [json.loads(line) for line in (tmp_path / "session.jsonl").read_text().splitlines()]
    assert log[0]["type"] == "header" and sum(r["type"] == "end" for r in log) == 2
    # the corrections of the curve are the log's
    assert [r["corrections"] for r in log if r["type"] == "end"] == [p["corrections"] for p in data["curve"][1:]]


def test_imitate_bc_mode_counts_would_be_corrections(capsys, tmp_path: Path):
    code, out, err = run_cli(capsys, "imitate", "--mode", "bc", "--dialogues", "1", "--eval-episodes", "5",
                             "--out", str(tmp_path), "--json")
    assert code == 0, err
    curve = json.loads(out)["curve"]
    # the untrained start learner would have been wrong on some of the teacher's actions of dialogue 1
    assert curve[1]["corrections"] > 0
    assert not (tmp_path / "session.jsonl").exists()


@pytest.mark.parametrize(("args", "message", "status"), [
    (["--start", "bogus"], "argument --start: invalid choice: 'bogus'", 2),
    (["--dialogues", "0"], "argument --dialogues: expected a positive integer, got 0", 2),
    (["--dialogues", "-1"], "argument --dialogues: expected a positive integer, got -1", 2),
    (["--start", "pretrained", "--stories", "/no/such/file.md"], "no such stories file", 1),
    (["--beta", "1.5"], "argument --beta: expected a number in [0, 1], got 1.5", 2),
    (["--teacher", "human"], "argument --teacher: invalid choice: 'human'", 2),
    (["--mode", "dagger"], "argument --mode: invalid choice: 'dagger'", 2),
    (["--learner", "xgboost"], "argument --learner: invalid choice: 'xgboost'", 2),
    (["--env", "nope"], "unknown environment", 2),
])
def test_imitate_errors(capsys, tmp_path: Path, args: list[str], message: str, status: int):
    code, out, err = run_cli(capsys, "imitate", "--out", str(tmp_path / "o"), "--eval-episodes", "1", *args)
    assert code == status
    assert err.startswith("dialog-gym imitate: error:") and message in err and err.count("\n") == 1
    assert out == ""


def test_make_learner_starts():
    from agents.imitation import make_learner

    with pytest.raises(DialogGymError, match="only used with start 'pretrained'"):
        make_learner("scratch", stories="x.md")
    scratch = make_learner("scratch")
    assert not scratch.trained
    pretrained = make_learner("pretrained", pretrain_dialogues=5, seed=1)
    assert pretrained.trained and "5 expert dialogues" in pretrained.describe()["start"]


def test_make_learner_from_babi(babi_stories_path: Path):
    from agents.imitation import make_learner

    learner = make_learner("pretrained", stories=babi_stories_path)
    assert learner.trained and str(babi_stories_path) in learner.source


def test_imitate_minari_dataset(capsys, tmp_path: Path):
    pytest.importorskip("minari")
    pytest.importorskip("h5py")
    args = ["imitate", "--dialogues", "1", "--eval-episodes", "1", "--out", str(tmp_path), "--minari",
            "dialog_gym/corr-v0", "--json"]
    code, _, err = run_cli(capsys, *args)
    assert code == 0, err
    assert (tmp_path / "minari" / "dialog_gym" / "corr-v0" / "data" / "main_data.hdf5").is_file()
    code, _, err = run_cli(capsys, *args)  # Minari never overwrites a dataset: refused before any work
    assert code == 1 and "exists already" in err
    code, _, err = run_cli(capsys, *args[:-2], "no-version", "--json")
    assert code == 1 and "bad Minari dataset id" in err


def test_imitate_reuse_keeps_a_curve_made_from_the_same_inputs_only(capsys, tmp_path: Path):
    import shutil

    from dialog_gym.resources import configs_dir

    task = Path(shutil.copy(configs_dir() / "envs" / "restaurant.yml", tmp_path / "task.yml"))
    args = ["imitate", "--dialogues", "1", "--eval-episodes", "1", "--env", str(task), "--out", str(tmp_path / "o"),
            "--reuse", "--json", "--quiet"]
    assert main(args) == 0
    first = json.loads((tmp_path / "o" / "curve.json").read_text())
    assert set(first["inputs"]) == {"settings", "code", "env_data", "hyperparams", "versions"}
    assert [h["reused"] for h in first["history"]] == [False]
    capsys.readouterr()
    assert main(args) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["reused"] is True and "made from the same inputs, reused" in out.err
    again = json.loads((tmp_path / "o" / "curve.json").read_text())
    assert again["curve"] == first["curve"] and again["history"][0] == first["history"][0]  # the original run kept
    assert [h["reused"] for h in again["history"]] == [False, True]
    task.write_text(task.read_text().replace("  success: 20 ", "  success: 25 "))
    assert main(args) == 0
    assert "curve.json: recomputed (env data changed)" in capsys.readouterr().err
    assert [h["reused"] for h in json.loads((tmp_path / "o" / "curve.json").read_text())["history"]] == [False]
    assert main([*args[:-3], "--json", "--quiet", "--seed", "1"]) == 0  # without --reuse: always computed
    assert "reused" not in capsys.readouterr().err

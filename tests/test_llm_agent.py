"""The language-model agent (agents/llm_agent.py) against a fake OpenAI server (tests/fake_openai.py): the rule
expert's acts through the client give rollout's numbers for any concurrency, bad tool calls cost turns,
retries, timeouts and endpoint errors, transcripts and resuming, tokens, pass^k; no model anywhere."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agents.cli import main
from agents.llm_agent import Dialogue, LLMSettings, Runner, TranscriptLog, summarize_lines
from agents.passk import bootstrap_interval, pass_hat_k, pass_k
from dialog_gym.envs import EnvRef
from dialog_gym.errors import DialogGymError
from dialog_gym.seeds import episode_seed, model_request_seed
from tests.fake_openai import FakeOpenAI, error, expert_answer, hang, text, tool_call

REPO = Path(__file__).resolve().parents[1]
CR1 = "dialog_gym/PyDial-CR-Env1-v0"


def rollout(base_url: str, out: Path, *extra: str, env: str = "PyDial-CR-Env1-v0", episodes: int = 6,
            model: str = "fake") -> list[str]:
    return ["rollout", "--env", env, "--interface", "chat", "--policy", f"openai:{model}", "--base-url", base_url,
            "--episodes", str(episodes), "--out", str(out), "--timeout", "10", *extra]


def lines_of(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "transcripts.jsonl").read_text().splitlines()]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    environ.pop("DIALOG_GYM_TRACEBACK", None)
    return subprocess.run([sys.executable, "-m", "agents", *args], cwd=REPO, env=environ, capture_output=True,
                          text=True, timeout=300)


# ---------------------------------------------------------------------------------------------------- pass^k
def test_pass_hat_k_by_hand() -> None:
    assert pass_hat_k(3, 4, 2) == 3 / 6  # C(3,2) / C(4,2)
    assert pass_hat_k(2, 3, 1) == 2 / 3
    assert pass_hat_k(1, 4, 2) == 0.0 and pass_hat_k(4, 4, 4) == 1.0
    with pytest.raises(ValueError):
        pass_hat_k(1, 2, 3)
    result = pass_k({"a": [True, True, False, False], "b": [True] * 4, "c": [True]}, 4)
    assert result["1"]["value"] == pytest.approx((0.5 + 1 + 1) / 3) and result["1"]["customers"] == 3
    assert result["2"]["value"] == pytest.approx((1 / 6 + 1) / 2) and result["2"]["customers"] == 2  # c has 1 trial
    assert result["3"]["value"] == result["4"]["value"] == 0.5


def test_bootstrap_interval_by_hand() -> None:
    assert bootstrap_interval([0.4] * 5) == pytest.approx((0.4, 0.4))
    # two customers, 0 and 1: resampled means are 0, 1/2, 1 with chances 1/4, 1/2, 1/4
    assert bootstrap_interval([0.0, 1.0]) == (0.0, 1.0)
    # [0, 0, 0, 1]: the resampled mean is Binomial(4, 1/4) / 4; P(0) = 0.316 > 2.5%, P(<= 1/2) = 0.949 < 97.5%
    # <= P(<= 3/4) = 0.996: the interval is [0, 3/4]
    assert bootstrap_interval([0.0, 0.0, 0.0, 1.0]) == (0.0, 0.75)
    assert bootstrap_interval([0.0, 0.0, 0.0, 1.0], seed=0) == bootstrap_interval([0.0, 0.0, 0.0, 1.0], seed=0)


# ------------------------------------------------------------------------------------ the expert, as a model
@pytest.mark.parametrize("env_id", ["PyDial-CR-Env1-v0", "Restaurant-Summary-Env1-v0"])
def test_the_expert_as_a_model_gives_rollouts_numbers_for_any_concurrency(env_id: str, tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    episodes = 8
    assert main(["rollout", "--env", env_id, "--interface", "chat", "--episodes", str(episodes), "--json"]) == 0
    rule = json.loads(capsys.readouterr().out)
    full_id = EnvRef.parse(env_id).id
    transcripts = []
    for concurrency in (1, 4):
        with FakeOpenAI(expert_answer(full_id, [episode_seed(0, i) for i in range(episodes)])) as server:
            out = tmp_path / f"c{concurrency}"
            assert main([*rollout(server.base_url, out, "--concurrency", str(concurrency), "--json", env=env_id,
                                  episodes=episodes)]) == 0
            doc = json.loads(capsys.readouterr().out)
        for key in ("success_rate", "success_ci95", "mean_reward", "mean_turns", "mean_bot_actions", "episodes"):
            assert doc[key] == rule[key], key
        assert doc["errors"] == 0 and doc["tool_errors"] == 0 and doc["pass_k"]["1"]["value"] == rule["success_rate"]
        assert doc["tokens"] == {"prompt": sum(u[0] for u in server.usage),
                                 "completion": sum(u[1] for u in server.usage)}
        assert doc["requests"] == len(server.requests) == sum(line["steps"] for line in lines_of(out))
        first = server.requests[0]
        assert first["model"] == "fake" and first["tools"] and "seed" not in first and "temperature" not in first
        transcripts.append(sorted((line["index"], json.dumps(line["messages"])) for line in lines_of(out)))
    assert transcripts[0] == transcripts[1]  # the dialogues themselves do not depend on the concurrency


def test_bad_tool_calls_cost_turns_and_are_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOpenAI(expert_answer(CR1, [episode_seed(0, 0)])) as server:
        server.script(tool_call("request", "{slot: food"), text("Hello! How can I help?"), tool_call("book", {}),
                      tool_call("request", {"slot": "colour"}))
        assert main(rollout(server.base_url, tmp_path, "--json", episodes=1)) == 0
        doc = json.loads(capsys.readouterr().out)
    [line] = lines_of(tmp_path)
    errors = [call["tool_error"] for call in line["tool_calls"][:4]]
    assert "not valid JSON" in errors[0] and errors[1].startswith("no tool call")
    assert "no tool" in errors[2] and "must be one of" in errors[3]
    assert line["tool_errors"] == doc["tool_errors"] == 4 and line["invalid_actions"] >= 4
    assert line["error"] is None and line["steps"] == len(server.requests)
    assert line["messages"][3]["role"] == "tool" and "The turn was lost (-1)" in line["messages"][3]["content"]


def test_429_and_500_are_retried(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOpenAI(expert_answer(CR1, [episode_seed(0, 0)])) as server:
        server.script(error(429, "slow down"), error(500, "oops"), error(503, "busy"))
        assert main(rollout(server.base_url, tmp_path, "--json", "--max-retries", "3", episodes=1)) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["errors"] == 0 and doc["success_rate"] == 1.0
        assert len(server.requests) == doc["requests"] + 3  # the three refused requests, sent again


def test_exhausted_retries_and_a_hang_are_errors_and_the_run_goes_on(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOpenAI(expert_answer(CR1, [episode_seed(0, i) for i in range(3)])) as server:
        server.script(hang(30))
        status = main(rollout(server.base_url, tmp_path / "a", "--json", "--max-retries", "0", "--timeout", "0.5",
                              "--concurrency", "1", episodes=3))
        doc = json.loads(capsys.readouterr().out)
        assert status == 1 and doc["errors"] == 1 and doc["finished"] == 2 and doc["episodes"] == 2
        assert doc["error_messages"] == ["timeout: no answer within 0.5 s (0 retries)"]
        server.script(error(429), error(429))
        status = main(rollout(server.base_url, tmp_path / "b", "--json", "--max-retries", "1", "--concurrency", "1",
                              episodes=2))
        captured = capsys.readouterr()
        doc = json.loads(captured.out)
        assert status == 1 and doc["errors"] == 1 and doc["error_messages"][0].startswith("HTTP 429 after 1 retries")
        assert "1 of 2 dialogues ended in an error" in captured.err
        server.script(hang(30))  # no dialogue finishes: the table has no numbers but the error
        assert main(rollout(server.base_url, tmp_path / "c", "--max-retries", "0", "--timeout", "0.5",
                            episodes=1)) == 1
        table = capsys.readouterr().out.splitlines()
        assert [c.strip() for c in table[2].split("|")[4:10]] == ["-", "1", "0", "-", "-", "0/0"]
        assert json.loads((tmp_path / "c" / "summary.json").read_text())["success_rate"] is None
    [failed] = [line for line in lines_of(tmp_path / "a") if line["error"]]
    assert failed["index"] == 0 and failed["requests"] == 0 and len(failed["messages"]) == 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_endpoint_is_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    proc = cli(*rollout(url, tmp_path, "--max-retries", "0", episodes=2))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [f"dialog-gym rollout: error: cannot reach {url} (connection refused): is the "
                                        "server running, and is --base-url (or OPENAI_BASE_URL) right?"]


def test_a_refused_key_and_an_unknown_model_are_one_line(tmp_path: Path) -> None:
    with FakeOpenAI(api_key="sk-right", models=["fake"]) as server:
        proc = cli(*rollout(server.base_url, tmp_path / "a"), env={"OPENAI_API_KEY": "sk-wrong"})
        assert proc.returncode == 1 and "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1
        assert "refused the API key (HTTP 401" in proc.stderr and "OPENAI_API_KEY" in proc.stderr
        proc = cli(*rollout(server.base_url, tmp_path / "b", model="no-such"), env={"OPENAI_API_KEY": "sk-right"})
        assert proc.returncode == 1 and len(proc.stderr.splitlines()) == 1
        assert "has no model 'no-such' (HTTP 404" in proc.stderr
        good = cli(*rollout(server.base_url, tmp_path / "c", episodes=1), env={"OPENAI_API_KEY": "sk-right"})
        assert "Traceback" not in good.stderr and (tmp_path / "c" / "transcripts.jsonl").is_file()
        assert server.requests[-1]["model"] == "fake"


def test_usage_errors(tmp_path: Path) -> None:
    proc = cli("rollout", "--policy", "openai:m", "--episodes", "1", "--out", str(tmp_path))
    assert proc.returncode == 2 and "add --interface chat" in proc.stderr and len(proc.stderr.splitlines()) == 1
    proc = cli("rollout", "--policy", "rule", "--trials", "3")
    assert proc.returncode == 2 and "--trials: only with --policy openai:MODEL" in proc.stderr
    proc = cli("rollout", "--policy", "rule", "--base-url", "http://x/v1")
    assert proc.returncode == 2 and "--base-url: only with" in proc.stderr
    proc = cli("rollout", "--interface", "chat", "--env", "PyDial-CR-Env1-v0", "--policy", "openai:m")
    assert proc.returncode == 2 and "needs --out DIR" in proc.stderr


def test_transcripts_round_trip_resume_and_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOpenAI(expert_answer(CR1, [episode_seed(0, i) for i in range(5)])) as server:
        assert main(rollout(server.base_url, tmp_path, "--json", episodes=3)) == 0
        first = json.loads(capsys.readouterr().out)
        lines = lines_of(tmp_path)
        assert [(line["seed"], line["index"], line["trial"]) for line in sorted(lines, key=lambda x: x["index"])] == [
            (0, 0, 0), (0, 1, 0), (0, 2, 0)]
        assert [line["reset_seed"] for line in lines] == [episode_seed(0, line["index"]) for line in lines]
        summary = json.loads((tmp_path / "summary.json").read_text())
        assert summary["tokens"] == first["tokens"] == {
            "prompt": sum(line["tokens"]["prompt"] for line in lines),
            "completion": sum(line["tokens"]["completion"] for line in lines)}
        assert summary["settings"]["model"] == "fake" and summary["settings"]["base_url"] == server.base_url
        assert summary["code_fingerprint"] and summary["dialog_gym_version"]
        for line in lines:  # each line is the whole dialogue
            assert line["messages"][0]["role"] == "system" and line["success"] and line["tool_calls"]
            assert sum(m["role"] == "assistant" for m in line["messages"]) == line["steps"] == line["requests"]
        sent = len(server.requests)
        assert main(rollout(server.base_url, tmp_path, "--json", episodes=5)) == 0  # two more customers
        captured = capsys.readouterr()
        assert "resuming: 3 of 5 dialogues already in" in captured.err
        assert len(lines_of(tmp_path)) == 5 and json.loads(captured.out)["customers"] == 5
        assert len(server.requests) - sent == sum(line["steps"] for line in lines_of(tmp_path)[3:])
        assert main(rollout(server.base_url, tmp_path, "--temperature", "0.7", episodes=5)) == 1
        assert "other settings (temperature differ)" in capsys.readouterr().err
        assert main(rollout(server.base_url, tmp_path, "--temperature", "0.7", "--fresh", "--json", episodes=2)) == 0
        assert len(lines_of(tmp_path)) == 2 and server.requests[-1]["temperature"] == 0.7


def test_a_line_cut_short_is_dropped_and_a_bad_line_is_reported(tmp_path: Path) -> None:
    run = {"model": "m"}
    log = TranscriptLog(tmp_path, run)
    log.open()
    log.append({"seed": 0, "index": 0, "trial": 0, "error": None})
    with open(log.path, "a") as handle:
        handle.write('{"run": {"model": "m"}, "seed": 0, "ind')
    assert list(TranscriptLog(tmp_path, run).open()) == [(0, 0, 0)]
    assert log.path.read_text().count("\n") == 1  # truncated to the whole lines
    whole = log.path.read_text()
    log.path.write_text(whole.rstrip("\n"))  # a whole line whose newline was not written
    assert list(TranscriptLog(tmp_path, run).open()) == [(0, 0, 0)] and log.path.read_text() == whole
    log.path.write_text("nonsense\n" + log.path.read_text())
    with pytest.raises(DialogGymError, match=r"transcripts.jsonl:1: not a transcript line"):
        TranscriptLog(tmp_path, run).open()


def test_an_interrupted_run_keeps_the_finished_transcripts(tmp_path: Path) -> None:
    seeds = [episode_seed(0, i) for i in range(4)]
    seen: list[dict[str, Any]] = []

    def stop_after_two(line: dict[str, Any]) -> None:
        seen.append(line)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with FakeOpenAI(expert_answer(CR1, seeds)) as server:
        log = TranscriptLog(tmp_path, {"model": "fake"})
        log.open()
        runner = Runner(EnvRef.parse(CR1), LLMSettings("fake", server.base_url, concurrency=2), log, stop_after_two)
        with pytest.raises(KeyboardInterrupt):
            runner.run([Dialogue(0, i, s, 0) for i, s in enumerate(seeds)])
    assert [json.loads(x)["index"] for x in log.path.read_text().splitlines()] == [line["index"] for line in seen]


def test_pass_k_with_a_model_that_succeeds_on_some_trials(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expert = expert_answer(CR1, [episode_seed(0, i) for i in range(3)])
    openings = [0]
    failing: set[int] = {1, 2, 5}  # the dialogues (in the order played) that go wrong

    def answer(body: dict[str, Any]) -> Any:
        messages = body["messages"]
        if len(messages) == 2:
            openings[0] += 1
            if openings[0] - 1 in failing:
                return text("I fail")
        if any(m.get("content") == "I fail" for m in messages):
            return text("I fail")
        return expert(body)

    with FakeOpenAI(answer) as server:
        status = main(rollout(server.base_url, tmp_path, "--trials", "3", "--concurrency", "1", "--json", episodes=3))
        doc = json.loads(capsys.readouterr().out)
        assert status == 0
        assert main(rollout(server.base_url, tmp_path, "--trials", "3", episodes=3)) == 0
        table = capsys.readouterr().out
    # customers: 1, 2 and 3 successes of 3 trials
    assert doc["success_rate"] == pytest.approx(6 / 9) and doc["pass_k"]["1"]["value"] == pytest.approx(2 / 3)
    assert doc["pass_k"]["2"]["value"] == pytest.approx((0 + 1 / 3 + 1) / 3)
    assert doc["pass_k"]["3"]["value"] == pytest.approx(1 / 3)
    assert doc["success_ci95"] == doc["pass_k"]["1"]["ci95"] and doc["success_interval"] == "bootstrap over customers"
    assert doc["customers"] == 3 and doc["dialogues"] == 9
    header = table.splitlines()[0]
    assert "pass^2 [95% CI]" in header and "pass^3 [95% CI]" in header and "3 x 3" in table
    assert "resuming: 9 of 9" not in table


def test_a_model_seed_is_sent_only_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAI(expert_answer(CR1, [episode_seed(0, 0)])) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)  # the endpoint without --base-url
        command = [a for a in rollout("unused", tmp_path, episodes=1) if a not in ("--base-url", "unused")]
        assert main([*command, "--model-seed", "7", "--trials", "2", "--concurrency", "1", "--json"]) == 0
        capsys.readouterr()
        seeds = {r["seed"] for r in server.requests}
    assert seeds == {model_request_seed(7, episode_seed(0, 0), 0), model_request_seed(7, episode_seed(0, 0), 1)}
    assert len(seeds) == 2


def test_summarize_lines_counts_errors_apart() -> None:
    def line(index: int, success: bool, error: str | None = None) -> dict[str, Any]:
        return {"seed": 0, "index": index, "trial": 0, "error": error, "success": success, "reward": 1.0, "turns": 4,
                "steps": 4, "bot_actions": 4, "invalid_actions": 0, "gave_up": False, "truncated": False,
                "tool_errors": 1, "tokens": {"prompt": 10, "completion": 2}, "requests": 4, "seconds": 0.5}

    summary = summarize_lines([line(0, True), line(1, False), line(2, False, "timeout")], [0], 1)
    assert summary["errors"] == 1 and summary["finished"] == 2 and summary["episodes"] == 2
    assert summary["success_rate"] == 0.5 and summary["tool_errors"] == 3
    assert summary["tokens"] == {"prompt": 30, "completion": 6} and summary["error_messages"] == ["timeout"]


BLOCK_OPENAI = """
import runpy, sys

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "openai":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Refuse())
sys.argv = ["dialog-gym", *sys.argv[1:]]
runpy.run_module("agents", run_name="__main__", alter_sys=True)
"""


def test_without_the_openai_extra_one_line_names_it(tmp_path: Path) -> None:
    script = tmp_path / "cli.py"
    script.write_text(BLOCK_OPENAI)
    environ = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(script), *rollout("http://127.0.0.1:1/v1", tmp_path / "o")], cwd=REPO,
                          env=environ, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == ["dialog-gym rollout: error: a language-model agent (openai:MODEL) needs the "
                                        "openai extra (openai is not installed): pip install 'dialog-gym[openai]'"]


# ------------------------------------------------------------------------------------------- the benchmark
def test_the_benchmark_runs_a_language_model_beside_the_rl_agents(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from agents.benchmark import load_results
    from dialog_gym.seeds import benchmark_test_seed

    agent = "openai:qwen2.5:0.5b"  # a name with characters a file name should not have
    with FakeOpenAI(expert_answer(CR1, [benchmark_test_seed(0, i) for i in range(6)])) as server:
        command = ["benchmark", "--envs", "PyDial-CR-Env1-v0", "--agents", f"rule,{agent}", "--base-url",
                   server.base_url, "--seeds", "1", "--episodes", "6", "--batches", "10,20", "--out", str(tmp_path),
                   "--json", "--no-progress"]
        assert main(command) == 0
        first = json.loads(capsys.readouterr().out)
        rows = {r["agent"]: r for r in first["summary"]}
        for key in ("success_rate", "success_ci95", "mean_turns", "mean_bot_actions", "mean_reward"):
            assert rows[agent][key] == rows["rule"][key], key  # the expert behind the endpoint: the same customers
        runs = {r["agent"]: r for r in load_results(tmp_path / "results.json")["runs"]}
        assert [p["dialogues"] for p in runs[agent]["curve"]] == [0, 10, 20]  # one test, shown at every batch
        assert runs[agent]["extra"]["tokens"]["prompt"] == sum(u[0] for u in server.usage) > 0
        cells = json.loads((tmp_path / "results.json").read_text())["cells"]
        [llm_cell] = [c for c in cells if "openai" in c["key"]]
        assert ":" not in llm_cell["key"] and "/" not in llm_cell["key"]
        sent = len(server.requests)
        assert main(command) == 0  # the same settings: every cell reused, no request sent
        assert json.loads(capsys.readouterr().out)["cells_skipped"] == 2 and len(server.requests) == sent
        assert main([*command, "--temperature", "0.5"]) == 0  # another setting: the language model's cell again
        again = json.loads(capsys.readouterr().out)
        assert again["cells_skipped"] == 1 and again["recomputed_because"] == {"settings (llm)": 1}
        assert server.requests[-1]["temperature"] == 0.5


def test_a_benchmark_cell_without_the_client_fails_saying_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agents.benchmark import BUDGETS, benchmark_cell, plan_cells
    from agents.cells import execute_cell

    [cell] = plan_cells(BUDGETS["small"], [CR1], ["openai:m"], [0], tmp_path)
    assert cell.params["llm"] == {"model": "m", "base_url": "https://api.openai.com/v1", "temperature": None,
                                  "model_seed": None}
    monkeypatch.setitem(sys.modules, "openai", None)  # as on a worker without the openai extra
    record = execute_cell(benchmark_cell, cell)
    assert record["status"] == "failed"
    assert record["error"] == ("MissingExtra: a language-model agent (openai:MODEL) needs the openai extra (openai "
                               "is not installed): pip install 'dialog-gym[openai]'")


def test_benchmark_usage_errors_for_language_models() -> None:
    proc = cli("benchmark", "--agents", "rule", "--base-url", "http://x/v1", "--out", "/tmp/never")
    assert proc.returncode == 2 and "--base-url: only with an openai:MODEL agent in --agents" in proc.stderr
    proc = cli("benchmark", "--agents", "rule,openai:", "--out", "/tmp/never")
    assert proc.returncode == 2 and "expected openai:MODEL" in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_ctrl_c_stops_the_run_and_keeps_the_finished_transcripts(tmp_path: Path) -> None:
    """SIGINT while a request waits: status 130, one line, the transcripts of the finished dialogues whole,
    and the same command resumes them."""
    import signal
    import time

    seeds = [episode_seed(0, i) for i in range(3)]
    expert = expert_answer(CR1, seeds)
    openings = [0]

    def answer(body: dict[str, Any]) -> Any:
        if len(body["messages"]) == 2:
            openings[0] += 1
            if openings[0] == 3:  # the third dialogue waits until the run is interrupted
                return hang(60)
        return expert(body)

    with FakeOpenAI(answer) as server:
        environ = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen([sys.executable, "-m", "agents", *rollout(server.base_url, tmp_path, "--concurrency",
                                                                          "1", episodes=3)],
                                cwd=REPO, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120  # a bound on waiting for the condition, not a timing assertion
        while openings[0] < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert openings[0] == 3
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130 and "Traceback" not in err
        assert err.splitlines() == ["dialog-gym rollout: error: interrupted (Ctrl-C); files written so far are "
                                    "complete, nothing is half-written"]
        assert sorted(line["index"] for line in lines_of(tmp_path)) == [0, 1]
        openings[0] = 10  # no more hangs
        resumed = cli(*rollout(server.base_url, tmp_path, "--concurrency", "1", episodes=3))
        assert resumed.returncode == 0 and "resuming: 2 of 3 dialogues already in" in resumed.stderr
    assert sorted(line["index"] for line in lines_of(tmp_path)) == [0, 1, 2]

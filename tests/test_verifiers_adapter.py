"""The verifiers adapter (dialog_gym.integrations.verifiers_env) with verifiers installed: its taskset (one
customer per task, disjoint train and eval seeds, the chat env's reset messages as prompt), verifiers'
loader finding it from the taskset id, and whole rollouts through verifiers' own entry point
(``Env.serving`` + ``Env.run_slot``, what ``vf-eval`` runs) against the fake chat-completions server on
127.0.0.1 (tests/fake_openai.py) answering with the rule expert's tool calls: the reward is 1.0 exactly where
the chat env's own dialogue succeeds, and a bad tool call is the chat env's wasted turn."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

if sys.version_info < (3, 11):  # verifiers needs Python >= 3.11 (the extra installs nothing below)
    pytest.skip("verifiers needs Python >= 3.11", allow_module_level=True)

import verifiers.v1 as vf

from agents.passk import pass_k
from dialog_gym.chat import make, rule_agent, run_chat_episode
from dialog_gym.errors import ConfigError, DialogGymError, MissingExtra
from dialog_gym.integrations import verifiers_env
from dialog_gym.integrations.verifiers_env import (
    TASKSET_ID,
    DialogueEnv,
    DialogueHarness,
    DialogueTask,
    DialogueTaskset,
    load_environment,
)
from dialog_gym.seeds import episode_seed, llm_training_seed
from tests.fake_openai import FakeOpenAI, expert_answer, text, tool_call

#: the rule expert fails the first of these customers (seed 0: the dialogue runs to the 25-turn limit)
ENV = "PyDial-SFR-Env3-v0"
REPO = Path(__file__).resolve().parents[1]
#: the key the scripted server wants (verifiers reads it from this variable and sends it on)
KEY = "sk-scripted"


def test_the_taskset_has_one_task_per_customer_with_the_reset_messages_as_prompt() -> None:
    env = load_environment(ENV, num_examples=3, seed=2)
    assert isinstance(env, DialogueEnv) and isinstance(env.taskset, DialogueTaskset)
    tasks = list(env.taskset)
    assert [t.data.reset_seed for t in tasks] == [episode_seed(2, i) for i in range(3)] == [20_000, 20_001, 20_002]
    chat = make(ENV)
    for i, task in enumerate(tasks):
        assert isinstance(task, DialogueTask) and task.data.idx == i and task.data.env_id == ENV
        messages, _ = chat.reset(seed=task.data.reset_seed)
        assert task.data.system_prompt == messages[0]["content"] == chat.system_prompt
        assert [m.model_dump() for m in task.data.prompt] == [messages[1]]
        assert task.key == f"{ENV}:{task.data.reset_seed}"
    assert len({t.key for t in tasks}) == 3


def test_train_and_eval_customers_come_from_disjoint_streams() -> None:
    train = [t.data for t in load_environment(ENV, split="train", num_examples=50).taskset]
    evaluation = [t.data for t in load_environment(ENV, split="eval", num_examples=50).taskset]
    assert [d.reset_seed for d in train] == [llm_training_seed(0, i) for i in range(50)]
    assert [d.reset_seed for d in evaluation] == list(range(50))
    assert {d.split for d in train} == {"train"} and {d.split for d in evaluation} == {"eval"}
    assert not {d.reset_seed for d in train} & {d.reset_seed for d in evaluation}
    # the streams' whole intervals are disjoint, not only these 50 (tests/test_seeds.py proves it for all)
    first, end = llm_training_seed.interval(0)
    assert not any(first <= episode_seed(s, i) < end for s in (0, 9_999) for i in (0, 9_999))


def test_verifiers_loader_finds_the_adapter_from_the_taskset_id() -> None:
    """verifiers imports the id as a module and takes the one Taskset, Harness and Env it exports."""
    assert vf.environment_class(TASKSET_ID) is DialogueEnv
    assert vf.default_harness_id(TASKSET_ID) == TASKSET_ID
    from verifiers.v1.utils.loaders import harness_class, taskset_class

    assert taskset_class(TASKSET_ID) is DialogueTaskset and harness_class(TASKSET_ID) is DialogueHarness
    config = vf.resolve_env_config({"taskset": {"id": TASKSET_ID, "env": "PyDial-CR-Env1-v0", "num_examples": 2}})
    assert config.agent.runtime.type == "subprocess"  # the harness runs in-process: no remote sandbox
    assert [t.data.reset_seed for t in vf.load_environment(config).taskset] == [0, 1]


def test_bad_arguments_raise_the_package_errors() -> None:
    with pytest.raises(ConfigError, match="PyDial-CR-Env9-v0"):
        load_environment("PyDial-CR-Env9-v0")
    with pytest.raises(ConfigError, match="JSON"):
        load_environment(ENV, user_config=object())
    with pytest.raises(DialogGymError, match="past the stream's bound"):
        load_environment(ENV, num_examples=10_001)
    # verifiers' own config path (vf-eval's flags): a validation error naming the flag and the problem
    with pytest.raises(ValueError, match=r"(?s)taskset.*unknown environment 'Nope-v0'"):
        vf.resolve_env_config({"taskset": {"id": TASKSET_ID, "env": "Nope-v0"}})
    with pytest.raises(ValueError, match="past the stream's bound"):
        vf.resolve_env_config({"taskset": {"id": TASKSET_ID, "split": "train", "num_examples": 100_001}})


def test_without_verifiers_the_import_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "verifiers.v1", None)  # as if verifiers were not installed
    monkeypatch.delitem(sys.modules, verifiers_env.__name__)
    with pytest.raises(MissingExtra) as error:
        importlib.import_module(verifiers_env.__name__)
    assert str(error.value) == ("the verifiers adapter (dialog_gym.integrations.verifiers_env) needs the verifiers "
                                "extra (verifiers is not installed): pip install 'dialog-gym[verifiers]'")


# ---------------------------------------------------------------- rollouts against a scripted model


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeOpenAI]:
    """The fake server, wanting :data:`KEY`; verifiers' per-rollout folders (``~/.cache/verifiers/runtimes/
    subprocess/<id>``, removed after each rollout) in ``tmp_path``."""
    monkeypatch.setenv("SCRIPTED_API_KEY", KEY)
    monkeypatch.setattr("verifiers.v1.runtimes.subprocess.CACHE_DIR", tmp_path)
    with FakeOpenAI(api_key=KEY) as fake:
        yield fake


def rollouts(env: Any, server: FakeOpenAI) -> list[Any]:
    """One episode per task, through verifiers' own entry point (what vf-eval's runner does)."""
    ctx = vf.ModelContext(model="scripted", client=vf.EvalClientConfig(base_url=server.base_url,
                                                                        api_key_var="SCRIPTED_API_KEY"))

    async def run() -> list[Any]:
        async with env.serving():
            return list(await asyncio.gather(*(env.run_slot(env.slots(task)[0], ctx) for task in env.taskset)))

    return asyncio.run(run())


def test_a_rollout_of_the_rule_expert_scores_the_env_success(server: FakeOpenAI) -> None:
    env = load_environment(ENV, num_examples=4)
    seeds = [t.data.reset_seed for t in env.taskset]
    server.answer = expert_answer(ENV, seeds)
    episodes = rollouts(env, server)
    chat = make(ENV)
    expected = [run_chat_episode(chat, rule_agent(chat), seed) for seed in seeds]
    assert [e.success for e in expected] == [False, True, True, True]  # both outcomes are checked
    for episode, result, seed in zip(episodes, expected, seeds, strict=True):
        assert episode.ok and not episode.errors
        (trace,) = episode.traces
        assert trace.rewards["success"].score == (1.0 if result.success else 0.0)
        assert trace.rewards["success"].weight == 1.0 and set(trace.rewards) == {"success"}
        assert trace.metrics == {"env_reward": result.reward, "turns": result.turns, "invalid_actions": 0.0}
        assert trace.info["dialog_gym"] == {"success": result.success, "reward": result.reward, "turns": result.turns,
                                            "invalid_actions": 0, "truncated": result.truncated, "stopped": None,
                                            "reset_seed": seed}
        assert len(trace.calls) == result.turns  # one model call a turn
        assert sorted(tool.name for tool in trace.tools) == sorted(t["function"]["name"] for t in chat.tools)
    assert expected[0].truncated and expected[0].turns == 25
    assert len(server.requests) == sum(e.turns for e in expected)
    assert {r["model"] for r in server.requests} == {"scripted"}
    assert all(r["tools"] == chat.tools for r in server.requests)  # the chat env's tools, as they are


def test_a_bad_tool_call_is_the_chat_env_wasted_turn(server: FakeOpenAI) -> None:
    """Turn 0 of each dialogue is bad (no tool call, an unknown tool, arguments that are not JSON, a bad
    slot), the rest the rule expert's: the rollout's reward, return and turns are those of the same agent
    in the chat env itself, and the model is told its mistake in the next request."""
    env = load_environment(ENV, num_examples=4)
    tasks = list(env.taskset)
    bad = {task.data.prompt[0].content: message for task, message in zip(tasks, [
        text("Hello! How can I help?"), tool_call("teleport", {}), tool_call("request", "{slot: area"),
        tool_call("request", {"slot": "colour"})], strict=True)}
    assert len(bad) == 4  # the customers' openings tell them apart
    expert = expert_answer(ENV, [t.data.reset_seed for t in tasks])
    server.answer = lambda body: bad[body["messages"][1]["content"]] if len(body["messages"]) == 2 else expert(body)
    episodes = rollouts(env, server)
    for episode, task in zip(episodes, tasks, strict=True):
        message = bad[task.data.prompt[0].content]
        chat = make(ENV)
        agent = rule_agent(chat)
        expected = run_chat_episode(chat, lambda messages, info, m=message, a=agent: (
            m if len(messages) == 2 else a(messages, info)), task.data.reset_seed)
        (trace,) = episode.traces
        assert episode.ok
        assert trace.info["dialog_gym"]["invalid_actions"] == expected.invalid_actions >= 1
        assert trace.rewards["success"].score == float(expected.success)
        assert trace.metrics["env_reward"] == expected.reward and trace.metrics["turns"] == expected.turns
        told = chat.messages[3]  # what the chat env answered the bad call with
        assert told["content"].startswith("[environment] Error:" if message.get("tool_calls") is None else "Error:")
        assert "The turn was lost (-1)" in told["content"]
        second = next(r for r in server.requests if r["messages"][:2] == chat.messages[:2] and len(r["messages"]) > 3)
        assert second["messages"][3]["content"] == told["content"]


def test_a_rollout_limit_ends_the_dialogue_unfinished(server: FakeOpenAI) -> None:
    """verifiers' own limits (here ``max_turns``) refuse the model call that would pass them: the dialogue ends
    there, scored as a failure, the trace saying which limit stopped it."""
    config = vf.resolve_env_config({"taskset": {"id": TASKSET_ID, "env": ENV, "num_examples": 2},
                                    "agent": {"max_turns": 2}})
    env = vf.load_environment(config)
    server.answer = expert_answer(ENV, [t.data.reset_seed for t in env.taskset])
    for episode in rollouts(env, server):
        (trace,) = episode.traces
        assert trace.stop_condition == "max_turns" and not trace.errors
        assert trace.info["dialog_gym"]["stopped"] == "max_turns" and trace.info["dialog_gym"]["turns"] == 2
        assert trace.rewards["success"].score == 0.0 and trace.metrics["turns"] == 2.0
    assert len(server.requests) == 4  # two calls a dialogue; the third was refused before it reached the model


def test_the_model_sees_a_system_prompt_verifiers_puts_in_place(server: FakeOpenAI, tmp_path: Path) -> None:
    """``--env.taskset.system-prompt FILE`` (GEPA's optimised prompt) replaces the task's system message; the
    customer and the tools stay the chat env's."""
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("You book restaurants. One tool call a turn.")
    config = vf.resolve_env_config({"taskset": {"id": TASKSET_ID, "env": ENV, "num_examples": 1,
                                                "system_prompt": str(prompt)}})
    env = vf.load_environment(config)
    server.answer = lambda body: tool_call("bye")
    (episode,) = rollouts(env, server)
    chat = make(ENV)
    messages, _ = chat.reset(seed=0)
    assert server.requests[0]["messages"] == [{"role": "system", "content": prompt.read_text()}, messages[1]]
    assert all(r["messages"][0]["content"] == prompt.read_text() for r in server.requests)
    assert episode.ok and episode.traces[0].info["dialog_gym"]["turns"] == len(server.requests)


def test_vf_eval_runs_the_taskset_and_its_traces_give_pass_k(server: FakeOpenAI, tmp_path: Path) -> None:
    """The command of docs/verifiers.md: ``vf-eval dialog-gym-verifiers ... -r 2 --no-push``; its traces.jsonl
    read as the page says (one line an episode, grouped by the task's key) gives pass^k with agents.passk."""
    vf_eval = Path(sys.executable).parent / "vf-eval"
    seeds = [episode_seed(0, i) for i in range(2)]
    server.answer = expert_answer(ENV, seeds)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "HOME": str(tmp_path), "SCRIPTED_API_KEY": KEY}
    proc = subprocess.run([str(vf_eval), TASKSET_ID, "--env.taskset.env", ENV, "--env.taskset.num-examples", "2",
                           "-m", "scripted", "--client.base-url", server.base_url, "--client.api-key-var",
                           "SCRIPTED_API_KEY", "-r", "2", "--no-push", "--no-rich", "-o", str(tmp_path / "outputs")],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (traces,) = (tmp_path / "outputs").glob("*/traces.jsonl")
    outcomes: dict[str, list[bool]] = defaultdict(list)
    for line in traces.read_text().splitlines():
        episode = json.loads(line)
        assert episode["ok"]
        outcomes[episode["task"]["key"]].append(episode["traces"][0]["rewards"]["success"]["score"] == 1.0)
    assert outcomes == {f"{ENV}:{s}": [s != 0, s != 0] for s in seeds}  # the expert fails customer 0 only
    result = pass_k(outcomes, max_k=2)
    assert [result[k]["value"] for k in ("1", "2")] == [0.5, 0.5]

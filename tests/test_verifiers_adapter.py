"""The verifiers adapter (dialog_gym.integrations.verifiers_env) with verifiers installed: its taskset (one
customer per task, disjoint train and eval seeds, the chat env's reset messages as prompt), verifiers'
loader finding it from the taskset id, and whole rollouts through verifiers' own entry point
(``Env.serving`` + ``Env.run_slot``, what ``vf-eval`` runs) against a scripted chat-completions server on
127.0.0.1: the reward is 1.0 exactly where the chat env's own dialogue succeeds, and a bad tool call is the
chat env's wasted turn."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

if sys.version_info < (3, 11):  # verifiers needs Python >= 3.11 (the extra installs nothing below)
    pytest.skip("verifiers needs Python >= 3.11", allow_module_level=True)

import verifiers.v1 as vf

from dialog_gym.chat import ChatEnv, assistant_call, make, rule_agent, run_chat_episode
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

#: the rule expert fails the first of these customers (seed 0: the dialogue runs to the 25-turn limit)
ENV = "PyDial-SFR-Env3-v0"
#: a scripted model: (the chat env replayed from the request, assistant turns so far, reset seed) -> its answer
Policy = Callable[[ChatEnv, int, int], dict[str, Any]]


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
        list(load_environment(ENV, num_examples=10_001).taskset)


def test_without_verifiers_the_import_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "verifiers.v1", None)  # as if verifiers were not installed
    monkeypatch.delitem(sys.modules, verifiers_env.__name__)
    with pytest.raises(MissingExtra) as error:
        importlib.import_module(verifiers_env.__name__)
    assert str(error.value) == ("the verifiers adapter (dialog_gym.integrations.verifiers_env) needs the verifiers "
                                "extra (verifiers is not installed): pip install 'dialog-gym[verifiers]'")


# ---------------------------------------------------------------- rollouts against a scripted model


def replay(messages: list[dict[str, Any]], seeds: list[int]) -> tuple[ChatEnv, int]:
    """The chat env of the customer whose dialogue ``messages`` is: reset with each candidate seed, the
    request's assistant messages stepped, and the env's answers compared with the request's (so the adapter
    must send exactly what the chat env said)."""
    for seed in seeds:
        chat = make(ENV)
        said, _ = chat.reset(seed=seed)
        if said != messages[:2]:
            continue
        for message in messages[2:]:
            if message["role"] == "assistant":
                chat.step(message)
        if [strip(m) for m in chat.messages] == [strip(m) for m in messages]:
            return chat, seed
    raise AssertionError(f"no customer's dialogue is {json.dumps(messages)[-400:]}")


def strip(message: dict[str, Any]) -> dict[str, Any]:
    """A message without the keys a client may add or leave out (a null ``content``)."""
    return {k: v for k, v in message.items() if v is not None}


class ScriptedModel:
    """A chat-completions server on 127.0.0.1 answering every request with ``policy(chat, turn, seed)``
    (see :data:`Policy`); ``ctx`` is verifiers' model context pointing at it."""

    def __init__(self, policy: Policy, seeds: list[int]) -> None:
        self.requests: list[dict[str, Any]] = []
        model = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                model.requests.append(body)
                chat, seed = replay(body["messages"], seeds)
                turn = sum(m["role"] == "assistant" for m in body["messages"])
                answer = policy(chat, turn, seed)
                data = json.dumps({"id": f"chatcmpl-{len(model.requests)}", "object": "chat.completion",
                                   "created": int(time.time()), "model": body["model"],
                                   "choices": [{"index": 0, "message": answer, "finish_reason": "tool_calls"}],
                                   "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def ctx(self) -> Any:
        url = f"http://127.0.0.1:{self.server.server_port}/v1"
        return vf.ModelContext(model="scripted", client=vf.EvalClientConfig(base_url=url,
                                                                            api_key_var="SCRIPTED_API_KEY"))


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[[Policy, list[int]], ScriptedModel]]:
    monkeypatch.setenv("SCRIPTED_API_KEY", "not-a-key")
    # verifiers' per-rollout folders (~/.cache/verifiers/runtimes/subprocess/<id>, removed after each rollout)
    monkeypatch.setattr("verifiers.v1.runtimes.subprocess.CACHE_DIR", tmp_path)
    started: list[ScriptedModel] = []

    def start(policy: Policy, seeds: list[int]) -> ScriptedModel:
        model = ScriptedModel(policy, seeds)
        model.thread.start()
        started.append(model)
        return model

    yield start
    for model in started:
        model.server.shutdown()
        model.server.server_close()


def rollouts(env: Any, ctx: Any) -> list[Any]:
    """One episode per task, through verifiers' own entry point (what vf-eval's runner does)."""

    async def run() -> list[Any]:
        async with env.serving():
            return list(await asyncio.gather(*(env.run_slot(env.slots(task)[0], ctx) for task in env.taskset)))

    return asyncio.run(run())


def rule(chat: ChatEnv, turn: int = 0, seed: int = 0) -> dict[str, Any]:
    return rule_agent(chat)(chat.messages, chat.env_info)


def test_a_rollout_of_the_rule_expert_scores_the_env_success(scripted: Any) -> None:
    env = load_environment(ENV, num_examples=4)
    seeds = [t.data.reset_seed for t in env.taskset]
    episodes = rollouts(env, scripted(rule, seeds).ctx)
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


def test_a_bad_tool_call_is_the_chat_env_wasted_turn(scripted: Any) -> None:
    """Turn 0 of each dialogue is bad (no tool call, an unknown tool, arguments that are not JSON, a bad
    slot), the rest the rule expert's: the rollout's reward, return and turns are those of the same agent
    in the chat env itself, and the model is told its mistake in the next request."""
    bad = [{"role": "assistant", "content": "Hello! How can I help?"},
           assistant_call("teleport", {}),
           {"role": "assistant", "content": None, "tool_calls": [
               {"id": "call_9", "type": "function", "function": {"name": "request", "arguments": "{slot: area"}}]},
           assistant_call("request", {"slot": "colour"})]
    env = load_environment(ENV, num_examples=4)
    seeds = [t.data.reset_seed for t in env.taskset]

    def policy(chat: ChatEnv, turn: int, seed: int) -> dict[str, Any]:
        return bad[seeds.index(seed)] if turn == 0 else rule(chat)

    model = scripted(policy, seeds)
    episodes = rollouts(env, model.ctx)
    for episode, seed, message in zip(episodes, seeds, bad, strict=True):
        chat = make(ENV)
        expected = run_chat_episode(chat, lambda messages, info, c=chat, m=message: (
            m if len(messages) == 2 else rule(c)), seed)
        (trace,) = episode.traces
        assert episode.ok
        assert trace.info["dialog_gym"]["invalid_actions"] == expected.invalid_actions >= 1
        assert trace.rewards["success"].score == float(expected.success)
        assert trace.metrics["env_reward"] == expected.reward and trace.metrics["turns"] == expected.turns
        told = chat.messages[3]  # what the chat env answered the bad call with
        assert told["content"].startswith("[environment] Error:" if message.get("tool_calls") is None else "Error:")
        assert "The turn was lost (-1)" in told["content"]
        second = next(r for r in model.requests if r["messages"][:2] == chat.messages[:2] and len(r["messages"]) > 3)
        assert second["messages"][3]["content"] == told["content"]


def test_a_rollout_limit_ends_the_dialogue_unfinished(scripted: Any) -> None:
    """verifiers' own limits (here ``max_turns``) refuse the model call that would pass them: the dialogue ends
    there, scored as a failure, the trace saying which limit stopped it."""
    config = vf.resolve_env_config({"taskset": {"id": TASKSET_ID, "env": ENV, "num_examples": 2},
                                    "agent": {"max_turns": 2}})
    env = vf.load_environment(config)
    seeds = [t.data.reset_seed for t in env.taskset]
    model = scripted(rule, seeds)
    for episode in rollouts(env, model.ctx):
        (trace,) = episode.traces
        assert trace.stop_condition == "max_turns" and not trace.errors
        assert trace.info["dialog_gym"]["stopped"] == "max_turns" and trace.info["dialog_gym"]["turns"] == 2
        assert trace.rewards["success"].score == 0.0 and trace.metrics["turns"] == 2.0
    assert len(model.requests) == 4  # two calls a dialogue; the third was refused before it reached the model

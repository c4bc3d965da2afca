"""Every turn-level task's chat view (:mod:`dialog_gym.chat`) as an environment of ``verifiers`` (0.4, its
``verifiers.v1`` API), for evaluating and training language-model agents with it: ``vf-eval``, prime-rl, GEPA.

``verifiers.v1`` splits an environment into a *taskset* (the rows, each scored by its task's rewards) and a
*harness* (the program that talks to the model); an ``Env`` plays one with the other. This module exports
one of each, which is how verifiers' loader finds them from the taskset id
``dialog_gym.integrations.verifiers_env``:

- :class:`DialogueTaskset`: one task per customer, i.e. per reset seed of the chat env (``split="eval"``:
  the evaluation stream of :mod:`dialog_gym.seeds`, the customers of ``dialog-gym rollout``; ``"train"``: the
  LLM training stream, disjoint from it). A task's prompt is :meth:`ChatEnv.reset`'s messages (its system
  prompt the system message, its prompt the customer's first utterance).
- :class:`DialogueHarness`: the dialogue loop, run in-process (verifiers allows a harness that does so as
  long as every model call goes through its interception endpoint, which records the trace): it rebuilds
  the task's :class:`~dialog_gym.chat.ChatEnv`, resets it with the task's seed, sends the conversation and
  the chat env's tools to the model, steps the chat env with each answer and stops when the dialogue ends.
  A bad tool call is the chat env's wasted turn (an explanation, -1), never an error.
- :class:`DialogueTask`: the reward ``success`` (1.0 or 0.0: the env's ``info["success"]``, its one
  definition of success) and, as metrics (weight 0, not in the reward), the env's summed turn reward
  ``env_reward``, ``turns`` and ``invalid_actions``.
- :class:`DialogueEnv`: verifiers' single-agent env with the agent's runtime set to a local subprocess (the
  default is a remote sandbox; the harness runs nothing in it).

The live chat env is a local of the harness's loop, one per rollout: verifiers keeps nothing of it but the
trace (the model calls) and ``trace.info["dialog_gym"]`` (JSON: success, reward, turns), which the rewards
read. ``load_environment(...)`` builds the env in Python; ``vf-eval dialog_gym.integrations.verifiers_env``
builds the same from the command line. Needs the ``verifiers`` extra (Python >= 3.11).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

from dialog_gym.errors import ConfigError, DialogGymError, MissingExtra, missing_message

try:
    import verifiers.v1 as vf
    from openai import APIStatusError, AsyncOpenAI
except ModuleNotFoundError as exc:  # the extra is missing: say which, in one line
    raise MissingExtra(missing_message("the verifiers adapter (dialog_gym.integrations.verifiers_env)", "verifiers",
                                       (exc.name or "verifiers").partition(".")[0])) from None

from pydantic import Field, model_validator

from dialog_gym.chat import ChatEnv, Message, make
from dialog_gym.envs import EnvRef
from dialog_gym.seeds import episode_seed, llm_training_seed

#: the taskset id verifiers' loader imports (``vf-eval TASKSET_ID``, ``--env.taskset.id``)
TASKSET_ID = "dialog-gym-verifiers"
#: the split -> the seed stream its customers come from
SPLITS = {"train": llm_training_seed, "eval": episode_seed}
Split = Literal["train", "eval"]


class DialogueData(vf.TaskData):
    """One customer: the task (a registered id or env config, with ``gym.make`` keywords) and the reset seed."""

    env_id: str
    make_kwargs: dict[str, Any] = Field(default_factory=dict)
    reset_seed: int
    split: Split = "eval"


class DialogueTask(vf.Task[DialogueData, vf.State, vf.TaskConfig]):
    """A customer's dialogue, scored by the env's own outcome (recorded by :class:`DialogueHarness`)."""

    @property
    def key(self) -> str:
        """Durable identity: the task and the reset seed (``idx`` depends on the selection)."""
        return f"{self.data.env_id}:{self.data.reset_seed}"

    @vf.reward
    async def success(self, trace: Any) -> float:
        """1.0 when the dialogue succeeded (the env's ``info["success"]``), else 0.0."""
        return 1.0 if outcome(trace)["success"] else 0.0

    @vf.metric
    async def env_reward(self, trace: Any) -> float:
        """The env's turn rewards summed over the dialogue (the RL agents' return)."""
        return float(outcome(trace)["reward"])

    @vf.metric
    async def turns(self, trace: Any) -> float:
        """The dialogue's turns."""
        return float(outcome(trace)["turns"])

    @vf.metric
    async def invalid_actions(self, trace: Any) -> float:
        """Turns lost to a bad tool call (or a masked act)."""
        return float(outcome(trace)["invalid_actions"])


def outcome(trace: Any) -> dict[str, Any]:
    """The dialogue's outcome the harness recorded on ``trace`` (an error when the dialogue never ran to
    its end: verifiers then records the reward as missing, not as a failure of the model)."""
    result = trace.info.get("dialog_gym")
    if not isinstance(result, Mapping):
        raise DialogGymError("the trace has no dialogue outcome: the dialogue did not run to its end")
    return dict(result)


class DialogueTasksetConfig(vf.TasksetConfig):
    """Which customers: `--env.taskset.env`, `.split`, `.num-examples`, `.seed`, `.make-kwargs`."""

    env: str = "PyDial-CR-Env1-v0"
    """The task: a registered id (with or without `dialog_gym/`) or an env config (`family: summary`,
    an imported PyDial ontology; `:VARIANT` for one of its ids)."""
    split: Split = "eval"
    """`eval`: the evaluation stream (`dialog-gym rollout`'s customers); `train`: the LLM training stream."""
    num_examples: int = Field(100, ge=1)
    """Customers (tasks) in the taskset: episodes 0 .. num_examples - 1 of the split's stream."""
    seed: int = Field(0, ge=0)
    """The run seed naming the stream's interval (as `--seed` of `dialog-gym rollout`)."""
    make_kwargs: dict[str, Any] = Field(default_factory=dict)
    """`gym.make` keywords of the env (e.g. `{"info_tracker": true}`); JSON values only."""

    @model_validator(mode="after")
    def _known_customers(self) -> DialogueTasksetConfig:
        """A bad task name or a taskset past its stream is a config error (the CLI prints it as such)."""
        try:
            check_customers(self.env, self.split, self.seed, self.num_examples)
        except DialogGymError as exc:
            raise ValueError(str(exc)) from None
        return self


class DialogueTaskset(vf.Taskset[DialogueTask, DialogueTasksetConfig]):
    """One task per customer of the configured split (see :class:`DialogueTasksetConfig`)."""

    def load(self) -> Iterator[DialogueTask]:
        config = self.config
        stream = SPLITS[config.split]
        seeds = [stream(config.seed, i) for i in range(config.num_examples)]
        chat = chat_env(config.env, config.make_kwargs)
        try:
            for i, reset_seed in enumerate(seeds):
                messages, _ = chat.reset(seed=reset_seed)
                system, opening = messages
                yield DialogueTask(DialogueData(
                    id=f"{config.env}:{reset_seed}", name=f"{config.split} customer {i}",
                    system_prompt=system["content"], prompt=[{"role": "user", "content": opening["content"]}],
                    env_id=config.env, make_kwargs=dict(config.make_kwargs), reset_seed=reset_seed,
                    split=config.split), config.task)
        finally:
            chat.close()


def check_customers(env: str, split: Split, seed: int, num_examples: int) -> None:
    """Raise the package's error if ``env`` names no task (ConfigError, with the nearest ids) or the split's
    stream has no ``num_examples`` customers for run seed ``seed``."""
    EnvRef.of(env)
    SPLITS[split](seed, num_examples - 1)


def chat_env(env: str, make_kwargs: Mapping[str, Any]) -> ChatEnv:
    """The chat view of ``env`` (bad names raise the package's ConfigError, naming the nearest ids)."""
    return make(env, **dict(make_kwargs))


class DialogueHarnessConfig(vf.HarnessConfig):
    """The dialogue loop's knobs (`--env.agent.harness.*`)."""

    parallel_tool_calls: bool | None = False
    """Sent to the model as `parallel_tool_calls` (None: not sent); one tool call a turn is the rule."""


class DialogueHarness(vf.Harness[DialogueHarnessConfig]):
    """The dialogue loop, in-process (see the module docstring); every model call goes through verifiers'
    interception endpoint, so the trace records the whole dialogue."""

    APPENDS_SYSTEM_PROMPT = True
    EXECUTES_CODE = False
    NEEDS_CONTAINER = False

    async def launch(self, ctx: Any, trace: Any, runtime: Any, endpoint: str, secret: str,
                     mcp_urls: dict[str, str], data: Any, **_: Any) -> Any:
        client = AsyncOpenAI(base_url=endpoint, api_key=secret)
        try:
            trace.info["dialog_gym"] = await play(client, ctx.model, data, self.config.parallel_tool_calls,
                                                  stopped=lambda: trace.stop_condition)
        finally:
            await client.close()
        return vf.ProgramResult(exit_code=0, stdout="", stderr="")


async def play(client: Any, model: str, data: DialogueData, parallel_tool_calls: bool | None = False,
               stopped: Callable[[], str | None] = lambda: None) -> dict[str, Any]:
    """One dialogue of the model behind ``client`` with the customer of ``data``: its outcome (JSON).

    verifiers refuses a model call once a limit of the rollout is reached (``--env.agent.max-turns``, a token
    budget, a ``@stop``) and names it in ``stopped()``: the dialogue then ends unfinished, a failure."""
    chat = chat_env(data.env_id, data.make_kwargs)
    try:
        messages, info = chat.reset(seed=data.reset_seed)
        prompt = [message_dict(m) for m in data.prompt or []]
        if [m.get("content") for m in prompt] != [messages[1]["content"]]:
            raise DialogGymError(f"task {data.id}: its prompt is not the customer's first utterance of reset seed "
                                 f"{data.reset_seed} (a taskset made by another version of dialog-gym?)")
        system = data.system_prompt if data.system_prompt is not None else messages[0]["content"]
        sent: list[Message] = [{"role": "system", "content": system}, *prompt]
        extra = {} if parallel_tool_calls is None else {"parallel_tool_calls": parallel_tool_calls}
        total, invalid = 0.0, 0
        terminated = truncated = False
        while not (terminated or truncated):
            try:
                completion = await client.chat.completions.create(model=model, messages=sent, tools=chat.tools,
                                                                  **extra)
            except APIStatusError:
                if stopped() is None:
                    raise
                break
            answer = assistant_message(completion)
            new, reward, terminated, truncated, info = chat.step(answer)
            sent += [answer, *new]
            total += reward
            invalid += bool(info.get("invalid_action", False))
        ended = terminated or truncated
        return {"success": ended and bool(info["success"]), "reward": total, "turns": int(info["turn"]),
                "invalid_actions": invalid, "truncated": bool(truncated), "stopped": stopped(),
                "reset_seed": data.reset_seed}
    finally:
        chat.close()


def message_dict(message: Any) -> Message:
    """A verifiers message (pydantic) or a dict, as an OpenAI chat message dict."""
    if isinstance(message, Mapping):
        return dict(message)
    dumped: Message = message.model_dump(exclude_none=True)
    return dumped


def assistant_message(completion: Any) -> Message:
    """The first choice's message as an OpenAI assistant message dict (only the fields the API takes back)."""
    message = completion.choices[0].message
    out: Message = {"role": "assistant", "content": message.content}
    calls = message.tool_calls or []
    if calls:
        out["tool_calls"] = [{"id": call.id, "type": "function", "function": {
            "name": call.function.name, "arguments": call.function.arguments}} for call in calls
            if getattr(call, "function", None) is not None]
    return out


class DialogueEnvConfig(vf.SingleAgentEnvConfig):
    """verifiers' single-agent config with the agent's runtime a local subprocess."""

    agent: vf.AgentConfig = vf.AgentConfig(runtime=vf.SubprocessConfig())


class DialogueEnv(vf.Env[DialogueEnvConfig]):
    """One agent, the model under evaluation or training, talking to one customer per episode."""

    async def run(self, task: Any, agents: Any) -> None:
        await agents.agent.run(task)


def load_environment(env_id: str = "PyDial-CR-Env1-v0", *, split: Split = "eval", num_examples: int = 100,
                     seed: int = 0, **make_kwargs: Any) -> Any:
    """The verifiers env (a :class:`DialogueEnv`) over ``num_examples`` customers of ``env_id``'s ``split``
    (``eval``: the evaluation stream of run seed ``seed``; ``train``: the LLM training stream), the env made
    with ``make_kwargs``. Run it as any verifiers env (``env.serving()``, ``env.run_slot(...)``)."""
    check_customers(env_id, split, seed, num_examples)
    try:
        json.dumps(make_kwargs)  # the config is JSON on verifiers' wire (traces, resumed runs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"load_environment(): make_kwargs must be JSON values ({exc})") from None
    config = vf.resolve_env_config({"taskset": {"id": TASKSET_ID, "env": env_id, "split": split,
                                                "num_examples": num_examples, "seed": seed,
                                                "make_kwargs": make_kwargs}})
    return vf.load_environment(config)


__all__ = ["TASKSET_ID", "DialogueData", "DialogueEnv", "DialogueEnvConfig", "DialogueHarness",
           "DialogueHarnessConfig", "DialogueTask", "DialogueTaskset", "DialogueTasksetConfig", "load_environment",
           "outcome", "play"]

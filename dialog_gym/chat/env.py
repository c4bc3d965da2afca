"""A turn-level dialogue task as a chat with tool calls: what a language-model agent talks to.

:class:`ChatEnv` wraps the vector env of any turn-level task (family ``pydial`` or ``summary``) and speaks
OpenAI's chat format. ``reset`` gives the system message (the task, the slots and values, the tools) and
the customer's first utterance; ``step(assistant_message)`` takes the assistant's message with one tool
call, steps the vector env with the act it names and answers with a tool message (what the system said,
in English, filled from the database as the act does) and the customer's reply.

**Mistakes cost a turn, never raise.** A message without a tool call, more than one call, an unknown
tool, arguments that are not a JSON object, or a bad argument gets an explanation and is stepped as the
vector env's own wasted turn: the family's :attr:`~dialog_gym.chat.views.View.waste_action` (PyDial:
``repeat``; summary acts: the first act) taken *as masked out*, i.e. the env's invalid-action path. In a
PyDial task the system says nothing that turn (the empty act: -1, the customer's patience drops as
for any repetition, and it answers); in a summary-act task the turn is a no-op costing
``invalid_action`` (-1). So turns, patience and rewards stay the vector env's, and ``info`` carries
``"tool_error"`` (the explanation, None after a good call) and ``"invalid_action"`` True.
A tool message must answer a call id (the OpenAI API refuses one that does not): a message without
any tool call gets the explanation as a user message instead.

**The same dialogues.** The vector env is stepped exactly as an RL agent would step it and the wording
is drawn from a generator of its own (:func:`dialog_gym.seeds.chat_text_seed` of the reset seed), so an
agent that sends the act the rule expert picks (:func:`rule_agent`) produces the vector env's
dialogues, rewards and successes for the same seeds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from dialog_gym.chat.views import Call, View, view_of
from dialog_gym.envs import EnvRef
from dialog_gym.envs.base import BaseDialogueEnv, dialogue_env_of
from dialog_gym.errors import DialogGymError
from dialog_gym.metrics import EpisodeResult
from dialog_gym.seeds import Stream, chat_text_seed, episode_seed

Message = dict[str, Any]
#: an LLM-style agent: ``agent(messages, info) -> assistant message``
ChatAgent = Callable[[list[Message], Mapping[str, Any]], Message]


class ChatEnv:
    """A turn-level task as a chat (see the module docstring). Made by :func:`make`."""

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        self.env = env
        self.base: BaseDialogueEnv[Any] = dialogue_env_of(env)
        self.view: View = view_of(self.base)
        #: OpenAI function-tool schemas, one per summary act (a slot argument where PyDial's acts take one)
        self.tools: list[dict[str, Any]] = self.view.tools
        #: the whole conversation so far (``reset``'s messages, then each assistant message and the answers)
        self.messages: list[Message] = []
        #: the vector env's last observation and info (what an RL agent would be given)
        self.observation: np.ndarray | None = None
        self.env_info: dict[str, Any] = {}
        self._rng = np.random.default_rng(0)
        self._calls = 0
        self._resets = 0
        self._done = True

    @property
    def system_prompt(self) -> str:
        """The system message's text: the task, its slots and values, the tools."""
        return self.view.prompt()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[list[Message], dict[str, Any]]:
        """Start a dialogue: ``([system message, customer's first utterance], info)``."""
        self.observation, info = self.env.reset(seed=seed, options=options)
        self._resets += 1
        # unseeded resets continue the env's generator: vary the wording with the reset count as well
        text_seed = seed if seed is not None else self.base.np_random_seed * 1_000_003 + self._resets
        self._rng = np.random.default_rng(chat_text_seed(int(text_seed) & 0xFFFF_FFFF_FFFF_FFFF))
        self.env_info = info
        self._calls = 0
        self._done = False
        self.messages = [{"role": "system", "content": self.view.prompt()},
                         {"role": "user", "content": self.view.opening(self._rng)}]
        return list(self.messages), self._info(info, None)

    def step(self, assistant_message: Any) -> tuple[list[Message], float, bool, bool, dict[str, Any]]:
        """One turn: the assistant's message (one tool call) -> ``(new messages, reward, terminated,
        truncated, info)``; the new messages are the tool message(s) and the customer's reply."""
        if self._done:
            raise DialogGymError("the dialogue has ended (or never started); call reset() first")
        message = assistant_message if isinstance(assistant_message, Mapping) else {
            "role": "assistant", "content": str(assistant_message)}
        ids, action, error = self._read(message)
        if error is None:
            assert action is not None
            self.view.mark()
            obs, reward, terminated, truncated, info = self.env.step(action)
        else:
            obs, reward, terminated, truncated, info = self._waste()
        self.observation, self.env_info = obs, info
        said, reply = self.view.turn(self._rng, bool(info.get("invalid_action")))
        if error is not None:
            said = f"Error: {error}. The turn was lost (-1); nothing was said."
        if terminated or truncated:
            said += (" (The dialogue is over.)" if terminated
                     else f" (The dialogue is over: {self.base.max_steps} turns.)")
        elif info.get("invalid_action"):
            said += f" Allowed now: {', '.join(self.allowed_calls(info.get('action_mask')))}."
        out: list[Message] = []
        if ids:
            out += [{"role": "tool", "tool_call_id": call_id, "content": said} for call_id in ids]
        else:
            out.append({"role": "user", "content": f"[environment] {said}"})
        if reply is not None and not terminated:
            out.append({"role": "user", "content": reply})
        self.messages.append(dict(message))
        self.messages += out
        self._done = terminated or truncated
        return out, float(reward), bool(terminated), bool(truncated), self._info(info, error)

    # ------------------------------------------------------------------ helpers
    def _read(self, message: Mapping[str, Any]) -> tuple[list[str], int | None, str | None]:
        """The call ids to answer, the action, or what is wrong with the message."""
        calls = message.get("tool_calls") or []
        if not isinstance(calls, list) or not calls:
            return [], None, "no tool call: call exactly one tool each turn"
        ids = [self._call_id(c) for c in calls]
        if len(calls) > 1:
            return ids, None, f"{len(calls)} tool calls: call exactly one tool each turn"
        call = calls[0]
        function = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            return ids, None, "the tool call has no function name"
        name, raw = function["name"], function.get("arguments") or "{}"
        try:
            arguments = json.loads(raw) if isinstance(raw, str) else raw
        except (ValueError, RecursionError):
            return ids, None, f"the arguments of {name} are not valid JSON: {str(raw)[:200]!r}"
        if not isinstance(arguments, Mapping):
            return ids, None, f"the arguments of {name} must be a JSON object, got {str(raw)[:200]!r}"
        result = self.view.action_of(name, arguments)
        if isinstance(result, str):
            return ids, None, result
        return ids, result, None

    def _call_id(self, call: Any) -> str:
        self._calls += 1
        call_id = call.get("id") if isinstance(call, Mapping) else None
        return call_id if isinstance(call_id, str) and call_id else f"call_{self._calls}"

    def _waste(self) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """The vector env's wasted turn: the view's waste action, stepped as masked out (see the module
        docstring); the env recomputes its mask after the step."""
        base = self.base
        action = self.view.waste_action
        self.view.mark()
        forced = base._mask.copy()
        forced[action] = 0
        base._mask = forced
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, float(reward), bool(terminated), bool(truncated), info

    def _info(self, info: Mapping[str, Any], error: str | None) -> dict[str, Any]:
        return {**info, "tool_error": error}

    def tool_call(self, action: int, call_id: str | None = None) -> Message:
        """The assistant message calling the tool that stands for ``action`` of the vector env."""
        name, arguments = self.view.call_of(int(action))
        return assistant_call(name, arguments, call_id or f"call_{self._calls + 1}")

    def allowed_calls(self, mask: Any) -> list[str]:
        """The calls the vector env's mask allows, written as calls (``request(slot="area")``, ``bye()``)."""
        allowed = range(self.base.action_space.n) if mask is None else np.flatnonzero(np.asarray(mask))
        calls = (self.view.call_of(int(a)) for a in allowed)
        return [f"{name}({', '.join(f'{k}={json.dumps(v)}' for k, v in args.items())})" for name, args in calls]

    def call_of(self, action: int) -> Call:
        """``(tool name, arguments)`` of the tool call standing for ``action``."""
        return self.view.call_of(int(action))

    def close(self) -> None:
        self.env.close()


def assistant_call(name: str, arguments: Mapping[str, Any], call_id: str = "call_1") -> Message:
    """An assistant message with one function call (OpenAI's format: the arguments as a JSON string)."""
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}]}


def make(env: str | EnvRef | gym.Env[Any, Any], **make_kwargs: Any) -> ChatEnv:
    """The chat view of a turn-level task: a registered id (``dialog_gym/PyDial-CR-Env1-v0``,
    ``Restaurant-Summary-Env3-v0``), an env config (a ``family: summary`` or imported PyDial config, by path
    or shipped name, ``:VARIANT`` for one of its ids), an :class:`EnvRef`, or an env already made;
    ``make_kwargs`` go to ``gym.make``."""
    if isinstance(env, gym.Env):
        if make_kwargs:
            raise DialogGymError("make(): keyword arguments apply only when the env is named, not made")
        return ChatEnv(env)
    return ChatEnv(EnvRef.of(env).make(**make_kwargs))


def run_chat_episode(chat: ChatEnv, agent: ChatAgent, seed: int | None = None) -> EpisodeResult:
    """One dialogue of ``agent`` in ``chat``, summed up as :func:`dialog_gym.rollout.run_episode` does."""
    _, info = chat.reset(seed=seed)
    total, invalid = 0.0, 0
    terminated = truncated = False
    while not (terminated or truncated):
        _, reward, terminated, truncated, info = chat.step(agent(chat.messages, info))
        total += reward
        invalid += bool(info.get("invalid_action", False))
    return EpisodeResult(
        success=bool(info["success"]), reward=total, turns=int(info["turn"]), steps=int(info["steps"]),
        bot_actions=int(info["bot_actions"]), invalid_actions=invalid,
        gave_up=bool(info.get("user_gave_up", False)), truncated=bool(truncated))


def run_chat_episodes(env: gym.Env[Any, Any], make_agent: Callable[[ChatEnv], ChatAgent], episodes: int,
                      seed: int = 0, stream: Stream = episode_seed) -> list[EpisodeResult]:
    """``episodes`` dialogues in the chat view of ``env``, episode ``i`` reset with ``stream(seed, i)`` (the
    seeds :func:`dialog_gym.rollout.run_episodes` uses)."""
    chat = ChatEnv(env)
    agent = make_agent(chat)
    return [run_chat_episode(chat, agent, stream(seed, i)) for i in range(episodes)]


def rule_agent(chat: ChatEnv) -> ChatAgent:
    """The family's rule expert as a chat agent: it sends, as a tool call, the act the expert picks on the
    vector env behind ``chat`` (the check that the chat layer changes nothing)."""
    from dialog_gym.rollout import expert_act

    expert = expert_act(chat.env)

    def act(messages: list[Message], info: Mapping[str, Any]) -> Message:
        # the expert reads the dialogue state, as the vector env's info_tracker=True would give it
        info = {**chat.env_info, **dialogue_env_of(chat.env).tracker_info()}
        return chat.tool_call(expert(chat.observation, info))  # type: ignore[arg-type]

    return act


__all__ = ["ChatAgent", "ChatEnv", "Message", "assistant_call", "make", "rule_agent", "run_chat_episode",
           "run_chat_episodes"]

"""What a turn-level task looks like to a language model, per family: its tools, its prompt, its turns in English.

A view knows one family's env: the OpenAI function tools of its summary acts (a tool call <-> an action
index, both ways, arguments checked against the ontology), the system prompt, the act a mistake is mapped
onto, and the English of what the system and the customer said in the last step. :class:`PyDialView`
serves ``family: pydial`` (the 18 PyDial ids and any imported ontology), :class:`SummaryView` serves
``family: summary`` (the restaurant's summary-act ids and any summary-act config).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from dialog_gym.chat.nlg import ActRenderer, Phrases, pick
from dialog_gym.envs.base import BaseDialogueEnv
from dialog_gym.envs.pydial_env import PyDialEnv
from dialog_gym.envs.summary import SummaryActEnv
from dialog_gym.errors import DialogGymError
from dialog_gym.events import ActionExecuted, SlotSet, UserUttered
from dialog_gym.roles import (
    ACK_DOSEARCH,
    ACK_FINDALTERNATIVES,
    ACK_MAKERESERVATION,
    ASK_HOWCANHELP,
    ASK_MOREUPDATES,
    ASK_SLOT,
    GOODBYE,
    GREET,
    NO_MATCH,
    ON_IT,
    RESTART,
    SEARCH,
    SUGGEST,
)
from dialog_gym.utils import read_yaml

#: a tool call as (tool name, arguments)
Call = tuple[str, dict[str, Any]]
_NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}


def function_tool(name: str, description: str, parameters: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An OpenAI function-tool declaration."""
    return {"type": "function", "function": {"name": name, "description": description,
                                             "parameters": dict(parameters or _NO_PARAMETERS)}}


def slot_parameter(slots: Sequence[str], what: str) -> dict[str, Any]:
    """The JSON Schema of a tool taking one slot name out of ``slots``."""
    return {"type": "object", "properties": {"slot": {"type": "string", "enum": list(slots), "description": what}},
            "required": ["slot"], "additionalProperties": False}


class View:
    """The family-independent part: tools by name, checking a call against its schema."""

    tools: list[dict[str, Any]]
    renderer: ActRenderer
    #: the action a mistake is stepped as (forced to count as masked: the env's wasted turn)
    waste_action: int

    def __init__(self, env: BaseDialogueEnv[Any]) -> None:
        self.env = env
        self._calls: dict[Call | tuple[str, str], int] = {}

    def _schema(self, name: str) -> Mapping[str, Any] | None:
        for tool in self.tools:
            if tool["function"]["name"] == name:
                return tool["function"]["parameters"]
        return None

    def action_of(self, name: str, arguments: Mapping[str, Any]) -> int | str:
        """The action a checked tool call stands for, or a sentence saying what is wrong with it."""
        schema = self._schema(name)
        if schema is None:
            known = ", ".join(t["function"]["name"] for t in self.tools)
            return f"there is no tool {name!r}; the tools are {known}"
        properties: Mapping[str, Any] = schema.get("properties", {})
        unknown = sorted(set(arguments) - set(properties))
        if unknown:
            takes = ", ".join(properties) or "no arguments"
            return f"{name} takes {takes}; got unknown argument(s) {', '.join(unknown)}"
        for key in schema.get("required", ()):
            if key not in arguments:
                return f"{name} needs the argument {key!r}"
        for key, value in arguments.items():
            allowed = properties[key].get("enum")
            if allowed is not None and value not in allowed:
                return f"{name}: {key} must be one of {', '.join(map(str, allowed))}; got {value!r}"
        key = (name, str(arguments["slot"])) if "slot" in arguments else (name, "")
        return self._calls[key]

    def compose_prompt(self, task: list[str], heard: str | None, rules: str) -> str:
        """The system prompt: the ``task`` lines, the turn's protocol (``heard``: what the noisy recogniser
        gives besides the top hypothesis, None without noise), the ``rules`` line and the tools."""
        noise = ([f"The customer's words reach you through a noisy recogniser: you get what was heard and {heard}."]
                 if heard else [])
        return "\n".join([*task, "", "Each turn, call exactly one tool; its result is what you said, then the "
                           "customer answers.", *noise, rules, "", "The tools:", _tool_lines(self.tools)])

    def call_of(self, action: int) -> Call:
        """The tool call standing for ``action`` (how the rule expert's choice is sent as a tool call)."""
        raise NotImplementedError

    def prompt(self) -> str:
        raise NotImplementedError

    def opening(self, rng: np.random.Generator) -> str:
        """The customer's first utterance (after ``reset``)."""
        raise NotImplementedError

    def turn(self, rng: np.random.Generator, invalid: bool) -> tuple[str, str | None]:
        """What the system said in the last step (``invalid``: its act was masked out) and the customer's
        reply (None: no reply)."""
        raise NotImplementedError

    def mark(self) -> None:
        """Remember where the dialogue is, before a step (what :meth:`turn` renders comes after)."""


def _tool_lines(tools: Sequence[Mapping[str, Any]]) -> str:
    lines = []
    for tool in tools:
        fn = tool["function"]
        args = ", ".join(fn["parameters"].get("properties", {}))
        lines.append(f"- {fn['name']}({args}): {fn['description']}")
    return "\n".join(lines)


def _values_line(slot: str, phrases: Phrases, values: Sequence[str]) -> str:
    return f"- {slot} ({phrases.slot(slot)}): {', '.join(values)}"


# ---------------------------------------------------------------------------------------------------------
class PyDialView(View):
    """PyDial's summary acts as tools: ``request``/``confirm``/``select`` take a system-requestable slot;
    ``inform``, ``inform_byname``, ``inform_alternatives``, ``bye``, ``repeat``, ``reqmore``, ``restart`` none."""

    _GLOBAL: ClassVar[dict[str, str]] = {
        "inform": "offer an entity that fits the constraints the customer gave (or say that none fits)",
        "inform_byname": "tell the customer the details they asked for about the offered entity",
        "inform_alternatives": "offer another entity that fits the constraints",
        "bye": "say goodbye and end the dialogue (only once the customer said goodbye)",
        "repeat": "say the previous system turn again",
        "reqmore": "ask whether the customer needs anything else",
        "restart": "start the dialogue over",
    }

    def __init__(self, env: PyDialEnv) -> None:
        super().__init__(env)
        self.base = env
        task = env.task
        self.phrases = Phrases.from_config(task.raw.get("nlg"), task.entity_type, task.source)
        self.renderer = ActRenderer(self.phrases)
        slots = list(task.system_requestable)
        self.tools = [
            function_tool("request", "ask the customer which value they want for a slot",
                          slot_parameter(slots, "the slot to ask about")),
            function_tool("confirm", "check the value you believe most for a slot with the customer",
                          slot_parameter(slots, "the slot to confirm")),
            function_tool("select", "ask the customer to choose between the two values you believe most for a slot",
                          slot_parameter(slots, "the slot to choose a value of")),
            *(function_tool(name, text) for name, text in self._GLOBAL.items()),
        ]
        self._call_of: list[Call] = []
        for i, action in enumerate(env.actions):
            kind, _, slot = action.partition("_")
            call: Call = (kind, {"slot": slot}) if kind in ("request", "confirm", "select") else (action, {})
            self._call_of.append(call)
            self._calls[(call[0], slot if call[1] else "")] = i
        self.waste_action = env.actions.index("repeat")
        self._prompt: str | None = None
        self._seen = 0

    def call_of(self, action: int) -> Call:
        name, args = self._call_of[action]
        return name, dict(args)

    def prompt(self) -> str:
        if self._prompt is None:
            task, p = self.base.task, self.phrases
            informable = [s for s in task.system_requestable]
            asks = [p.slot(s) for s in task.requestable if s != "name"]
            self._prompt = self.compose_prompt([
                f"You are the system of a {p.entity} information service (the {task.name} task). A customer "
                f"wants a {p.entity} that fits a few constraints, then may ask for some of its details "
                f"({', '.join(asks)}). Find them one, tell them what they ask, and say goodbye once they do.",
                "",
                "The constraints a customer may give (slot, then its values; any slot may also be 'dontcare'):",
                *(_values_line(s, p, task.informable[s]) for s in informable),
            ], "the recogniser's N-best hypotheses with their confidences" if self.base.error_rate > 0 else None,
                "Every turn costs 1 point; finding the customer a fitting entity and telling them what they "
                f"asked wins 20 at the end. The dialogue ends with bye or after {self.base.max_turns} turns.")
        return self._prompt

    def mark(self) -> None:
        self._seen = len(self.base.acts)

    def opening(self, rng: np.random.Generator) -> str:
        self._seen = len(self.base.acts)
        return self._heard(rng)

    def _heard(self, rng: np.random.Generator) -> str:
        nbest = self.base.acts[-1][2]
        top = self.renderer.user(nbest[0][0], rng)
        if self.base.error_rate <= 0:
            return top
        return f"(heard) {top}\n(N-best)\n{self.renderer.nbest(nbest, rng)}"

    def turn(self, rng: np.random.Generator, invalid: bool) -> tuple[str, str | None]:
        new = self.base.acts[self._seen:]
        self._seen = len(self.base.acts)
        said = self.renderer.system(new[0][1], rng)
        if invalid:
            said = "(that act is not allowed now: nothing was said)"
        return said, self._heard(rng) if len(new) > 1 else None


# ---------------------------------------------------------------------------------------------------------
_ROLE_TEXT = {
    GREET: "greet the customer", GOODBYE: "say goodbye (ends the dialogue)", RESTART: "start over",
    ASK_HOWCANHELP: "ask how you can help", ON_IT: "say you are on it", ASK_MOREUPDATES:
    "sum up what you know and ask whether the customer wants to change anything",
    ACK_DOSEARCH: "say you will search", SEARCH: "search the database with the current constraints",
    SUGGEST: "suggest the next match of the latest search", ACK_FINDALTERNATIVES: "say you will look for more",
    ACK_MAKERESERVATION: "check the booking's details with the customer", NO_MATCH: "say that nothing fits",
}
#: the dialogue family's intent roles as PyDial user acts (for rendering what the NLU heard)
_INTENT_ACT = {"greet": "hello", "affirm": "affirm", "deny": "negate", "inform": "inform", "thankyou": "thankyou"}


class SummaryView(View):
    """A summary-act config's acts as tools: the acts that only ask for one slot become one tool
    ``request(slot)``; every other act is a tool of its own name, without arguments."""

    def __init__(self, env: SummaryActEnv) -> None:
        super().__init__(env)
        self.base = env
        roles = env.roles
        asks = {index: slot for slot, index in roles.ask_index.items()}
        raw = read_yaml(env.summary_config.source) if env.summary_config.source.endswith((".yml", ".yaml")) else {}
        self.phrases = Phrases.from_config(raw.get("nlg") if isinstance(raw, Mapping) else None,
                                           env.kb.item, env.summary_config.source)
        self.renderer = ActRenderer(self.phrases)
        slot_acts = {i: asks[a.actions[0]] for i, a in enumerate(env.acts)
                     if len(a.actions) == 1 and a.actions[0] in asks}
        self._call_of: list[Call] = []
        tools = []
        if slot_acts:
            tools.append(function_tool("request", "ask the customer which value they want for a slot",
                                       slot_parameter(list(slot_acts.values()), "the slot to ask about")))
        for i, act in enumerate(env.acts):
            if i in slot_acts:
                call: Call = ("request", {"slot": slot_acts[i]})
                self._calls[("request", slot_acts[i])] = i
            else:
                call = (act.name, {})
                self._calls[(act.name, "")] = i
                steps = [_ROLE_TEXT.get(roles.role(a)[0] or "", f"run {env.domain.action_names[a]}")
                         for a in act.actions]
                wait = ", then wait for the customer's answer" if act.hands_turn else ""
                tools.append(function_tool(act.name, "; ".join(steps) + wait))
            self._call_of.append(call)
        self.tools = tools
        self.waste_action = 0
        self._prompt: str | None = None
        self._seen = 0
        self._noisy = env.config.noise.error_rate > 0
        self._act_of_intent = {name: _INTENT_ACT.get(role, name) for role, name in roles.intent_names.items()}
        self._matches: Any = None
        self._values: dict[str, Any] = {}

    def call_of(self, action: int) -> Call:
        name, args = self._call_of[action]
        return name, dict(args)

    def prompt(self) -> str:
        if self._prompt is None:
            env, p = self.base, self.phrases
            slots = list(env.roles.slot_order)
            values = {s: self._slot_values(s) for s in slots}
            self._prompt = self.compose_prompt([
                f"You are the assistant of a {p.entity} booking service. A customer wants to book a "
                f"{p.entity}: find out what they want, suggest one that fits, check the booking with them and "
                "say goodbye once they confirmed it.",
                "",
                "What a customer may ask for (slot, then its values):",
                *(_values_line(s, p, values[s]) if values[s] else f"- {s} ({p.slot(s)})" for s in slots),
            ], "its confidence" if self._noisy else None,
                f"The dialogue ends with goodbye, when the customer leaves, or after {env.max_steps} turns.")
        return self._prompt

    def _slot_values(self, slot: str) -> list[str]:
        """A slot's values: the domain's (categorical slots), else the table column's (matched slots), else
        the party sizes of the table's capacity rule."""
        env = self.base
        declared = getattr(env.domain.slot(slot), "values", None)
        if declared:
            return [str(v) for v in declared]
        kb = env.kb
        if slot in kb.match:
            return sorted({str(row.attributes[slot]) for row in kb.rows if slot in row.attributes})
        if kb.capacity is not None and kb.capacity.slot == slot:
            return list(kb.capacity.values)
        return []

    def _suggestion(self, name: str | None, rng: np.random.Generator) -> str:
        kb = self.base.kb
        if name is None:
            return pick(rng, (f"Sorry, I have no (more) {kb.item}s to suggest.",
                               f"I'm afraid there is no other {kb.item} that fits."))
        described = kb.describe(name)
        return pick(rng, (f"What do you think of {described}?", f"How about {described}?",
                           f"I can suggest {described}. Would that suit you?"))

    def mark(self) -> None:
        tracker = self.base.tracker
        self._seen = len(tracker.events)
        self._values = dict(tracker.slot_values)
        self._matches = tracker.get_slot(self.base.config.matches_slot) if self.base.config.matches_slot else None

    def opening(self, rng: np.random.Generator) -> str:
        self.mark()
        event = next(e for e in reversed(self.base.tracker.events) if isinstance(e, UserUttered))
        return self._heard(event, rng)

    def _heard(self, event: UserUttered, rng: np.random.Generator) -> str:
        if not self._noisy:
            return event.text or self.renderer.user(self._act(event), rng)
        return f"(heard, confidence {event.confidence:.2f}) {self.renderer.user(self._act(event), rng)}"

    def _act(self, event: UserUttered) -> tuple:
        name = self._act_of_intent.get(event.intent_name or "", event.intent_name or "null")
        return (name, tuple((e["entity"], e["value"], False) for e in event.entities))

    def turn(self, rng: np.random.Generator, invalid: bool) -> tuple[str, str | None]:
        env = self.base
        cfg = env.config
        events = env.tracker.events[self._seen:]
        values = dict(self._values)  # the slots as each action saw them (not yet the reply's)
        said: list[str] = []
        reply: str | None = None
        matches = self._matches
        for event in events:
            if isinstance(event, SlotSet):
                values[event.key] = event.value
                if event.key == cfg.matches_slot:
                    matches = event.value
            elif isinstance(event, UserUttered):
                reply = self._heard(event, rng)
            elif isinstance(event, ActionExecuted) and event.action_name != "action_listen":
                role, slot = env.roles.role(env.domain.index_for_action(event.action_name))
                if role == SEARCH:
                    continue
                if role == SUGGEST:
                    said.append(self._suggestion(matches[0] if matches else None, rng))
                    continue
                if role == ASK_SLOT and slot is not None and rng.random() < 0.5:  # the domain's words or ours
                    said.append(self.renderer.system(("request", ((slot, None, False),)), rng))
                    continue
                text = env.domain.utter(event.action_name, values, rng)
                said.append(_sentence_case(text) if text else f"({event.action_name})")
        self.mark()
        if not said:
            said.append("(that act is not allowed now: nothing was said)" if invalid else "(nothing said)")
        return " ".join(said), reply


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def view_of(env: BaseDialogueEnv[Any]) -> View:
    """The view of a turn-level env (PyDial or summary family); other envs are refused."""
    if isinstance(env, PyDialEnv):
        return PyDialView(env)
    if isinstance(env, SummaryActEnv):
        return SummaryView(env)
    raise DialogGymError(f"the chat interface runs turn-level tasks (family pydial or summary); "
                         f"{env.config_source} is family {env.family}: use its summary-act variant")


__all__ = ["PyDialView", "SummaryView", "View", "function_tool", "slot_parameter", "view_of"]

"""Natural language both ways: PyDial-style dialogue acts rendered to English from templates.

Acts are the user simulator's tuples ``(act, ((slot, value | None, negated), ...))``. Each act type has
several paraphrases; which one is said is drawn from a generator the chat env derives from the reset
seed (:func:`dialog_gym.seeds.chat_text_rng`), never from the env's own, so the dialogue's dynamics do
not depend on the wording.

How a slot is called comes from the task config's optional ``nlg:`` block::

    nlg:
      entity: restaurant               # what an entity is called (default: the task's entity type)
      slots:                           # slot -> its English name (default: the name, "_" as spaces)
        pricerange: price range
        addr: address

so an imported ontology reads acceptably with no hand-work and better with a few lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dialog_gym.errors import ConfigError
from dialog_gym.utils import check_keys

DONTCARE = "dontcare"
#: English names of slot names PyDial's ontologies abbreviate (used when the ``nlg:`` block says nothing)
_KNOWN_SLOTS = {"addr": "address", "pricerange": "price range", "postcode": "postcode", "phone": "phone number",
                "food": "food type", "kind": "kind", "near": "neighbourhood", "goodformeal": "meal",
                "allowedforkids": "children allowed", "batteryrating": "battery rating",
                "driverange": "drive size", "isforbusinesscomputing":
                "business use", "sysmemory": "memory", "utility": "use"}
_NLG_KEYS = {"entity", "slots"}


@dataclass(frozen=True)
class Phrases:
    """How a task's slots and entities are called (the ``nlg:`` block, with the generic defaults)."""

    entity: str = "entity"
    slots: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, block: Any, entity: str, where: str) -> Phrases:
        """The ``nlg:`` block of a task config (None: the defaults), checked; errors name ``where``."""
        if block is None:
            return cls(entity)
        if not isinstance(block, Mapping):
            raise ConfigError(f"{where}: nlg: expected a mapping with entity and slots")
        check_keys(block, _NLG_KEYS, f"{where}: nlg")
        slots = block.get("slots") or {}
        if not isinstance(slots, Mapping) or not all(isinstance(v, str) and v for v in slots.values()):
            raise ConfigError(f"{where}: nlg.slots: expected a mapping of slot names to English names")
        name = block.get("entity", entity)
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: nlg.entity: expected what an entity is called, e.g. restaurant")
        return cls(name, {str(k): v for k, v in slots.items()})

    def slot(self, slot: str) -> str:
        """The English name of ``slot``."""
        name = self.slots.get(slot)
        if name is None:
            name = _KNOWN_SLOTS.get(slot, slot.replace("_", " "))
        return name


def pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    """One of ``options`` (a paraphrase), drawn from the wording generator ``rng``."""
    return options[int(rng.integers(len(options)))] if len(options) > 1 else options[0]


def _join(parts: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


class ActRenderer:
    """English for the user's and the system's acts of one task."""

    def __init__(self, phrases: Phrases) -> None:
        self.phrases = phrases

    # ------------------------------------------------------------------ pieces
    def constraint(self, item: tuple, rng: np.random.Generator) -> str:
        """One ``slot=value`` item as a clause said by the user."""
        slot, value, neg = item
        if slot == "type":
            return pick(rng, (f"I'm looking for a {value}", f"I need a {value}", f"I want to find a {value}"))
        if not slot:
            return "I don't mind" if value == DONTCARE else f"{'not ' if neg else ''}{value}"
        name = self.phrases.slot(slot)
        if value is None:
            return f"the {name}"
        if slot == "name":
            return f"{'not ' if neg else ''}the one called {value}"
        if value == DONTCARE:
            return pick(rng, (f"I don't mind about the {name}", f"any {name} is fine", f"the {name} doesn't matter"))
        if neg:
            return pick(rng, (f"the {name} should not be {value}", f"not {value} for the {name}"))
        return pick(rng, (f"the {name} should be {value}", f"{value} for the {name}", f"{name} {value}"))

    def fact(self, slot: str, value: Any) -> str:
        """A detail of an entity as the system tells it."""
        if value == DONTCARE:
            return f"any {self.phrases.slot(slot)}"
        return f"the {self.phrases.slot(slot)} is {value}"

    # ------------------------------------------------------------------ the user
    def user(self, act: tuple, rng: np.random.Generator) -> str:
        """A user act as something the customer says."""
        name, items = act
        clauses = [self.constraint(i, rng) for i in items if i[1] is not None]
        said = _sentence(_join(clauses)) + "." if clauses else ""
        slots = [self.phrases.slot(s) for s, v, _ in items if v is None and s]
        if name == "hello":
            return (pick(rng, ("Hello.", "Hi there.", "Hi.")) + (" " + said if said else "")).strip()
        if name == "inform":
            opener = pick(rng, ("", "Well, ", "OK, "))
            if not said:
                return "Hmm."
            return opener + (said if not opener or said.startswith("I ") or said.startswith("I'") else
                             said[0].lower() + said[1:])
        if name == "request":
            what = _join([f"the {s}" for s in slots]) or "that"
            return pick(rng, (f"What is {what}?", f"Could you tell me {what}?", f"And {what}?"))
        if name == "reqalts":
            ask = pick(rng, ("Is there anything else?", "Do you have something else?", "What else is there?"))
            return f"{ask} {said}".strip()
        if name == "confirm":
            facts = [self.constraint(i, rng) for i in items if i[1] is not None] or slots
            return pick(rng, ("Is it true that ", "Can you confirm that ")) + _join(facts) + "?"
        if name == "affirm":
            return f"{pick(rng, ('Yes.', 'Yes, that is right.', 'Correct.'))} {said}".strip()
        if name == "negate":
            return f"{pick(rng, ('No.', 'No, that is wrong.', 'Not really.'))} {said}".strip()
        if name == "deny":
            denied = [f"not {v}" for s, v, _ in items[:1] if v is not None]
            rest = [self.constraint(i, rng) for i in items[1:] if i[1] is not None]
            return _sentence(_join(["no", *denied])) + (". " + _sentence(_join(rest)) + "." if rest else ".")
        if name == "thankyou":
            return pick(rng, ("Thank you.", "Thanks!", "Thanks a lot."))
        if name == "ack":
            return pick(rng, ("OK.", "Alright.", "I see."))
        if name == "bye":
            return pick(rng, ("Goodbye.", "Thanks, bye!", "Bye."))
        if name == "repeat":
            return pick(rng, ("Could you repeat that?", "Sorry, what did you say?"))
        if name == "reqmore":
            return pick(rng, ("Can you tell me more?", "Anything else I should know?"))
        if name == "null":
            return "(silence)"
        return f"({name}) {said}".strip()

    # ------------------------------------------------------------------ the system
    def system(self, act: tuple, rng: np.random.Generator) -> str:
        """A system act as what the system says (the values it carries come from the database)."""
        name, items = act
        entity = self.phrases.entity
        if name == "request" and items:
            slot = self.phrases.slot(items[0][0])
            return pick(rng, (f"What {slot} would you like?", f"Do you have a {slot} in mind?",
                               f"Which {slot} are you looking for?"))
        if name == "confirm" and items:
            slot, value, _ = items[0]
            if value == DONTCARE:
                return f"You don't mind about the {self.phrases.slot(slot)}, is that right?"
            return pick(rng, (f"You want the {self.phrases.slot(slot)} to be {value}, is that right?",
                               f"Did you say {value} for the {self.phrases.slot(slot)}?"))
        if name == "select" and len(items) >= 2:
            slot = self.phrases.slot(items[0][0])
            return pick(rng, (f"Would you like {items[0][1]} or {items[1][1]} for the {slot}?",
                               f"Which {slot}: {items[0][1]} or {items[1][1]}?"))
        if name == "inform":
            named = next((v for s, v, _ in items if s == "name"), None)
            facts = [self.fact(s, v) for s, v, _ in items if s != "name" and v is not None]
            if named == "none":
                where = f" where {_join(facts)}" if facts else ""
                return pick(rng, (f"I'm sorry, there is no {entity}{where}.",
                                   f"Sorry, I don't know of any {entity}{where}."))
            details = f" {_sentence(_join(facts))}." if facts else ""
            return pick(rng, (f"{_sentence(str(named))} is a {entity} you may like.",
                               f"How about {named}?", f"I recommend {named}.")) + details
        if name == "bye":
            return pick(rng, ("Goodbye.", "Thank you, goodbye.", "Bye, have a nice day."))
        if name == "reqmore":
            return pick(rng, ("Can I help you with anything else?", "Is there anything else you need?"))
        if name == "hello":
            return f"Hello, welcome! How can I help you find a {entity}?"
        if name == "null":
            return "(the system said nothing)"
        return f"({name})"

    def nbest(self, nbest: Sequence[tuple[tuple, float]], rng: np.random.Generator) -> str:
        """The decoder's N-best hypotheses with confidences, one line each."""
        return "\n".join(f"{i}. [{conf:.2f}] {self.user(act, rng)}" for i, (act, conf) in enumerate(nbest, 1))


__all__ = ["ActRenderer", "Phrases", "pick"]

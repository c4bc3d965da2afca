"""The goal-driven ("agenda-style") simulated customer of a booking task.

At the start of a dialogue the user secretly picks a value for every goal slot (the profile's, e.g.
cuisine, location, people, price), how many slots its first inform will name, how many times it will
change its mind, how many matching suggestions it will turn down, and its patience. Then it reacts to the bot's last act
that expects a reply:

* ``ask_howcanhelp``: informs its first 1–3 slots; ``ask_slot``: informs that slot's goal value.
* ``ask_moreupdates``: the bot's summary shows its slots; the user first corrects anything missing or
  wrong (NLU errors), then makes one pending change of mind (a new value for a slot it has not changed
  yet, as in the bAbI stories), and once none is pending it denies.
* ``suggest``: with a change of mind still pending it denies and informs the change (a bot that skips
  ``ask_moreupdates`` does not skip the problem); a row that does not fit its current goal is
  denied, with the bot's wrong or missing slots informed; a fitting one is turned down while the
  sampled number of rejections lasts (and alternatives remain), then affirmed.
* ``ack_makereservation``: thanks if the reservation is right (see :meth:`SimulatedUser.reservation_ok`,
  the task's one definition of success), denies otherwise.
* ``ask_rephrase``: says its last act again.
* ``no_match`` (the bot says nothing fits), or ``ask_moreupdates`` in the turn of a search that found
  nothing: after correcting any wrong slot, the user relaxes one constraint, PyDial-style: it changes one
  goal slot to a value for which the table has rows (with probability ``relax_to_available``, else to
  any other value). A table with every combination never gets here.

Patience: a repetition (asking again for something already answered, suggesting a rejected row,
asking ``ask_moreupdates`` again after a plain "no", a second rephrase request for the same act, or
listening when nothing was asked) costs one point; at zero, or beyond the turn budget, the user gives
up. After thanking, the user leaves at the next turn the bot hands it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from dialog_gym.knowledge_base import KnowledgeBase
from dialog_gym.roles import (
    ACK_MAKERESERVATION,
    ASK_HOWCANHELP,
    ASK_MOREUPDATES,
    ASK_REPHRASE,
    ASK_SLOT,
    NO_MATCH,
    SEARCH,
    SUGGEST,
    TURN_HANDING_ROLES,
)
from dialog_gym.users.profile import UserProfile

_DEFAULT_NLG: dict[str, Any] = {
    "greet": "hello",
    "affirm": "yes, that sounds good",
    "deny": "no",
    "thankyou": "thank you",
    "inform": "I'd like {slots}",
    "slots": {},
}


@dataclass(slots=True)
class UserAct:
    """What the user meant: an intent role (greet, affirm, deny, inform, thankyou), entities and text."""

    intent: str
    entities: dict[str, str] = field(default_factory=dict)
    text: str = ""


@dataclass(slots=True)
class BotTurn:
    """What the user perceives of the bot's turn: its acts since the user last spoke, its slots (shown
    by the summary and reservation templates), the row it suggested, if any, and how many results of
    its latest search are left."""

    acts: list[tuple[str | None, str | None]]
    slots: Mapping[str, Any]
    suggestion: str | None = None
    alternatives_left: int = 0


class SimulatedUser:
    """A customer with a secret goal that may change; see the module docstring for its behaviour."""

    #: attributes fixed at construction (or pure caches): shared, not part of :meth:`get_state`
    _CONSTANT: ClassVar[frozenset[str]] = frozenset({"profile", "kb", "_nlg", "_slot_phrases", "_text_cache"})

    def __init__(self, profile: UserProfile, kb: KnowledgeBase) -> None:
        self.profile = profile
        self.kb = kb
        nlg = {**_DEFAULT_NLG, **dict(profile.nlg)}
        self._nlg = nlg
        self._slot_phrases = {s: nlg["slots"].get(s, f"{s} {{value}}") for s in profile.goal_slots}
        self.goal: dict[str, str] = {}
        self._text_cache: dict[tuple, str] = {}

    # ------------------------------------------------------------------ episode
    def reset(self, rng: np.random.Generator) -> UserAct:
        """Draw a new goal and plan; return the opening act (greet)."""
        p = self.profile
        slots = p.goal_slots
        n = len(slots)
        u = rng.random(2 * n + 4).tolist()  # one draw for the whole plan (numpy calls are slow)
        self.goal = {s: p.goal_values[s][int(u[i] * len(p.goal_values[s]))] for i, s in enumerate(slots)}
        size = p.first_inform_size.sample_from(u[n])
        order = sorted(range(n), key=lambda i: u[n + 1 + i])  # a uniformly random subset of the slots
        picked = set(order[:size])
        self.first_inform = tuple(s for i, s in enumerate(slots) if i in picked)
        self.changes_planned = p.changes_of_mind.sample_from(u[2 * n + 1])
        self.rejections_planned = p.rejections.sample_from(u[2 * n + 2])
        self.changes_left = self.changes_planned
        self.rejections_left = self.rejections_planned
        self.patience = p.patience_min + int(u[2 * n + 3] * (p.patience_max - p.patience_min + 1))
        self.turns = 0
        self.repetitions = 0
        self.voiced: set[str] = set()
        self.rejected: set[str] = set()
        self.changed: set[str] = set()
        self.affirmed: str | None = None
        self.asked_howcanhelp = False
        self.denied_moreupdates = False
        self.rephrase_pending = False
        self.success = False
        self.gave_up = False
        self.left = False
        self.last_act = self._act("greet")
        return self.last_act

    def get_state(self) -> dict[str, Any]:
        """A deep copy of everything a dialogue changes (goal, plan, counters), for environment states."""
        return copy.deepcopy({k: v for k, v in vars(self).items() if k not in self._CONSTANT})

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`get_state` returned (copied: ``state`` stays usable)."""
        for key in [k for k in vars(self) if k not in self._CONSTANT]:
            delattr(self, key)
        vars(self).update(copy.deepcopy(dict(state)))

    @property
    def done(self) -> bool:
        """The user has ended the dialogue (gave up, or left after thanking)."""
        return self.gave_up or self.left

    def reservation_ok(self, slots: Mapping[str, Any]) -> bool:
        """THE success criterion: the user affirmed a suggested row that fits its current (final) goal, and
        the booking details the bot holds are the goal's."""
        return (self.affirmed is not None and self.kb.fits_goal(self.affirmed, self.goal)
                and all(slots.get(s) == v for s, v in self.goal.items()))

    # ------------------------------------------------------------------ reacting
    def respond(self, turn: BotTurn, rng: np.random.Generator) -> UserAct | None:
        """The user's reply to the bot's turn, or ``None`` if it says nothing (or leaves)."""
        self.turns += 1
        if self.success:
            self.left = True
            return None
        if self.turns > self.profile.max_turns:
            self.gave_up = True
            return None
        role, slot = None, None
        acts = turn.acts
        for i in range(len(acts) - 1, -1, -1):
            if acts[i][0] in TURN_HANDING_ROLES:
                role, slot = acts[i]
                break
        if role is None:  # the bot listened without asking anything
            self._repeat()
            return None
        act = self._react(role, slot, turn, rng)
        if self.gave_up:
            return None
        if role != ASK_REPHRASE:
            self.rephrase_pending = False
        self.last_act = act
        return act

    def _react(self, role: str, slot: str | None, turn: BotTurn, rng: np.random.Generator) -> UserAct:
        goal = self.goal
        if role == ASK_HOWCANHELP:
            if self.asked_howcanhelp:
                self._repeat()
            self.asked_howcanhelp = True
            return self._inform({s: goal[s] for s in self.first_inform})
        if role == ASK_SLOT:
            if slot not in goal:
                return self._act("deny")
            if slot in self.voiced and turn.slots.get(slot) == goal[slot]:
                self._repeat()
            return self._inform({slot: goal[slot]})
        if role == NO_MATCH:
            return self._inform(self._discrepancies(turn.slots) or self._relax(rng))
        if role == ASK_MOREUPDATES:
            wrong = self._discrepancies(turn.slots)
            if wrong:
                return self._inform(wrong)
            if turn.alternatives_left == 0 and any(r == SEARCH for r, _ in turn.acts):
                return self._inform(self._relax(rng))  # the bot's search this turn found nothing
            if self.changes_left > 0:
                return self._inform(self._change_mind(rng))
            if self.denied_moreupdates:
                self._repeat()
            self.denied_moreupdates = True
            return self._act("deny")
        if role == SUGGEST:
            if self.changes_left > 0:
                return self._act("deny", self._change_mind(rng))
            name = turn.suggestion
            if name is not None and name in self.rejected:
                self._repeat()
                return self._act("deny")
            if not self.kb.fits_goal(name, goal):
                return self._act("deny", self._discrepancies(turn.slots))
            if self.rejections_left > 0 and turn.alternatives_left > 0:
                self.rejections_left -= 1
                self.rejected.add(name)  # type: ignore[arg-type]
                return self._act("deny")
            self.affirmed = name
            return self._act("affirm")
        if role == ACK_MAKERESERVATION:
            if self.reservation_ok(turn.slots):
                self.success = True
                return self._act("thankyou")
            return self._act("deny", self._discrepancies(turn.slots))
        # ASK_REPHRASE
        if self.rephrase_pending:
            self._repeat()
        self.rephrase_pending = True
        return self.last_act

    def _discrepancies(self, slots: Mapping[str, Any]) -> dict[str, str]:
        return {s: v for s, v in self.goal.items() if slots.get(s) != v}

    def _change_mind(self, rng: np.random.Generator) -> dict[str, str]:
        # a different slot each time, as in every bAbI story (repeats only once all slots have changed)
        slots = [s for s in self.profile.goal_slots if s not in self.changed] or list(self.profile.goal_slots)
        slot = slots[int(rng.integers(len(slots)))]
        self.changed.add(slot)
        others = [v for v in self.profile.goal_values[slot] if v != self.goal[slot]]
        self.goal[slot] = others[int(rng.integers(len(others)))]
        self.changes_left -= 1
        return {slot: self.goal[slot]}

    def _relax(self, rng: np.random.Generator) -> dict[str, str]:
        """Change one goal slot so that the table has rows for the goal (PyDial's reaction to "none")."""
        p = self.profile
        goal = self.goal
        options: dict[str, list[str]] = {}
        if p.relax_to_available >= 1.0 or rng.random() < p.relax_to_available:
            for s in p.goal_slots:
                fitting = [v for v in p.goal_values[s] if v != goal[s] and self.kb.search({**goal, s: v})]
                if fitting:
                    options[s] = fitting
        if not options:  # no single change helps (or the profile says: any value): change one at random
            options = {s: [v for v in p.goal_values[s] if v != goal[s]] for s in p.goal_slots}
        slots = list(options)
        slot = slots[int(rng.integers(len(slots)))]
        values = options[slot]
        goal[slot] = values[int(rng.integers(len(values)))]
        return {slot: goal[slot]}

    def _repeat(self) -> None:
        self.repetitions += 1
        self.patience -= 1
        if self.patience <= 0:
            self.gave_up = True

    def _inform(self, entities: dict[str, str]) -> UserAct:
        return self._act("inform", entities)

    def _act(self, intent: str, entities: dict[str, str] | None = None) -> UserAct:
        entities = entities or {}
        if entities:
            self.voiced.update(entities)
            self.denied_moreupdates = False
            self.affirmed = None if intent != "affirm" else self.affirmed
        return UserAct(intent, entities, self._text(intent, entities))

    def _text(self, intent: str, entities: Mapping[str, str]) -> str:
        key = (intent, *entities.items())
        text = self._text_cache.get(key)
        if text is None:
            text = self._text_cache[key] = self._render_text(intent, entities)
        return text

    def _render_text(self, intent: str, entities: Mapping[str, str]) -> str:
        nlg = self._nlg
        if not entities:
            return str(nlg.get(intent, intent))
        phrase = " ".join(self._slot_phrases[s].format(value=v) if s in self._slot_phrases else f"{s}={v}"
                          for s, v in entities.items())
        informed = str(nlg["inform"]).format(slots=phrase)
        return informed if intent == "inform" else f"{nlg.get(intent, intent)}, {informed}"

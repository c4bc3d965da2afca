"""The handcrafted slot-filling bot: the bAbI task-5 flow as rules on the tracker (every task's expert).

greet -> ask_howcanhelp; first inform -> on_it, then ask each missing slot in order; once all are set,
ask_moreupdates until the user denies -> ack_dosearch, search, suggest; deny -> ack_findalternatives,
suggest; affirm -> ack_makereservation; thankyou -> goodbye. A search that finds nothing -> no_match
(where the domain binds that role; else ask_moreupdates), and after the user's changed constraint
ask_moreupdates/search again.

It reads only the tracker, like a Rasa policy. Outside the bAbI flow (which NLU errors cause) it falls
back sensibly: search again if a slot changed since the last search, ask what is missing, or ask for
updates. Given the environment's action mask it takes its first preference that the mask allows.
It is the teacher that the imitation-learning tools imitate, and the "rule" baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dialog_gym.domain import ACTION_LISTEN_NAME, Domain
from dialog_gym.events import ActionExecuted, SlotSet
from dialog_gym.roles import (
    ACK_DOSEARCH,
    ACK_FINDALTERNATIVES,
    ACK_MAKERESERVATION,
    ASK_HOWCANHELP,
    ASK_MOREUPDATES,
    GOODBYE,
    LISTEN,
    NO_MATCH,
    ON_IT,
    SEARCH,
    SUGGEST,
    TURN_HANDING_ROLES,
    ActionRoles,
)
from dialog_gym.tracker import DialogueStateTracker


class SlotFillingExpert:
    """Rule policy following the bAbI bot's slot-filling flow, for any task whose actions are bound by
    role; :meth:`next_action` gives an action index."""

    def __init__(self, domain: Domain, roles: ActionRoles, matches_slot: str | None = None,
                 fillers: bool = True) -> None:
        self.domain = domain
        self.roles = roles
        matches_slot = matches_slot or roles.matches_slot  # the search results' slot, as the roles bind it
        self.matches_slot = matches_slot if matches_slot in domain.slot_names else None
        self.fillers = fillers  # say on_it / ack_dosearch / ack_findalternatives, as the bAbI bot does
        self._intent_role = {name: role for role, name in roles.intent_names.items()}
        self._role_by_name = {domain.action_names[i]: r[0] for i, r in enumerate(roles.roles)}
        self._search_name = domain.action_names[roles.index(SEARCH)]  # type: ignore[index]
        self._goal_slots = set(roles.slot_order)

    @classmethod
    def for_env(cls, env: Any) -> SlotFillingExpert:
        """The expert for a (wrapped) dialog_gym env, with its domain, roles and result slot."""
        base = env.unwrapped
        return cls(base.domain, base.roles, base.config.matches_slot)

    # ------------------------------------------------------------------ decisions
    def next_action(self, tracker: DialogueStateTracker, mask: np.ndarray | None = None) -> int:
        """The expert's action; with a ``mask``, its first preference that the mask allows."""
        for idx in self._preferences(tracker):
            if idx is not None and (mask is None or mask[idx]):
                return idx
        if mask is not None and mask.any():
            return int(np.flatnonzero(mask)[0])
        return self.roles.index(LISTEN)  # type: ignore[return-value]

    def __call__(self, tracker: DialogueStateTracker, mask: np.ndarray | None = None) -> int:
        return self.next_action(tracker, mask)

    def _preferences(self, tracker: DialogueStateTracker) -> Sequence[int | None]:
        idx = self.roles.index
        last = tracker.latest_action_name
        fallback = [*self._fill_or_update(tracker), idx(LISTEN)]
        if last is None:
            return [idx(LISTEN)]
        if last != ACTION_LISTEN_NAME:
            role = self._role_by_name.get(last)
            if role == ON_IT:
                return fallback
            if role == ACK_DOSEARCH:
                return [idx(SEARCH), *fallback]
            if role == SEARCH and not self._matches_left(tracker):  # nothing fits: say so, or ask for changes
                return [idx(NO_MATCH), *fallback]
            if role in (SEARCH, ACK_FINDALTERNATIVES):
                return [idx(SUGGEST), *fallback]
            if role in TURN_HANDING_ROLES or role == GOODBYE:
                return [idx(LISTEN)]
            return fallback

        intent = self._intent_role.get(tracker.latest_message.intent_name or "")
        question = self._role_by_name.get(tracker.latest_bot_action or "")
        if intent == "greet" and not self._executed(tracker, ASK_HOWCANHELP):
            return [idx(ASK_HOWCANHELP), *fallback]
        if intent == "thankyou" and question == ACK_MAKERESERVATION:
            return [idx(GOODBYE), *fallback]
        if question == SUGGEST and intent == "affirm":
            return [idx(ACK_MAKERESERVATION), *fallback]
        if idx(NO_MATCH) is not None and self._results_used_up(tracker):
            return [idx(NO_MATCH), *fallback]  # nothing (more) fits: say so, and the customer relaxes its goal
        if question in (SUGGEST, ACK_MAKERESERVATION):  # the suggestion or the booking was refused
            if self._results_fresh(tracker):
                alternatives = [idx(ACK_FINDALTERNATIVES), idx(SUGGEST)] if self.fillers else [idx(SUGGEST)]
                return [*alternatives, *fallback]
            return [*self._search(tracker), *fallback]
        if question == ASK_MOREUPDATES and intent == "deny":
            return [*self._search(tracker), *fallback]
        if question == NO_MATCH:  # the user changed a constraint (or corrected one): search again
            return [*self._search(tracker), *fallback]
        if question == ASK_HOWCANHELP and intent == "inform" and self.fillers:
            return [idx(ON_IT), *fallback]
        return fallback

    # ------------------------------------------------------------------ helpers
    def _search(self, tracker: DialogueStateTracker) -> list[int | None]:
        """Search (after the bAbI filler), or suggest the next result if the last search is still fresh."""
        idx = self.roles.index
        if self._results_fresh(tracker):
            return [idx(SUGGEST)]
        return [idx(ACK_DOSEARCH), idx(SEARCH)] if self.fillers else [idx(SEARCH)]

    def _results_used_up(self, tracker: DialogueStateTracker) -> bool:
        """A search ran, no goal slot changed since, and none of its rows is left to offer."""
        return (self._search_name in tracker.executed_action_names() and not self._matches_left(tracker)
                and not self._slots_changed_since_search(tracker))

    def _results_fresh(self, tracker: DialogueStateTracker) -> bool:
        return not self._slots_changed_since_search(tracker) and self._matches_left(tracker)

    def _fill_or_update(self, tracker: DialogueStateTracker) -> list[int | None]:
        for slot in self.roles.slot_order:
            if tracker.get_slot(slot) is None:
                return [self.roles.ask_index[slot]]
        return [self.roles.index(ASK_MOREUPDATES)]

    def _executed(self, tracker: DialogueStateTracker, role: str) -> bool:
        return any(self._role_by_name.get(name) == role for name in tracker.executed_action_names())

    def _slots_changed_since_search(self, tracker: DialogueStateTracker) -> bool:
        for event in reversed(tracker.applied_events()):
            if isinstance(event, ActionExecuted) and event.action_name == self._search_name:
                return False
            if isinstance(event, SlotSet) and event.key in self._goal_slots:
                return True
        return True  # never searched

    def _matches_left(self, tracker: DialogueStateTracker) -> bool:
        if self.matches_slot is None:
            return True
        return bool(tracker.get_slot(self.matches_slot))


#: the former name (the expert is not specific to restaurants)
RestaurantExpert = SlotFillingExpert

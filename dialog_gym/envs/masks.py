"""Action masks: which bot actions are *sensible* in the current dialogue state (PyDial's spirit).

Rules, applied in this order (roles as bound in ``dialog_gym/roles.py``):

1. After an act that hands the turn to the user (a question, a suggestion, the reservation check, a
   rephrase request) only ``action_listen`` is sensible; ``action_listen`` is sensible only then.
2. After a successful reservation (the user confirmed it) only ``goodbye``.
3. ``ask_slot(s)`` while slot ``s`` is unset; ``ask_howcanhelp`` once, before any goal slot is set.
4. ``ask_moreupdates`` and ``search`` once every goal slot is set; ``search`` not again until a slot
   changes.
5. ``suggest`` after a search whose results are still fresh (no slot changed since) and not used up.
6. ``ack_makereservation`` right after the user affirmed a suggestion.
7. ``goodbye`` once a reservation has been acknowledged and the user has answered.
8. Fillers: ``greet`` as the bot's first act; ``on_it`` once, right after a user inform;
   ``ack_dosearch`` at the start of a bot turn when ``search`` is sensible; ``ack_findalternatives``
   right after the user denied a suggestion; ``ask_rephrase`` right after the user spoke.
9. ``restart`` and ``default`` never.
10. ``no_match`` (where the domain binds it) only once the latest search's rows are used up: it found
    nothing, or every row it found was offered, and no goal slot changed since.

Some action is always sensible: outside rules 1–2 either a goal slot is unset (rule 3) or all are
set (rule 4). With masks off the mask is all ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from dialog_gym.roles import (
    ACK_DOSEARCH,
    ACK_FINDALTERNATIVES,
    ACK_MAKERESERVATION,
    ASK_HOWCANHELP,
    ASK_MOREUPDATES,
    ASK_REPHRASE,
    GOODBYE,
    GREET,
    LISTEN,
    NO_MATCH,
    ON_IT,
    SEARCH,
    SUGGEST,
    ActionRoles,
)


@dataclass(slots=True)
class DialogueProgress:
    """The facts about the dialogue so far that the masks (and the info dict) need."""

    bot_acted: bool = False          # the bot has done something other than listen
    awaiting_reply: bool = False     # a turn-handing act since the user last spoke
    just_heard: bool = True          # the user spoke and the bot has not acted since
    last_intent: str | None = "greet"  # intent role of the user's latest message (as the NLU heard it)
    question: str | None = None      # role of the bot's act the user's latest message answered
    asked_howcanhelp: bool = False
    said_on_it: bool = False
    results_fresh: bool = False      # a search happened and no goal slot changed since
    reservation_acked: bool = False
    reservation_answered: bool = False
    user_confirmed: bool = False     # the user thanked for the reservation (success)


class ActionMasker:
    """Computes the int8 mask of sensible actions from a :class:`DialogueProgress` and the slots."""

    def __init__(self, roles: ActionRoles, num_actions: int, enabled: bool = True) -> None:
        self.roles = roles
        self.enabled = enabled
        self.num_actions = num_actions
        idx = roles.index
        self._listen = idx(LISTEN)
        self._ask = [(slot, i) for slot, i in roles.ask_index.items()]
        self._howcanhelp = idx(ASK_HOWCANHELP)
        self._moreupdates = idx(ASK_MOREUPDATES)
        self._search = idx(SEARCH)
        self._suggest = idx(SUGGEST)
        self._reservation = idx(ACK_MAKERESERVATION)
        self._goodbye = idx(GOODBYE)
        self._greet = idx(GREET)
        self._on_it = idx(ON_IT)
        self._dosearch = idx(ACK_DOSEARCH)
        self._findalternatives = idx(ACK_FINDALTERNATIVES)
        self._rephrase = idx(ASK_REPHRASE)
        self._no_match = idx(NO_MATCH)
        self._all = self._frozen([*range(num_actions)])
        self._listen_only = self._frozen([self._listen])
        self._goodbye_only = self._frozen([self._goodbye])
        self._cache: dict[tuple[int | None, ...], np.ndarray] = {}  # sensible actions -> their mask

    def _frozen(self, allowed: list[int | None]) -> np.ndarray:
        mask = np.zeros(self.num_actions, dtype=np.int8)
        for i in allowed:
            if i is not None:
                mask[i] = 1
        mask.flags.writeable = False
        return mask

    def __call__(self, p: DialogueProgress, slots: Mapping[str, Any], matches_left: int) -> np.ndarray:
        """The mask, a shared read-only array (copy it to change it): the same set of sensible actions
        always gives the same array, so that a step builds none. All ones when the masks are off."""
        return self.sensible(p, slots, matches_left) if self.enabled else self._all

    def sensible(self, p: DialogueProgress, slots: Mapping[str, Any], matches_left: int) -> np.ndarray:
        """The rules' mask whether or not the masks are on (a shared read-only array, as ``__call__``'s);
        the summary acts' bye mask consults it with masks off."""
        if p.awaiting_reply:
            return self._listen_only
        if p.user_confirmed:
            return self._goodbye_only
        get = slots.get
        valid: list[int | None] = [i for slot, i in self._ask if get(slot) is None]  # ask what is unset
        append = valid.append
        all_set = not valid
        any_set = len(valid) < len(self._ask)
        if not p.asked_howcanhelp and not any_set:
            append(self._howcanhelp)
        fresh = p.results_fresh
        search_ok = all_set and not fresh
        if all_set:
            append(self._moreupdates)
            if search_ok:
                append(self._search)
        if fresh and matches_left > 0:
            append(self._suggest)
        heard = p.just_heard
        intent = p.last_intent
        if heard and intent == "affirm" and p.question == SUGGEST:
            append(self._reservation)
        if p.reservation_acked and p.reservation_answered:
            append(self._goodbye)
        if not p.bot_acted:
            append(self._greet)
        if fresh and matches_left == 0:  # the latest search found nothing, or every row it found was offered
            append(self._no_match)
        if heard:
            append(self._rephrase)
            if intent == "inform" and not p.said_on_it:
                append(self._on_it)
            if search_ok:
                append(self._dosearch)
            if intent == "deny" and p.question == SUGGEST:
                append(self._findalternatives)
        key = tuple(valid)
        mask = self._cache.get(key)
        if mask is None:
            mask = self._cache[key] = self._frozen(valid)
        return mask

"""What each bot action *does* in the restaurant task, bound to the action names of a domain.

The simulated user, the expert and the action masks reason about roles (``ask_slot``, ``search``,
``suggest``...), not action names, so the same environment runs any domain whose actions are bound in
the environment config (``actions:`` section). The defaults are the bAbI restaurant bot's names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dialog_gym.domain import Domain
from dialog_gym.errors import ConfigError

LISTEN = "listen"
RESTART = "restart"
GREET = "greet"
GOODBYE = "goodbye"
DEFAULT = "default"
ASK_HOWCANHELP = "ask_howcanhelp"
ON_IT = "on_it"
ASK_SLOT = "ask_slot"
ASK_MOREUPDATES = "ask_moreupdates"
ACK_DOSEARCH = "ack_dosearch"
SEARCH = "search"
SUGGEST = "suggest"
ACK_FINDALTERNATIVES = "ack_findalternatives"
ACK_MAKERESERVATION = "ack_makereservation"
ASK_REPHRASE = "ask_rephrase"

ALL_ROLES = (LISTEN, RESTART, GREET, GOODBYE, DEFAULT, ASK_HOWCANHELP, ON_IT, ASK_SLOT, ASK_MOREUPDATES,
             ACK_DOSEARCH, SEARCH, SUGGEST, ACK_FINDALTERNATIVES, ACK_MAKERESERVATION, ASK_REPHRASE)
REQUIRED_ROLES = (LISTEN, ASK_SLOT, ASK_MOREUPDATES, SEARCH, SUGGEST, ACK_MAKERESERVATION, GOODBYE)
#: acts after which the bot waits for the user's reply
TURN_HANDING_ROLES = frozenset({ASK_HOWCANHELP, ASK_SLOT, ASK_MOREUPDATES, SUGGEST, ACK_MAKERESERVATION,
                                ASK_REPHRASE})

USER_INTENTS = ("greet", "affirm", "deny", "inform", "thankyou")

DEFAULT_BINDINGS: dict[str, Any] = {
    LISTEN: "action_listen", RESTART: "action_restart", GREET: "utter_greet", GOODBYE: "utter_goodbye",
    DEFAULT: "utter_default", ASK_HOWCANHELP: "utter_ask_howcanhelp", ON_IT: "utter_on_it",
    ASK_SLOT: {"cuisine": "utter_ask_cuisine", "location": "utter_ask_location",
               "people": "utter_ask_numpeople", "price": "utter_ask_price"},
    ASK_MOREUPDATES: "utter_ask_moreupdates", ACK_DOSEARCH: "utter_ack_dosearch",
    SEARCH: "action_search_restaurants", SUGGEST: "action_suggest",
    ACK_FINDALTERNATIVES: "utter_ack_findalternatives", ACK_MAKERESERVATION: "utter_ack_makereservation",
    ASK_REPHRASE: "utter_ask_rephrase",
}


@dataclass(frozen=True)
class ActionRoles:
    """Role <-> action-index bindings for one domain. ``roles[i]`` is ``(role, slot or None)``."""

    roles: tuple[tuple[str | None, str | None], ...]
    index_of: Mapping[str, int]
    ask_index: Mapping[str, int]
    slot_order: tuple[str, ...]
    intent_names: Mapping[str, str]

    @classmethod
    def bind(cls, domain: Domain, bindings: Mapping[str, Any] | None = None,
             intents: Mapping[str, str] | None = None, where: str = "<config>") -> ActionRoles:
        """Bind roles to ``domain``; optional roles whose default action is missing stay unbound."""
        given = dict(bindings or {})
        unknown = sorted(set(given) - set(ALL_ROLES))
        if unknown:
            raise ConfigError(f"{where}: actions: unknown role(s) {', '.join(unknown)}; "
                              f"expected some of {', '.join(ALL_ROLES)}")
        merged = {**DEFAULT_BINDINGS, **given}
        roles: list[tuple[str | None, str | None]] = [(None, None)] * domain.num_actions
        index_of: dict[str, int] = {}
        ask_index: dict[str, int] = {}
        for role in ALL_ROLES:
            target = merged.get(role)
            explicit = role in given
            if role == ASK_SLOT:
                if not isinstance(target, Mapping) or not target:
                    raise ConfigError(f"{where}: actions.ask_slot: expected a mapping slot -> action")
                for slot, name in target.items():
                    if not domain.has_action(str(name)):
                        raise ConfigError(f"{where}: actions.ask_slot.{slot}: action {name!r} is not in the "
                                          f"domain {domain.source}")
                    idx = domain.index_for_action(str(name))
                    ask_index[str(slot)] = idx
                    roles[idx] = (ASK_SLOT, str(slot))
                continue
            if target is None:
                continue
            if not domain.has_action(str(target)):
                if explicit or role in REQUIRED_ROLES:
                    raise ConfigError(f"{where}: actions.{role}: action {target!r} is not in the domain "
                                      f"{domain.source}")
                continue
            idx = domain.index_for_action(str(target))
            index_of[role] = idx
            roles[idx] = (role, None)
        intent_names = {i: i for i in USER_INTENTS}
        if intents:
            unknown = sorted(set(intents) - set(USER_INTENTS))
            if unknown:
                raise ConfigError(f"{where}: intents: unknown user intent role(s) {', '.join(unknown)}")
            intent_names.update({k: str(v) for k, v in intents.items()})
        missing = [name for name in intent_names.values() if name not in domain.intents]
        if missing:
            raise ConfigError(f"{where}: intents: {', '.join(missing)} not in the domain {domain.source}")
        return cls(tuple(roles), index_of, ask_index, tuple(ask_index), intent_names)

    def index(self, role: str) -> int | None:
        return self.index_of.get(role)

    def role(self, index: int) -> tuple[str | None, str | None]:
        return self.roles[index]

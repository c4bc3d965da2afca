"""What each bot action *does* in a booking task, bound to the action names of a domain.

The simulated user, the expert and the action masks reason about roles (``ask_slot``, ``search``,
``suggest``...), not action names, so the same environment runs any domain whose actions are bound by
role. The bindings are data: a roles preset (``configs/roles/*.yml``, named by an env config's
``roles:`` key; :data:`DEFAULT_PRESET` when it names none) overridden by the config's ``actions:`` and
``intents:``. This module holds only the role vocabulary and the binding logic.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dialog_gym.domain import Domain
from dialog_gym.errors import ConfigError
from dialog_gym.resources import resolve_named
from dialog_gym.utils import check_keys, read_yaml

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
NO_MATCH = "no_match"  # tell the user nothing fits its request (optional; the user then relaxes a constraint)

ALL_ROLES = (LISTEN, RESTART, GREET, GOODBYE, DEFAULT, ASK_HOWCANHELP, ON_IT, ASK_SLOT, ASK_MOREUPDATES,
             ACK_DOSEARCH, SEARCH, SUGGEST, ACK_FINDALTERNATIVES, ACK_MAKERESERVATION, ASK_REPHRASE, NO_MATCH)
REQUIRED_ROLES = (LISTEN, ASK_SLOT, ASK_MOREUPDATES, SEARCH, SUGGEST, ACK_MAKERESERVATION, GOODBYE)
#: acts after which the bot waits for the user's reply
TURN_HANDING_ROLES = frozenset({ASK_HOWCANHELP, ASK_SLOT, ASK_MOREUPDATES, SUGGEST, ACK_MAKERESERVATION,
                                ASK_REPHRASE, NO_MATCH})

USER_INTENTS = ("greet", "affirm", "deny", "inform", "thankyou")

#: result slots: the search results and the current suggestion (both optional in a preset)
RESULT_SLOTS = ("matches", "suggestion")
#: the roles preset used when an env config names none (``configs/roles/babi.yml``)
DEFAULT_PRESET = "babi"


@dataclass(frozen=True)
class RolePreset:
    """A roles preset file: role -> action name, intent role -> intent name, result slot -> slot name."""

    actions: Mapping[str, Any]
    intents: Mapping[str, str]
    result_slots: Mapping[str, str]
    source: str = "<preset>"

    @classmethod
    def load(cls, name_or_path: str | os.PathLike | None = None) -> RolePreset:
        """A shipped preset by name (``"babi"``) or a YAML file; ``None`` gives :data:`DEFAULT_PRESET`."""
        path = resolve_named("roles", str(name_or_path or DEFAULT_PRESET))
        data = read_yaml(path)
        where = str(path)
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: a roles preset must be a mapping")
        check_keys(data, {"actions", "intents", "result_slots"}, where)
        sections = {}
        for key in ("actions", "intents", "result_slots"):
            value = data.get(key) or {}
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where}: {key}: expected a mapping")
            sections[key] = dict(value)
        check_keys(sections["result_slots"], set(RESULT_SLOTS), f"{where}: result_slots")
        return cls(sections["actions"], sections["intents"], sections["result_slots"], where)


@dataclass(frozen=True)
class ActionRoles:
    """Role <-> action-index bindings for one domain. ``roles[i]`` is ``(role, slot or None)``; the result
    slots (where ``search`` writes its results and ``suggest`` its suggestion) are None when unbound."""

    roles: tuple[tuple[str | None, str | None], ...]
    index_of: Mapping[str, int]
    ask_index: Mapping[str, int]
    slot_order: tuple[str, ...]
    intent_names: Mapping[str, str]
    matches_slot: str | None = None
    suggestion_slot: str | None = None
    #: the roles preset file the bindings started from (a config fingerprint hashes it; not part of equality)
    source: str = field(default="<preset>", compare=False)

    @classmethod
    def bind(cls, domain: Domain, bindings: Mapping[str, Any] | None = None,
             intents: Mapping[str, str] | None = None, where: str = "<config>",
             preset: RolePreset | None = None, result_slots: Mapping[str, Any] | None = None) -> ActionRoles:
        """Bind roles to ``domain``: ``bindings`` over the ``preset``'s (default :data:`DEFAULT_PRESET`);
        optional roles whose preset action the domain lacks stay unbound, explicit ones must exist. The
        same for the result slots: ``result_slots`` over the preset's; one the domain lacks is unbound
        unless given explicitly (then it is an error)."""
        preset = preset or RolePreset.load()
        given = dict(bindings or {})
        unknown = sorted(set(given) - set(ALL_ROLES))
        if unknown:
            raise ConfigError(f"{where}: actions: unknown role(s) {', '.join(unknown)}; "
                              f"expected some of {', '.join(ALL_ROLES)}")
        merged = {**preset.actions, **given}
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
        intent_names.update({k: str(v) for k, v in preset.intents.items() if k in intent_names})
        if intents:
            unknown = sorted(set(intents) - set(USER_INTENTS))
            if unknown:
                raise ConfigError(f"{where}: intents: unknown user intent role(s) {', '.join(unknown)}")
            intent_names.update({k: str(v) for k, v in intents.items()})
        missing = [name for name in intent_names.values() if name not in domain.intents]
        if missing:
            raise ConfigError(f"{where}: intents: {', '.join(missing)} not in the domain {domain.source}")
        given_slots = dict(result_slots or {})
        check_keys(given_slots, set(RESULT_SLOTS), f"{where}: result_slots")
        bound: dict[str, str | None] = {}
        for key in RESULT_SLOTS:
            name = given_slots.get(key, preset.result_slots.get(key))
            if name is not None and str(name) not in domain.slot_names:
                if key in given_slots:
                    raise ConfigError(f"{where}: result_slots.{key}: {name!r} is not a slot of the domain "
                                      f"{domain.source}")
                name = None
            bound[key] = None if name is None else str(name)
        return cls(tuple(roles), index_of, ask_index, tuple(ask_index), intent_names, bound["matches"],
                   bound["suggestion"], preset.source)

    def index(self, role: str) -> int | None:
        return self.index_of.get(role)

    def role(self, index: int) -> tuple[str | None, str | None]:
        return self.roles[index]

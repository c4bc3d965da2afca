"""A PyDial task as data: the ontology, the table and the settings an imported task directory holds.

A task directory (written by ``dialog-gym domain import-pydial``) has ``env.yml`` (``family: pydial``,
the ontology's slot roles, the settings and the ``register:`` block), ``domain.yml`` (a Rasa domain:
the user acts as intents, the informable slots as categorical slots with their values, the summary
acts as actions), ``table.csv`` (the entities), ``users/*.yml`` (PyDial's user parameters) and
``NOTICE``. :func:`load_task` reads it into a :class:`PyDialTask`; the table is indexed per slot value
(Python ints as bit sets) so that matching entities against constraints costs a few ANDs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialog_gym.domain import Domain
from dialog_gym.errors import ConfigError
from dialog_gym.families import family_named, read_env_config
from dialog_gym.knowledge_base import read_table
from dialog_gym.utils import check_keys

DONTCARE = "dontcare"
#: the user acts of PyDial's simulated user (the intents of an imported domain)
USER_ACTS = ("hello", "inform", "request", "reqalts", "confirm", "affirm", "negate", "deny", "thankyou",
             "ack", "bye", "repeat", "reqmore", "null")
#: PyDial's global summary acts, after the three per system-requestable slot (``policy/SummaryAction.py``)
GLOBAL_ACTS = ("inform", "inform_byname", "inform_alternatives", "bye", "repeat", "reqmore", "restart")
SLOT_ACT_KINDS = ("request", "confirm", "select")
#: top-level keys of a PyDial env config (``family: pydial``; declared by the family)
PYDIAL_KEYS = family_named("pydial").config_keys
_ONTOLOGY_KEYS = {"informable", "system_requestable", "requestable"}


def summary_actions(system_requestable: list[str] | tuple[str, ...]) -> list[str]:
    """PyDial's summary acts: request/confirm/select per system-requestable slot, then the global ones."""
    return [f"{kind}_{slot}" for slot in system_requestable for kind in SLOT_ACT_KINDS] + list(GLOBAL_ACTS)


@dataclass
class PyDialTask:
    """An imported PyDial domain: slot roles, values, entities and the file it came from."""

    name: str
    entity_type: str
    informable: dict[str, tuple[str, ...]]          # slot -> values (without dontcare), name included
    system_requestable: tuple[str, ...]
    requestable: tuple[str, ...]
    rows: list[dict[str, str]]
    domain: Domain
    source: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.actions = tuple(summary_actions(self.system_requestable))
        self.all_rows = (1 << len(self.rows)) - 1
        index: dict[str, dict[str, int]] = {}
        for slot in self.informable:
            per_value: dict[str, int] = {}
            for i, row in enumerate(self.rows):
                value = row.get(slot, "")
                per_value[value] = per_value.get(value, 0) | (1 << i)
            index[slot] = per_value
        self._index = index
        self._discriminable: dict[tuple, bool] = {}
        self.name_row = {row["name"]: i for i, row in enumerate(self.rows)}
        # user-requestable goal slots: requestable but not system-requestable (PyDial's request goal slots)
        self.goal_request_slots = tuple(s for s in self.requestable if s not in self.system_requestable
                                        and s != "name")
        # slots on which entities are told apart (PyDial: informable but name and price)
        self.discriminating = tuple(s for s in self.informable if s not in ("name", "price"))

    def matches(self, constraints: Mapping[str, str]) -> int:
        """The rows fitting ``constraints`` (slot -> value; dontcare fits anything) as a bit set."""
        bits = self.all_rows
        for slot, value in constraints.items():
            if value == DONTCARE or slot not in self._index:
                continue
            bits &= self._index[slot].get(value, 0)
            if not bits:
                return 0
        return bits

    def row_ids(self, bits: int) -> list[int]:
        """The row numbers in a bit set, in table order."""
        out = []
        while bits:
            low = bits & -bits
            out.append(low.bit_length() - 1)
            bits ^= low
        return out

    def discriminable(self, constraints: Mapping[str, str]) -> bool:
        """PyDial's test: at least two rows fit and some slot not said to be dontcare tells them apart."""
        key = tuple(constraints.items())
        cached = self._discriminable.get(key)
        if cached is not None:
            return cached
        bits = self.matches(constraints)
        result = False
        if bits & (bits - 1):
            first = self.rows[(bits & -bits).bit_length() - 1]
            for slot in self.discriminating:
                if constraints.get(slot) != DONTCARE and bits & ~self._index[slot][first.get(slot, "")]:
                    result = True
                    break
        if len(self._discriminable) < 100_000:
            self._discriminable[key] = result
        return result


def load_task(config: str | os.PathLike) -> tuple[PyDialTask, dict[str, Any], Path]:
    """The pydial family's config loader: a PyDial task's env config (a path, or one relative to the shipped
    configs) and the files it names; ``(task, settings, path)``."""
    path, data, family = read_env_config(config)
    where = str(path)
    if family.name != "pydial":
        raise ConfigError(f"{where}: family: expected 'pydial', got {data.get('family')!r}")
    for key in ("domain", "table", "ontology"):
        if key not in data:
            raise ConfigError(f"{where}: missing key {key!r}")
    ontology = data["ontology"]
    if not isinstance(ontology, Mapping):
        raise ConfigError(f"{where}: ontology: expected a mapping")
    check_keys(ontology, _ONTOLOGY_KEYS, f"{where}: ontology")
    lists = {}
    for key in _ONTOLOGY_KEYS:
        value = ontology.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: ontology.{key}: expected a non-empty list of slot names")
        lists[key] = value
    domain = Domain.load(str(path.parent / str(data["domain"])))
    informable: dict[str, tuple[str, ...]] = {}
    for slot in lists["informable"]:
        if slot not in domain.slot_names:
            raise ConfigError(f"{where}: ontology.informable: {slot!r} is not a slot of {domain.source}")
        values = getattr(domain.slot(slot), "values", None)
        if not values:
            raise ConfigError(f"{domain.source}: slots.{slot}: an informable slot must be categorical with values")
        informable[slot] = tuple(str(v) for v in values if str(v) != DONTCARE)
    for slot in lists["system_requestable"]:
        if slot not in informable:
            raise ConfigError(f"{where}: ontology.system_requestable: {slot!r} is not informable")
    missing = [a for a in summary_actions(lists["system_requestable"]) if not domain.has_action(a)]
    if missing:
        raise ConfigError(f"{domain.source}: actions: missing summary act(s) {', '.join(missing)}")
    rows = read_table(path.parent / str(data["table"]), list(informable))
    task = PyDialTask(str(data.get("name", path.parent.name)), str(data.get("entity_type", "entity")), informable,
                      tuple(lists["system_requestable"]), tuple(lists["requestable"]), rows, domain, where, data)
    return task, data, path

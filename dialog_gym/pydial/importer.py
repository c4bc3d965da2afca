"""Import a PyDial ontology (``<Domain>-rules.json``) and its SQLite table into a task directory.

The directory runs with ``gym.make("dialog_gym/Dialogue-v0", config="DIR/env.yml")`` and registers its
six benchmark settings (Env1–Env6 of Casanueva et al. 2017) when passed to
:func:`dialog_gym.register_task`. Any PyDial ontology imports the same way: the slot roles come from its
``informable``, ``requestable`` and ``system_requestable`` keys, the summary acts from the
system-requestable slots (3 per slot + 7, as PyDial's ``policy/SummaryAction.py``).
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import yaml

from dialog_gym.errors import ConfigError
from dialog_gym.pydial.task import DONTCARE, USER_ACTS, summary_actions
from dialog_gym.utils import atomic_write, read_text

#: the six settings of the PyDial benchmark: semantic error rate, user, masks
ENV_SETTINGS = {
    1: (0.0, "standard", True),
    2: (0.0, "standard", False),
    3: (0.15, "standard", True),
    4: (0.15, "standard", False),
    5: (0.15, "unfriendly", True),
    6: (0.30, "standard", True),
}
#: PyDial's ``config/sampledUM.cfg`` and ``config/unfriendlyUM.cfg``: each behaviour probability is drawn
#: uniformly from its range at the start of every dialogue
_COMMON_PARAMS: dict[str, list[float]] = {
    "AddSlotToReq": [0.2, 0.4], "NoAfterReqmore": [0.8, 0.9], "YesAfterReqmore": [0.2, 0.3],
    "ByeOrStartOver": [0.2, 0.5], "DealWithPending": [0.4, 0.6], "AddVenueNameToRequest": [0.01, 0.2],
    "InformToConfirm": [0.01, 0.2], "CombAffirmWithAgdItem": [0.01, 0.2], "OverruleCorrection": [0.01, 0.2],
    "ConfirmRandomConstr": [0.01, 0.3], "ReqAltsAfterVenRec1": [0.01, 0.3], "ReqAltsAfterVenRec2": [0.01, 0.3],
    "NewRequestResp1": [0.1, 0.4], "NewRequestResp2": [0.1, 0.4], "CorrectingAct1": [0.3, 0.5],
    "CorrectingAct2": [0.3, 0.5], "ThankAck1": [0.01, 0.2], "ThankAck2": [0.01, 0.2],
}
USER_PROFILES: dict[str, dict[str, Any]] = {
    "standard": {
        "description": "PyDial's standard simulated user (config/sampledUM.cfg)",
        "params": {"InformCombination": [0.2, 0.7], "AffirmCombination": [0.2, 0.7], "Greeting": [0.3, 0.7],
                   "ConstraintRelax": [0.5, 0.8], "TellAboutChange": [0.4, 0.6], **_COMMON_PARAMS},
    },
    "unfriendly": {
        "description": "PyDial's unfriendly simulated user (config/unfriendlyUM.cfg): volunteers less, relaxes less",
        "params": {"InformCombination": [0.0, 0.4], "AffirmCombination": [0.0, 0.4], "Greeting": [0.1, 0.4],
                   "ConstraintRelax": [0.2, 0.5], "TellAboutChange": [0.2, 0.4], **_COMMON_PARAMS},
    },
}
_GOAL = {"max_constraints": 3, "min_venues": 2, "max_venues": 3, "max_extra_requests": 2}
_PATIENCE = {"min": 4, "max": 6}

NOTICE = """This task directory was derived from PyDial's {name} ontology and database
(ontology/ontologies/{name}-rules.json and {name}-dbase.db of PyDial, and its simulated-user parameters
config/sampledUM.cfg and config/unfriendlyUM.cfg), converted by `dialog-gym domain import-pydial`.

PyDial - Copyright 2015-2017 Cambridge University Engineering Department Dialogue Systems Group.
Licensed under the Apache License, Version 2.0 (the "License"); you may not use these files except in
compliance with the License. You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software distributed under the License is
distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and limitations under the License.

Changes: the ontology's slot roles and values became a Rasa domain (domain.yml) and an env config
(env.yml), the SQLite table a CSV file (table.csv), values lower-cased.
"""


def read_rules(path: str | Path) -> dict[str, Any]:
    """A PyDial rules file, checked: ``informable`` (slot -> values), ``requestable``, ``system_requestable``."""
    path = Path(path)
    text = read_text(path, ConfigError, "rules file")
    try:
        rules = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from None
    if not isinstance(rules, dict):
        raise ConfigError(f"{path}: a PyDial rules file must be a JSON object")
    informable = rules.get("informable")
    if not isinstance(informable, dict) or not informable:
        raise ConfigError(f"{path}: missing key 'informable' (slot -> list of values)")
    for slot, values in informable.items():
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise ConfigError(f"{path}: informable.{slot}: expected a non-empty list of strings")
    if "name" not in informable:
        raise ConfigError(f"{path}: informable: a PyDial ontology has a 'name' slot (the entities' names)")
    for key in ("requestable", "system_requestable"):
        value = rules.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}: missing key {key!r} (a non-empty list of slot names)")
    bad = [s for s in rules["system_requestable"] if s not in informable]
    if bad:
        raise ConfigError(f"{path}: system_requestable: {', '.join(bad)} not in informable")
    for slot in [*informable, *rules["requestable"]]:
        if not re.fullmatch(r"[A-Za-z0-9_]+", slot) or slot.startswith("requested_"):
            raise ConfigError(f"{path}: slot name {slot!r}: use letters, digits and underscores")
    return rules


def read_database(path: str | Path, table: str | None, needed: list[str]) -> tuple[list[str], list[list[str]]]:
    """Columns and rows of the SQLite table (the one named ``table``, else the only one)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    with open(path, "rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            raise ConfigError(f"{path}: not an SQLite 3 database")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            if table is None:
                if len(names) != 1:
                    raise ConfigError(f"{path}: {len(names)} tables ({', '.join(names) or 'none'}); expected one")
                table = names[0]
            elif table not in names:
                raise ConfigError(f"{path}: no table {table!r} (tables: {', '.join(names) or 'none'})")
            cursor = con.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            rows = [["" if v is None else str(v) for v in row] for row in cursor.fetchall()]
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise ConfigError(f"{path}: cannot read the SQLite database: {exc}") from None
    missing = [s for s in needed if s not in columns]
    if missing:
        raise ConfigError(f"{path}: table {table!r} lacks column(s) for informable slot(s) {', '.join(missing)}")
    if not rows:
        raise ConfigError(f"{path}: table {table!r} has no rows")
    return columns, rows


def derive_prefix(name: str) -> str:
    """An id prefix from a domain name: its capitals and digits (``CamRestaurants`` -> ``CR``)."""
    caps = "".join(c for c in name if c.isupper() or c.isdigit())
    return caps if len(caps) >= 2 else re.sub(r"[^A-Za-z0-9]", "", name)[:8] or "Task"


def domain_dict(rules: dict[str, Any]) -> dict[str, Any]:
    """The Rasa domain of an ontology: user acts as intents, slots, summary acts with templates."""
    informable = rules["informable"]
    requestable = rules["requestable"]
    sysreq = rules["system_requestable"]
    slots: dict[str, Any] = {}
    for slot, values in informable.items():
        vals = list(dict.fromkeys(v.lower() for v in values))
        slots[slot] = {"type": "categorical", "values": [*vals, DONTCARE]}
    for slot in requestable:
        slots[f"requested_{slot}"] = {"type": "bool"}
    entities = list(dict.fromkeys([*informable, *requestable]))
    actions = summary_actions(sysreq)
    templates = {}
    for slot in sysreq:
        templates[f"request_{slot}"] = [f"request({slot})"]
        templates[f"confirm_{slot}"] = [f"confirm({slot}={{{slot}}})"]
        templates[f"select_{slot}"] = [f"select({slot})"]
    for act in ("inform", "inform_byname", "inform_alternatives", "bye", "repeat", "reqmore", "restart"):
        templates[act] = [f"{act}()"]
    return {"intents": list(USER_ACTS), "entities": entities, "slots": slots, "actions": actions,
            "templates": templates}


def env_dict(name: str, rules: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The env config of an imported task, with the register block of the six settings."""
    ids = {}
    for n, (error, user, masks) in ENV_SETTINGS.items():
        ids[f"PyDial-{prefix}-Env{n}-v0"] = {
            "noise": error, "user": user, "masks": masks,
            "description": f"PyDial {name} Env{n}: {round(error * 100)}% error, {user} user, "
                           f"masks {'on' if masks else 'off'}",
            "suites": ["pydial18"] if prefix in ("CR", "SFR", "LAP") else [f"pydial-{prefix}"],
        }
    return {
        "family": "pydial",
        "name": name,
        "entity_type": str(rules.get("type", "entity")),
        "domain": "domain.yml",
        "table": "table.csv",
        "ontology": {"informable": list(rules["informable"]), "system_requestable": list(rules["system_requestable"]),
                     "requestable": list(rules["requestable"])},
        "user": "standard",
        "noise": {"error_rate": 0.0, "nbest": 5},
        "masks": True,
        "reward": {"success": 20, "turn": -1, "failure": 0},
        "max_turns": 25,
        "register": {"reward_threshold": 0.0, "ids": ids},
    }


def import_pydial(rules_path: str | Path, db_path: str | Path, out: str | Path, id_prefix: str | None = None,
                  name: str | None = None) -> Path:
    """Convert a PyDial ontology + table into the task directory ``out``; returns the env config's path.

    ``name`` defaults to the rules file's name without ``-rules.json``; the SQLite table read is the one of
    that name if present, else the only one.
    """
    rules_path, db_path, out = Path(rules_path), Path(db_path), Path(out)
    rules = read_rules(rules_path)
    name = name or re.sub(r"-rules$", "", rules_path.stem)
    prefix = id_prefix or derive_prefix(name)
    if not re.fullmatch(r"[A-Za-z0-9]+", prefix):
        raise ConfigError(f"--id-prefix {prefix!r}: use letters and digits")
    informable = list(rules["informable"])
    try:
        columns, rows = read_database(db_path, name, informable)
    except ConfigError as exc:
        if "no table" not in str(exc):
            raise
        columns, rows = read_database(db_path, None, informable)
    keep = [c for c in columns if c not in ("id",)]
    lower = set(informable)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(keep)
    for row in rows:
        cells = dict(zip(columns, row, strict=True))
        writer.writerow([cells[c].lower() if c in lower else cells[c] for c in keep])
    out.mkdir(parents=True, exist_ok=True)
    header = (f"# PyDial {name} imported by `dialog-gym domain import-pydial` (Apache-2.0: see NOTICE).\n")
    _write(out / "table.csv", buffer.getvalue())
    _write(out / "domain.yml", header + yaml.safe_dump(domain_dict(rules), sort_keys=False, width=120))
    for profile, spec in USER_PROFILES.items():
        data = {"name": profile, "description": spec["description"], "goal": dict(_GOAL),
                "patience": dict(_PATIENCE), "params": spec["params"]}
        _write(out / "users" / f"{profile}.yml", header + yaml.safe_dump(data, sort_keys=False, width=120))
    _write(out / "env.yml", header + yaml.safe_dump(env_dict(name, rules, prefix), sort_keys=False, width=120))
    _write(out / "NOTICE", NOTICE.format(name=name))
    return out / "env.yml"


def _write(path: Path, text: str) -> None:
    with atomic_write(path) as handle:
        handle.write(text)

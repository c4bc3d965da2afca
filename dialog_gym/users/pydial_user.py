"""PyDial's agenda-based simulated user (Schatzmann-style), as PyDial's ``usersimulator/`` behaves.

Dialogue acts are plain tuples ``(act, items)`` with items ``(slot, value, negated)`` (value None for
a requested slot), cheap to build, hash and compare.

The goal: up to 3 constraints on system-requestable slots (values drawn uniformly from the slot's
values plus ``dontcare``; redrawn until 2 or 3 entities fit, PyDial's ``1 < venues < 4``), and
requests for ``name`` plus 0–2 user-requestable slots. The agenda: ``inform(type)``, one inform per
constraint, ``bye`` at the bottom. Every behaviour probability of the profile (PyDial's
``sampledUM.cfg`` / ``unfriendlyUM.cfg``) is drawn uniformly from its range per dialogue.

Behaviour (PyDial's ``UMHdcSim``): answers ``request(slot)`` with the constraint (or a new
``dontcare`` constraint for a slot it has none on); corrects a wrong ``confirm``/offer
(negate / deny / inform, per ``CorrectingAct1/2``); affirms a right ``confirm``; relaxes one constraint
when told nothing matches (to ``dontcare`` with ``ConstraintRelax``, else to another value); after the
first offer asks for alternatives (``ReqAltsAfterVenRec1``) or changes its goal (``ReqAltsAfterVenRec2``);
requests the goal's request slots once an entity is offered; merges the next informs on its agenda
(``InformCombination``). Patience (drawn per dialogue as PyDial does: ``randint(min, max)``, i.e. 4 or
5 for ``patience 4,6``) drops by one each time the system repeats its previous act exactly (or says
something empty); at zero the user says bye. A wrong confirmation costs the dialogue with probability
``(1 - patience / max_patience)^2``.

Left out (rare in PyDial's own runs, documented): ``InformToConfirm`` (turning pending informs into
confirms), the slot-less ``inform(=dontcare)`` form, multi-domain conditional goals.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from dialog_gym.errors import ConfigError
from dialog_gym.pydial.task import DONTCARE, PyDialTask
from dialog_gym.resources import resolve_named
from dialog_gym.utils import check_keys, read_yaml

Item = tuple  # (slot, value | None, negated)
Act = tuple   # (act, tuple[Item, ...])

PARAMS = ("InformCombination", "AffirmCombination", "Greeting", "ConstraintRelax", "TellAboutChange",
          "AddSlotToReq", "NoAfterReqmore", "YesAfterReqmore", "ByeOrStartOver", "DealWithPending",
          "AddVenueNameToRequest", "InformToConfirm", "CombAffirmWithAgdItem", "OverruleCorrection",
          "ConfirmRandomConstr", "ReqAltsAfterVenRec1", "ReqAltsAfterVenRec2", "NewRequestResp1",
          "NewRequestResp2", "CorrectingAct1", "CorrectingAct2", "ThankAck1", "ThankAck2")
_GOAL_KEYS = {"max_constraints", "min_venues", "max_venues", "max_extra_requests"}
BYE: Act = ("bye", ())
#: valid goals per task file and goal settings (enumerated once per process)
_VALID_GOALS: dict[tuple, list] = {}


def act_str(act: Act) -> str:
    """PyDial's string form, e.g. ``inform(food="thai",area!="north")``, ``request(phone)``."""
    name, items = act
    parts = []
    for slot, value, neg in items:
        if value is None:
            parts.append(str(slot))
        else:
            parts.append(f'{slot or ""}{"!=" if neg else "="}"{value}"')
    return f"{name}({','.join(parts)})"


@dataclass(frozen=True)
class PyDialUserProfile:
    """PyDial's user parameters: behaviour probability ranges, goal sizes, patience range."""

    name: str
    params: dict[str, tuple[float, float]]
    max_constraints: int = 3
    min_venues: int = 2
    max_venues: int = 3
    max_extra_requests: int = 2
    patience: tuple[int, int] = (4, 6)
    description: str = ""
    source: str = "<profile>"

    @classmethod
    def load(cls, name_or_path: str | os.PathLike, base: os.PathLike | None = None) -> PyDialUserProfile:
        """A profile file: a path, or a name looked up in ``users/`` beside the task (``base``)."""
        text = str(name_or_path)
        path = None
        if base is not None and not text.endswith((".yml", ".yaml")):
            candidate = os.path.join(base, "users", text + ".yml")
            path = candidate if os.path.isfile(candidate) else None
        if path is None:
            path = str(resolve_named("users", text))
            if base is not None and not os.path.isabs(path) and not os.path.isfile(path):
                beside = os.path.join(base, path)
                path = beside if os.path.isfile(beside) else path
        return cls.from_dict(read_yaml(path), str(path))

    @classmethod
    def from_dict(cls, data: Any, where: str) -> PyDialUserProfile:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: a user profile must be a mapping")
        check_keys(data, {"name", "description", "goal", "patience", "params"}, where)
        raw = data.get("params")
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: params: expected a mapping of PyDial behaviour parameters")
        check_keys(raw, set(PARAMS), f"{where}: params")
        params = {}
        for key in PARAMS:
            value = raw.get(key, 0.0)
            try:
                lo, hi = (float(value), float(value)) if not isinstance(value, list) else map(float, value)
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: params.{key}: expected a probability or [low, high]") from None
            if not 0.0 <= lo <= hi <= 1.0:
                raise ConfigError(f"{where}: params.{key}: expected 0 <= low <= high <= 1, got {value!r}")
            params[key] = (lo, hi)
        goal = data.get("goal") or {}
        check_keys(goal, _GOAL_KEYS, f"{where}: goal")
        patience = data.get("patience") or {}
        check_keys(patience, {"min", "max"}, f"{where}: patience")
        try:
            out = cls(str(data.get("name", "user")), params, int(goal.get("max_constraints", 3)),
                      int(goal.get("min_venues", 2)), int(goal.get("max_venues", 3)),
                      int(goal.get("max_extra_requests", 2)),
                      (int(patience.get("min", 4)), int(patience.get("max", 6))),
                      str(data.get("description", "")), where)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: goal and patience values must be integers") from None
        if not 1 <= out.patience[0] < out.patience[1]:
            raise ConfigError(f"{where}: patience: expected 1 <= min < max, got {out.patience}")
        if out.min_venues > out.max_venues or out.min_venues < 1:
            raise ConfigError(f"{where}: goal: expected 1 <= min_venues <= max_venues")
        return out


class PyDialUser:
    """The agenda-based user of one task; :meth:`reset` draws a goal, :meth:`turn` answers a system act."""

    def __init__(self, task: PyDialTask, profile: PyDialUserProfile) -> None:
        self.task = task
        self.profile = profile
        self._nvalues = np.array([len(task.informable[s]) + 1 for s in task.system_requestable])
        # per system-requestable slot, the rows fitting each value index (the last one: dontcare)
        self._value_bits = [[task.matches({s: v}) for v in (*task.informable[s], DONTCARE)]
                            for s in task.system_requestable]
        self._req_pool = [s for s in task.requestable if s not in task.system_requestable]
        self._lo = np.array([profile.params[k][0] for k in PARAMS])
        self._span = np.array([profile.params[k][1] - profile.params[k][0] for k in PARAMS])

    # ------------------------------------------------------------------ goal
    def reset(self, rng: np.random.Generator, scenario: Mapping[str, Any] | None = None) -> Act:
        """A new goal and agenda; returns the user's answer to the system's opening ``hello()``.

        ``scenario`` fixes parts of the dialogue (tests, demonstrations): ``constraints`` (slot ->
        value), ``requests`` (slots besides name), ``params`` (behaviour probabilities), ``patience``.
        What it fixes is not drawn (the random numbers drawn for the rest differ then).
        """
        scenario = dict(scenario or {})
        check_keys(scenario, {"constraints", "requests", "params", "patience"}, "reset options")
        self.rng = rng
        draws = self._lo + self._span * rng.random(len(PARAMS))
        self.p = dict(zip(PARAMS, draws.tolist(), strict=True))
        for key, value in (scenario.get("params") or {}).items():
            if key not in self.p:
                raise ConfigError(f"reset options: params: unknown parameter {key!r}")
            self.p[key] = float(value)
        lo, hi = self.profile.patience
        self.max_patience = int(scenario["patience"]) if "patience" in scenario else int(rng.integers(lo, hi))
        self.patience = self.max_patience
        if "constraints" in scenario:
            self.constraints = {str(k): str(v) for k, v in scenario["constraints"].items()}
        else:
            self.constraints = self._draw_constraints(rng)
        self.name_eq: str | None = None
        self.name_neq: set[str] = set()
        self.requests: dict[str, str | None] = {"name": None}
        if "requests" in scenario:
            self.requests.update({str(s): None for s in scenario["requests"]})
        else:
            n = int(rng.integers(0, self.profile.max_extra_requests + 1))
            if n > 0 and len(self._req_pool) >= n:
                for slot in rng.choice(self._req_pool, n, replace=False):
                    self.requests[str(slot)] = None
        self.prev_values = {s: {v} for s, v in self.constraints.items()}
        self.agenda: list[Act] = [BYE]
        for slot, value in reversed(list(self.constraints.items())):
            self.agenda.append(("inform", ((slot, value, False),)))
        self.agenda.append(("inform", (("type", self.task.entity_type, False),)))
        self.last_user_act: Act = ("null", ())
        self.last_sys_act: Act | None = None
        self.first_offer = True
        self.gave_up = False
        self.receive(("hello", ()))
        return self.respond()

    def _draw_constraints(self, rng: np.random.Generator) -> dict[str, str]:
        """Constraints: ``k`` distinct slots in random order, each a value or dontcare, such that the number
        of fitting entities is in range; uniform over the valid goals, which is what PyDial's redrawing
        (up to 2000 times) gives. Small tasks enumerate the valid goals once; large ones redraw."""
        task, slots = self.task, self.task.system_requestable
        k = min(self.profile.max_constraints, len(slots))
        table = self._valid_goals(k)
        if table:
            slot_ids, value_ids = table[int(rng.integers(len(table)))]
            order = rng.permutation(k).tolist()
            return {slots[slot_ids[i]]: self._value(slot_ids[i], value_ids[i]) for i in order}
        lo, hi = self.profile.min_venues, self.profile.max_venues
        ids: list[int] = []
        values: list[int] = []
        for _ in range(2000):
            ids = rng.permutation(len(slots))[:k].tolist()
            values = [int(rng.integers(self._nvalues[i])) for i in ids]
            bits = task.all_rows
            for slot_i, value_i in zip(ids, values, strict=True):
                bits &= self._value_bits[slot_i][value_i]
            if lo <= bits.bit_count() <= hi:
                break
        return {slots[i]: self._value(i, v) for i, v in zip(ids, values, strict=True)}

    def _value(self, slot_i: int, value_i: int) -> str:
        values = self.task.informable[self.task.system_requestable[slot_i]]
        return values[value_i] if value_i < len(values) else DONTCARE

    def _valid_goals(self, k: int) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        """Every valid goal as (slot indices, value indices), when there are at most 20,000 candidates
        (else empty: draw and redraw instead); computed once per task."""
        cache = _VALID_GOALS
        key = (self.task.source, len(self.task.rows), k, self.profile.min_venues, self.profile.max_venues)
        if key in cache:
            return cache[key]
        import itertools

        subsets = list(itertools.combinations(range(len(self._nvalues)), k))
        total = sum(int(np.prod([self._nvalues[i] for i in sub])) for sub in subsets)
        out: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
        if total <= 20_000:
            lo, hi = self.profile.min_venues, self.profile.max_venues
            for sub in subsets:
                for combo in itertools.product(*(range(self._nvalues[i]) for i in sub)):
                    bits = self.task.all_rows
                    for slot_i, value_i in zip(sub, combo, strict=True):
                        bits &= self._value_bits[slot_i][value_i]
                    if lo <= bits.bit_count() <= hi:
                        out.append((sub, combo))
        cache[key] = out
        return out

    # ------------------------------------------------------------------ goal queries
    def requests_filled(self) -> bool:
        return None not in self.requests.values()

    def completed(self) -> bool:
        return self.requests["name"] is not None and self.requests_filled()

    def entity_fits(self, name: str) -> bool:
        """PyDial's ``_isValidVenue``: the entity fits the constraints (a ``name=`` constraint counts as
        dontcare, a ``name!=`` one excludes it)."""
        if name in self.name_neq:
            return False
        row = self.task.name_row.get(name)
        return row is not None and bool(self.task.matches(self.constraints) >> row & 1)

    def _fits(self, slot: str, value: str) -> bool:
        goal = self.constraints.get(slot)
        return goal is None or goal in (DONTCARE, value)

    # ------------------------------------------------------------------ one turn
    def turn(self, sys_act: Act) -> Act:
        """The user's answer to ``sys_act`` (PyDial's ``receive`` then ``respond``)."""
        self.receive(sys_act)
        return self.respond()

    def receive(self, sys_act: Act) -> None:
        name = sys_act[0]
        if name == "null" or (self.last_sys_act is not None and self.last_user_act[0] != "repeat"
                              and self.last_sys_act == sys_act):
            self.patience -= 1
        if self.patience < 1:
            self.gave_up = True
            self.agenda = [BYE]
            return
        self.last_sys_act = sys_act
        if self.completed() and not self.agenda and name != "reqmore" and self.rng.random() < 0.85:
            self.agenda = [BYE]
            return
        handler = getattr(self, f"_on_{name}", None)
        if handler is None:
            self.agenda.append(self.last_user_act)
        else:
            handler(sys_act[1])

    def respond(self) -> Act:
        rng, p = self.rng, self.p
        if not self.agenda:
            self.agenda.append(BYE)
        name, items = self.agenda.pop()
        if any(neg for _, _, neg in items):
            name, items = "reqalts", ()
        if name in ("inform", "confirm") or (name in ("affirm", "negate") and items):
            said = {slot for slot, _, _ in items}
            self.agenda = [a for a in self.agenda
                           if not (a[0] in ("inform", "confirm") and any(i[0] in said for i in a[1]))]
        last_sys = self.last_sys_act[0] if self.last_sys_act else None
        if name not in ("thankyou", "repeat", "ack", "deny", "confirm") and last_sys != "reqmore":
            if name == "request" and len(items) == 1 and self.requests["name"] is not None \
                    and rng.random() < p["AddVenueNameToRequest"]:
                items = (*items, ("name", self.requests["name"], False))
            if name in ("inform", "negate", "hello", "affirm"):
                merged = list(items)
                while self.agenda and (self.agenda[-1][0] == "inform"
                                       or (name == "hello" and self.agenda[-1][0] == "request")):
                    if rng.random() >= p["InformCombination"]:
                        break
                    merged.extend(self.agenda.pop()[1])
                items = tuple(merged)
        act = (name, items)
        self.last_user_act = act
        return act

    # ------------------------------------------------------------------ system acts
    def _on_hello(self, items: tuple) -> None:
        if not items and self.rng.random() < self.p["Greeting"]:
            self.agenda.append(("hello", ()))

    def _on_bye(self, items: tuple) -> None:
        self.agenda = [BYE]

    def _on_repeat(self, items: tuple) -> None:
        if self.last_user_act[0] != "silence":
            self.agenda.append(self.last_user_act)

    def _on_reqmore(self, items: tuple) -> None:
        rng, p = self.rng, self.p
        if len(self.agenda) > 1:
            top = self.agenda[-1]
            if top[0] == "inform" and rng.random() < p["CombAffirmWithAgdItem"]:
                self.agenda[-1] = ("affirm", top[1])
            return
        if self.requests_filled():
            if rng.random() < p["NoAfterReqmore"]:
                self.agenda.append(("negate", ()))
            else:
                self.agenda = [BYE]
        elif self.requests["name"] is not None:
            for slot, value in self.requests.items():
                if value is None:
                    self.agenda.append(("request", ((slot, None, False),)))
        elif rng.random() < p["YesAfterReqmore"]:
            self.agenda.append(("affirm", ()))
        else:
            told = tuple((s, v, False) for s, v in self.constraints.items() if v != DONTCARE)
            self.agenda.append(("inform", (("type", self.task.entity_type, False), *told)))

    def _on_request(self, items: tuple) -> None:
        rng, p = self.rng, self.p
        slot = items[0][0]
        if self.requests["name"] is not None:
            for info, value in self.requests.items():
                if value is None:
                    self.agenda.append(("request", (("name", self.requests["name"], False), (info, None, False))))
                    return
        if slot not in self.task.informable:
            self.agenda.append(("negate", ()))
            return
        for act in reversed(self.agenda):  # an inform of the slot waiting on the agenda moves to the top
            if act[0] == "inform" and any(i[0] == slot for i in act[1]):
                self.agenda.remove(act)
                self.agenda.append(act)
                return
        if slot in self.constraints:
            self.agenda.append(("inform", ((slot, self.constraints[slot], False),)))
            return
        if rng.random() < p["NewRequestResp1"] and self.constraints:
            keys = list(self.constraints)
            other = keys[int(rng.integers(len(keys)))]
            self.agenda.append(("inform", ((other, self.constraints[other], False),)))
        else:
            self.constraints[slot] = DONTCARE
            self.prev_values.setdefault(slot, set()).add(DONTCARE)
            self.agenda.append(("inform", ((slot, DONTCARE, False),)))

    def _on_select(self, items: tuple) -> None:
        slot = items[0][0]
        if slot not in self.constraints:
            self.constraints[slot] = DONTCARE
        self.agenda.append(("inform", ((slot, self.constraints[slot], False),)))

    def _on_confirm(self, items: tuple) -> None:
        if not self._check_confirmed(items, explicit=True):
            return
        for slot, value, _ in items:  # a value for a slot the user has no constraint on: "I don't care"
            if slot in self.task.informable and slot != "name" and slot not in self.constraints \
                    and value != DONTCARE:
                self.agenda.append(("negate", ((slot, DONTCARE, False),)))
                return
        extra: tuple = ()
        if self.agenda and self.agenda[-1][0] == "inform" and self.rng.random() < self.p["AffirmCombination"]:
            extra = self.agenda.pop()[1]
        self.agenda.append(("affirm", extra))

    def _check_confirmed(self, items: tuple, explicit: bool, name_none: bool = False) -> bool:
        """PyDial's implicit confirmation: a value contradicting a constraint gets corrected (or ends the
        dialogue, the likelier the less patience is left); True if nothing needed correcting."""
        rng, p = self.rng, self.p
        for slot, value, neg in items:
            if neg or value is None:
                continue
            if slot == "name":
                if value not in self.name_neq:
                    continue
            elif slot in ("type", "count") or slot not in self.constraints or self._fits(slot, value):
                continue
            quit_prob = (1.0 - self.patience / self.max_patience) ** 2
            if rng.random() < quit_prob:
                self.gave_up = True
                self.agenda = [BYE]
                return False
            if slot == "name":  # offered again an entity it turned down: "not that one" (asks for alternatives)
                self.agenda.append(("inform", (("name", value, True),)))
                return False
            correct = self.constraints[slot]
            f = rng.random()
            if f < p["CorrectingAct1"]:
                act: Act = ("negate", ((slot, correct, False),))
            elif f < p["CorrectingAct1"] + p["CorrectingAct2"]:
                act = ("deny", ((slot, value, False), (slot, correct, False)))
            else:
                act = ("inform", ((slot, correct, False),))
            self.agenda.append(act)
            for key in self.requests:
                self.requests[key] = None
            return False
        if not explicit and not name_none and rng.random() < p["ConfirmRandomConstr"]:
            said = {(s, v) for s, v, _ in items}
            unsaid = [(s, v) for s, v in self.constraints.items() if v != DONTCARE and (s, v) not in said]
            if unsaid:
                slot, value = unsaid[int(rng.integers(len(unsaid)))]
                self.agenda.append(("confirm", ((slot, value, False),)))
                self._fill(items)
                return False
        return True

    def _fill(self, items: tuple) -> None:
        for slot, value, neg in items:
            if slot in self.requests and value is not None and not neg:
                self.requests[slot] = value

    def _on_inform(self, items: tuple) -> None:
        rng, p = self.rng, self.p
        offered = None
        name_none = False
        for slot, value, neg in items:
            if slot == "name" and not neg:
                if value == "none":
                    name_none = True
                else:
                    offered = value
        if offered is not None and self.requests["name"] != offered:
            for key in self.requests:
                self.requests[key] = None
        if not self._check_confirmed(items, explicit=False, name_none=name_none):
            return
        change_goal = name_none
        if not name_none and offered is not None:
            if self.first_offer:
                self.first_offer = False
                f = rng.random()
                if f < p["ReqAltsAfterVenRec1"]:
                    self.name_neq.add(offered)
                    self.agenda.append(("reqalts", ()))
                    return
                if f < p["ReqAltsAfterVenRec1"] + p["ReqAltsAfterVenRec2"]:
                    change_goal = True
                else:
                    self.name_eq = offered
            else:
                self.name_eq = offered
        if change_goal and self.constraints:
            self._relax(items, offered, name_none)
            return
        for slot in self.requests:
            for s, value, neg in items:
                if s == slot and value is not None and not neg:
                    self.requests[slot] = value
        f = rng.random()
        if f < p["ThankAck1"]:
            self.agenda.append(("thankyou", ()))
            return
        if f < p["ThankAck1"] + p["ThankAck2"]:
            self.agenda.append(("ack", ()))
            return
        if len(self.agenda) > 1 and rng.random() < p["DealWithPending"]:
            return
        if not self.requests_filled():
            wanted = [s for s, v in self.requests.items() if v is None]
            asked = [(wanted[0], None, False)]
            for slot in wanted[1:]:
                if rng.random() >= p["AddSlotToReq"]:
                    break
                asked.append((slot, None, False))
            self.agenda.append(("request", tuple(asked)))

    def _relax(self, items: tuple, offered: str | None, name_none: bool) -> None:
        """Change one constraint: one the system mentioned if any, else a random one (PyDial's goal change)."""
        rng, p = self.rng, self.p
        sysreq = self.task.system_requestable
        candidates = [s for s, v, neg in items if s in sysreq and v is not None and (v != DONTCARE or neg)]
        if candidates:
            slot = candidates[int(rng.integers(len(candidates)))]
        else:
            keys = list(self.constraints)
            slot = keys[int(rng.integers(len(keys)))]
        self.name_eq = None
        used = self.prev_values.setdefault(slot, set())
        if rng.random() < p["ConstraintRelax"] or not used:
            value = DONTCARE
        else:
            options = [v for v in self.task.informable[slot] if v not in used]
            value = options[int(rng.integers(len(options)))] if options else DONTCARE
        used.add(value)
        self.constraints[slot] = value
        if name_none or rng.random() < p["TellAboutChange"]:
            self.agenda.append(("reqalts", ((slot, value, False),)))
        else:
            self.agenda.append(("reqalts", ()))
            if value == DONTCARE and offered is not None:
                self.name_neq.add(offered)
            else:
                self.requests[slot] = None

    def state(self) -> dict[str, Any]:
        """The user's goal, for ``info`` and transcripts."""
        return {"constraints": dict(self.constraints), "requests": dict(self.requests),
                "patience": self.patience}

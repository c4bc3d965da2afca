"""PyDial's belief state: the rule-based focus tracker, its summaries, and the summary-act masks.

The tracker (PyDial's ``belieftracking/baseline.py`` "focus" tracker) keeps, per informable slot, a
distribution over values (the rest of the mass is "none"); each turn, the N-best hypotheses' scores are
added up per slot value and the belief moves by ``b'(v) = (1 - sum(turn)) * b(v) + turn(v)``; a value
denied (negated after a confirmation, ``slot!=value``, the first value of a ``deny``) keeps its belief, as
in PyDial's focus tracker (only new evidence moves it).
The method (by constraints, by name, by alternatives, finished), the discourse act and the requested
slots are the turn's scores (a hypothesis without a method keeps the previous one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dialog_gym.pydial.task import DONTCARE, PyDialTask

METHODS = ("none", "byconstraints", "byname", "finished", "byalternatives", "restart")
DISCOURSE = ("none", "hello", "thankyou", "ack", "repeat", "silence", "bye")


@dataclass(frozen=True)
class BeliefState:
    """A focus belief's state as one value (:meth:`FocusBelief.copy_state` inside), for ``info["belief"]``:
    picklable, and not a dict, so a Gymnasium vector env passes it on whole instead of batching its keys."""

    state: dict[str, Any]

    def belief(self, task: PyDialTask) -> FocusBelief:
        """A :class:`FocusBelief` of ``task`` in this state."""
        belief = FocusBelief(task)
        belief.load_state(self.state)
        return belief


class FocusBelief:
    """The belief state of one dialogue (plain dicts: cheap to copy for ``get_state``)."""

    def __init__(self, task: PyDialTask) -> None:
        self.task = task
        self.slots: dict[str, dict[str, float]] = {s: {} for s in task.informable}
        self.method: dict[str, float] = {"none": 1.0}
        self.discourse: dict[str, float] = {"none": 1.0}
        self.requested: dict[str, float] = {}
        self.last_informed_venue = ""
        self.informed_since_none: list[str] = []
        self.offer_happened = False
        self.last_inform_none = False
        self.alternatives_requested = False
        self.top_confidences: list[float] = [1.0]
        self.top_act = "null"
        self._tops: dict[str, tuple[tuple[str, float], tuple[str, float]]] = {}
        self._accepted: dict[str, tuple[str, float]] | None = None
        self._summary: dict[str, bool] | None = None

    def copy_state(self) -> dict[str, Any]:
        return {"slots": {s: dict(b) for s, b in self.slots.items()}, "method": dict(self.method),
                "discourse": dict(self.discourse), "requested": dict(self.requested),
                "last_informed_venue": self.last_informed_venue,
                "informed_since_none": list(self.informed_since_none), "offer_happened": self.offer_happened,
                "last_inform_none": self.last_inform_none, "alternatives_requested": self.alternatives_requested,
                "top_confidences": list(self.top_confidences), "top_act": self.top_act}

    def load_state(self, state: dict[str, Any]) -> None:
        copied = {k: v for k, v in state.items()}
        copied["slots"] = {s: dict(b) for s, b in state["slots"].items()}
        for key in ("method", "discourse", "requested"):
            copied[key] = dict(state[key])
        copied["informed_since_none"] = list(state["informed_since_none"])
        copied["top_confidences"] = list(state["top_confidences"])
        self.__dict__.update(copied)
        self._tops = {}
        self._accepted = None
        self._summary = None

    # ------------------------------------------------------------------ update
    def update(self, nbest: list[tuple[tuple, float]], sys_act: tuple | None) -> None:
        """Fold one turn's N-best list in, given the system act it answered."""
        this_slot = None
        confirmed: list[tuple[str, str]] = []
        if sys_act is not None:
            name, items = sys_act
            if name in ("request", "select") and items:
                this_slot = items[0][0]
            elif name == "confirm":
                confirmed = [(s, v) for s, v, neg in items if v is not None and not neg]
        informed: dict[str, dict[str, float]] = {}
        requested: dict[str, float] = {}
        method: dict[str, float] = {}
        discourse: dict[str, float] = {}
        prev_method = max(self.method, key=self.method.__getitem__)
        for (act, items), score in nbest:
            m = "none"
            if act in ("inform", "reqalts", "hello", "negate", "affirm", "deny"):
                for i, (slot, value, neg) in enumerate(items):
                    slot = slot or this_slot
                    if slot is None or value is None or slot not in self.slots or neg or (act == "deny" and i == 0):
                        continue  # PyDial's focus tracker ignores denials
                    per = informed.setdefault(slot, {})
                    per[value] = per.get(value, 0.0) + score
            if act == "affirm" and len(confirmed) == 1:
                slot, value = confirmed[0]
                per = informed.setdefault(slot, {})
                per[value] = per.get(value, 0.0) + score
            elif act in ("request", "confirm"):  # a user's confirm(slot=value) asks about the offered entity
                for slot, _, _ in items:
                    if slot:
                        requested[slot] = requested.get(slot, 0.0) + score
            if act == "reqalts":
                m = "byalternatives"
            elif act == "bye":
                m = "finished"
            elif act == "inform":
                m = "byname" if any(s == "name" for s, _, _ in items) else "byconstraints"
            elif act in ("request", "confirm") and self.last_informed_venue:
                m = "byname"
            if m == "none":
                m = prev_method
            if m != "none":
                method[m] = method.get(m, 0.0) + score
            d = act if act in DISCOURSE else "none"
            discourse[d] = discourse.get(d, 0.0) + score
        for slot, turn in informed.items():
            belief = self.slots[slot]
            keep = max(0.0, 1.0 - sum(turn.values()))
            for value in belief:
                belief[value] *= keep
            for value, score in turn.items():
                belief[value] = belief.get(value, 0.0) + score
            total = sum(belief.values())
            if total > 1.0:
                for value in belief:
                    belief[value] /= total
        self._tops = {}
        self._accepted = None
        self._summary = None
        self.requested = {s: min(1.0, v) for s, v in requested.items()}
        total = min(1.0, sum(method.values()))
        self.method = {m: min(1.0, v) for m, v in method.items()}
        self.method["none"] = max(0.0, 1.0 - total)
        self.discourse = discourse or {"none": 1.0}
        if self.top_method() == "byalternatives" and self.discourse_top() not in ("thankyou", "ack"):
            self.alternatives_requested = True
        self.top_act = nbest[0][0][0]
        self.top_confidences = [c for _, c in nbest]

    # ------------------------------------------------------------------ summaries
    def top_method(self) -> str:
        return max(self.method, key=self.method.__getitem__)

    def discourse_top(self) -> str:
        best = max(self.discourse, key=self.discourse.__getitem__)
        return best if self.discourse[best] > 0.5 else "none"

    def global_summary(self) -> dict[str, bool]:
        """PyDial's ``globalSummary``: which of byconstraints/byname/byalternatives/finished holds."""
        if self._summary is not None:
            return self._summary
        top = self.top_method()
        prob = self.method[top]
        self._summary = {
            "byalternatives": top == "byalternatives",
            "byname": top == "byname",
            "finished": top == "finished" and prob > 0.5,
            "byconstraints": top not in ("byalternatives", "byname") and not (
                top in ("finished", "restart") and prob > 0.5),
            "thankyou": self.discourse_top() == "thankyou",
            "ack": self.discourse_top() == "ack",
        }
        return self._summary

    def top_two(self, slot: str) -> tuple[tuple[str, float], tuple[str, float]]:
        """The two most believed values of a slot (``("none", 0.0)`` pads)."""
        cached = self._tops.get(slot)
        if cached is not None:
            return cached
        belief = self.slots[slot]
        first = second = ("none", 0.0)
        for value, p in belief.items():
            if p > first[1]:
                first, second = (value, p), first
            elif p > second[1]:
                second = (value, p)
        self._tops[slot] = (first, second)
        return first, second

    def accepted(self) -> dict[str, tuple[str, float]]:
        """PyDial's acceptance list: system-requestable slots whose top value beats "none" and the
        threshold 1 / (number of values - 0.1)."""
        if self._accepted is not None:
            return self._accepted
        out = {}
        for slot in self.task.system_requestable:
            (value, p), _ = self.top_two(slot)
            none = 1.0 - sum(self.slots[slot].values())
            if p > none and p > 1.0 / (len(self.task.informable[slot]) - 0.1) and value != "none":
                out[slot] = (value, p)
        self._accepted = out
        return out

    def constraints(self, accepted: dict[str, tuple[str, float]] | None = None) -> dict[str, str]:
        return {s: v for s, (v, _) in (self.accepted() if accepted is None else accepted).items()}

    def requested_slots(self) -> list[str]:
        return [s for s, p in self.requested.items() if p > 0.5]

    def top_name(self) -> str:
        (value, p), _ = self.top_two("name") if "name" in self.slots else (("none", 0.0), None)
        return value if value not in ("none", DONTCARE) and p >= 0.8 else ""

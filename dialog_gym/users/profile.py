"""User profiles: the YAML-configured behaviour of the simulated customer.

A profile gives the goal's slots and values, and the distributions the bAbI task-5 stories were
measured to have (``data/rasa_babi/README.md`` in the repository): how many slots the first inform
names, how many times the user changes its mind, how many matching suggestions it rejects; plus its
patience (how many repetitions it tolerates, drawn per dialogue from ``[min, max]``) and its turn budget.
When the bot says that nothing fits, the user changes one constraint, to a value the table has rows for
with probability ``relax_to_available`` (default 1; otherwise to any other value of that slot), as
PyDial's users do.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from dialog_gym.errors import ConfigError
from dialog_gym.resources import resolve_named
from dialog_gym.utils import check_keys, read_yaml

_KEYS = {"name", "description", "goal", "first_inform_size", "changes_of_mind", "rejections", "patience",
         "max_turns", "nlg", "relax_to_available"}


@dataclass(frozen=True)
class Distribution:
    """A discrete distribution over small integers, e.g. ``{1: 0.315, 2: 0.35, 3: 0.335}``."""

    values: tuple[int, ...]
    probs: tuple[float, ...]

    @classmethod
    def from_mapping(cls, data: Any, where: str) -> Distribution:
        if not isinstance(data, Mapping) or not data:
            raise ConfigError(f"{where}: expected a mapping of count -> probability")
        try:
            items = sorted((int(k), float(v)) for k, v in data.items())
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: counts must be integers and probabilities numbers") from None
        if any(p < 0 for _, p in items) or any(k < 0 for k, _ in items):
            raise ConfigError(f"{where}: counts and probabilities must be >= 0")
        total = sum(p for _, p in items)
        if not abs(total - 1.0) < 1e-6:
            raise ConfigError(f"{where}: probabilities sum to {total:.4f}, not 1")
        return cls(tuple(k for k, _ in items), tuple(p / total for _, p in items))

    def sample(self, rng: np.random.Generator) -> int:
        return self.sample_from(rng.random())

    def sample_from(self, u: float) -> int:
        """The value at quantile ``u`` in [0, 1) (inverse-CDF sampling from a uniform draw)."""
        acc = 0.0
        for value, p in zip(self.values, self.probs, strict=True):
            acc += p
            if u < acc:
                return value
        return self.values[-1]

    def mean(self) -> float:
        return float(sum(v * p for v, p in zip(self.values, self.probs, strict=True)))

    def as_dict(self) -> dict[int, float]:
        return dict(zip(self.values, self.probs, strict=True))


@dataclass(frozen=True)
class UserProfile:
    name: str
    goal_slots: tuple[str, ...]
    goal_values: Mapping[str, tuple[str, ...]]
    first_inform_size: Distribution
    changes_of_mind: Distribution
    rejections: Distribution
    patience_min: int
    patience_max: int
    max_turns: int
    nlg: Mapping[str, Any]
    description: str = ""
    source: str = "<profile>"
    relax_to_available: float = 1.0

    @classmethod
    def load(cls, name_or_path: str | os.PathLike) -> UserProfile:
        """A shipped profile by name (``"standard"``, ``"unfriendly"``) or a YAML file."""
        path = resolve_named("users", str(name_or_path))  # an unknown name lists the shipped users
        return cls.from_dict(read_yaml(path), str(path))

    @classmethod
    def from_dict(cls, data: Any, where: str = "<profile>") -> UserProfile:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: a user profile must be a mapping")
        check_keys(data, _KEYS, where)
        for key in ("goal", "first_inform_size", "changes_of_mind", "rejections", "patience", "max_turns"):
            if key not in data:
                raise ConfigError(f"{where}: missing key {key!r}")
        goal = data["goal"]
        if not isinstance(goal, Mapping):
            raise ConfigError(f"{where}: goal: expected a mapping with 'slots' and 'values'")
        check_keys(goal, {"slots", "values"}, f"{where}: goal")
        slots = tuple(str(s) for s in goal.get("slots") or [])
        values_raw = goal.get("values") or {}
        if not slots:
            raise ConfigError(f"{where}: goal.slots: expected a non-empty list")
        values: dict[str, tuple[str, ...]] = {}
        for slot in slots:
            vals = values_raw.get(slot)
            if not isinstance(vals, list) or len(vals) < 2:
                raise ConfigError(f"{where}: goal.values.{slot}: expected a list of at least two values "
                                  "(a change of mind needs another value)")
            values[slot] = tuple(str(v) for v in vals)
        extra = sorted(set(values_raw) - set(slots))
        if extra:
            raise ConfigError(f"{where}: goal.values: values for slot(s) not in goal.slots: {', '.join(extra)}")
        first = Distribution.from_mapping(data["first_inform_size"], f"{where}: first_inform_size")
        if max(first.values) > len(slots) or min(first.values) < 1:
            raise ConfigError(f"{where}: first_inform_size: sizes must be between 1 and {len(slots)}")
        patience = data["patience"]
        if not isinstance(patience, Mapping):
            raise ConfigError(f"{where}: patience: expected {{min: N, max: M}}")
        check_keys(patience, {"min", "max"}, f"{where}: patience")
        try:
            pmin, pmax = int(patience["min"]), int(patience["max"])
            max_turns = int(data["max_turns"])
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"{where}: patience.min, patience.max and max_turns must be integers") from None
        if not 1 <= pmin <= pmax:
            raise ConfigError(f"{where}: patience: need 1 <= min <= max, got {pmin}..{pmax}")
        if max_turns < 1:
            raise ConfigError(f"{where}: max_turns must be positive")
        try:
            relax = float(data.get("relax_to_available", 1.0))
        except (TypeError, ValueError):
            relax = -1.0
        if not 0.0 <= relax <= 1.0:
            raise ConfigError(f"{where}: relax_to_available must be a probability in [0, 1], "
                              f"got {data.get('relax_to_available')!r}")
        nlg = data.get("nlg") or {}
        if not isinstance(nlg, Mapping):
            raise ConfigError(f"{where}: nlg: expected a mapping")
        return cls(
            name=str(data.get("name", "user")),
            goal_slots=slots,
            goal_values=values,
            first_inform_size=first,
            changes_of_mind=Distribution.from_mapping(data["changes_of_mind"], f"{where}: changes_of_mind"),
            rejections=Distribution.from_mapping(data["rejections"], f"{where}: rejections"),
            patience_min=pmin,
            patience_max=pmax,
            max_turns=max_turns,
            nlg=dict(nlg),
            description=str(data.get("description", "")),
            source=where,
            relax_to_available=relax,
        )

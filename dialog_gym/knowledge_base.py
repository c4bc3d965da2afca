"""The restaurant table that ``action_search_restaurants`` queries and ``action_suggest`` walks through.

A CSV file with a ``name`` column and one column per attribute. A search matches the slots listed in
``match`` exactly (an unset slot does not constrain), and, with a capacity rule, keeps restaurants whose
seat count fits the party (``people: four`` -> ``seats >= 4``). Results are ranked by ``order_by``
(highest first), then by name, so a search is deterministic.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialog_gym.errors import KnowledgeBaseError
from dialog_gym.utils import check_keys


@dataclass(frozen=True)
class Restaurant:
    name: str
    attributes: Mapping[str, str]

    def __getitem__(self, key: str) -> str:
        return self.attributes[key]

    def describe(self) -> str:
        a = self.attributes
        parts = [a[k] for k in ("cuisine", "location", "price") if k in a]
        extra = f", up to {a['seats']} people" if "seats" in a else ""
        rating = f", rated {a['rating']}" if "rating" in a else ""
        return f"{self.name} ({', '.join(parts)}{extra}{rating})"


@dataclass(frozen=True)
class CapacityRule:
    """A party-size slot compared with a numeric column: ``values`` maps slot values to numbers."""

    slot: str
    column: str
    values: Mapping[str, int]


@dataclass
class KnowledgeBase:
    restaurants: list[Restaurant]
    match: tuple[str, ...]
    capacity: CapacityRule | None = None
    order_by: str | None = None
    source: str = "<table>"
    _by_name: dict[str, Restaurant] = field(init=False, repr=False)
    _cache: dict[tuple, tuple[str, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name = {r.name: r for r in self.restaurants}
        if len(self._by_name) != len(self.restaurants):
            raise KnowledgeBaseError(f"{self.source}: duplicate restaurant names")
        self._cache = {}
        # index of the full-constraint searches (the common case): match values -> restaurants
        self._index: dict[tuple, list[Restaurant]] = {}
        for r in self.restaurants:
            self._index.setdefault(tuple(r.attributes.get(s) for s in self.match), []).append(r)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], base_dirs: list[Path], where: str) -> KnowledgeBase:
        """Build from the ``knowledge_base`` section of an environment config; a relative ``file`` is
        looked up in each of ``base_dirs`` in turn."""
        check_keys(config, {"file", "match", "capacity", "order_by"}, f"{where}: knowledge_base",
                   KnowledgeBaseError)
        if "file" not in config or "match" not in config:
            raise KnowledgeBaseError(f"{where}: knowledge_base needs 'file' and 'match'")
        capacity = None
        if config.get("capacity"):
            cap = config["capacity"]
            check_keys(cap, {"slot", "column", "values"}, f"{where}: knowledge_base.capacity", KnowledgeBaseError)
            try:
                capacity = CapacityRule(str(cap["slot"]), str(cap["column"]),
                                        {str(k): int(v) for k, v in dict(cap["values"]).items()})
            except (KeyError, TypeError, ValueError) as exc:
                raise KnowledgeBaseError(f"{where}: knowledge_base.capacity: {exc}") from None
        path = Path(config["file"])
        if not path.is_absolute():
            candidates = [d / path for d in base_dirs]
            path = next((c for c in candidates if c.exists()), candidates[0])
        return cls.load(path, match=[str(m) for m in config["match"]], capacity=capacity,
                        order_by=config.get("order_by"))

    @classmethod
    def load(cls, path: str | os.PathLike, match: list[str], capacity: CapacityRule | None = None,
             order_by: str | None = None) -> KnowledgeBase:
        path = Path(path)
        try:
            with open(path, newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                columns = reader.fieldnames or []
                rows = list(reader)
        except FileNotFoundError:
            raise KnowledgeBaseError(f"{path}: file not found") from None
        except (OSError, csv.Error, UnicodeDecodeError) as exc:
            raise KnowledgeBaseError(f"{path}: cannot read the table: {exc}") from None
        needed = ["name", *match] + ([capacity.column] if capacity else []) + ([order_by] if order_by else [])
        missing = [c for c in needed if c not in columns]
        if missing:
            raise KnowledgeBaseError(f"{path}: missing column(s) {', '.join(missing)}")
        restaurants = []
        for lineno, row in enumerate(rows, start=2):
            if None in row or any(v is None for v in row.values()):
                raise KnowledgeBaseError(f"{path}:{lineno}: expected {len(columns)} fields")
            if capacity:
                try:
                    int(row[capacity.column])
                except ValueError:
                    raise KnowledgeBaseError(
                        f"{path}:{lineno}: column {capacity.column!r} must be an integer") from None
            restaurants.append(Restaurant(row["name"], {k: v for k, v in row.items() if k != "name"}))
        if not restaurants:
            raise KnowledgeBaseError(f"{path}: the table has no rows")
        return cls(restaurants, tuple(match), capacity, order_by, str(path))

    def get(self, name: str) -> Restaurant:
        try:
            return self._by_name[name]
        except KeyError:
            raise KnowledgeBaseError(f"{self.source}: no restaurant named {name!r}") from None

    def search(self, slot_values: Mapping[str, Any]) -> tuple[str, ...]:
        """Names of the restaurants that fit the set slots, best first."""
        key = tuple(slot_values.get(s) for s in self.match)
        party = slot_values.get(self.capacity.slot) if self.capacity else None
        cache_key = (*key, party)
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        pool = self.restaurants if None in key else self._index.get(tuple(str(v) for v in key), [])
        result = [r for r in pool if self._fits(r, slot_values)]
        if self.order_by:
            result.sort(key=lambda r: (-_number(r.attributes.get(self.order_by)), r.name))
        names = tuple(r.name for r in result)
        self._cache[cache_key] = names
        return names

    def _fits(self, restaurant: Restaurant, slot_values: Mapping[str, Any], require_all: bool = False) -> bool:
        attrs = restaurant.attributes
        for slot in self.match:
            value = slot_values.get(slot)
            if value is None:
                if require_all:
                    return False
                continue
            if attrs.get(slot) != str(value):
                return False
        if self.capacity is not None:
            party = slot_values.get(self.capacity.slot)
            if party is None:
                return not require_all
            size = self.capacity.values.get(str(party))
            if size is None or int(attrs[self.capacity.column]) < size:
                return False
        return True

    def fits_goal(self, name: str | None, goal: Mapping[str, Any]) -> bool:
        """Whether the named restaurant satisfies every constraint of a complete goal."""
        if name is None or name not in self._by_name:
            return False
        return self._fits(self._by_name[name], goal, require_all=True)

    def __len__(self) -> int:
        return len(self.restaurants)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0

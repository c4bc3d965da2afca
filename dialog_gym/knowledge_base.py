"""The task's table: what the ``search`` role queries and the ``suggest`` role walks through.

A CSV file with a ``name`` column and one column per attribute. A search matches the slots listed in
``match`` exactly (an unset slot does not constrain), and, with a capacity rule, keeps rows whose
capacity column fits the request (e.g. ``people: four`` -> ``seats >= 4``). Results are ranked by
``order_by`` (highest first), then by name, so a search is deterministic. How a row is described to the
user (``describe``, a ``str.format`` template over the row's columns and ``name``) and what a row is
called (``item``) are data of the env config.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialog_gym.errors import KnowledgeBaseError
from dialog_gym.utils import check_keys, read_text

#: how a row is described when the config gives no ``describe`` template
DEFAULT_DESCRIBE = "{name}"
_KB_KEYS = {"file", "match", "capacity", "order_by", "describe", "item"}


@dataclass(frozen=True)
class Row:
    """One row of the table: its ``name`` and its other columns."""

    name: str
    attributes: Mapping[str, str]

    def __getitem__(self, key: str) -> str:
        return self.attributes[key]

    def describe(self, template: str = DEFAULT_DESCRIBE) -> str:
        """The row as the bot presents it, e.g. ``"{name} ({cuisine}, rated {rating})"``."""
        return template.format(name=self.name, **self.attributes)


@dataclass(frozen=True)
class CapacityRule:
    """A party-size slot compared with a numeric column: ``values`` maps slot values to numbers."""

    slot: str
    column: str
    values: Mapping[str, int]


@dataclass
class KnowledgeBase:
    rows: list[Row]
    match: tuple[str, ...]
    capacity: CapacityRule | None = None
    order_by: str | None = None
    source: str = "<table>"
    describe_template: str = DEFAULT_DESCRIBE
    item: str = "item"
    _by_name: dict[str, Row] = field(init=False, repr=False)
    _cache: dict[tuple, tuple[str, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name = {r.name: r for r in self.rows}
        if len(self._by_name) != len(self.rows):
            raise KnowledgeBaseError(f"{self.source}: duplicate {self.item} names")
        self._cache = {}
        # index of the full-constraint searches (the common case): match values -> rows
        self._index: dict[tuple, list[Row]] = {}
        for r in self.rows:
            self._index.setdefault(tuple(r.attributes.get(s) for s in self.match), []).append(r)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], base_dirs: list[Path], where: str) -> KnowledgeBase:
        """Build from the ``knowledge_base`` section of an environment config; a relative ``file`` is
        looked up in each of ``base_dirs`` in turn."""
        check_keys(config, _KB_KEYS, f"{where}: knowledge_base", KnowledgeBaseError)
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
        kb = cls.load(path, match=[str(m) for m in config["match"]], capacity=capacity,
                      order_by=config.get("order_by"))
        kb.item = str(config.get("item") or kb.item)
        template = config.get("describe")
        if template is not None:
            kb.describe_template = str(template)
            try:
                kb.describe(kb.rows[0].name)
            except (KeyError, IndexError, ValueError) as exc:
                raise KnowledgeBaseError(f"{where}: knowledge_base.describe: {template!r} does not fit the "
                                         f"columns of {path} ({type(exc).__name__}: {exc})") from None
        return kb

    @classmethod
    def load(cls, path: str | os.PathLike, match: list[str], capacity: CapacityRule | None = None,
             order_by: str | None = None) -> KnowledgeBase:
        path = Path(path)
        needed = [*match] + ([capacity.column] if capacity else []) + ([order_by] if order_by else [])
        table = []
        for lineno, row in enumerate(read_table(path, needed), start=2):
            if capacity:
                try:
                    int(row[capacity.column])
                except ValueError:
                    raise KnowledgeBaseError(
                        f"{path}:{lineno}: column {capacity.column!r} must be an integer") from None
            table.append(Row(row["name"], {k: v for k, v in row.items() if k != "name"}))
        return cls(table, tuple(match), capacity, order_by, str(path))

    def get(self, name: str) -> Row:
        try:
            return self._by_name[name]
        except KeyError:
            raise KnowledgeBaseError(f"{self.source}: no {self.item} named {name!r}") from None

    def describe(self, name: str) -> str:
        """The named row as the bot presents it (the config's ``describe`` template)."""
        return self.get(name).describe(self.describe_template)

    def search(self, slot_values: Mapping[str, Any]) -> tuple[str, ...]:
        """Names of the rows that fit the set slots, best first."""
        key = tuple(slot_values.get(s) for s in self.match)
        party = slot_values.get(self.capacity.slot) if self.capacity else None
        cache_key = (*key, party)
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        pool = self.rows if None in key else self._index.get(tuple(str(v) for v in key), [])
        result = [r for r in pool if self._fits(r, slot_values)]
        order_by = self.order_by
        if order_by:
            result.sort(key=lambda r: (-_number(r.attributes.get(order_by)), r.name))
        names = tuple(r.name for r in result)
        self._cache[cache_key] = names
        return names

    def _fits(self, row: Row, slot_values: Mapping[str, Any], require_all: bool = False) -> bool:
        attrs = row.attributes
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
        """Whether the named row satisfies every constraint of a complete goal."""
        if name is None or name not in self._by_name:
            return False
        return self._fits(self._by_name[name], goal, require_all=True)

    def __len__(self) -> int:
        return len(self.rows)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def read_table(path: Path, needed: Sequence[str]) -> list[dict[str, str]]:
    """The rows of a CSV table with a header, one dict a row: the ``name`` column and every column in
    ``needed`` must exist, every row must have every field, and there must be rows (errors name the file
    and line)."""
    text = read_text(path, KnowledgeBaseError, "table")
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        columns = reader.fieldnames or []
        rows = list(reader)
    except csv.Error as exc:
        raise KnowledgeBaseError(f"{path}: cannot read the table: {exc}") from None
    missing = [c for c in dict.fromkeys(["name", *needed]) if c not in columns]
    if missing:
        raise KnowledgeBaseError(f"{path}: missing column(s) {', '.join(missing)}")
    for lineno, row in enumerate(rows, start=2):
        if None in row or any(v is None for v in row.values()):
            raise KnowledgeBaseError(f"{path}:{lineno}: expected {len(columns)} fields")
    if not rows:
        raise KnowledgeBaseError(f"{path}: the table has no rows")
    return rows

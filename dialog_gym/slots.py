"""Slot types and their featurization, as in Rasa Core.

A slot here is a *definition* (name, type, parameters); the tracker holds the values. Each type turns
a value into a fixed-length feature list:

============== ====== ===============================================
type           dims   features
============== ====== ===============================================
text           1      1 if set
bool           2      [is set, is true]
categorical    n      one-hot over the values; unknown value -> zeros
float          1      (clip(v) - min) / (max - min)
list           1      1 if non-empty
unfeaturized   0      —
============== ====== ===============================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from dialog_gym.errors import DomainError


@dataclass(frozen=True)
class Slot:
    """Base slot definition; subclasses define ``type_name`` and ``as_feature``."""

    name: str
    initial_value: Any = None
    auto_fill: bool = True
    type_name: ClassVar[str] = "slot"

    def feature_dimensionality(self) -> int:
        return 1

    def as_feature(self, value: Any) -> list[float]:
        raise NotImplementedError

    def has_features(self) -> bool:
        return self.feature_dimensionality() > 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type_name}
        if self.initial_value is not None:
            out["initial_value"] = self.initial_value
        if not self.auto_fill:
            out["auto_fill"] = False
        return out


@dataclass(frozen=True)
class TextSlot(Slot):
    type_name: ClassVar[str] = "text"

    def as_feature(self, value: Any) -> list[float]:
        return [1.0 if value is not None else 0.0]


@dataclass(frozen=True)
class BooleanSlot(Slot):
    type_name: ClassVar[str] = "bool"

    def feature_dimensionality(self) -> int:
        return 2

    def as_feature(self, value: Any) -> list[float]:
        if value is None:
            return [0.0, 0.0]
        if isinstance(value, str):
            truth = value.strip().lower() in ("true", "yes", "1", "y")
        else:
            truth = float(value) != 0.0
        return [1.0, 1.0 if truth else 0.0]


@dataclass(frozen=True)
class CategoricalSlot(Slot):
    values: tuple[str, ...] = field(default_factory=tuple)
    type_name: ClassVar[str] = "categorical"

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(str(v).lower() for v in self.values))

    def feature_dimensionality(self) -> int:
        return len(self.values)

    def as_feature(self, value: Any) -> list[float]:
        vec = [0.0] * len(self.values)
        if value is not None:
            key = str(value).lower()
            for i, v in enumerate(self.values):
                if v == key:
                    vec[i] = 1.0
                    break
        return vec

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "values": list(self.values)}


@dataclass(frozen=True)
class FloatSlot(Slot):
    min_value: float = 0.0
    max_value: float = 1.0
    type_name: ClassVar[str] = "float"

    def as_feature(self, value: Any) -> list[float]:
        if value is None:
            return [0.0]
        try:
            v = float(value)
        except (TypeError, ValueError):
            return [0.0]
        capped = max(self.min_value, min(self.max_value, v))
        covered = self.max_value - self.min_value
        return [(capped - self.min_value) / covered if covered > 0 else 1.0]

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "min_value": self.min_value, "max_value": self.max_value}


@dataclass(frozen=True)
class ListSlot(Slot):
    type_name: ClassVar[str] = "list"

    def as_feature(self, value: Any) -> list[float]:
        return [1.0 if value is not None and len(value) > 0 else 0.0]


@dataclass(frozen=True)
class UnfeaturizedSlot(Slot):
    type_name: ClassVar[str] = "unfeaturized"

    def feature_dimensionality(self) -> int:
        return 0

    def as_feature(self, value: Any) -> list[float]:
        return []


SLOT_TYPES: dict[str, type[Slot]] = {
    cls.type_name: cls
    for cls in (TextSlot, BooleanSlot, CategoricalSlot, FloatSlot, ListSlot, UnfeaturizedSlot)
}

_COMMON_KEYS = {"type", "initial_value", "auto_fill"}
_EXTRA_KEYS = {"categorical": {"values"}, "float": {"min_value", "max_value"}}


def slot_from_dict(name: str, spec: Any, where: str) -> Slot:
    """Build a slot from its domain-file entry; ``where`` names the file for error messages."""
    key = f"slots.{name}"
    if not isinstance(spec, dict):
        raise DomainError(f"{where}: {key}: expected a mapping with a 'type', got {type(spec).__name__}")
    type_name = spec.get("type")
    if type_name is None:
        raise DomainError(f"{where}: {key}: missing 'type' (one of {', '.join(SLOT_TYPES)})")
    type_name = str(type_name)
    if type_name == "bool" or type_name == "boolean":
        type_name = "bool"
    if type_name not in SLOT_TYPES:
        raise DomainError(
            f"{where}: {key}.type: unknown slot type {type_name!r} (expected one of {', '.join(SLOT_TYPES)})"
        )
    allowed = _COMMON_KEYS | _EXTRA_KEYS.get(type_name, set())
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise DomainError(f"{where}: {key}: unknown key(s) {', '.join(unknown)} for a {type_name} slot")
    kwargs: dict[str, Any] = {
        "initial_value": spec.get("initial_value"),
        "auto_fill": bool(spec.get("auto_fill", True)),
    }
    if type_name == "categorical":
        values = spec.get("values")
        if not values or not isinstance(values, list):
            raise DomainError(f"{where}: {key}.values: a categorical slot needs a non-empty list of values")
        lowered = [str(v).lower() for v in values]
        if len(set(lowered)) != len(lowered):
            raise DomainError(f"{where}: {key}.values: duplicate value")
        kwargs["values"] = tuple(lowered)
    if type_name == "float":
        try:
            lo = float(spec.get("min_value", 0.0))
            hi = float(spec.get("max_value", 1.0))
        except (TypeError, ValueError):
            raise DomainError(f"{where}: {key}: min_value and max_value must be numbers") from None
        if hi < lo:
            raise DomainError(f"{where}: {key}: max_value {hi} is below min_value {lo}")
        kwargs["min_value"], kwargs["max_value"] = lo, hi
    return SLOT_TYPES[type_name](name=name, **kwargs)

"""The dialogue domain: intents, entities, slots, actions and response templates (Rasa Core format).

A domain file is the YAML of Rasa Core 0.7–0.14::

    intents: [greet, inform]          # or mappings {name: {use_entities: ...}}
    entities: [cuisine]
    slots: {cuisine: {type: text}}
    templates: {utter_greet: ["hey there!"]}   # strings or {text:, buttons:, image:}
    actions: [utter_greet, action_search]

The default actions ``action_listen`` and ``action_restart`` come first, so ``action_listen`` has
index 0. Entities fill the slot of the same name. Loading either returns a complete, consistent
domain or raises :class:`~dialog_gym.errors.DomainError` naming the file and the key.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from dialog_gym.errors import DomainError
from dialog_gym.resources import resolve_named
from dialog_gym.slots import Slot, slot_from_dict
from dialog_gym.utils import read_yaml

ACTION_LISTEN_NAME = "action_listen"
ACTION_RESTART_NAME = "action_restart"
DEFAULT_ACTIONS: tuple[str, ...] = (ACTION_LISTEN_NAME, ACTION_RESTART_NAME)

_TOP_LEVEL_KEYS = {"intents", "entities", "slots", "templates", "responses", "actions", "config",
                   "action_factory", "forms", "session_config"}
_NAME_RE = re.compile(r"^[^\s{}\[\]]+$")


@dataclass(frozen=True)
class Template:
    """One response variant: text with ``{slot}`` placeholders, optional buttons and image."""

    text: str
    buttons: tuple[dict, ...] = ()
    image: str | None = None

    def fill(self, slot_values: dict[str, Any]) -> str:
        """The text with every ``{slot}`` replaced by its value (``?`` if unset)."""

        def repl(match: re.Match) -> str:
            key = match.group(1)
            if key not in slot_values:
                return match.group(0)
            value = slot_values[key]
            return "?" if value is None else str(value)

        return re.sub(r"\{(\w+)\}", repl, self.text)


@dataclass(frozen=True, eq=False)
class Domain:
    """A loaded domain. Immutable; build it with :meth:`load`, :meth:`from_yaml` or :meth:`from_dict`."""

    intents: tuple[str, ...]
    entities: tuple[str, ...]
    slots: tuple[Slot, ...]
    action_names: tuple[str, ...]
    templates: dict[str, tuple[Template, ...]] = field(default_factory=dict)
    store_entities_as_slots: bool = True
    source: str | None = None

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | os.PathLike) -> Domain:
        """Load a domain file; a bare name (``"restaurant"``) means a shipped domain."""
        path = resolve_named("domains", str(path), error=DomainError)
        data = read_yaml(path, error=DomainError)
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_yaml(cls, text: str, source: str = "<string>") -> Domain:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{source}:{mark.line + 1}" if mark is not None else source
            raise DomainError(f"{where}: YAML syntax error: {getattr(exc, 'problem', exc)}") from None
        return cls.from_dict(data, source=source)

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> Domain:
        where = source
        if not isinstance(data, dict):
            raise DomainError(f"{where}: a domain must be a YAML mapping, got {type(data).__name__}")
        unknown = sorted(set(data) - _TOP_LEVEL_KEYS)
        if unknown:
            raise DomainError(f"{where}: unknown top-level key(s): {', '.join(unknown)}")

        intents = _collect_names(data.get("intents") or [], "intents", where, allow_mappings=True)
        entities = _collect_names(data.get("entities") or [], "entities", where)

        slot_spec = data.get("slots") or {}
        if not isinstance(slot_spec, dict):
            raise DomainError(f"{where}: slots: expected a mapping of slot name -> definition")
        slots = tuple(slot_from_dict(str(name), spec, where) for name, spec in slot_spec.items())

        raw_actions = data.get("actions") or []
        if not isinstance(raw_actions, list):
            raise DomainError(f"{where}: actions: expected a list of action names")
        actions: list[str] = list(DEFAULT_ACTIONS)
        seen: set[str] = set()
        for i, name in enumerate(raw_actions):
            if not isinstance(name, str) or not _NAME_RE.match(name):
                raise DomainError(f"{where}: actions[{i}]: invalid action name {name!r}")
            if name in seen:
                raise DomainError(f"{where}: actions: duplicate action {name!r}")
            seen.add(name)
            if name in DEFAULT_ACTIONS:
                continue  # default actions are always present, at the front
            actions.append(name)

        templates_raw = data.get("templates", data.get("responses")) or {}
        if not isinstance(templates_raw, dict):
            raise DomainError(f"{where}: templates: expected a mapping of action name -> list of texts")
        templates: dict[str, tuple[Template, ...]] = {}
        for name, variants in templates_raw.items():
            key = f"templates.{name}"
            if name not in actions:
                raise DomainError(f"{where}: {key}: template for unknown action {name!r} (add it to 'actions')")
            if isinstance(variants, (str, dict)):
                variants = [variants]
            if not isinstance(variants, list) or not variants:
                raise DomainError(f"{where}: {key}: expected a non-empty list of texts")
            templates[name] = tuple(_template(v, f"{key}[{i}]", where) for i, v in enumerate(variants))

        config = data.get("config") or {}
        if not isinstance(config, dict):
            raise DomainError(f"{where}: config: expected a mapping")
        store = bool(config.get("store_entities_as_slots", True))

        return cls(
            intents=tuple(intents),
            entities=tuple(entities),
            slots=slots,
            action_names=tuple(actions),
            templates=templates,
            store_entities_as_slots=store,
            source=source,
        )

    def to_dict(self) -> dict[str, Any]:
        """The domain as a Rasa-style mapping (round-trips through :meth:`from_dict`)."""
        return {
            "intents": list(self.intents),
            "entities": list(self.entities),
            "slots": {s.name: s.to_dict() for s in self.slots},
            "templates": {
                name: [
                    {"text": t.text, **({"buttons": list(t.buttons)} if t.buttons else {}),
                     **({"image": t.image} if t.image else {})}
                    for t in variants
                ]
                for name, variants in self.templates.items()
            },
            "actions": [a for a in self.action_names if a not in DEFAULT_ACTIONS],
            "config": {"store_entities_as_slots": self.store_entities_as_slots},
        }

    def fingerprint(self) -> str:
        """A short hash of what featurization depends on, to check that a saved policy fits a domain."""
        payload = json.dumps([self.input_states, list(self.action_names)], sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    # ------------------------------------------------------------------ actions
    @property
    def num_actions(self) -> int:
        return len(self.action_names)

    @cached_property
    def _action_index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.action_names)}

    def index_for_action(self, action_name: str) -> int:
        try:
            return self._action_index[action_name]
        except KeyError:
            raise DomainError(f"{self.source}: unknown action {action_name!r}") from None

    def action_for_index(self, index: int) -> str:
        if not 0 <= index < self.num_actions:
            raise DomainError(f"{self.source}: action index {index} out of range 0..{self.num_actions - 1}")
        return self.action_names[index]

    def has_action(self, name: str) -> bool:
        return name in self._action_index

    def slot(self, name: str) -> Slot:
        for s in self.slots:
            if s.name == name:
                return s
        raise DomainError(f"{self.source}: unknown slot {name!r}")

    @cached_property
    def slot_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.slots)

    # ------------------------------------------------------------------ state features
    @cached_property
    def intent_states(self) -> list[str]:
        return [f"intent_{i}" for i in self.intents]

    @cached_property
    def entity_states(self) -> list[str]:
        return [f"entity_{e}" for e in self.entities]

    @cached_property
    def slot_states(self) -> list[str]:
        return [f"slot_{s.name}_{i}" for s in self.slots for i in range(s.feature_dimensionality())]

    @cached_property
    def prev_action_states(self) -> list[str]:
        return [f"prev_{a}" for a in self.action_names]

    @cached_property
    def input_states(self) -> list[str]:
        """Feature names in vector order: intents, entities, slot features, previous actions."""
        return self.intent_states + self.entity_states + self.slot_states + self.prev_action_states

    @cached_property
    def input_state_map(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.input_states)}

    @property
    def num_states(self) -> int:
        return len(self.input_states)

    @cached_property
    def _entity_set(self) -> frozenset[str]:
        return frozenset(self.entities)

    @cached_property
    def _intent_set(self) -> frozenset[str]:
        return frozenset(self.intents)

    @cached_property
    def intent_features(self) -> dict[str, str]:
        """Intent name -> its feature name (``intent_<name>``)."""
        return dict(zip(self.intents, self.intent_states, strict=True))

    @cached_property
    def entity_features(self) -> dict[str, str]:
        """Entity name -> its feature name (``entity_<name>``)."""
        return dict(zip(self.entities, self.entity_states, strict=True))

    @cached_property
    def slot_features(self) -> tuple[tuple[Slot, tuple[str, ...]], ...]:
        """Each slot that has features, with its feature names in vector order."""
        return tuple((s, tuple(f"slot_{s.name}_{i}" for i in range(s.feature_dimensionality())))
                     for s in self.slots if s.has_features())

    @cached_property
    def text_slot_features(self) -> tuple[tuple[str, str], ...]:
        """``(slot name, feature name)`` of each text slot: its one feature is 1 once the slot is set."""
        return tuple((s.name, names[0]) for s, names in self.slot_features if s.type_name == "text")

    @cached_property
    def other_slot_features(self) -> tuple[tuple[Slot, tuple[str, ...]], ...]:
        """:attr:`slot_features` of the slots that are not text slots."""
        return tuple((s, names) for s, names in self.slot_features if s.type_name != "text")

    @cached_property
    def prev_action_features(self) -> dict[str, str]:
        """Action name -> the feature name of "this was the previous action" (``prev_<name>``)."""
        return dict(zip(self.action_names, self.prev_action_states, strict=True))

    # ------------------------------------------------------------------ entities and templates
    @cached_property
    def auto_fill_slots(self) -> frozenset[str]:
        """Slots that an entity of the same name fills (with ``store_entities_as_slots``)."""
        return frozenset(s.name for s in self.slots if s.auto_fill) if self.store_entities_as_slots else frozenset()

    def random_template_for(self, action_name: str, rng: Any = None) -> Template | None:
        variants = self.templates.get(action_name)
        if not variants:
            return None
        if rng is None or len(variants) == 1:
            return variants[0]
        return variants[int(rng.integers(len(variants)))]

    def utter(self, action_name: str, slot_values: dict[str, Any], rng: Any = None) -> str | None:
        """The filled text of an action's template, or ``None`` if the action has no template."""
        template = self.random_template_for(action_name, rng)
        return template.fill(slot_values) if template is not None else None

    def validate_names(self, intents: Sequence[str] = (), actions: Sequence[str] = (),
                       entities: Sequence[str] = (), where: str = "") -> None:
        """Raise if any of the given names is not part of this domain."""
        for kind, names, known in (("intent", intents, self._intent_set),
                                   ("action", actions, self._action_index),
                                   ("entity", entities, self._entity_set)):
            for name in names:
                if name not in known:
                    raise DomainError(f"{where or self.source}: unknown {kind} {name!r} (not in the domain "
                                      f"{self.source})")


def _collect_names(items: Any, key: str, where: str, allow_mappings: bool = False) -> list[str]:
    if not isinstance(items, list):
        raise DomainError(f"{where}: {key}: expected a list")
    names: list[str] = []
    for i, item in enumerate(items):
        if allow_mappings and isinstance(item, dict) and len(item) == 1:
            item = next(iter(item))
        if not isinstance(item, str) or not _NAME_RE.match(item):
            raise DomainError(f"{where}: {key}[{i}]: invalid name {item!r}")
        if item in names:
            raise DomainError(f"{where}: {key}: duplicate {key[:-1]} {item!r}")
        names.append(item)
    return names


def _template(value: Any, key: str, where: str) -> Template:
    if isinstance(value, str):
        return Template(text=value)
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"text", "buttons", "image", "custom", "elements", "attachment"})
        if unknown:
            raise DomainError(f"{where}: {key}: unknown key(s) {', '.join(unknown)}")
        text = value.get("text")
        if text is None and "image" not in value:
            raise DomainError(f"{where}: {key}: a template needs 'text' (or 'image')")
        buttons = value.get("buttons") or []
        if not isinstance(buttons, list):
            raise DomainError(f"{where}: {key}.buttons: expected a list")
        return Template(text=str(text or ""), buttons=tuple(buttons), image=value.get("image"))
    raise DomainError(f"{where}: {key}: expected a string or a mapping with 'text', got {type(value).__name__}")

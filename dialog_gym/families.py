"""Task families: the one seam between an env config and everything that runs it.

An env config names its family (``family:``; ``dialogue`` when absent). A :class:`Family` declares all that
differs between families: the config keys it allows, the ``gym.make`` keywords it takes, its config loader,
its env class, its rule expert and what its actions are. Everything that depends on the family asks here:
registration on import (:func:`dialog_gym.envs.register_task`), the generic ``dialog_gym/Dialogue-v0``
(:func:`make_from_config`), every ``--env`` (:class:`dialog_gym.envs.EnvRef`), the rollout's expert
(:func:`dialog_gym.rollout.expert_act`) and the benchmark's choice of agents (:attr:`Family.acts`).

The shipped families are ``dialogue`` (Rasa-style tasks, one domain action per step:
:mod:`dialog_gym.envs.dialogue_env`), ``summary`` (a dialogue task at turn level, with summary acts declared in
its config: :mod:`dialog_gym.envs.summary`) and ``pydial`` (an imported PyDial task:
:mod:`dialog_gym.envs.pydial_env`). Adding a family is one module (its env class, whose constructor takes
``config=PATH``, ``render_mode``, ``info_tracker`` (both for the base class) and its make keywords, and its config
loader) plus one entry::

    register_family(Family(
        name="summary", env="dialog_gym.envs.summary:SummaryActEnv",
        loader="dialog_gym.envs.summary:load_summary_config",
        config_keys=frozenset({"family", "task", "summary_acts", "max_steps", "bye_mask", "register"}),
        make_keys=DIALOGUE_MAKE_KEYS | {"bye_mask"},
        expert="dialog_gym.rollout:rule_expert", acts="summary"))

after which ``family: summary`` configs register their ids on :func:`dialog_gym.register_task` and run with
``gym.make("dialog_gym/Dialogue-v0", config=...)`` and ``--env``. Entry points are ``"module:attribute"``
strings, imported when first used (as Gymnasium's are), so this module imports no env class and a family's
module may import it.
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialog_gym.errors import ConfigError
from dialog_gym.resources import resolve_named
from dialog_gym.utils import check_keys, read_yaml

#: the family of an env config without a ``family:`` key
DEFAULT_FAMILY = "dialogue"
#: what a family's actions are: ``domain`` (one step = one action of the task's Rasa domain, so Rasa
#: policies, stories and the imitation agents run on it) or ``summary`` (the family's own summary acts)
ACT_KINDS = ("domain", "summary")


@dataclass(frozen=True)
class Family:
    """One kind of env config and the class that runs it."""

    name: str                     #: the ``family:`` value of its configs
    env: str                      #: entry point of the env class: ``Class(config=PATH, render_mode=..., **make keys)``
    loader: str                   #: entry point of ``load(config) -> loaded config`` (reads and checks a file)
    config_keys: frozenset[str]   #: top-level keys its env configs may have
    make_keys: frozenset[str]     #: ``gym.make`` keywords it takes besides ``config`` and ``render_mode``
    expert: str                   #: entry point of ``expert(env) -> agent``: the rule expert for one of its envs
    acts: str = "domain"          #: one of :data:`ACT_KINDS`
    description: str = ""

    def __post_init__(self) -> None:
        if self.acts not in ACT_KINDS:
            raise ConfigError(f"family {self.name}: acts must be one of {', '.join(ACT_KINDS)}, got {self.acts!r}")

    def env_class(self) -> Any:
        return load_entry_point(self.env)

    def load(self, config: str | os.PathLike) -> Any:
        """The family's loaded config of the file ``config`` (a shipped name or a path)."""
        return load_entry_point(self.loader)(config)

    def make_expert(self, env: Any) -> Any:
        """The rule expert as an agent for ``env`` (an env of this family)."""
        return load_entry_point(self.expert)(env)


def load_entry_point(text: str) -> Any:
    """The object ``"package.module:attribute.attribute"`` names."""
    module_name, _, attribute = text.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split(".") if attribute else ():
        obj = getattr(obj, part)
    return obj


#: the ``gym.make`` keywords of a Rasa-style task (any top-level key of its config but ``register``)
DIALOGUE_MAKE_KEYS = frozenset({"domain", "user", "roles", "knowledge_base", "result_slots", "actions", "intents",
                                "noise", "reward", "max_steps", "max_history", "masks"})

#: the ``gym.make`` keywords every family's env class takes besides its own ``make_keys`` (the base class's:
#: :class:`~dialog_gym.envs.base.BaseDialogueEnv`)
EVERY_FAMILY_MAKE_KEYS = frozenset({"render_mode", "info_tracker"})
#: every family, by name (:func:`register_family` adds one)
FAMILIES: dict[str, Family] = {}


def register_family(family: Family) -> Family:
    """Add a family (idempotent for the same declaration; another declaration of a known name is refused)."""
    known = FAMILIES.get(family.name)
    if known is not None and known != family:
        raise ConfigError(f"family {family.name!r} is already registered with another declaration")
    FAMILIES[family.name] = family
    return family


def family_named(name: Any, where: str = "family") -> Family:
    """The registered family ``name``; an unknown one raises :class:`ConfigError` naming ``where``."""
    family = FAMILIES.get(str(name))
    if family is None:
        raise ConfigError(f"{where}: family: expected one of {', '.join(FAMILIES)}, got {name!r}")
    return family


def family_of(env: Any) -> Family:
    """The family of a made environment (behind any wrappers)."""
    base = getattr(env, "unwrapped", env)
    return family_named(getattr(base, "family", DEFAULT_FAMILY), type(base).__name__)


def check_make_keywords(overrides: Mapping[str, Any], allowed: Collection[str]) -> None:
    """Refuse ``gym.make`` keyword arguments that a task family does not take, listing the ones it does."""
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise ConfigError(f"gym.make: unknown keyword argument(s) {', '.join(unknown)}; expected config, "
                          f"render_mode or one of {', '.join(sorted(allowed))}")


def read_env_config(config: str | os.PathLike) -> tuple[Path, dict[str, Any], Family]:
    """The one reader of env configs: ``(file, mapping, family)`` of a shipped config's name or a path, its
    keys checked against its family's."""
    path = resolve_named("envs", str(config))
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: an environment config must be a mapping")
    family = family_named(data.get("family", DEFAULT_FAMILY), str(path))
    check_keys(data, family.config_keys, str(path))
    return path, data, family


def load_config(config: str | os.PathLike) -> Any:
    """An env config of any family, loaded and checked by its family's loader."""
    _, _, family = read_env_config(config)
    return family.load(config)


# --------------------------------------------------------------------------- the register block
_REGISTER_KEYS = {"namespace", "max_episode_steps", "reward_threshold", "ids"}
_ID_KEYS = {"description", "suites", "reward_threshold"}


@dataclass(frozen=True)
class Registration:
    """One environment id declared in a config's ``register:`` block."""

    env_id: str
    kwargs: Mapping[str, Any]
    description: str = ""
    suites: tuple[str, ...] = ()
    reward_threshold: float | None = None
    family: str = DEFAULT_FAMILY


def read_registrations(config: str | os.PathLike, namespace: str | None, config_kwarg: str | None
                       ) -> list[Registration]:
    """The ids a config's ``register:`` block declares (none without one), in ``namespace`` unless the block
    names its own (None: the ids as written).

    Each id's keyword arguments are its variant settings (``noise``, ``user``, ``masks``, any key its family's
    ``gym.make`` accepts), plus ``config=config_kwarg`` unless that is None (the default task).
    """
    path, data, family = read_env_config(config)
    block = data.get("register")
    if block is None:
        return []
    where = f"{path}: register"
    if not isinstance(block, Mapping):
        raise ConfigError(f"{where}: expected a mapping")
    check_keys(block, _REGISTER_KEYS, where)
    ids = block.get("ids")
    if not isinstance(ids, Mapping) or not ids:
        raise ConfigError(f"{where}.ids: expected a mapping of environment ids to their settings")
    namespace = block.get("namespace", namespace)
    default_threshold = _threshold(block.get("reward_threshold"), where)
    out = []
    for name, settings in ids.items():
        settings = settings or {}
        here = f"{where}.ids.{name}"
        if not isinstance(settings, Mapping):
            raise ConfigError(f"{here}: expected a mapping (variant settings, description, suites)")
        check_keys(settings, family.make_keys | _ID_KEYS, here)
        env_id = str(name) if "/" in str(name) or namespace is None else f"{namespace}/{name}"
        kwargs = {k: v for k, v in settings.items() if k in family.make_keys}
        if config_kwarg is not None:
            kwargs = {"config": config_kwarg, **kwargs}
        suites = settings.get("suites") or []
        if not isinstance(suites, list) or not all(isinstance(s, str) for s in suites):
            raise ConfigError(f"{here}.suites: expected a list of suite names")
        threshold = _threshold(settings.get("reward_threshold"), here)
        out.append(Registration(env_id, kwargs, str(settings.get("description", "")), tuple(suites),
                                default_threshold if threshold is None else threshold, family.name))
    return out


def _threshold(value: Any, where: str) -> float | None:
    if value is None:
        return None
    try:
        threshold = float(value)
    except (TypeError, ValueError):
        threshold = math.nan
    if not math.isfinite(threshold):
        raise ConfigError(f"{where}: reward_threshold must be a number, got {value!r}")
    return threshold


def variant_settings(config: str | os.PathLike, variant: str) -> dict[str, Any]:
    """The settings of one id of a config's ``register:`` block, named by the id (with or without its
    namespace) or by one of its dash-separated parts (``Env3`` for ``PyDial-CR-Env3-v0``)."""
    registrations = read_registrations(config, None, None)
    short = [reg.env_id.split("/")[-1] for reg in registrations]
    found = [reg for reg, name in zip(registrations, short, strict=True)
             if variant.split("/")[-1] == name or variant in name.split("-")]
    if len(found) != 1:
        problem = "names none" if not found else f"is ambiguous ({', '.join(r.env_id for r in found)})"
        listed = ", ".join(short) if short else "none: the config has no register: block"
        raise ConfigError(f"{config}: variant {variant!r} {problem} of its ids; its ids are {listed}")
    return dict(found[0].kwargs)


def make_from_config(config: str | os.PathLike | None = None, variant: str | None = None, **kwargs: Any) -> Any:
    """Entry point of ``dialog_gym/Dialogue-v0``: the env of any task given by its env config (a shipped
    config's name or a path), run by the class its family names. ``variant`` picks the settings of one of
    the ids its ``register:`` block declares (:func:`variant_settings`); keyword arguments override them."""
    if config is None:
        raise ConfigError("dialog_gym/Dialogue-v0 needs config=PATH (an env config YAML file or a shipped "
                          "config's name), e.g. gym.make('dialog_gym/Dialogue-v0', config='restaurant_summary')")
    path, _, family = read_env_config(config)
    check_make_keywords({k: v for k, v in kwargs.items() if k not in EVERY_FAMILY_MAKE_KEYS}, family.make_keys)
    settings = variant_settings(path, variant) if variant is not None else {}
    return family.env_class()(config=str(path), **{**settings, **kwargs})


register_family(Family(
    "dialogue", env="dialog_gym.envs.dialogue_env:DialogueEnv", loader="dialog_gym.config:load_env_config",
    config_keys=DIALOGUE_MAKE_KEYS | {"family", "register"}, make_keys=DIALOGUE_MAKE_KEYS,
    expert="dialog_gym.rollout:rule_expert", acts="domain",
    description="a Rasa-style task: one action of its domain per step"))
register_family(Family(
    "summary", env="dialog_gym.envs.summary:SummaryActEnv", loader="dialog_gym.envs.summary:load_summary_config",
    config_keys=frozenset({"family", "task", "summary_acts", "max_steps", "bye_mask", "register", "nlg"}),
    make_keys=DIALOGUE_MAKE_KEYS | {"bye_mask"}, expert="dialog_gym.rollout:rule_expert", acts="summary",
    description="a dialogue task at turn level: one summary act declared in the config per step"))
register_family(Family(
    "pydial", env="dialog_gym.envs.pydial_env:PyDialEnv", loader="dialog_gym.pydial.task:load_task",
    config_keys=frozenset({"family", "name", "entity_type", "domain", "table", "ontology", "user", "noise",
                           "masks", "reward", "max_turns", "register", "nlg"}),
    make_keys=frozenset({"noise", "user", "masks", "reward", "max_turns", "bye_mask"}),
    expert="dialog_gym.pydial.expert:HDCExpert.for_env", acts="summary",
    description="an imported PyDial task: one PyDial summary act per turn"))

__all__ = [
    "ACT_KINDS",
    "DEFAULT_FAMILY",
    "DIALOGUE_MAKE_KEYS",
    "FAMILIES",
    "Family",
    "Registration",
    "check_make_keywords",
    "family_named",
    "family_of",
    "load_config",
    "load_entry_point",
    "make_from_config",
    "read_env_config",
    "read_registrations",
    "register_family",
    "variant_settings",
]

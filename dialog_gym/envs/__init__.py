"""The environment classes, the registry of environment ids read from the task configs, and :class:`EnvRef`.

Every shipped env config (``configs/envs/*.yml``, ``configs/pydial/*/env.yml``) with a ``register:`` block
declares its ids there (with their variant settings, a reward threshold and the benchmark suites they
belong to); importing ``dialog_gym`` registers them all with Gymnasium, the way Minigrid registers its presets
from data, each with the env class of the config's family (:mod:`dialog_gym.families`). :func:`register_task`
does the same for a config of the user's own. ``dialog_gym/Dialogue-v0`` runs any config without registering
it: ``gym.make("dialog_gym/Dialogue-v0", config="restaurant_summary")`` (a shipped config's name or a path;
``variant="Env3"`` picks the settings of one of its ids). An :class:`EnvRef` names an environment by value
(what ``--env`` takes), so that any process makes the same env.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dialog_gym.envs.base import BaseDialogueEnv, dialogue_env_of
from dialog_gym.envs.dialogue_env import DialogueEnv
from dialog_gym.envs.summary import SummaryActEnv
from dialog_gym.errors import ConfigError
from dialog_gym.families import (
    Family,
    Registration,
    family_named,
    read_env_config,
    read_registrations,
)
from dialog_gym.resources import DEFAULT_TASK, configs_dir, resolve_named, shipped_names

if TYPE_CHECKING:
    import gymnasium as gym

NAMESPACE = "dialog_gym"
#: the environment every command and example uses when none is named
DEFAULT_ENV_ID = f"{NAMESPACE}/Restaurant-v0"
#: the generic id: any task given by its env config, ``gym.make(GENERIC_ENV_ID, config=PATH)``
GENERIC_ENV_ID = f"{NAMESPACE}/Dialogue-v0"

#: every registered task id -> its declaration (filled by :func:`register_envs`, in registration order)
REGISTRATIONS: dict[str, Registration] = {}
#: named groups of environment ids for the benchmark (from the ``suites`` of the register blocks)
SUITES: dict[str, list[str]] = {}


def _shipped_configs() -> list[Path]:
    """The shipped env configs, the default task's first (its ids lead every listing), then the imported
    PyDial tasks (``configs/pydial/<task>/env.yml``)."""
    files = sorted(configs_dir().joinpath("envs").glob("*.yml"))
    return sorted(files, key=lambda p: p.stem != DEFAULT_TASK) + _pydial_configs()


def _pydial_configs() -> list[Path]:
    """The shipped PyDial tasks in PyDial's order (CamRestaurants, SFRestaurants, Laptops11)."""
    order = {"CamRestaurants": 0, "SFRestaurants": 1, "Laptops11": 2}
    files = configs_dir().joinpath("pydial").glob("*/env.yml")
    return sorted(files, key=lambda p: (order.get(p.parent.name, 99), p.parent.name))


def env_ids() -> list[str]:
    """Every registered dialog_gym task id (the generic ``dialog_gym/Dialogue-v0`` is not one: it needs a config)."""
    return list(REGISTRATIONS)


def env_descriptions() -> dict[str, str]:
    """Every registered task id -> its one-line description."""
    return {env_id: reg.description for env_id, reg in REGISTRATIONS.items()}


def register_task(config: str | os.PathLike, *, _config_kwarg: str | None = None) -> list[str]:
    """Register the ids of an env config's ``register:`` block with Gymnasium (idempotent); their ids.

    ``max_episode_steps`` of the block is the env's own step limit (``max_steps``); Gymnasium's
    ``TimeLimit`` is not added. ``reward_threshold`` goes into the spec.
    """
    import gymnasium

    kwarg = str(config) if _config_kwarg is None else _config_kwarg
    registrations = read_registrations(config, NAMESPACE, None if kwarg == DEFAULT_TASK else kwarg)
    for reg in registrations:
        known = REGISTRATIONS.get(reg.env_id)
        if known is not None and known != reg:
            raise ConfigError(f"{config}: environment id {reg.env_id} is already registered with other settings")
        REGISTRATIONS[reg.env_id] = reg
        for suite in reg.suites:
            members = SUITES.setdefault(suite, [])
            if reg.env_id not in members:
                members.append(reg.env_id)
        if reg.env_id not in gymnasium.registry:
            gymnasium.register(id=reg.env_id, entry_point=family_named(reg.family).env, kwargs=dict(reg.kwargs),
                               reward_threshold=reg.reward_threshold, disable_env_checker=False)
    return [reg.env_id for reg in registrations]


def register_envs() -> None:
    """Register every shipped dialog_gym environment with Gymnasium (idempotent; runs on ``import dialog_gym``)."""
    import gymnasium

    for path in _shipped_configs():
        kwarg = path.stem if path.parent.name == "envs" else path.relative_to(configs_dir()).as_posix()
        register_task(path, _config_kwarg=kwarg)
    if GENERIC_ENV_ID not in gymnasium.registry:
        gymnasium.register(id=GENERIC_ENV_ID, entry_point="dialog_gym.families:make_from_config",
                           disable_env_checker=False)


_CONFIG_SUFFIXES = (".yml", ".yaml")


@dataclass(frozen=True)
class EnvRef:
    """An environment named by value: a registered id, or the generic ``dialog_gym/Dialogue-v0`` with an env
    config (``config``, and ``variant`` for one of its ids' settings), plus ``gym.make`` keywords.

    It is JSON-serialisable (:meth:`to_json`, :meth:`from_json`) and picklable, so the same record goes from
    the command line to library code, benchmark cells, Ray workers, the web server and saved sessions, and
    every process makes the same env without registering anything. :meth:`parse` reads what a user types.
    """

    id: str
    kwargs: dict[str, Any] = field(default_factory=dict, hash=False)
    #: how the user named it (``--env`` as typed), for tables and messages; not part of its identity
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kwargs", dict(self.kwargs))

    @classmethod
    def parse(cls, text: str | os.PathLike) -> EnvRef:
        """What a user typed: a registered id, with or without its ``dialog_gym/`` namespace
        (``Restaurant-Env2-v0``), or an env config, as a shipped config's name (``restaurant_summary``) or a
        path (``my_task.yml``), optionally with ``:VARIANT`` naming one of the ids its ``register:`` block
        declares (``configs/pydial/CamRestaurants/env.yml:Env3``). Anything else raises :class:`ConfigError`
        with the nearest ids."""
        import gymnasium

        text = str(text)
        if text in gymnasium.registry and text != GENERIC_ENV_ID:
            return cls(text)
        qualified = f"{NAMESPACE}/{text}"
        if "/" not in text and qualified in gymnasium.registry and qualified != GENERIC_ENV_ID:
            return cls(qualified)
        config, _, variant = text.rpartition(":") if ":" in text and not Path(text).exists() else (text, "", "")
        if _names_a_config(config):
            if not resolve_named("envs", config).is_file():
                raise ConfigError(f"unknown environment {text!r}: {config}: no such file")
            return replace(cls.for_config(config, variant or None), name=text)
        raise ConfigError(_unknown_env_message(text))

    @classmethod
    def for_config(cls, config: str | os.PathLike, variant: str | None = None, **kwargs: Any) -> EnvRef:
        """The generic id with an env config (its contents are read when the env is made); a shipped
        config's name stays a name (the same on every machine), a path becomes absolute (the same in every
        working directory)."""
        path = resolve_named("envs", str(config))
        text = str(config)
        shipped_name = Path(text).suffix == "" and Path(text).parent == Path(".") and text in shipped_names("envs")
        config_kwarg = text if shipped_name else str(path.resolve())
        return cls(GENERIC_ENV_ID, {"config": config_kwarg, **({"variant": variant} if variant else {}), **kwargs})

    @classmethod
    def of(cls, env: EnvLike | Mapping[str, Any]) -> EnvRef:
        """``env`` as a reference: an :class:`EnvRef` as it is, text as :meth:`parse` reads it, and the
        JSON form of :meth:`to_json`."""
        if isinstance(env, EnvRef):
            return env
        if isinstance(env, Mapping):
            return cls.from_json(env)
        return cls.parse(env)

    def make(self, **extra: Any) -> gym.Env[Any, Any]:
        """``gym.make`` of this environment; ``extra`` keywords (e.g. ``render_mode``) added."""
        import gymnasium

        return gymnasium.make(self.id, **{**self.kwargs, **extra})

    def to_json(self) -> str | dict[str, Any]:
        """The id alone when there are no keywords, else ``{"id": ..., "kwargs": {...}}`` (and ``"name"``)."""
        if not self.kwargs:
            return self.id
        return {"id": self.id, "kwargs": dict(self.kwargs), **({"name": self.name} if self.name else {})}

    @classmethod
    def from_json(cls, data: Any) -> EnvRef:
        """The reference :meth:`to_json` wrote (an id, or a mapping of ``id`` and ``kwargs``)."""
        if isinstance(data, str):
            return cls(data)
        if isinstance(data, Mapping) and isinstance(data.get("id"), str):
            kwargs = data.get("kwargs") or {}
            if isinstance(kwargs, Mapping):
                return cls(data["id"], dict(kwargs), str(data.get("name") or ""))
        raise ConfigError(f"not an environment reference: {data!r} (expected an id or {{'id': ..., 'kwargs': ...}})")

    @property
    def label(self) -> str:
        """How tables and results name it (the same in every process): the id, else the name the user gave,
        else the config and ``:variant`` (the form :meth:`parse` reads), else the id and its keywords."""
        if not self.kwargs:
            return self.id
        if self.name:
            return self.name
        rest = {k: v for k, v in self.kwargs.items() if k not in ("config", "variant")}
        if self.id == GENERIC_ENV_ID and "config" in self.kwargs and not rest:
            variant = self.kwargs.get("variant")
            return f"{self.kwargs['config']}:{variant}" if variant else str(self.kwargs["config"])
        return f"{self.id} ({', '.join(f'{k}={v}' for k, v in self.kwargs.items())})"

    @property
    def key(self) -> str:
        """A file-name-safe name: the id with ``/`` as ``_`` without keywords, else a readable part of the
        config and a hash of the whole reference (the same in every process)."""
        if not self.kwargs:
            return self.id.replace("/", "_")
        config = Path(str(self.kwargs.get("config", self.id)))
        readable = f"{config.parent.name}_{config.stem}" if config.stem == "env" else config.stem
        if self.kwargs.get("variant"):
            readable += f"_{self.kwargs['variant']}"
        identity = {"id": self.id, "kwargs": self.kwargs}  # not the name: the same env, the same key
        digest = hashlib.sha1(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:8]
        return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', readable)}-{digest}"

    @property
    def short_name(self) -> str:
        """The id without its namespace (no keywords), else :attr:`key`: for file names such as plots'."""
        return self.id.split("/")[-1] if not self.kwargs else self.key

    def family(self) -> Family:
        """The family of the environment it makes, without making it (for a registered id not from a
        config, the class of its entry point says)."""
        import gymnasium

        if self.id == GENERIC_ENV_ID and "config" in self.kwargs:
            return read_env_config(self.kwargs["config"])[2]
        if self.id in REGISTRATIONS:
            return family_named(REGISTRATIONS[self.id].family)
        entry = gymnasium.spec(self.id).entry_point
        cls = entry if callable(entry) else None
        if isinstance(entry, str):
            from dialog_gym.families import load_entry_point

            cls = load_entry_point(entry)
        return family_named(getattr(cls, "family", "dialogue"), self.id)

    def __str__(self) -> str:
        return self.label


#: an environment as library functions take it: a reference, or text :meth:`EnvRef.parse` reads
EnvLike = EnvRef | str


def make_env(env: EnvLike, **extra: Any) -> gym.Env[Any, Any]:
    """``gym.make`` of an environment given by reference or as a user would type it."""
    return EnvRef.of(env).make(**extra)


def _names_a_config(text: str) -> bool:
    """Whether ``text`` is meant as an env config: a YAML path, an existing file or folder, or a shipped name."""
    path = Path(text)
    return bool(text) and (path.suffix in _CONFIG_SUFFIXES or path.exists() or text in shipped_names("envs"))


def _unknown_env_message(text: str) -> str:
    """An unknown environment, answered with the nearest registered ids and shipped config names."""
    short = {env_id.split("/", 1)[-1]: env_id for env_id in env_ids() if env_id.startswith(NAMESPACE + "/")}
    candidates = [*env_ids(), *short, *shipped_names("envs")]
    near = difflib.get_close_matches(text, candidates, n=3, cutoff=0.6)
    near = list(dict.fromkeys(short.get(n, n) for n in near))
    hint = f"did you mean {' or '.join(near)}? " if near else ""
    if text == GENERIC_ENV_ID:
        return (f"{GENERIC_ENV_ID} needs an env config: give the config's path or shipped name instead "
                "(e.g. restaurant_summary, or my_task.yml:Env3 for one of its ids)")
    return (f"unknown environment {text!r}: {hint}give a registered id ({len(env_ids())} are registered; "
            "dialog_gym.env_ids() lists them; the dialog_gym/ prefix may be left out) or an env config "
            "(a path or a shipped config's name, with :VARIANT for one of its ids)")


__all__ = ["DEFAULT_ENV_ID", "GENERIC_ENV_ID", "NAMESPACE", "REGISTRATIONS", "SUITES", "BaseDialogueEnv",
           "DialogueEnv", "EnvLike", "EnvRef", "SummaryActEnv", "dialogue_env_of", "env_descriptions", "env_ids",
           "make_env", "register_envs", "register_task"]

"""The environment class and the registry of environment ids, read from the task configs.

Every shipped env config (``configs/envs/*.yml``) with a ``register:`` block declares its ids there
(with their variant settings, a reward threshold and the benchmark suites they belong to); importing
``dialog_gym`` registers them all with Gymnasium, the way Minigrid registers its presets from data.
:func:`register_task` does the same for a config of the user's own. ``dialog_gym/Dialogue-v0`` runs any
config without registering it: ``gym.make("dialog_gym/Dialogue-v0", config=PATH)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dialog_gym.config import Registration, read_registrations
from dialog_gym.envs.base import BaseDialogueEnv, dialogue_env_of
from dialog_gym.envs.dialogue_env import DialogueEnv
from dialog_gym.envs.summary import SummaryActEnv
from dialog_gym.errors import ConfigError
from dialog_gym.resources import DEFAULT_TASK, configs_dir

NAMESPACE = "dialog_gym"
#: the environment every command and example uses when none is named
DEFAULT_ENV_ID = f"{NAMESPACE}/Restaurant-v0"
#: the generic id: any task given by its env config, ``gym.make(GENERIC_ENV_ID, config=PATH)``
GENERIC_ENV_ID = f"{NAMESPACE}/Dialogue-v0"
_ENTRY_POINT = "dialog_gym.envs.dialogue_env:DialogueEnv"
#: the env class of each config family (``family:`` in the env config; ``dialogue`` when absent)
ENTRY_POINTS = {"dialogue": _ENTRY_POINT, "pydial": "dialog_gym.envs.pydial_env:PyDialEnv",
                "summary": "dialog_gym.envs.summary:SummaryActEnv"}

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


def resolve_env(name: str) -> tuple[str, dict[str, Any]]:
    """Turn what a user typed into ``(env_id, gym.make keyword arguments)``.

    ``name`` is a path to an existing YAML env config (-> the generic id with ``config=path``), a full
    registered id, or a registered id without its ``dialog_gym/`` namespace (``Restaurant-Env2-v0``).
    Anything else raises :class:`ConfigError` listing the known ids.
    """
    import gymnasium

    text = str(name)
    path = Path(text)
    if path.suffix in (".yml", ".yaml") and path.is_file():
        return GENERIC_ENV_ID, {"config": str(path)}
    if text in gymnasium.registry and text != GENERIC_ENV_ID:
        return text, {}
    qualified = f"{NAMESPACE}/{text}"
    if "/" not in text and qualified in gymnasium.registry and qualified != GENERIC_ENV_ID:
        return qualified, {}
    hint = " (no such file)" if path.suffix in (".yml", ".yaml") else ""
    raise ConfigError(f"unknown environment {text!r}{hint}: expected one of {', '.join(env_ids())} "
                      "(the dialog_gym/ prefix may be left out) or a path to an env config YAML file")


def _make_generic(config: str | None = None, **kwargs: Any) -> Any:
    """Entry point of ``dialog_gym/Dialogue-v0``: a task given only by its env config file (the class
    its ``family`` names)."""
    if config is None:
        raise ConfigError(f"{GENERIC_ENV_ID} needs config=PATH (an env config YAML file), e.g. "
                          f"gym.make({GENERIC_ENV_ID!r}, config='my_task.yml')")
    from dialog_gym.pydial.task import config_family

    family = config_family(config)
    if family == "pydial":
        from dialog_gym.envs.pydial_env import PyDialEnv

        return PyDialEnv(config=config, **kwargs)
    if family == "summary":
        from dialog_gym.envs.summary import SummaryActEnv

        return SummaryActEnv(config=config, **kwargs)
    return DialogueEnv(config=config, **kwargs)


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
            gymnasium.register(id=reg.env_id, entry_point=ENTRY_POINTS[reg.family], kwargs=dict(reg.kwargs),
                               reward_threshold=reg.reward_threshold, disable_env_checker=False)
    return [reg.env_id for reg in registrations]


def register_envs() -> None:
    """Register every shipped dialog_gym environment with Gymnasium (idempotent; runs on ``import dialog_gym``)."""
    import gymnasium

    for path in _shipped_configs():
        kwarg = path.stem if path.parent.name == "envs" else path.relative_to(configs_dir()).as_posix()
        register_task(path, _config_kwarg=kwarg)
    if GENERIC_ENV_ID not in gymnasium.registry:
        gymnasium.register(id=GENERIC_ENV_ID, entry_point="dialog_gym.envs:_make_generic", disable_env_checker=False)


__all__ = ["DEFAULT_ENV_ID", "GENERIC_ENV_ID", "NAMESPACE", "REGISTRATIONS", "SUITES", "BaseDialogueEnv",
           "DialogueEnv", "SummaryActEnv", "dialogue_env_of", "env_descriptions", "env_ids", "register_envs",
           "register_task", "resolve_env"]

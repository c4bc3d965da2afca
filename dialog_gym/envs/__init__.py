"""The environment class and the registry of environment ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dialog_gym.envs.dialogue_env import DialogueEnv
from dialog_gym.errors import ConfigError

NAMESPACE = "dialog_gym"
#: the environment every command and example uses when none is named
DEFAULT_ENV_ID = f"{NAMESPACE}/Restaurant-v0"
#: the generic id: any task given by its env config, ``gym.make(GENERIC_ENV_ID, config=PATH)``
GENERIC_ENV_ID = f"{NAMESPACE}/Dialogue-v0"
_ENTRY_POINT = "dialog_gym.envs.dialogue_env:DialogueEnv"

#: id (without namespace) -> (keyword arguments, one-line description). Env1-Env6 are the PyDial
#: benchmark's six settings for this task: semantic error rate, user profile, action masks.
ENV_SPECS: dict[str, tuple[dict[str, Any], str]] = {
    "Restaurant-v0": ({}, "0% error, standard user, masks on (the default task)"),
    "Restaurant-Env1-v0": ({"noise": 0.0, "user": "standard", "masks": True}, "0% error, standard user, masks on"),
    "Restaurant-Env2-v0": ({"noise": 0.0, "user": "standard", "masks": False}, "0% error, standard user, masks off"),
    "Restaurant-Env3-v0": ({"noise": 0.15, "user": "standard", "masks": True}, "15% error, standard user, masks on"),
    "Restaurant-Env4-v0": ({"noise": 0.15, "user": "standard", "masks": False},
                           "15% error, standard user, masks off"),
    "Restaurant-Env5-v0": ({"noise": 0.15, "user": "unfriendly", "masks": True},
                           "15% error, unfriendly user, masks on"),
    "Restaurant-Env6-v0": ({"noise": 0.30, "user": "standard", "masks": True}, "30% error, standard user, masks on"),
}

#: named groups of environment ids for the benchmark
SUITES: dict[str, list[str]] = {
    "default": [f"{NAMESPACE}/Restaurant-v0"],
    "pydial": [f"{NAMESPACE}/Restaurant-Env{i}-v0" for i in range(1, 7)],
    # the masked settings with semantic errors: where learning should beat the rule expert
    "noisy": [f"{NAMESPACE}/Restaurant-Env{i}-v0" for i in (3, 5, 6)],
}


def env_ids() -> list[str]:
    """Every registered dialog_gym task id (the generic ``dialog_gym/Dialogue-v0`` is not one: it needs a config)."""
    return [f"{NAMESPACE}/{name}" for name in ENV_SPECS]


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


def _make_generic(config: str | None = None, **kwargs: Any) -> DialogueEnv:
    """Entry point of ``dialog_gym/Dialogue-v0``: a task given only by its env config file."""
    if config is None:
        raise ConfigError(f"{GENERIC_ENV_ID} needs config=PATH (an env config YAML file), e.g. "
                          f"gym.make({GENERIC_ENV_ID!r}, config='my_task.yml')")
    return DialogueEnv(config=config, **kwargs)


def register_envs() -> None:
    """Register every dialog_gym environment with Gymnasium (idempotent; runs on ``import dialog_gym``)."""
    import gymnasium

    for name, (kwargs, _) in ENV_SPECS.items():
        env_id = f"{NAMESPACE}/{name}"
        if env_id in gymnasium.registry:
            continue
        gymnasium.register(id=env_id, entry_point=_ENTRY_POINT, kwargs=dict(kwargs), disable_env_checker=False)
    if GENERIC_ENV_ID not in gymnasium.registry:
        gymnasium.register(id=GENERIC_ENV_ID, entry_point="dialog_gym.envs:_make_generic", disable_env_checker=False)


__all__ = ["DEFAULT_ENV_ID", "ENV_SPECS", "GENERIC_ENV_ID", "NAMESPACE", "SUITES", "DialogueEnv", "env_ids",
           "register_envs", "resolve_env"]

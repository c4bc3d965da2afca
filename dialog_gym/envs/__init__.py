"""The environment class and the registry of environment ids."""

from __future__ import annotations

from typing import Any

from dialog_gym.envs.dialogue_env import DialogueEnv

NAMESPACE = "dialog_gym"

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
    """Every registered dialog_gym environment id."""
    return [f"{NAMESPACE}/{name}" for name in ENV_SPECS]


def register_envs() -> None:
    """Register every dialog_gym environment with Gymnasium (idempotent; runs on ``import dialog_gym``)."""
    import gymnasium

    for name, (kwargs, _) in ENV_SPECS.items():
        env_id = f"{NAMESPACE}/{name}"
        if env_id in gymnasium.registry:
            continue
        gymnasium.register(id=env_id, entry_point="dialog_gym.envs.dialogue_env:DialogueEnv", kwargs=dict(kwargs),
                           disable_env_checker=False)


__all__ = ["ENV_SPECS", "NAMESPACE", "SUITES", "DialogueEnv", "env_ids", "register_envs"]

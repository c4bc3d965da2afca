"""A toy task family, declared from outside the package: one module and one registry entry.

A ``family: toy`` env config names a Rasa-style task (``task:``) and a ``success_bonus`` added to the reward of a
successful dialogue. Everything else (tracker, user, masks, the rule expert) is the task's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar

from dialog_gym.config import EnvConfig, load_env_config
from dialog_gym.envs import DialogueEnv
from dialog_gym.errors import ConfigError
from dialog_gym.families import Family, check_make_keywords, read_env_config, register_family


@dataclass(frozen=True)
class ToyConfig:
    task: EnvConfig
    success_bonus: float


def load_toy_config(config: str | os.PathLike, success_bonus: float | None = None, **task_overrides: Any
                    ) -> ToyConfig:
    """The toy family's loader: its task's config with ``gym.make`` overrides, and the bonus."""
    path, data, _ = read_env_config(config)
    bonus = data.get("success_bonus", 0.0) if success_bonus is None else success_bonus
    if not isinstance(bonus, int | float):
        raise ConfigError(f"{path}: success_bonus must be a number, got {bonus!r}")
    return ToyConfig(load_env_config(str(data["task"]), **task_overrides), float(bonus))


class ToyEnv(DialogueEnv):
    """The task of ``task:``, with ``success_bonus`` added when a dialogue succeeds."""

    family: ClassVar[str] = "toy"

    def __init__(self, config: str | os.PathLike, render_mode: str | None = None, info_tracker: bool = False,
                 **overrides: Any) -> None:
        check_make_keywords(overrides, TOY.make_keys)
        self.toy = load_toy_config(config, **overrides)
        super().__init__(config=self.toy.task, render_mode=render_mode, info_tracker=info_tracker)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        if info["success"] and (terminated or truncated):
            reward += self.toy.success_bonus
        return obs, reward, terminated, truncated, info


TOY = register_family(Family(
    "toy", env="tests.toy_family:ToyEnv", loader="tests.toy_family:load_toy_config",
    config_keys=frozenset({"family", "task", "success_bonus", "register"}),
    make_keys=frozenset({"success_bonus", "noise", "masks"}),
    expert="dialog_gym.rollout:rule_expert", acts="domain",
    description="a Rasa-style task with a bonus for success"))

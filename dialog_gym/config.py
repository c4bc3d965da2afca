"""The environment configuration: one YAML file (``configs/envs/restaurant.yml``) plus overrides.

:func:`load_env_config` reads it, applies ``gym.make`` keyword overrides, loads the domain, user
profile and restaurant table it names, binds action roles, and checks the reward arithmetic, so that a
bad setting fails at ``gym.make`` with the file and key, not in the middle of training.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dialog_gym.domain import Domain
from dialog_gym.errors import ConfigError
from dialog_gym.knowledge_base import KnowledgeBase
from dialog_gym.resources import configs_dir, resolve_named
from dialog_gym.roles import ActionRoles
from dialog_gym.users.nlu_noise import NoiseConfig
from dialog_gym.users.profile import UserProfile
from dialog_gym.utils import check_keys, read_yaml

_KEYS = {"domain", "user", "knowledge_base", "result_slots", "actions", "intents", "noise", "reward",
         "max_steps", "max_history", "masks"}
_REWARD_KEYS = {"success", "failure", "bot_action", "listen", "invalid_action"}
#: a successful restaurant dialogue needs at least this many listens (howcanhelp, suggest, reservation
#: and one more answer); used to check that any success outscores any failure
MIN_LISTENS_PER_SUCCESS = 4


@dataclass(frozen=True)
class RewardConfig:
    """Reward values; defined once here and used by the environment, evaluation and benchmark."""

    success: float = 20.0
    failure: float = -40.0
    bot_action: float = -1.0
    listen: float = 0.0
    invalid_action: float = -1.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> RewardConfig:
        check_keys(data, _REWARD_KEYS, f"{where}: reward")
        try:
            return cls(**{k: float(v) for k, v in data.items()})
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: reward: values must be numbers") from None

    def check(self, max_steps: int, where: str) -> None:
        """Every success must outscore every failure, and costs must be costs (<= 0)."""
        for key in ("bot_action", "listen", "invalid_action"):
            if getattr(self, key) > 0:
                raise ConfigError(f"{where}: reward.{key} must be <= 0 (a cost), got {getattr(self, key)}")
        worst_cost = min(self.bot_action, self.invalid_action)
        worst_success = self.success + (max_steps - MIN_LISTENS_PER_SUCCESS) * worst_cost
        best_failure = self.failure + max(self.bot_action, self.listen, self.invalid_action)
        if not worst_success > best_failure:
            raise ConfigError(
                f"{where}: reward: a success could score {worst_success:g} and a failure {best_failure:g}; "
                f"make reward.failure lower than {worst_success - max(self.bot_action, self.listen):g} "
                "or max_steps smaller")


@dataclass(frozen=True)
class EnvConfig:
    domain: Domain
    profile: UserProfile
    kb: KnowledgeBase
    roles: ActionRoles
    noise: NoiseConfig
    reward: RewardConfig
    matches_slot: str
    suggestion_slot: str
    max_steps: int
    max_history: int
    masks: bool
    source: str = "<config>"
    raw: dict = field(default_factory=dict, compare=False)


def load_env_config(config: str | os.PathLike = "restaurant", **overrides: Any) -> EnvConfig:
    """Load an environment config (a shipped name or a path) with ``gym.make``-style overrides.

    Overrides: any top-level key; ``noise`` may be a number (the error rate) or a mapping; ``reward``
    and ``actions`` mappings are merged into the file's; ``domain``/``user`` take names or paths.
    """
    path = resolve_named("envs", str(config))
    data = read_yaml(path)
    where = str(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: an environment config must be a mapping")
    check_keys(data, _KEYS, where)
    check_keys(overrides, _KEYS, "gym.make keyword arguments")
    merged = dict(data)
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "noise" and not isinstance(value, Mapping):
            merged["noise"] = {**(data.get("noise") or {}), "error_rate": value}
        elif key in ("reward", "actions", "intents", "noise", "result_slots") and isinstance(value, Mapping):
            merged[key] = {**(data.get(key) or {}), **value}
        else:
            merged[key] = value

    domain = merged.get("domain", "restaurant")
    domain = domain if isinstance(domain, Domain) else Domain.load(str(domain))
    profile = merged.get("user", "standard")
    profile = profile if isinstance(profile, UserProfile) else UserProfile.load(str(profile))
    kb_cfg = merged.get("knowledge_base")
    if not isinstance(kb_cfg, Mapping):
        raise ConfigError(f"{where}: knowledge_base: expected a mapping")
    kb = KnowledgeBase.from_config(kb_cfg, [path.parent, configs_dir()], where)
    roles = ActionRoles.bind(domain, merged.get("actions") or {}, merged.get("intents") or {}, where)

    missing_slots = [s for s in profile.goal_slots if s not in domain.slot_names]
    if missing_slots:
        raise ConfigError(f"{profile.source}: goal slot(s) {', '.join(missing_slots)} are not slots of the "
                          f"domain {domain.source}")
    unasked = [s for s in profile.goal_slots if s not in roles.ask_index]
    if unasked:
        raise ConfigError(f"{where}: actions.ask_slot: no action asks for goal slot(s) {', '.join(unasked)}")
    result_slots = merged.get("result_slots") or {}
    check_keys(result_slots, {"matches", "suggestion"}, f"{where}: result_slots")
    matches_slot = str(result_slots.get("matches", "matches"))
    suggestion_slot = str(result_slots.get("suggestion", "restaurant"))
    for s in (matches_slot, suggestion_slot):
        if s not in domain.slot_names:
            raise ConfigError(f"{where}: result_slots: {s!r} is not a slot of the domain {domain.source}")

    noise = NoiseConfig.from_dict(merged.get("noise") or {}, where)
    reward = RewardConfig.from_dict(merged.get("reward") or {}, where)
    try:
        max_steps = int(merged.get("max_steps", 60))
        max_history = int(merged.get("max_history", 3))
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: max_steps and max_history must be integers") from None
    if max_steps < 10:
        raise ConfigError(f"{where}: max_steps must be at least 10, got {max_steps}")
    if max_history < 1:
        raise ConfigError(f"{where}: max_history must be at least 1, got {max_history}")
    reward.check(max_steps, where)
    masks = merged.get("masks", True)
    if not isinstance(masks, bool):
        raise ConfigError(f"{where}: masks must be true or false, got {masks!r}")
    return EnvConfig(domain, profile, kb, roles, noise, reward, matches_slot, suggestion_slot, max_steps,
                     max_history, masks, where, merged)

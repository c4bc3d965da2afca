"""The environment configuration: one YAML file, the whole definition of a task, plus overrides.

:func:`load_env_config` reads it (``configs/envs/<name>.yml`` or a path), applies ``gym.make`` keyword
overrides, loads the domain, user profile, roles preset and table it names, binds action roles and
result slots, and checks the reward arithmetic, so that a bad setting fails at ``gym.make`` with the file
(or the keyword argument) and key, not in the middle of training. :func:`read_registrations` reads the
file's ``register:`` block (:func:`dialog_gym.families.read_registrations`), from which :mod:`dialog_gym.envs`
registers the task's ids on import.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialog_gym.domain import Domain
from dialog_gym.errors import ConfigError, DialogGymError
from dialog_gym.families import DIALOGUE_MAKE_KEYS, check_make_keywords, read_env_config
from dialog_gym.knowledge_base import KnowledgeBase
from dialog_gym.resources import DEFAULT_TASK, configs_dir
from dialog_gym.roles import ActionRoles, RolePreset
from dialog_gym.users.nlu_noise import NoiseConfig
from dialog_gym.users.profile import UserProfile
from dialog_gym.utils import check_keys

#: keys a ``gym.make`` keyword argument may override (the dialogue family's make keys)
OVERRIDE_KEYS = DIALOGUE_MAKE_KEYS
_REWARD_KEYS = {"success", "failure", "bot_action", "listen", "invalid_action"}
#: the step limit of a config that sets neither ``max_steps`` nor ``register.max_episode_steps``
DEFAULT_MAX_STEPS = 60


def min_listens_per_success(profile: UserProfile) -> int:
    """The fewest user turns (bot ``listen`` actions) any successful dialogue needs.

    The user affirms a suggestion (1) and answers the reservation check (1); before that it informs every
    goal slot, starting with the answer to ``ask_howcanhelp`` or a slot question (1), which names at most
    ``max(first_inform_size)`` slots, so one more inform is needed when that is fewer than all of them.
    """
    largest_first = max(profile.first_inform_size.values)
    return 3 + (1 if largest_first < len(profile.goal_slots) else 0)


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
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: reward: expected a mapping")
        check_keys(data, _REWARD_KEYS, f"{where}: reward")
        try:
            return cls(**{k: float(v) for k, v in data.items()})
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: reward: values must be numbers") from None

    def check(self, max_steps: int, where: str, min_listens: int = 4) -> None:
        """Every success must outscore every failure (a success needs at least ``min_listens`` listens),
        and costs must be costs (<= 0)."""
        for key in ("bot_action", "listen", "invalid_action"):
            if getattr(self, key) > 0:
                raise ConfigError(f"{where}: reward.{key} must be <= 0 (a cost), got {getattr(self, key)}")
        worst_cost = min(self.bot_action, self.invalid_action)
        worst_success = self.success + (max_steps - min_listens) * worst_cost
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
    suggestion_slot: str | None  # None: the domain has no slot for it (the env does not write one)
    max_steps: int
    max_history: int
    masks: bool
    source: str = "<config>"
    raw: dict = field(default_factory=dict, compare=False)


def _beside(value: Any, base: Path) -> Any:
    """A relative file path written in a config means a file beside the config, when there is one."""
    if isinstance(value, str | os.PathLike):
        candidate = Path(value)
        if (candidate.suffix in (".yml", ".yaml") or candidate.parent != Path(".")) and not candidate.is_absolute():
            beside = base / candidate
            if beside.exists():
                return str(beside)
    return value


def load_env_config(config: str | os.PathLike = DEFAULT_TASK, **overrides: Any) -> EnvConfig:
    """Load an environment config (a shipped name or a path) with ``gym.make``-style overrides.

    Overrides: any top-level key but ``register``; ``noise`` may be a number (the error rate) or a mapping;
    ``reward``, ``actions``, ``intents``, ``noise`` and ``result_slots`` mappings are merged into the file's;
    ``domain``/``user``/``roles`` take names or paths. An error in an override names the keyword argument.
    """
    path, data, family = read_env_config(config)
    where = str(path)
    if family.name != "dialogue":
        raise ConfigError(f"{where}: a family: {data['family']} task; make it with "
                          f"gym.make('dialog_gym/Dialogue-v0', config={str(path)!r})")
    check_make_keywords(overrides, OVERRIDE_KEYS)
    merged = {k: _beside(v, path.parent) if k in ("domain", "user", "roles") else v for k, v in data.items()}
    given = {k: v for k, v in overrides.items() if v is not None}
    for key, value in given.items():
        if key == "noise" and not isinstance(value, Mapping):
            merged["noise"] = {**(data.get("noise") or {}), "error_rate": value}
        elif key in ("reward", "actions", "intents", "noise", "result_slots") and isinstance(value, Mapping):
            merged[key] = {**(data.get(key) or {}), **value}
        else:
            merged[key] = value

    def src(key: str) -> str:
        """Who to blame for the value of ``key``: the keyword argument, or the file."""
        return f"gym.make keyword argument {key}={given[key]!r}" if key in given else where

    with _blamed_on(given, "domain"):
        domain = merged.get("domain", DEFAULT_TASK)
        domain = domain if isinstance(domain, Domain) else Domain.load(str(domain))
    with _blamed_on(given, "user"):
        profile = merged.get("user", "standard")
        profile = profile if isinstance(profile, UserProfile) else UserProfile.load(str(profile))
    kb_cfg = merged.get("knowledge_base")
    if not isinstance(kb_cfg, Mapping):
        raise ConfigError(f"{src('knowledge_base')}: knowledge_base: expected a mapping")
    kb = KnowledgeBase.from_config(kb_cfg, [path.parent, configs_dir()], src("knowledge_base"))
    with _blamed_on(given, "roles"):
        preset_name = merged.get("roles")
        preset = preset_name if isinstance(preset_name, RolePreset) else RolePreset.load(preset_name)
    for key in ("actions", "intents", "result_slots"):
        if not isinstance(merged.get(key) or {}, Mapping):
            raise ConfigError(f"{src(key)}: {key}: expected a mapping")
    roles = ActionRoles.bind(domain, merged.get("actions") or {}, merged.get("intents") or {},
                             src("actions") if "actions" in given else src("result_slots"), preset,
                             merged.get("result_slots") or {})

    missing_slots = [s for s in profile.goal_slots if s not in domain.slot_names]
    if missing_slots:
        raise ConfigError(f"{profile.source}: goal slot(s) {', '.join(missing_slots)} are not slots of the "
                          f"domain {domain.source}")
    unasked = [s for s in profile.goal_slots if s not in roles.ask_index]
    if unasked:
        raise ConfigError(f"{where}: actions.ask_slot: no action asks for goal slot(s) {', '.join(unasked)}")
    matches_slot, suggestion_slot = roles.matches_slot, roles.suggestion_slot
    if matches_slot is None:
        raise ConfigError(f"{src('result_slots')}: result_slots.matches: name the (unfeaturized) slot of the domain "
                          f"{domain.source} that holds the search results")

    noise = NoiseConfig.from_dict(merged.get("noise") or {}, src("noise"))
    reward = RewardConfig.from_dict(merged.get("reward") or {}, src("reward"))
    max_steps = max_steps_of(merged, data, where, src)
    max_history = _whole_number(merged.get("max_history", 3), src("max_history"), "max_history")
    if max_history < 1:
        raise ConfigError(f"{src('max_history')}: max_history must be at least 1, got {max_history}")
    reward.check(max_steps, src("reward") if "reward" in given else src("max_steps"),
                 min_listens_per_success(profile))
    masks = merged.get("masks", True)
    if not isinstance(masks, bool):
        raise ConfigError(f"{src('masks')}: masks must be true or false, got {masks!r}")
    return EnvConfig(domain, profile, kb, roles, noise, reward, matches_slot, suggestion_slot, max_steps,
                     max_history, masks, where, merged)


@contextmanager
def _blamed_on(given: Mapping[str, Any], key: str) -> Iterator[None]:
    """Prefix an error loading the file a keyword argument named with that keyword argument."""
    try:
        yield
    except DialogGymError as exc:
        if key not in given:
            raise
        raise type(exc)(f"gym.make keyword argument {key}={given[key]!r}: {exc}") from None


def _whole_number(value: Any, where: str, key: str) -> int:
    """``value`` as an int: an integer or an integral float (YAML's ``3.0``); bools, fractions and text
    are refused rather than truncated (``max_history=2.5`` is a mistake, not 2)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value).is_integer():
        return int(float(value))
    raise ConfigError(f"{where}: {key} must be a whole number, got {value!r}")


def max_steps_of(merged: Mapping[str, Any], data: Mapping[str, Any], where: str, src: Any) -> int:
    """``max_steps`` (keyword or file), else the register block's ``max_episode_steps``, else 60."""
    register = data.get("register") or {}
    from_register = register.get("max_episode_steps") if isinstance(register, Mapping) else None
    if "max_steps" in data and from_register is not None and data["max_steps"] != from_register:
        raise ConfigError(f"{where}: max_steps ({data['max_steps']}) and register.max_episode_steps "
                          f"({from_register}) disagree; give one")
    value = merged.get("max_steps", from_register if from_register is not None else DEFAULT_MAX_STEPS)
    max_steps = _whole_number(value, src("max_steps"), "max_steps")
    if max_steps < 10:
        raise ConfigError(f"{src('max_steps')}: max_steps must be at least 10, got {max_steps}")
    return max_steps

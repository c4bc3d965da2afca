"""Hyperparameters in YAML, the rl-baselines3-zoo way: ``configs/hyperparams/<algo>.yml``.

Top-level keys are ``default``, full environment ids and glob patterns of ids (``dialog_gym/PyDial-*``,
matched with :mod:`fnmatch`); an environment takes the default, then every pattern it matches in file order,
then its own entry, each overriding the one before key by key. Besides the algorithm's own constructor
arguments an entry may hold ``policy``, ``n_envs``, ``n_timesteps`` and ``policy_kwargs`` (a ``dict(...)``
string read by a safe parser, never ``eval``). Every key is consumed: an unknown key is an error naming the
file and the key.
"""

from __future__ import annotations

import ast
import fnmatch
import inspect
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dialog_gym.errors import ConfigError
from dialog_gym.resources import config_path
from dialog_gym.utils import check_keys, read_yaml

if TYPE_CHECKING:
    from stable_baselines3.common.base_class import BaseAlgorithm

ALGORITHMS = ("ppo", "a2c", "dqn", "maskable_ppo", "maskable_dqn")
#: every learner `dialog-gym train` knows: the stable-baselines3 ones and GP-SARSA (agents/gp_sarsa.py, numpy)
LEARNERS = (*ALGORITHMS, "gp_sarsa")
META_KEYS = {"policy", "n_envs", "n_timesteps", "policy_kwargs"}
WARM_START_KEYS = {"demonstrations", "epochs", "batch_size", "learning_rate", "value_pretraining", "label_smoothing",
                   "finetune"}
#: constructor arguments that the training code sets itself
_RESERVED = {"self", "policy", "env", "tensorboard_log", "verbose", "seed", "device", "_init_setup_model"}
_ACTIVATIONS = {"ReLU", "Tanh", "ELU", "LeakyReLU", "GELU", "SiLU"}


def algorithm_class(algo: str) -> type[BaseAlgorithm]:
    """The stable-baselines3 / sb3-contrib class of an algorithm name."""
    cls: type[BaseAlgorithm]
    if algo == "ppo":
        from stable_baselines3 import PPO as cls
    elif algo == "a2c":
        from stable_baselines3 import A2C as cls
    elif algo == "dqn":
        from stable_baselines3 import DQN as cls
    elif algo == "maskable_ppo":
        from sb3_contrib import MaskablePPO as cls
    elif algo == "maskable_dqn":
        from agents.maskable_dqn import MaskableDQN as cls
    else:
        raise ConfigError(f"unknown algorithm {algo!r} (expected one of {', '.join(ALGORITHMS)})")
    return cls


def _parameters(algo: str) -> Mapping[str, inspect.Parameter]:
    """The constructor parameters of a learner (GP-SARSA's settings, or the SB3 class's arguments)."""
    if algo == "gp_sarsa":
        from agents.gp_sarsa import GPSarsa

        return {k: v for k, v in inspect.signature(GPSarsa).parameters.items()
                if k not in ("n_actions", "obs_dim")}
    return inspect.signature(algorithm_class(algo)).parameters


def constructor_keys(algo: str) -> set[str]:
    return set(_parameters(algo)) - _RESERVED


def hyperparams_path(algo: str) -> Path:
    return config_path("hyperparams", f"{algo}.yml")


def load_hyperparams(algo: str, env_id: str, overrides: Mapping[str, Any] | None = None,
                     path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The merged hyperparameters for ``algo`` on ``env_id`` (file default < matching glob entries < the env's
    own entry < overrides), validated; ``policy_kwargs`` is returned parsed."""
    path = Path(path) if path is not None else hyperparams_path(algo)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of environment id -> hyperparameters")
    allowed = META_KEYS | constructor_keys(algo)
    for key, entry in data.items():  # every entry, not only this env's: a typo anywhere is found at once
        if entry is not None and not isinstance(entry, dict):
            raise ConfigError(f"{path}: {key}: expected a mapping")
        check_keys(entry or {}, allowed, f"{path}: {key}")
    merged: dict[str, Any] = {}
    patterns = [k for k in data if isinstance(k, str) and k != env_id and any(c in k for c in "*?[")
                and fnmatch.fnmatchcase(env_id, k)]
    for key in ("default", *patterns, env_id):
        entry = data.get(key)
        if entry is not None:
            merged.update(entry)
    if not merged:
        raise ConfigError(f"{path}: no entry for {env_id!r} and no 'default'")
    if overrides:
        check_keys(overrides, allowed, "command-line hyperparameter overrides")
        merged.update(overrides)
    for key, value in merged.items():
        if key not in ("policy", "policy_kwargs"):
            merged[key] = coerce_number(value)
            where = f"--set {key}" if overrides and key in overrides else f"{path}: {key}"
            check_value(algo, key, merged[key], where)
    if isinstance(merged.get("train_freq"), list):
        merged["train_freq"] = tuple(merged["train_freq"])  # SB3 takes (N, unit) only as a tuple
    merged["policy_kwargs"] = parse_policy_kwargs(merged.get("policy_kwargs"), f"{path}: policy_kwargs")
    for key in ("n_envs", "n_timesteps"):
        if key in merged:
            try:
                merged[key] = int(float(merged[key]))
            except (TypeError, ValueError):
                raise ConfigError(f"{path}: {key} must be a number, got {merged[key]!r}") from None
    return merged


#: ranges of the numeric hyperparameters: (lowest, highest, whether the lowest is allowed)
_RANGES: dict[str, tuple[float, float, bool]] = {
    "learning_rate": (0.0, float("inf"), False), "gamma": (0.0, 1.0, True), "gae_lambda": (0.0, 1.0, True),
    "clip_range": (0.0, float("inf"), False), "clip_range_vf": (0.0, float("inf"), False),
    "ent_coef": (0.0, float("inf"), True), "vf_coef": (0.0, float("inf"), True),
    "max_grad_norm": (0.0, float("inf"), False), "target_kl": (0.0, float("inf"), False),
    "n_steps": (1, float("inf"), True), "batch_size": (1, float("inf"), False), "n_epochs": (1, float("inf"), True),
    "n_envs": (1, float("inf"), True), "n_timesteps": (1, float("inf"), True), "buffer_size": (1, float("inf"), True),
    "learning_starts": (0, float("inf"), True), "gradient_steps": (-1, float("inf"), True),
    "train_freq": (1, float("inf"), True), "target_update_interval": (1, float("inf"), True),
    "tau": (0.0, 1.0, True), "exploration_fraction": (0.0, 1.0, True),
    "exploration_initial_eps": (0.0, 1.0, True), "exploration_final_eps": (0.0, 1.0, True),
    "rms_prop_eps": (0.0, float("inf"), False), "stats_window_size": (1, float("inf"), True),
    "sigma": (0.0, float("inf"), False), "nu": (0.0, float("inf"), False), "scale": (0.0, float("inf"), True),
}


_INT_KEYS = {"n_steps", "batch_size", "n_epochs", "n_envs", "n_timesteps", "buffer_size", "learning_starts",
             "gradient_steps", "train_freq", "target_update_interval", "stats_window_size", "sde_sample_freq"}


def check_value(algo: str, key: str, value: Any, where: str) -> None:
    """Raise ``ConfigError`` naming ``where`` unless ``value`` has the type the algorithm's constructor
    expects for ``key`` (that of its default) and lies in the key's range; stable-baselines3 itself would
    fail later with an assertion deep inside it."""
    param = _parameters(algo).get(key)
    default = param.default if param is not None else None
    if value is None and param is not None and default is None:
        return  # "not set", as the constructor's own default
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return
    if key == "train_freq" and isinstance(value, (list, tuple)):
        if (len(value) != 2 or isinstance(value[0], bool) or not isinstance(value[0], int) or value[0] < 1
                or value[1] not in ("step", "episode")):
            raise ConfigError(f"{where}: expected a whole number of steps or [N, step] / [N, episode] with N >= 1, "
                              f"got {list(value)!r}")
        return
    if key not in _RANGES and not isinstance(default, (int, float)):
        return  # classes, dicts, strings: checked where they are used
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: expected {'an integer' if key in _INT_KEYS else 'a number'}, got {value!r}")
    if key in _INT_KEYS and float(value) != int(value):
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    low, high, closed = _RANGES.get(key, (float("-inf"), float("inf"), True))
    if not (low <= value <= high) or (value == low and not closed):
        bounds = f"{'[' if closed else '('}{low:g}, {high:g}]".replace("inf]", "inf)")
        raise ConfigError(f"{where}: {value!r} is out of range {bounds}")


def coerce_number(value: Any) -> Any:
    """YAML 1.1 reads ``1e-4`` (no dot) as a string; hyperparameters mean the number."""
    if isinstance(value, str):
        for cast in (int, float):
            try:
                return cast(value)
            except ValueError:
                pass
    if isinstance(value, Mapping):
        return {k: coerce_number(v) for k, v in value.items()}
    return value


def parse_policy_kwargs(value: Any, where: str) -> dict[str, Any]:
    """``"dict(net_arch=[64, 64], activation_fn=nn.Tanh)"`` (or a mapping) -> a dict, without ``eval``."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return _resolve(dict(value), where)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a 'dict(...)' string or a mapping")
    try:
        tree = ast.parse(value.strip(), mode="eval").body
    except SyntaxError:
        raise ConfigError(f"{where}: cannot parse {value!r}") from None
    if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "dict"
            and not tree.args):
        raise ConfigError(f"{where}: expected dict(key=value, ...), got {value!r}")
    out: dict[str, Any] = {}
    for kw in tree.keywords:
        if kw.arg is None:  # dict(**mapping)
            raise ConfigError(f"{where}: expected dict(key=value, ...), got {value!r}")
        out[kw.arg] = _literal(kw.value, where)
    return _resolve(out, where)


def _literal(node: ast.AST, where: str) -> Any:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "nn":
        if node.attr not in _ACTIVATIONS:
            raise ConfigError(f"{where}: unsupported activation nn.{node.attr}")
        return f"nn.{node.attr}"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        return {kw.arg: _literal(kw.value, where) for kw in node.keywords}
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise ConfigError(f"{where}: only literals, lists, dict(...) and nn.<Activation> are allowed") from None


def _resolve(kwargs: dict[str, Any], where: str) -> dict[str, Any]:
    act = kwargs.get("activation_fn")
    if isinstance(act, str):
        import torch.nn as nn

        name = act.removeprefix("nn.")
        if name not in _ACTIVATIONS:
            raise ConfigError(f"{where}: unsupported activation {act!r}")
        kwargs["activation_fn"] = getattr(nn, name)
    return kwargs


def load_warm_start(mode: str, path: str | os.PathLike | None = None) -> dict[str, Any]:
    """A warm-start recipe (``conservative`` or ``naive``) from ``configs/hyperparams/warm_start.yml``."""
    path = Path(path) if path is not None else config_path("hyperparams", "warm_start.yml")
    data = read_yaml(path)
    if not isinstance(data, dict) or mode not in data:
        raise ConfigError(f"{path}: no warm-start mode {mode!r} (have {', '.join(data or {})})")
    recipe = data[mode]
    check_keys(recipe, WARM_START_KEYS, f"{path}: {mode}")
    return dict(recipe)

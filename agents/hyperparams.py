"""Hyperparameters in YAML, the rl-baselines3-zoo way: ``configs/hyperparams/<algo>.yml``.

Top-level keys are full environment ids plus ``default``; an environment's entry overrides the default
key by key. Besides the algorithm's own constructor arguments an entry may hold ``policy``,
``n_envs``, ``n_timesteps`` and ``policy_kwargs`` (a ``dict(...)`` string read by a safe parser, never
``eval``). Every key is consumed: an unknown key is an error naming the file and the key.
"""

from __future__ import annotations

import ast
import inspect
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dialog_gym.errors import ConfigError
from dialog_gym.resources import config_path
from dialog_gym.utils import check_keys, read_yaml

ALGORITHMS = ("ppo", "a2c", "dqn", "maskable_ppo")
META_KEYS = {"policy", "n_envs", "n_timesteps", "policy_kwargs"}
WARM_START_KEYS = {"demonstrations", "epochs", "batch_size", "learning_rate", "value_pretraining", "label_smoothing",
                   "finetune"}
#: constructor arguments that the training code sets itself
_RESERVED = {"self", "policy", "env", "tensorboard_log", "verbose", "seed", "device", "_init_setup_model"}
_ACTIVATIONS = {"ReLU", "Tanh", "ELU", "LeakyReLU", "GELU", "SiLU"}


def algorithm_class(algo: str) -> type:
    """The stable-baselines3 / sb3-contrib class of an algorithm name."""
    if algo == "ppo":
        from stable_baselines3 import PPO as cls
    elif algo == "a2c":
        from stable_baselines3 import A2C as cls
    elif algo == "dqn":
        from stable_baselines3 import DQN as cls
    elif algo == "maskable_ppo":
        from sb3_contrib import MaskablePPO as cls
    else:
        raise ConfigError(f"unknown algorithm {algo!r} (expected one of {', '.join(ALGORITHMS)})")
    return cls


def constructor_keys(algo: str) -> set[str]:
    params = inspect.signature(algorithm_class(algo).__init__).parameters
    return set(params) - _RESERVED


def hyperparams_path(algo: str) -> Path:
    return config_path("hyperparams", f"{algo}.yml")


def load_hyperparams(algo: str, env_id: str, overrides: Mapping[str, Any] | None = None,
                     path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The merged hyperparameters for ``algo`` on ``env_id`` (file default < env entry < overrides),
    validated; ``policy_kwargs`` is returned parsed."""
    path = Path(path) if path is not None else hyperparams_path(algo)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of environment id -> hyperparameters")
    allowed = META_KEYS | constructor_keys(algo)
    merged: dict[str, Any] = {}
    for key in ("default", env_id):
        entry = data.get(key)
        if entry is None:
            continue
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: {key}: expected a mapping")
        check_keys(entry, allowed, f"{path}: {key}")
        merged.update(entry)
    if not merged:
        raise ConfigError(f"{path}: no entry for {env_id!r} and no 'default'")
    if overrides:
        check_keys(overrides, allowed, "command-line hyperparameter overrides")
        merged.update(overrides)
    for key, value in merged.items():
        if key not in ("policy", "policy_kwargs"):
            merged[key] = coerce_number(value)
    merged["policy_kwargs"] = parse_policy_kwargs(merged.get("policy_kwargs"), f"{path}: policy_kwargs")
    for key in ("n_envs", "n_timesteps"):
        if key in merged:
            try:
                merged[key] = int(float(merged[key]))
            except (TypeError, ValueError):
                raise ConfigError(f"{path}: {key} must be a number, got {merged[key]!r}") from None
    return merged


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
    out = {}
    for kw in tree.keywords:
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

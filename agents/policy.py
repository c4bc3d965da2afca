"""The Policy API (Rasa Core's contract) and the adapter that lets any policy act in an environment.

A :class:`Policy` reads a :class:`~dialog_gym.tracker.DialogueStateTracker` and returns one probability
per action of the domain. :class:`PolicyAgent` runs it in a dialog_gym environment (through
``env.unwrapped.tracker``), as a callable ``act(obs, info, env)`` for :mod:`dialog_gym.rollout` and with
a stable-baselines3-style ``predict`` so the same evaluation code runs every kind of agent.

Saved policies are folders holding ``policy.json`` (the class, its parameters, the featurizer and the
domain's fingerprint) and whatever files the class writes (JSON, or torch tensors loaded with
``weights_only=True``); nothing is unpickled on load.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from dialog_gym import __version__
from dialog_gym.domain import Domain
from dialog_gym.envs.masks import greedy_allowed
from dialog_gym.errors import PersistenceError
from dialog_gym.featurizers import MaxHistoryTrackerFeaturizer, TrackerFeaturizer, TrainingData
from dialog_gym.tracker import DialogueStateTracker
from dialog_gym.utils import read_json, write_json

POLICY_FILE = "policy.json"
_REGISTRY: dict[str, type[Policy]] = {}
# modules defining the built-in policies; imported on demand (the supervised one imports torch)
_BUILTIN_MODULES = ("agents.rule", "agents.memoization", "agents.fallback", "agents.ensemble", "agents.supervised")


class Policy:
    """Base class of dialogue policies: subclasses implement ``train`` and
    ``predict_action_probabilities``; persistent ones also ``_persist_files``/``_load_files``."""

    #: registry key used in saved files and on the command line; subclasses set it
    name: ClassVar[str] = "policy"
    defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name") and cls.name != "policy":
            _REGISTRY.setdefault(cls.name, cls)

    def __init__(self, featurizer: TrackerFeaturizer | None = None, priority: int = 1) -> None:
        self.featurizer = featurizer if featurizer is not None else MaxHistoryTrackerFeaturizer(max_history=5)
        self.priority = priority
        self.domain_fingerprint: str | None = None

    # ------------------------------------------------------------------ Rasa's contract
    def featurize_for_training(self, trackers: Sequence[DialogueStateTracker], domain: Domain,
                               **kwargs: Any) -> TrainingData:
        """X, y for the trackers, from the shared featurizers (the ones that make observations)."""
        return self.featurizer.featurize_trackers(trackers, domain)

    def train(self, trackers: Sequence[DialogueStateTracker], domain: Domain, **kwargs: Any) -> None:
        """Learn from the trackers (stories or simulated dialogues)."""
        self.domain_fingerprint = domain.fingerprint()

    def continue_training(self, trackers: Sequence[DialogueStateTracker], domain: Domain,
                          **kwargs: Any) -> None:
        """Online update on new dialogues (the default retrains on them)."""
        self.train(trackers, domain, **kwargs)

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain) -> np.ndarray:
        raise NotImplementedError

    # ------------------------------------------------------------------ persistence
    def config(self) -> dict[str, Any]:
        """Constructor parameters to save (JSON-serialisable)."""
        return {"priority": self.priority}

    def persist(self, path: str | os.PathLike) -> None:
        """Write the policy to the folder ``path`` (files are written atomically)."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        self._persist_files(folder)
        write_json(folder / POLICY_FILE, {
            "policy": self.name,
            "dialog_gym_version": __version__,
            "config": self.config(),
            "featurizer": self.featurizer.to_dict(),
            "domain_fingerprint": self.domain_fingerprint,
        })

    def _persist_files(self, folder: Path) -> None:
        """Write the learned parameters into ``folder`` (override)."""

    def _load_files(self, folder: Path) -> None:
        """Read what :meth:`_persist_files` wrote (override)."""

    @classmethod
    def load(cls, path: str | os.PathLike) -> Policy:
        """Load a saved policy; ``Policy.load`` dispatches on the class recorded in the folder."""
        folder = Path(path)
        meta = _read_meta(folder)
        target = _registered(meta["policy"])
        if target is None:
            raise PersistenceError(f"{folder / POLICY_FILE}: unknown policy type {meta['policy']!r} "
                                   f"(known: {', '.join(sorted(_REGISTRY))})")
        if cls is not Policy and not issubclass(target, cls):
            raise PersistenceError(f"{folder}: holds a {meta['policy']!r} policy, not a {cls.name!r}")
        try:
            featurizer = TrackerFeaturizer.from_dict(meta["featurizer"]) if meta.get("featurizer") else None
            policy = target(featurizer=featurizer, **meta.get("config", {}))
        except (TypeError, ValueError, KeyError) as exc:
            raise PersistenceError(f"{folder / POLICY_FILE}: invalid configuration: {exc}") from None
        policy.domain_fingerprint = meta.get("domain_fingerprint")
        policy._load_files(folder)
        return policy

    def check_domain(self, domain: Domain) -> None:
        """Raise if the policy was trained on a domain whose features or actions differ."""
        if self.domain_fingerprint is not None and self.domain_fingerprint != domain.fingerprint():
            raise PersistenceError(f"the {self.name} policy was trained on another domain (its features or "
                                   f"actions differ from {domain.source})")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config()})"


def policy_classes() -> dict[str, type[Policy]]:
    """Registered policy types by name (the built-in ones and any subclass defined so far)."""
    _import_builtins()
    return dict(_REGISTRY)


def _import_builtins() -> None:
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)


def _registered(name: str) -> type[Policy] | None:
    if name not in _REGISTRY:
        _import_builtins()
    return _REGISTRY.get(name)


def _read_meta(folder: Path) -> dict[str, Any]:
    meta_path = folder / POLICY_FILE
    meta = read_json(meta_path, f"is {folder} a saved policy?")
    if not isinstance(meta, dict) or "policy" not in meta:
        raise PersistenceError(f"{meta_path}: missing 'policy'")
    return meta


class PolicyAgent:
    """Runs a :class:`Policy` in a dialog_gym environment.

    ``agent(obs, info, env)`` returns an action (the :mod:`dialog_gym.rollout` protocol); ``predict``
    mimics stable-baselines3 for an environment bound at construction. With ``respect_mask`` the
    policy's probabilities are restricted to the actions ``info["action_mask"]`` allows; if the policy
    gives none of them any probability, the first allowed action is taken. A policy whose
    ``predict_action_probabilities`` accepts ``action_mask`` receives the mask itself.
    """

    def __init__(self, policy: Policy, env: gym.Env | None = None, respect_mask: bool = True,
                 seed: int | None = None) -> None:
        self.policy = policy
        self.env = env
        self.respect_mask = respect_mask
        self.rng = np.random.default_rng(seed)
        params = inspect.signature(policy.predict_action_probabilities).parameters
        self._passes_mask = "action_mask" in params
        self.last_probabilities: np.ndarray | None = None

    def action_probabilities(self, env: gym.Env, mask: np.ndarray | None = None) -> np.ndarray:
        base = env.unwrapped
        if self._passes_mask:
            probs = self.policy.predict_action_probabilities(base.tracker, base.domain, action_mask=mask)
        else:
            probs = self.policy.predict_action_probabilities(base.tracker, base.domain)
        probs = np.asarray(probs, dtype=np.float64)
        if probs.shape != (base.domain.num_actions,):
            raise ValueError(f"{type(self.policy).__name__} returned {probs.shape} probabilities for "
                             f"{base.domain.num_actions} actions")
        self.last_probabilities = probs
        return probs

    def act(self, obs: Any, info: dict, env: gym.Env, deterministic: bool = True) -> int:
        mask = info.get("action_mask") if self.respect_mask else None
        probs = self.action_probabilities(env, mask)
        if mask is not None:
            probs = probs * (np.asarray(mask) > 0)
            if deterministic or probs.sum() <= 0:
                return greedy_allowed(probs, mask)
        if not deterministic and probs.sum() > 0:
            return int(self.rng.choice(len(probs), p=probs / probs.sum()))
        return int(np.argmax(probs))

    __call__ = act

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = True, action_masks: np.ndarray | None = None) -> tuple[np.ndarray, Any]:
        """stable-baselines3's signature, for the environment given at construction."""
        if self.env is None:
            raise RuntimeError("PolicyAgent.predict needs the environment: PolicyAgent(policy, env)")
        base = self.env.unwrapped
        mask = action_masks if action_masks is not None else base.action_masks().astype(np.int8)
        action = self.act(observation, {"action_mask": mask}, self.env, deterministic)
        return np.array(action), state

"""The Policy API (Rasa Core's contract) and the adapter that lets any policy act in an environment.

A :class:`Policy` reads a :class:`~dialog_gym.tracker.DialogueStateTracker` and returns one probability
per action of the domain. :class:`PolicyAgent` runs it under the project's agent contract
(:mod:`dialog_gym.agent`: ``agent(observation, info)`` and ``action_probabilities(observation, info)``),
reading the tracker from ``info["tracker"]`` (an environment made with ``info_tracker=True``).

The environment's action mask reaches a policy by one path: ``info["action_mask"]`` -> :class:`PolicyAgent`
-> :meth:`Policy.predict_masked`. Its default calls Rasa's ``predict_action_probabilities(tracker, domain)``
unchanged (Rasa policies need not know masks); mask-aware policies (the rule, random and ensemble
policies) override ``predict_masked``.

Saved policies are folders holding ``policy.json`` (the class, its parameters, the featurizer and the
domain's fingerprint) and whatever files the class writes (JSON, or torch tensors loaded with
``weights_only=True``); nothing is unpickled on load.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from dialog_gym import __version__
from dialog_gym.agent import action_mask, greedy_allowed, tracker_of
from dialog_gym.domain import Domain
from dialog_gym.envs import dialogue_env_of
from dialog_gym.errors import DialogGymError, PersistenceError
from dialog_gym.featurizers import MaxHistoryTrackerFeaturizer, TrackerFeaturizer, TrainingData
from dialog_gym.tracker import DialogueStateTracker
from dialog_gym.utils import read_json, write_json

POLICY_FILE = "policy.json"
_REGISTRY: dict[str, type[Policy]] = {}
# policy types whose module is imported only when needed (the supervised one imports torch): name -> importer
_LOADERS: dict[str, Callable[[], object]] = {}


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

    # ------------------------------------------------------------------ the environment's mask
    def predict_masked(self, tracker: DialogueStateTracker, domain: Domain,
                       action_mask: np.ndarray | None = None) -> np.ndarray:
        """Probabilities given the environment's action mask (``info["action_mask"]``, or None): the one
        way a mask reaches a policy. The default ignores it (the caller restricts the probabilities to
        the allowed actions); a policy that chooses differently when it knows the mask overrides this."""
        return self.predict_action_probabilities(tracker, domain)

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


def register_policy_loader(name: str, loader: Callable[[], object]) -> None:
    """Make the policy type ``name`` known before its module is imported: ``loader()`` imports it (which
    registers the class). The ``agents`` package registers its lazily imported policies this way; the
    others register themselves when their module is imported (every subclass with a ``name``)."""
    _LOADERS[name] = loader


def policy_classes() -> dict[str, type[Policy]]:
    """Registered policy types by name (the built-in ones and any subclass defined so far)."""
    for loader in _LOADERS.values():
        loader()
    return dict(_REGISTRY)


def _registered(name: str) -> type[Policy] | None:
    if name not in _REGISTRY and name in _LOADERS:
        _LOADERS[name]()
    return _REGISTRY.get(name)


def _read_meta(folder: Path) -> dict[str, Any]:
    meta_path = folder / POLICY_FILE
    meta = read_json(meta_path, f"is {folder} a saved policy?")
    if not isinstance(meta, dict) or "policy" not in meta:
        raise PersistenceError(f"{meta_path}: missing 'policy'")
    return meta


def check_policy_env(env: gym.Env) -> None:
    """Refuse an environment whose actions are not its domain's (e.g. summary acts): a Rasa policy predicts
    one probability per domain action, and those are not the environment's actions there."""
    base = dialogue_env_of(env)
    if not base.actions_are_domain_actions:
        name = base.spec.id if base.spec is not None else type(base).__name__
        raise DialogGymError(
            f"Rasa policies choose among the domain's {base.domain.num_actions} actions, but {name} acts with "
            f"{base.action_space.n} other actions ({', '.join(base.action_names[:4])}, ...: {base.family} acts); "
            "run them on an action-level environment")


class PolicyAgent:
    """Runs a :class:`Policy` under the agent contract of :mod:`dialog_gym.agent`.

    ``agent(obs, info)`` returns an action; ``action_probabilities(obs, info)`` the policy's probabilities
    for ``info["tracker"]`` (from :meth:`Policy.predict_masked`, given ``info["action_mask"]`` when
    ``respect_mask``). ``env`` (made once, at construction) gives the domain and is checked to act with the
    domain's actions; it is not kept. With ``respect_mask`` the probabilities are restricted to the actions
    the mask allows; if the policy gives none of them any probability, the first allowed action is taken.
    """

    def __init__(self, policy: Policy, env: gym.Env, respect_mask: bool = True, seed: int | None = None) -> None:
        check_policy_env(env)
        self.policy = policy
        self.domain = dialogue_env_of(env).domain
        self.respect_mask = respect_mask
        self.rng = np.random.default_rng(seed)
        self.last_probabilities: np.ndarray | None = None

    def action_probabilities(self, obs: Any, info: Mapping[str, Any]) -> np.ndarray:
        """The policy's probabilities in the state of ``info["tracker"]`` (one per action of the domain)."""
        mask = action_mask(info) if self.respect_mask else None
        domain = self.domain
        probs = np.asarray(self.policy.predict_masked(tracker_of(info), domain, mask), dtype=np.float64)
        if probs.shape != (domain.num_actions,):
            raise ValueError(f"{type(self.policy).__name__} returned {probs.shape} probabilities for "
                             f"{domain.num_actions} actions")
        self.last_probabilities = probs
        return probs

    def act(self, obs: Any, info: Mapping[str, Any], deterministic: bool = True) -> int:
        mask = action_mask(info) if self.respect_mask else None
        probs = self.action_probabilities(obs, info)
        if mask is not None:
            probs = probs * (mask > 0)
            if deterministic or probs.sum() <= 0:
                return greedy_allowed(probs, mask)
        if not deterministic and probs.sum() > 0:
            return int(self.rng.choice(len(probs), p=probs / probs.sum()))
        return int(np.argmax(probs))

    __call__ = act

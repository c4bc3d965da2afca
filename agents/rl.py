"""Reinforcement learning with stable-baselines3 and sb3-contrib: models, saving, loading, acting.

Importing this module needs none of them (the ``rl`` extra): the functions import them when called, so
code that only looks for a saved agent (:data:`AGENT_FILE`) runs in a lean install.

A saved agent is a folder with ``agent.json`` (algorithm, environment id and kwargs, hyperparameters,
timesteps and dialogues trained), ``policy.pt`` (the policy's ``state_dict``) and ``optimizer.pt``. Loading
rebuilds the model from the recorded hyperparameters and loads the tensors with ``weights_only=True``:
nothing is unpickled (stable-baselines3's own zip format cloudpickles parts of the model, so it is not
used). Writes are atomic.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import dialog_gym  # noqa: F401  (registers the environments)
from agents.hyperparams import META_KEYS, algorithm_class
from dialog_gym import __version__
from dialog_gym.agent import action_mask
from dialog_gym.errors import PersistenceError
from dialog_gym.seeds import training_env_seed
from dialog_gym.utils import atomic_folder, read_json, write_json

if TYPE_CHECKING:
    from stable_baselines3.common.vec_env import VecEnv

    from agents.gp_sarsa import GPSarsa

AGENT_FILE = "agent.json"
MASKED_ALGORITHMS = ("maskable_ppo", "maskable_dqn")
#: the plain algorithm a masked one becomes when the mask allows everything
UNMASKED = {"maskable_ppo": "PPO", "maskable_dqn": "DQN"}


def set_threads(threads: int) -> None:
    """Run this process's numerical work on ``threads`` threads: torch's and numpy's BLAS (OpenBLAS starts one
    thread per core, and on a busy machine or beside other cells its threads spin). Reproducible, and fastest for
    these small networks and GP-SARSA's products at 1 (2-core EPYC)."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    threadpool_limits(limits=threads)


def make_vec_env(env_id: str, n_envs: int, seed: int, env_kwargs: dict[str, Any] | None = None) -> VecEnv:
    """A DummyVecEnv of monitored environments; text envs get ``render_mode=None`` (SB3 would ask for
    ``rgb_array``)."""
    from stable_baselines3.common.env_util import make_vec_env as sb3_make_vec_env

    kwargs = {"render_mode": None, **(env_kwargs or {})}
    return sb3_make_vec_env(env_id, n_envs=n_envs, seed=seed, env_kwargs=kwargs)


def seed_training_envs(env: VecEnv, seed: int, first: int) -> None:
    """Environment ``k`` of ``env`` starts its next reset with ``training_env_seed(seed, first + k)`` (the RL
    training stream of :mod:`dialog_gym.seeds`; a vector env seeds its k-th env with ``seed + k``, and the
    stream is contiguous in its index)."""
    training_env_seed(seed, first + env.num_envs - 1)  # raises past the stream's bound
    env.seed(training_env_seed(seed, first))


def build_model(algo: str, env: Any, hyperparams: dict[str, Any], seed: int,
                tensorboard_log: str | None = None) -> Any:
    """A fresh model of ``algo`` on ``env`` with the (validated) hyperparameters."""
    cls = algorithm_class(algo)
    kwargs = {k: v for k, v in hyperparams.items() if k not in META_KEYS}
    return cls(hyperparams.get("policy", "MlpPolicy"), env, seed=seed, verbose=0, device="cpu",
               tensorboard_log=tensorboard_log, policy_kwargs=dict(hyperparams.get("policy_kwargs") or {}),
               **kwargs)


def save_agent(model: Any, folder: str | os.PathLike, meta: dict[str, Any]) -> Path:
    """Write ``model`` and its metadata to ``folder``, all or nothing: an interrupted save leaves the
    previous checkpoint there whole, never a mix of two."""
    import torch

    folder = Path(folder)
    with atomic_folder(folder) as tmp:
        torch.save(model.policy.state_dict(), tmp / "policy.pt")
        torch.save(model.policy.optimizer.state_dict(), tmp / "optimizer.pt")
        record = {**meta, "num_timesteps": int(model.num_timesteps), "dialog_gym_version": __version__}
        write_json(tmp / AGENT_FILE, _jsonable(record))
    return folder


def read_agent_meta(folder: str | os.PathLike) -> dict[str, Any]:
    path = Path(folder) / AGENT_FILE
    meta = read_json(path, f"is {folder} a saved RL agent?")
    if not isinstance(meta, dict):
        raise PersistenceError(f"{path}: expected a JSON object")
    for key in ("algo", "env_id", "hyperparams"):
        if key not in meta:
            raise PersistenceError(f"{path}: missing {key!r}")
    return meta


def load_agent(folder: str | os.PathLike, env: Any = None, load_optimizer: bool = False) -> tuple[Any, dict]:
    """Rebuild a saved model (on ``env``, or a one-env DummyVecEnv of its environment) and its metadata."""
    import torch

    folder = Path(folder)
    meta = read_agent_meta(folder)
    from agents.hyperparams import parse_policy_kwargs

    hp = dict(meta["hyperparams"])
    hp["policy_kwargs"] = parse_policy_kwargs(hp.get("policy_kwargs"), f"{folder / AGENT_FILE}: policy_kwargs")
    if env is None:
        env = make_vec_env(meta["env_id"], 1, int(meta.get("seed", 0)), meta.get("env_kwargs"))
    model = build_model(meta["algo"], env, hp, int(meta.get("seed", 0)))
    try:
        state = torch.load(folder / "policy.pt", map_location="cpu", weights_only=True)
        model.policy.load_state_dict(state)
        if load_optimizer and (folder / "optimizer.pt").exists():
            model.policy.optimizer.load_state_dict(
                torch.load(folder / "optimizer.pt", map_location="cpu", weights_only=True))
    except (OSError, RuntimeError, KeyError, ValueError) as exc:
        raise PersistenceError(f"{folder}: cannot load the model weights: {exc}") from None
    model.num_timesteps = int(meta.get("num_timesteps", 0))
    return model, meta


def is_masked_model(model: Any) -> bool:
    """Whether ``model`` chooses among allowed actions (takes ``action_masks`` in ``predict``)."""
    from sb3_contrib import MaskablePPO

    from agents.maskable_dqn import MaskableDQN

    return isinstance(model, (MaskablePPO, MaskableDQN))


def save_gp_agent(learner: GPSarsa, folder: str | os.PathLike, meta: dict[str, Any]) -> Path:
    """``agent.json`` and ``gp.npz`` (arrays only), all or nothing."""
    from agents.gp_sarsa import GP_FILE

    folder = Path(folder)
    with atomic_folder(folder) as tmp:
        with open(tmp / GP_FILE, "wb") as fh:
            arrays = learner.arrays()
            np.savez(fh, points=arrays["points"], acts=arrays["acts"], k_inv=arrays["k_inv"], alpha=arrays["alpha"],
                     cov=arrays["cov"])
        write_json(tmp / AGENT_FILE, _jsonable({**meta, "gp": learner.settings(),
                                                "num_timesteps": learner.num_timesteps,
                                                "dialog_gym_version": __version__}))
    return folder


def load_gp_agent(folder: str | os.PathLike, meta: Mapping[str, Any]) -> GPSarsa:
    """The learner saved in ``folder`` (whose ``agent.json`` is ``meta``); no pickle is read."""
    from agents.gp_sarsa import GP_FILE, GPSarsa

    folder = Path(folder)
    settings = meta.get("gp")
    if not isinstance(settings, dict):
        raise PersistenceError(f"{folder / 'agent.json'}: missing the GP settings ('gp')")
    try:
        learner = GPSarsa(**settings)
        with np.load(folder / GP_FILE, allow_pickle=False) as data:
            arrays = {k: data[k] for k in ("points", "acts", "k_inv", "alpha", "cov")}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PersistenceError(f"{folder / GP_FILE}: cannot load the GP: {exc}") from None
    learner.load_arrays(arrays, str(folder / GP_FILE))
    learner.num_timesteps = int(meta.get("num_timesteps", 0))
    return learner


class SB3Agent:
    """A stable-baselines3 model under the agent contract of :mod:`dialog_gym.agent`: ``agent(obs, info) ->
    action``, ``action_probabilities(obs, info)`` and, for a vector env, ``act_batch(observations, infos)``
    (one ``model.predict`` on the stacked observations); maskable models get ``info["action_mask"]``.
    ``predict`` passes through to the model."""

    def __init__(self, model: Any, masked: bool | None = None, deterministic: bool = True) -> None:
        self.model = model
        if masked is None:
            masked = is_masked_model(model)
        self.masked = masked
        self.deterministic = deterministic

    def __call__(self, obs: np.ndarray, info: Mapping[str, Any]) -> int:
        if self.masked:
            mask = np.asarray(info["action_mask"], dtype=bool)
            action, _ = self.model.predict(obs, deterministic=self.deterministic, action_masks=mask)
        else:
            action, _ = self.model.predict(obs, deterministic=self.deterministic)
        return int(action)

    def act_batch(self, observations: np.ndarray, infos: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The actions for a batch of observations (rows), in one ``predict``; masks from the infos."""
        if self.masked:
            masks = np.stack([np.asarray(info["action_mask"], dtype=bool) for info in infos])
            actions, _ = self.model.predict(observations, deterministic=self.deterministic, action_masks=masks)
        else:
            actions, _ = self.model.predict(observations, deterministic=self.deterministic)
        return np.asarray(actions, dtype=np.int64).reshape(len(infos))

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True,
                action_masks: np.ndarray | None = None) -> tuple[np.ndarray, Any]:
        if self.masked:
            return self.model.predict(observation, state, episode_start, deterministic, action_masks=action_masks)
        return self.model.predict(observation, state, episode_start, deterministic)

    def action_probabilities(self, obs: np.ndarray, info: Mapping[str, Any]) -> np.ndarray:
        """The policy's action distribution at ``obs`` (masked by ``info["action_mask"]`` for maskable
        models). The model reads only the observation (and the mask), so a recorded step will do."""
        import torch

        mask = action_mask(info)
        policy = self.model.policy
        obs_t, _ = policy.obs_to_tensor(obs)
        with torch.no_grad():
            if self.masked and hasattr(policy, "get_distribution"):
                dist = policy.get_distribution(obs_t, action_masks=None if mask is None else np.asarray(mask, bool))
            elif hasattr(policy, "get_distribution"):
                dist = policy.get_distribution(obs_t)
            else:  # DQN: a softmax over the Q-values (of the allowed actions, for a masked DQN)
                q = policy.q_net(obs_t)
                if self.masked and mask is not None:
                    q = q.masked_fill(~torch.as_tensor(np.asarray(mask, bool)).reshape(q.shape), -torch.inf)
                return torch.softmax(q, dim=-1).cpu().numpy()[0]
            return dist.distribution.probs.cpu().numpy()[0]


def _jsonable(value: Any) -> Any:
    """Hyperparameters as JSON: classes (activation functions) by name."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, type):
        return f"nn.{value.__name__}"
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value

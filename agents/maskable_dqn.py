"""A DQN that acts and bootstraps among the allowed actions, in the style of sb3-contrib's MaskablePPO.

PyDial's DQN chooses among the admissible acts of the belief state, both when it acts (ε-greedy and greedy)
and when it forms its targets (the max over the next state's admissible acts). stable-baselines3's DQN does
neither; :class:`MaskableDQN` subclasses it:

* acting: the environment's ``action_masks()`` is read as MaskablePPO reads it
  (:func:`sb3_contrib.common.maskable.utils.get_action_masks`, an ``env_method`` call on a vector env); the
  random actions of warm-up and of ε-exploration are drawn uniformly among the allowed actions, the greedy
  action is the argmax of the Q-values over them; ``predict(obs, action_masks=...)`` as MaskablePPO's;
* learning: :class:`MaskableReplayBuffer` stores the next state's mask with each transition, and the target
  ``r + γ (1 - done) max_{a' allowed in s'} Q_target(s', a')`` maxes over it (:func:`masked_td_targets`).

The next state's mask is the ``info["action_mask"]`` the step returned when the episode ended there (the
vector env has already reset that env, so its ``action_masks()`` would be the new dialogue's), else
``action_masks()`` of the new state.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported
from stable_baselines3 import DQN
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from stable_baselines3.common.vec_env import VecNormalize
from stable_baselines3.dqn.policies import DQNPolicy
from torch.nn import functional as F

from dialog_gym.errors import ConfigError

__all__ = ["MaskableDQN", "MaskableDQNPolicy", "MaskableReplayBuffer", "masked_argmax", "masked_td_targets",
           "sample_allowed_actions"]


def masked_argmax(q_values: th.Tensor, masks: th.Tensor | None) -> th.Tensor:
    """The argmax of each row of ``q_values`` over its allowed actions (all when ``masks`` is None)."""
    if masks is None:
        return q_values.argmax(dim=1)
    return q_values.masked_fill(~masks, -th.inf).argmax(dim=1)


def masked_td_targets(rewards: th.Tensor, dones: th.Tensor, next_q_values: th.Tensor, next_masks: th.Tensor,
                      gamma: float) -> th.Tensor:
    """One-step targets ``r + γ (1 - done) max_{a' allowed} Q(s', a')`` (shape ``(batch, 1)``); a next state
    with no allowed action contributes 0, as a terminal one."""
    masked = next_q_values.masked_fill(~next_masks, -th.inf).max(dim=1).values
    masked = th.where(next_masks.any(dim=1), masked, th.zeros_like(masked)).reshape(-1, 1)
    return rewards + (1 - dones) * gamma * masked


def sample_allowed_actions(masks: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """One action per row of ``masks`` (bools, ``(n, n_actions)``), uniform among the allowed ones."""
    out = np.empty(len(masks), dtype=np.int64)
    for i, row in enumerate(np.asarray(masks, dtype=bool)):
        allowed = np.flatnonzero(row)
        if allowed.size == 0:
            raise ValueError("an action mask allows no action")
        # numpy's global generator by default: the one stable-baselines3 seeds with the model's seed
        out[i] = allowed[rng.integers(allowed.size) if rng is not None else np.random.randint(allowed.size)]
    return out


class MaskableDQNPolicy(DQNPolicy):
    """DQN's policy whose greedy action is the argmax over the allowed actions."""

    def _predict(self, obs: Any, deterministic: bool = True, action_masks: np.ndarray | None = None) -> th.Tensor:
        q_values = self.q_net(obs)
        masks = None if action_masks is None else th.as_tensor(
            np.asarray(action_masks, dtype=bool).reshape(q_values.shape), device=q_values.device)
        return masked_argmax(q_values, masks)

    def predict(self, observation: Any, state: tuple[np.ndarray, ...] | None = None,
                episode_start: np.ndarray | None = None, deterministic: bool = False,
                action_masks: np.ndarray | None = None) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """As :meth:`BasePolicy.predict` (one observation or a batch), among ``action_masks``."""
        self.set_training_mode(False)
        obs_tensor, vectorized = self.obs_to_tensor(observation)
        with th.no_grad():
            actions = self._predict(obs_tensor, deterministic, action_masks=action_masks).cpu().numpy()
        if not vectorized:
            return actions.squeeze(axis=0), state
        return actions, state


class MaskableReplayBufferSamples(NamedTuple):
    observations: th.Tensor
    actions: th.Tensor
    next_observations: th.Tensor
    dones: th.Tensor
    rewards: th.Tensor
    next_action_masks: th.Tensor


class MaskableReplayBuffer(ReplayBuffer):
    """A replay buffer that also keeps the next state's action mask of each transition.

    :meth:`add` takes the masks from :attr:`pending_next_masks`, which :class:`MaskableDQN` sets before each
    add (SB3's ``add`` has no place for them)."""

    def __init__(self, buffer_size: int, observation_space: spaces.Space, action_space: spaces.Space,
                 device: th.device | str = "auto", n_envs: int = 1, optimize_memory_usage: bool = False,
                 handle_timeout_termination: bool = True) -> None:
        if optimize_memory_usage:
            raise ConfigError("the masked replay buffer does not support optimize_memory_usage")
        if not isinstance(action_space, spaces.Discrete):
            raise ConfigError("a masked DQN needs a discrete action space")
        super().__init__(buffer_size, observation_space, action_space, device, n_envs, False,
                         handle_timeout_termination)
        self.next_action_masks = np.ones((self.buffer_size, self.n_envs, int(action_space.n)), dtype=bool)
        self.pending_next_masks: np.ndarray | None = None

    def add(self, obs: np.ndarray, next_obs: np.ndarray, action: np.ndarray, reward: np.ndarray, done: np.ndarray,
            infos: list[dict[str, Any]]) -> None:
        if self.pending_next_masks is None:
            raise RuntimeError("MaskableReplayBuffer.add needs pending_next_masks (the next states' masks)")
        self.next_action_masks[self.pos] = self.pending_next_masks.reshape(self.n_envs, -1)
        self.pending_next_masks = None
        super().add(obs, next_obs, action, reward, done, infos)

    def _get_samples(  # type: ignore[override]  # a ReplayBufferSamples with the masks added
            self, batch_inds: np.ndarray, env: VecNormalize | None = None) -> MaskableReplayBufferSamples:
        env_indices = np.random.randint(0, high=self.n_envs, size=(len(batch_inds),))
        # as ReplayBuffer._get_samples (dones cut by a time limit are not terminal), plus the masks
        done = self.dones[batch_inds, env_indices] * (1 - self.timeouts[batch_inds, env_indices])
        return MaskableReplayBufferSamples(
            observations=self.to_torch(np.asarray(
                self._normalize_obs(self.observations[batch_inds, env_indices, :], env))),
            actions=self.to_torch(self.actions[batch_inds, env_indices, :]),
            next_observations=self.to_torch(np.asarray(
                self._normalize_obs(self.next_observations[batch_inds, env_indices, :], env))),
            dones=self.to_torch(done.reshape(-1, 1)),
            rewards=self.to_torch(self._normalize_reward(self.rewards[batch_inds, env_indices].reshape(-1, 1), env)),
            next_action_masks=th.as_tensor(self.next_action_masks[batch_inds, env_indices, :], device=self.device))


class MaskableDQN(DQN):
    """stable-baselines3's DQN choosing and bootstrapping among the allowed actions (module docstring).
    Its constructor is DQN's; the replay buffer is always a :class:`MaskableReplayBuffer`."""

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": MaskableDQNPolicy}
    policy: MaskableDQNPolicy
    replay_buffer: MaskableReplayBuffer

    def _setup_model(self) -> None:
        if self.replay_buffer_class not in (None, MaskableReplayBuffer):
            raise ConfigError("a masked DQN keeps the next states' masks in its own replay buffer "
                              "(replay_buffer_class cannot be set)")
        self.replay_buffer_class = MaskableReplayBuffer
        super()._setup_model()

    def _current_masks(self) -> np.ndarray:
        if self.env is None or not is_masking_supported(self.env):
            raise ConfigError("a masked DQN needs an environment with action_masks()")
        return np.asarray(get_action_masks(self.env), dtype=bool)

    def predict(self, observation: Any, state: tuple[np.ndarray, ...] | None = None,
                episode_start: np.ndarray | None = None, deterministic: bool = False,
                action_masks: np.ndarray | None = None) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """ε-greedy (or greedy when ``deterministic``) among the actions ``action_masks`` allows (all when
        None), for one observation or a batch, as MaskablePPO's ``predict``."""
        if deterministic or np.random.rand() >= self.exploration_rate:
            return self.policy.predict(observation, state, episode_start, deterministic, action_masks=action_masks)
        vectorized = self.policy.is_vectorized_observation(observation)
        n = np.asarray(observation).shape[0] if vectorized else 1
        n_actions = int(self.action_space.n)  # type: ignore[attr-defined]
        masks = (np.ones((n, n_actions), dtype=bool) if action_masks is None
                 else np.asarray(action_masks, dtype=bool).reshape(n, n_actions))
        actions = sample_allowed_actions(masks)
        return (actions if vectorized else actions[0]), state

    def _sample_action(self, learning_starts: int, action_noise: Any = None, n_envs: int = 1
                       ) -> tuple[np.ndarray, np.ndarray]:
        masks = self._current_masks()
        if self.num_timesteps < learning_starts:
            action = sample_allowed_actions(masks)
        else:
            assert self._last_obs is not None
            action, _ = self.predict(self._last_obs, deterministic=False, action_masks=masks)
        return action, action

    def _store_transition(self, replay_buffer: ReplayBuffer, buffer_action: np.ndarray, new_obs: Any,
                          reward: np.ndarray, dones: np.ndarray, infos: list[dict[str, Any]]) -> None:
        masks = self._current_masks()  # the new states' masks (a finished env's is its next dialogue's)
        for i, done in enumerate(dones):
            if done:  # the mask of the state the dialogue ended in (used when it was cut, not ended)
                terminal = infos[i].get("action_mask")
                masks[i] = np.ones_like(masks[i]) if terminal is None else np.asarray(terminal, dtype=bool)
        if isinstance(replay_buffer, MaskableReplayBuffer):
            replay_buffer.pending_next_masks = masks
        super()._store_transition(replay_buffer, buffer_action, new_obs, reward, dones, infos)

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """DQN's update with the masked target (:func:`masked_td_targets`)."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        losses: list[float] = []
        for _ in range(gradient_steps):
            data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            assert isinstance(data, MaskableReplayBufferSamples)
            loss = self.masked_loss(data)
            losses.append(loss.item())
            self.policy.optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            self.policy.optimizer.step()
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/loss", float(np.mean(losses)) if losses else 0.0)

    def masked_loss(self, data: MaskableReplayBufferSamples | ReplayBufferSamples) -> th.Tensor:
        """The Huber loss between Q(s, a) and the masked one-step target of a batch."""
        masks = getattr(data, "next_action_masks", None)
        with th.no_grad():
            next_q = self.q_net_target(data.next_observations)
            if masks is None:
                masks = th.ones_like(next_q, dtype=th.bool)
            target = masked_td_targets(data.rewards, data.dones, next_q, masks, self.gamma)
        current = th.gather(self.q_net(data.observations), dim=1, index=data.actions.long())
        return F.smooth_l1_loss(current, target)

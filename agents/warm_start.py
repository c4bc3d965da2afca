"""Warm start: behaviour cloning of a stable-baselines3 policy from expert demonstrations before RL.

Demonstrations come from the rule expert rolled out in the target environment, or from a story file
(featurized with the environment's own featurizer, so they are exactly the observations the agent will
see). The policy network is trained with cross-entropy on the expert's actions; with value
pre-training the value head also regresses the demonstrations' discounted returns, so that RL
fine-tuning starts with advantages that make sense instead of a random critic (the usual cause of a
warm-started policy collapsing in its first updates).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from dialog_gym.domain import ACTION_LISTEN_NAME
from dialog_gym.envs import DialogueEnv, dialogue_env_of
from dialog_gym.errors import DialogGymError
from dialog_gym.events import ActionExecuted
from dialog_gym.featurizers import MaxHistoryTrackerFeaturizer
from dialog_gym.rollout import expert_act
from dialog_gym.seeds import Stream, demonstration_seed
from dialog_gym.stories import generate_trackers, read_stories


@dataclass
class Demonstrations:
    obs: np.ndarray        # (N, obs_dim) float32
    actions: np.ndarray    # (N,) int64
    returns: np.ndarray    # (N,) float32, discounted return from each step
    masks: np.ndarray      # (N, n_actions) bool
    dialogues: int

    def __len__(self) -> int:
        return len(self.actions)


def _discounted(rewards: list[float], gamma: float) -> list[float]:
    out, acc = [], 0.0
    for r in reversed(rewards):
        acc = r + gamma * acc
        out.append(acc)
    return out[::-1]


def expert_demonstrations(env_id: str, dialogues: int, seed: int, gamma: float = 0.99,
                          env_kwargs: dict[str, Any] | None = None,
                          stream: Stream = demonstration_seed) -> Demonstrations:
    """Roll the rule expert out for ``dialogues`` dialogues of run seed ``seed`` (dialogue ``i`` reset with
    ``stream(seed, i)``, the warm-start demonstration stream unless said otherwise)."""
    env = gym.make(env_id, **{**(env_kwargs or {}), "info_tracker": True})  # the expert reads the tracker
    act = expert_act(env)
    obs_l, act_l, ret_l, mask_l = [], [], [], []
    for i in range(dialogues):
        obs, info = env.reset(seed=stream(seed, i))
        rewards: list[float] = []
        done = False
        while not done:
            a = act(obs, info)
            obs_l.append(obs)
            mask_l.append(info["action_mask"].astype(bool))
            act_l.append(a)
            obs, r, terminated, truncated, info = env.step(a)
            rewards.append(float(r))
            done = terminated or truncated
        ret_l.extend(_discounted(rewards, gamma))
    env.close()
    return Demonstrations(np.asarray(obs_l, np.float32), np.asarray(act_l, np.int64),
                          np.asarray(ret_l, np.float32), np.asarray(mask_l, bool), dialogues)


def story_demonstrations(path: str | os.PathLike, env_id: str, gamma: float = 0.99,
                         env_kwargs: dict[str, Any] | None = None) -> Demonstrations:
    """Demonstrations from a Rasa story file, featurized as the environment's observations.

    Rewards follow the environment's reward config; story dialogues are taken to be successful (the
    bAbI stories all end in a confirmed reservation). Masks are all ones (a story does not carry them).
    """
    env = gym.make(env_id, **(env_kwargs or {}))
    base = dialogue_env_of(env, DialogueEnv)
    if not base.actions_are_domain_actions:
        raise DialogGymError(f"{path}: stories are Rasa actions, but {env_id} acts with {base.family} acts "
                             f"({', '.join(base.action_names[:3])}, ...); warm-start it from the rule expert")
    domain, rcfg = base.domain, base.reward_config
    trackers = generate_trackers(read_stories(path), domain, augmentation_factor=0)
    featurizer = MaxHistoryTrackerFeaturizer(max_history=base.config.max_history, remove_duplicates=False)
    featurizer.prepare(domain)
    obs_l, act_l, ret_l = [], [], []
    for tracker in trackers:
        states = featurizer.tracker_states(tracker, domain)
        actions = [e.action_name for e in tracker.applied_events() if isinstance(e, ActionExecuted)]
        rewards = [rcfg.listen if a == ACTION_LISTEN_NAME else rcfg.bot_action for a in actions]
        if rewards:
            rewards[-1] += rcfg.success
        for i, action in enumerate(actions):
            window = featurizer.slice_state_history(states[: i + 1], featurizer.max_history)
            vec = featurizer.state_featurizer.encode_many(window).reshape(-1)
            obs_l.append(np.append(vec, 1.0).astype(np.float32))
            act_l.append(domain.index_for_action(action))
        ret_l.extend(_discounted(rewards, gamma))
    env.close()
    if not act_l:
        raise DialogGymError(f"{path}: no dialogues to learn from")
    n = len(act_l)
    return Demonstrations(np.asarray(obs_l, np.float32), np.asarray(act_l, np.int64), np.asarray(ret_l, np.float32),
                          np.ones((n, domain.num_actions), bool), len(trackers))


def behaviour_clone(model: Any, demos: Demonstrations, epochs: int = 30, batch_size: int = 256,
                    learning_rate: float = 1e-3, value_pretraining: bool = True, label_smoothing: float = 0.0,
                    seed: int = 0) -> dict[str, float]:
    """Train ``model.policy`` on the demonstrations; returns the final losses, accuracy and the mean
    probability the cloned policy gives the expert's action.

    With ``label_smoothing`` = e the target gives the expert's action 1 - e and spreads e over the actions
    the demonstration's mask allowed, so the cloned policy stays stochastic enough for RL fine-tuning to
    sample (and learn from) the alternatives; its greedy action is still the expert's.
    """
    from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy

    policy = model.policy
    policy.set_training_mode(True)
    gen = torch.Generator().manual_seed(seed)
    obs = torch.as_tensor(demos.obs)
    actions = torch.as_tensor(demos.actions)
    returns = torch.as_tensor(demos.returns)
    masks = torch.as_tensor(demos.masks)
    target = torch.nn.functional.one_hot(actions, masks.shape[1]).float() * (1.0 - label_smoothing)
    target += label_smoothing * masks.float() / masks.float().sum(dim=1, keepdim=True)
    optimizer = torch.optim.Adam(policy.parameters(), lr=learning_rate)
    is_q = not hasattr(policy, "get_distribution")
    masked = isinstance(policy, MaskableActorCriticPolicy)
    value_pretraining = value_pretraining and not is_q  # DQN has no separate value head

    def log_probs(batch_obs: torch.Tensor, batch_masks: torch.Tensor) -> torch.Tensor:
        if is_q:
            return torch.log_softmax(policy.q_net(batch_obs), dim=-1)
        dist = policy.get_distribution(batch_obs, action_masks=batch_masks.numpy()) if masked else \
            policy.get_distribution(batch_obs)
        return dist.distribution.logits  # normalised log-probabilities

    n = len(actions)
    stats: dict[str, Any] = {"policy_loss": float("nan"), "value_loss": float("nan")}
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            logp = log_probs(obs[idx], masks[idx])
            policy_loss = -(target[idx] * torch.nan_to_num(logp, neginf=0.0)).sum(dim=1).mean()
            loss = policy_loss
            if value_pretraining:
                value_loss = torch.nn.functional.mse_loss(policy.predict_values(obs[idx]).flatten(), returns[idx])
                loss = loss + 0.5 * value_loss
                stats["value_loss"] = float(value_loss.detach())
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
            optimizer.step()
            stats["policy_loss"] = float(policy_loss.detach())
    policy.set_training_mode(False)
    with torch.no_grad():
        probs = log_probs(obs, masks).exp()
    stats["accuracy"] = float((probs.argmax(-1) == actions).float().mean())
    stats["mean_expert_probability"] = float(probs.gather(1, actions[:, None]).mean())
    stats["examples"] = n
    return stats

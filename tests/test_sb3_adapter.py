"""The private members of stable-baselines3 that ``agents/sb3_adapter.py`` uses still exist and still do what it
assumes, in the installed SB3 (pinned below its next major in pyproject.toml)."""

from __future__ import annotations

import inspect

import gymnasium as gym
import pytest
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm

import dialog_gym  # noqa: F401  (registers the environments)
from agents.sb3_adapter import LOGGER_ATTRIBUTE, PROGRESS_ATTRIBUTE, PROGRESS_HOOK, drive_progress, training_logger


def test_the_private_progress_hook_exists_with_its_signature() -> None:
    hook = getattr(BaseAlgorithm, PROGRESS_HOOK)
    assert list(inspect.signature(hook).parameters) == ["self", "num_timesteps", "total_timesteps"]
    assert PROGRESS_ATTRIBUTE in inspect.getsource(hook)
    assert LOGGER_ATTRIBUTE in inspect.getsource(BaseAlgorithm.logger.fget)


@pytest.mark.parametrize("algo", [PPO, DQN])  # on-policy and off-policy algorithms call the hook each
def test_learn_takes_its_progress_from_the_adapter(algo) -> None:
    """SB3's ``learn`` asks the hook for the progress (what every schedule reads): with the adapter it is ours,
    not SB3's ``1 - timesteps / total`` (which would be 1 - 64/10^6 here)."""
    env = gym.make("dialog_gym/Restaurant-v0")
    kwargs = {"n_steps": 32, "batch_size": 32} if algo is PPO else {"learning_starts": 0, "train_freq": 8}
    model = algo("MlpPolicy", env, seed=0, device="cpu", **kwargs)
    assert training_logger(model) is None  # SB3 sets its logger up in learn
    calls = []

    def remaining() -> float:
        calls.append(model.num_timesteps)
        return 0.25

    drive_progress(model, remaining)
    model.learn(total_timesteps=10**6, callback=lambda _locals, _globals: model.num_timesteps < 64)
    assert calls and getattr(model, PROGRESS_ATTRIBUTE) == 0.25
    assert model.lr_schedule is not None and training_logger(model) is model.logger
    env.close()

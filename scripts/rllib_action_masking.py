"""RLlib's PPO with action masking on a dialog_gym environment (RLlib's own action-masking pattern).

RLlib masks actions through the observation: the environment returns a ``Dict`` observation with the
original vector under ``"observations"`` and the mask under ``"action_mask"``, and RLlib's
``ActionMaskingTorchRLModule`` (``ray.rllib.examples.rl_modules.classes.action_masking_rlm``) sets the
logits of the masked actions to the float minimum before sampling. :class:`DictActionMask` below turns a
dialog_gym environment (whose mask is ``env.action_masks()``, the same as ``info["action_mask"]``) into
that form; the rest is plain RLlib (new API stack)::

    python scripts/rllib_action_masking.py [--env Restaurant-v0] [--iterations 20] [--seed 0]

Installing: RLlib pins gymnasium exactly (ray 2.60: ``gymnasium==1.2.2``), below the gymnasium 1.4 that
dialog_gym's own environment uses, so ``pip install 'ray[rllib]'`` cannot go into that environment without
downgrading gymnasium. dialog_gym itself accepts any gymnasium 1.x, so run this script in a separate
environment::

    python -m venv .venv-rllib && .venv-rllib/bin/pip install torch==2.13.0 && \\
        .venv-rllib/bin/pip install -e . 'ray[rllib]==2.60.0'

Without RLlib the script exits with status 1 and that advice.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import gymnasium as gym
import numpy as np

RLLIB_HINT = ("RLlib is not installed here: ray[rllib] pins gymnasium==1.2.2 (ray 2.60), below this environment's; "
              "install it in a separate environment: pip install -e . 'ray[rllib]==2.60.0' (see this script's "
              "docstring)")


class DictActionMask(gym.ObservationWrapper):
    """The observation as RLlib's action-masking module expects it: ``{"observations": obs, "action_mask":
    mask}`` (float32 0/1), the mask being the environment's ``action_masks()`` after each reset and step."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        n = int(env.action_space.n)
        self.observation_space = gym.spaces.Dict({
            "action_mask": gym.spaces.Box(0.0, 1.0, shape=(n,), dtype=np.float32),
            "observations": env.observation_space,
        })

    def observation(self, observation: np.ndarray) -> dict[str, np.ndarray]:
        mask = np.asarray(self.env.unwrapped.action_masks(), dtype=np.float32)
        return {"action_mask": mask, "observations": observation}


def make_env(config: dict[str, Any]) -> gym.Env:
    """RLlib's env creator: the dialog_gym environment named by ``config["env"]``, wrapped."""
    from dialog_gym.envs import EnvRef

    return DictActionMask(EnvRef.of(config.get("env", "Restaurant-v0")).make())


def build_config(env: str, seed: int, train_batch_size: int = 2000, minibatch_size: int = 250,
                 num_epochs: int = 5) -> Any:
    """PPO with RLlib's action-masking RLModule on ``env`` (sampling in the driver: no extra actors)."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.rllib.examples.rl_modules.classes.action_masking_rlm import ActionMaskingTorchRLModule
    from ray.tune.registry import register_env

    register_env("dialog_gym_masked", make_env)
    return (
        PPOConfig()
        .environment("dialog_gym_masked", env_config={"env": env})
        .env_runners(num_env_runners=0)
        .training(train_batch_size=train_batch_size, minibatch_size=minibatch_size, num_epochs=num_epochs, lr=3e-4,
                  gamma=0.99, entropy_coeff=0.01)
        .rl_module(rl_module_spec=RLModuleSpec(module_class=ActionMaskingTorchRLModule,
                                               model_config={"head_fcnet_hiddens": [64, 64],
                                                             "head_fcnet_activation": "tanh"}))
        .debugging(seed=seed)
    )


def train(env: str = "Restaurant-v0", iterations: int = 20, seed: int = 0, address: str | None = None,
          train_batch_size: int = 2000, minibatch_size: int = 250, num_epochs: int = 5,
          report: Any = print) -> list[dict[str, float]]:
    """Train; returns one row per iteration (environment steps so far, mean episode return and length)."""
    import ray

    if not ray.is_initialized():
        ray.init(address=address, num_cpus=None if address else 1, include_dashboard=False, log_to_driver=False,
                 logging_level="error")
    algo = build_config(env, seed, train_batch_size, minibatch_size, num_epochs).build_algo()
    rows = []
    try:
        for i in range(1, iterations + 1):
            result = algo.train()
            runners = result.get("env_runners", {})
            row = {"iteration": i, "env_steps": float(result.get("num_env_steps_sampled_lifetime", 0)),
                   "episode_return_mean": float(runners.get("episode_return_mean", float("nan"))),
                   "episode_len_mean": float(runners.get("episode_len_mean", float("nan")))}
            rows.append(row)
            report(f"iteration {i}: {row['env_steps']:.0f} steps, mean return {row['episode_return_mean']:.2f}, "
                   f"mean length {row['episode_len_mean']:.1f}")
    finally:
        algo.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="Restaurant-v0", help="a dialog_gym id (short or full) or env config YAML")
    parser.add_argument("--iterations", type=int, default=20, help="PPO iterations (train_batch_size steps each)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--address", help="an existing Ray cluster (default: a local instance, 1 CPU)")
    args = parser.parse_args(argv)
    try:
        import ray.rllib.algorithms.ppo  # noqa: F401
    except ImportError as exc:
        print(f"rllib_action_masking: {RLLIB_HINT} ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    train(args.env, args.iterations, args.seed, args.address)
    return 0


if __name__ == "__main__":
    sys.exit(main())

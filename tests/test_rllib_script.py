"""scripts/rllib_action_masking.py: the Dict observation RLlib's action masking expects (always), and a smoke
test of a few PPO iterations where RLlib is installed (it is not beside our gymnasium: RLlib pins
gymnasium==1.2.2; the script's docstring says how to run it in its own environment)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "rllib_action_masking.py"


def _script():
    spec = importlib.util.spec_from_file_location("rllib_action_masking", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rllib_available() -> bool:
    try:
        import ray.rllib.algorithms.ppo  # noqa: F401
    except ImportError:
        return False
    return True


def test_dict_observation_carries_the_environments_mask():
    script = _script()
    env = script.make_env({"env": "Restaurant-v0"})
    check_env(env.unwrapped)
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    assert obs["action_mask"].dtype == np.float32
    np.testing.assert_array_equal(obs["action_mask"], info["action_mask"].astype(np.float32))
    rng = np.random.default_rng(0)
    for _ in range(30):
        action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
        obs, _, terminated, truncated, info = env.step(action)
        assert env.observation_space.contains(obs)
        np.testing.assert_array_equal(obs["action_mask"], info["action_mask"].astype(np.float32))
        if terminated or truncated:
            obs, info = env.reset()
    env.close()


def test_without_rllib_the_script_says_how_to_install_it(capsys):
    if _rllib_available():
        pytest.skip("RLlib is installed here")
    assert _script().main(["--iterations", "1"]) == 1
    assert "ray[rllib] pins gymnasium==1.2.2" in capsys.readouterr().err


@pytest.mark.skipif(not _rllib_available(), reason="RLlib (ray[rllib]) cannot install beside gymnasium 1.4: it pins "
                                                   "gymnasium==1.2.2 (ray 2.60); see scripts/rllib_action_masking.py")
def test_rllib_ppo_with_action_masking_smoke():
    rows = _script().train("Restaurant-v0", iterations=2, seed=0, train_batch_size=400, minibatch_size=100,
                           num_epochs=2, report=lambda line: None)
    assert [r["iteration"] for r in rows] == [1, 2]
    assert rows[-1]["env_steps"] >= 800
    assert np.isfinite(rows[-1]["episode_return_mean"])

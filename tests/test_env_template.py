"""The env base class is a template: a family that forgets a hook cannot be made, and the template's
``step``/``get_state``/``set_state`` run the same for every family."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import dialog_gym  # noqa: F401
from dialog_gym.envs.base import BaseDialogueEnv, EnvSnapshot, dialogue_env_of
from dialog_gym.envs.state import DialogueEnvState

HOOKS = {"_start", "_apply", "_end_reward", "_compute_mask", "_obs", "_info", "_capture", "_restore",
         "action_names", "masks_enabled", "config_fingerprint", "config_source", "transcript"}


def test_the_base_declares_every_hook_abstract():
    assert BaseDialogueEnv.__abstractmethods__ == HOOKS


def test_a_family_that_forgets_a_hook_cannot_be_made():
    class Forgetful(BaseDialogueEnv[DialogueEnvState]):
        def _apply(self, action: int, invalid: bool) -> tuple[float, bool]:
            return 0.0, True

    # mypy reports the same at the call: "Cannot instantiate abstract class" (see dialog_gym/envs/base.py)
    with pytest.raises(TypeError, match=r"abstract.*_capture"):
        Forgetful()  # type: ignore[abstract]


@pytest.mark.parametrize("env_id", ["dialog_gym/Restaurant-v0", "dialog_gym/Restaurant-Summary-Env1-v0",
                                    "dialog_gym/PyDial-CR-Env1-v0"])
def test_every_family_snapshot_shares_the_base_fields(env_id: str):
    env = gym.make(env_id)
    env.reset(seed=3)
    base = dialogue_env_of(env)
    env.step(int(np.flatnonzero(base.action_masks())[0]))
    state: Any = base.get_state()
    assert isinstance(state, EnvSnapshot) and isinstance(state, base.state_type)
    assert state.steps == 1 and state.info["steps"] == 1 and not state.terminal
    env.step(int(np.flatnonzero(base.action_masks())[0]))
    base.set_state(state)
    assert base.steps == 1
    np.testing.assert_array_equal(base.action_masks(), state.mask.astype(bool))


def test_human_render_prints_each_transcript_line_once(capsys: pytest.CaptureFixture[str]):
    for env_id in ("dialog_gym/Restaurant-v0", "dialog_gym/PyDial-CR-Env3-v0"):
        env = gym.make(env_id, render_mode="human")
        env.reset(seed=1)
        base = dialogue_env_of(env)
        for _ in range(4):
            env.step(int(np.flatnonzero(base.action_masks())[0]))
        printed = capsys.readouterr().out
        assert printed == base.transcript() + "\n"

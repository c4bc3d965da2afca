"""The typed way to the dialogue env behind wrappers (``dialogue_env_of``), the families' common base, and
the PEP 561 markers."""

from __future__ import annotations

from importlib.resources import files

import gymnasium as gym
import numpy as np
import pytest

import dialog_gym
from dialog_gym.envs import REGISTRATIONS, BaseDialogueEnv, DialogueEnv, dialogue_env_of
from dialog_gym.envs.pydial_env import PyDialEnv
from dialog_gym.errors import DialogGymError
from dialog_gym.wrappers import HumanCorrectionWrapper
from dialog_gym.wrappers.teaching import ScriptedTeacher, Teacher

PYDIAL_ID = "dialog_gym/PyDial-CR-Env1-v0"
ONE_ID_PER_FAMILY = [dialog_gym.DEFAULT_ENV_ID, PYDIAL_ID]


@pytest.mark.parametrize("env_id", ONE_ID_PER_FAMILY)
def test_dialogue_env_of_reaches_through_wrappers(env_id):
    env = gym.wrappers.RecordEpisodeStatistics(gym.make(env_id))
    obs, info = env.reset(seed=3)
    base = dialogue_env_of(env)
    assert base is env.unwrapped
    assert isinstance(base, BaseDialogueEnv)
    assert base.family == REGISTRATIONS[env_id].family
    assert dialogue_env_of(base) is base  # an unwrapped env is its own dialogue env
    assert base.action_space.n == len(base.action_names)
    assert len(base.tracker.events) > 0  # the user's first turn is in the tracker after reset
    # what every family's snapshot holds: the observation and info the last reset gave
    state = base.get_state()
    np.testing.assert_array_equal(state.observation, obs)
    assert state.info["turn"] == info["turn"] and state.info["steps"] == info["steps"] == 0
    np.testing.assert_array_equal(state.info["action_mask"], info["action_mask"])
    assert base.action_masks().dtype == bool
    assert base.transcript().startswith(("USER:", "BOT:"))
    env.close()


def test_the_family_can_be_narrowed_and_a_wrong_one_is_named():
    restaurant = gym.make(dialog_gym.DEFAULT_ENV_ID)
    assert dialogue_env_of(restaurant, DialogueEnv) is restaurant.unwrapped
    pydial = gym.make(PYDIAL_ID)
    assert dialogue_env_of(pydial, PyDialEnv) is pydial.unwrapped
    with pytest.raises(DialogGymError, match=r"expected a dialog_gym environment \(DialogueEnv\), got PyDialEnv "
                                             r"\(inside OrderEnforcing\)"):
        dialogue_env_of(pydial, DialogueEnv)


def test_other_envs_are_refused_by_name():
    cartpole = gym.make("CartPole-v1")
    with pytest.raises(DialogGymError, match=r"\(BaseDialogueEnv\), got CartPoleEnv \(inside TimeLimit\)$"):
        dialogue_env_of(cartpole)
    with pytest.raises(DialogGymError, match=r"got CartPoleEnv$"):
        dialogue_env_of(cartpole.unwrapped)


def test_the_correction_wrapper_reads_the_dialogue_env_behind_its_wrappers():
    env = gym.wrappers.RecordEpisodeStatistics(gym.make(dialog_gym.DEFAULT_ENV_ID))
    wrapper = HumanCorrectionWrapper(env, None, ScriptedTeacher(env, seed=0), seed=0)
    wrapper.reset()
    assert wrapper.dialogue_env is env.unwrapped
    wrapper.step()
    assert wrapper.undo()
    with pytest.raises(DialogGymError, match="got CartPoleEnv"):
        _ = HumanCorrectionWrapper(gym.make("CartPole-v1"), None, ScriptedTeacher(env, seed=0)).dialogue_env


@pytest.mark.parametrize("package", ["dialog_gym", "agents"])
def test_packages_are_marked_typed(package):
    assert files(package).joinpath("py.typed").is_file()  # PEP 561: type checkers use the inline hints


def test_action_names_name_the_action_space_in_both_families():
    restaurant = dialogue_env_of(gym.make(dialog_gym.DEFAULT_ENV_ID))
    assert restaurant.action_names == restaurant.domain.action_names
    assert restaurant.action_names[15] == "action_search_restaurants"  # as the class docstring lists them
    pydial = dialogue_env_of(gym.make(PYDIAL_ID))
    assert len(pydial.action_names) == pydial.action_space.n == 16
    # the PyDial domain lists action_listen and action_restart first (for the tracker): not the action space
    assert pydial.domain.action_names[:3] == ("action_listen", "action_restart", "request_food")
    assert pydial.action_names[0] == "request_food" and pydial.action_names[12] == "bye"


def test_the_correction_loop_names_pydial_actions_by_the_action_space():
    env = gym.make(PYDIAL_ID)
    wrapper = HumanCorrectionWrapper(env, None, Teacher(), seed=0)
    wrapper.reset()
    view = wrapper.view(0, np.full(16, 1 / 16))
    assert view.problem(12) == "bye is not allowed here; choose another action"  # before the user's bye
    assert [view.action_name(i) for i in (0, 9, 15)] == ["request_food", "inform", "restart"]


def test_masks_enabled_is_each_familys_masks_setting():
    assert dialogue_env_of(gym.make(dialog_gym.DEFAULT_ENV_ID)).masks_enabled is True
    assert dialogue_env_of(gym.make(dialog_gym.DEFAULT_ENV_ID, masks=False)).masks_enabled is False
    assert dialogue_env_of(gym.make(PYDIAL_ID)).masks_enabled is True
    assert dialogue_env_of(gym.make(PYDIAL_ID, masks=False)).masks_enabled is False


def test_the_masked_algorithms_note_reads_both_families():
    from agents.commands.common import masks_note
    from dialog_gym.envs import EnvRef

    assert masks_note("maskable_ppo", EnvRef(PYDIAL_ID)) is None
    # masks off keeps PyDial's bye mask: MaskablePPO still reads a mask, so no note
    assert masks_note("maskable_ppo", EnvRef(PYDIAL_ID, {"masks": False})) is None
    kwargs = {"masks": False, "bye_mask": False}  # a mask of all ones: plain PPO
    note = masks_note("maskable_ppo", EnvRef(PYDIAL_ID, kwargs))
    assert note is not None and note.startswith(f"{PYDIAL_ID} (masks=False, bye_mask=False) has action masks off")
    assert masks_note("ppo", EnvRef(PYDIAL_ID, {"masks": False})) is None

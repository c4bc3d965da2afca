"""The seed's example: Rasa's documented SimplePolicy (scripts/simple_policy.py) runs in the environment."""

from __future__ import annotations

import ast
import importlib.util

import gymnasium as gym
import numpy as np

from agents import PolicyAgent
from dialog_gym.rollout import run_episodes
from tests.conftest import REPO

SCRIPT = REPO / "scripts" / "simple_policy.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("simple_policy_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_import_lines_are_the_documented_ones():
    tree = ast.parse(SCRIPT.read_text())
    imports = {ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))}
    assert imports == {"import numpy as np", "from agents import Policy",
                       "from dialog_gym import ACTION_LISTEN_NAME, utils"}


def test_simple_policy_runs_in_the_environment():
    module = _load_script()
    env = gym.make("dialog_gym/Restaurant-v0", info_tracker=True)
    agent = PolicyAgent(module.SimplePolicy(), env)
    results, dialogues = run_episodes(env, agent, episodes=3, seed=0, keep_events=True)
    assert len(results) == 3 and all(r.steps > 0 for r in results)
    assert all(dialogues)
    # the opening greeting gets action 3, as the policy says; the agent takes it if the mask allows it
    obs, info = env.reset(seed=1)
    assert np.array_equal(agent.action_probabilities(obs, info), np.eye(env.action_space.n)[3])
    expected = 3 if info["action_mask"][3] else int(np.flatnonzero(info["action_mask"])[0])
    assert agent(obs, info) == expected


def test_simple_policy_script_main(capsys):
    assert _load_script().main(["--episodes", "2"]) == 0
    assert "SimplePolicy on dialog_gym/Restaurant-v0" in capsys.readouterr().out

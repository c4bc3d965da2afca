"""Turning a command-line agent spec into an agent: ``rule``, ``random``, or a saved policy folder."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym

from agents.policy import POLICY_FILE, Policy, PolicyAgent
from dialog_gym.errors import DialogGymError
from dialog_gym.rollout import ActFn, expert_act, random_act

BUILTIN_AGENTS = ("rule", "random")


def make_agent(spec: str, env: gym.Env, seed: int = 0) -> ActFn:
    """An agent for ``env`` from ``spec``: a built-in name or the folder of a saved policy."""
    if spec == "rule":
        return expert_act(env)
    if spec == "random":
        return random_act(seed)
    path = Path(spec)
    if (path / POLICY_FILE).is_file():
        policy = Policy.load(path)
        policy.check_domain(env.unwrapped.domain)
        return PolicyAgent(policy, env)
    if path.exists():
        raise DialogGymError(f"{path}: not a saved agent (no {POLICY_FILE} in it)")
    raise DialogGymError(f"unknown agent {spec!r}: expected one of {', '.join(BUILTIN_AGENTS)} or the folder "
                         "of a saved policy")

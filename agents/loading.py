"""Turning a command-line agent spec into an agent: ``rule``, ``random``, or a saved policy folder."""

from __future__ import annotations

import warnings
from pathlib import Path

import gymnasium as gym

from agents.policy import POLICY_FILE, Policy, PolicyAgent
from agents.rl import AGENT_FILE, SB3Agent, load_agent, load_gp_agent, read_agent_meta
from dialog_gym.agent import Agent
from dialog_gym.envs import dialogue_env_of
from dialog_gym.errors import DialogGymError
from dialog_gym.rollout import expert_act, random_act

BUILTIN_AGENTS = ("rule", "random")


def make_agent(spec: str, env: gym.Env, seed: int = 0) -> Agent:
    """An agent for ``env`` from ``spec``: a built-in name or the folder of a saved policy."""
    if spec == "rule":
        return expert_act(env)
    if spec == "random":
        return random_act(env, seed)
    path = Path(spec)
    for folder in (path, path / "best", path / "final"):  # a training run's folder holds best/ and final/
        if (folder / AGENT_FILE).is_file():
            meta = read_agent_meta(folder)
            if meta["algo"] == "gp_sarsa":
                from agents.gp_sarsa import GPSarsaAgent

                agent: Agent = GPSarsaAgent(load_gp_agent(folder, meta))
            else:
                agent = SB3Agent(load_agent(folder)[0])
            if meta["env_id"] != (env.spec.id if env.spec else None):
                warnings.warn(f"{folder} was trained on {meta['env_id']}, running it on "
                              f"{env.spec.id if env.spec else 'an unregistered env'}", stacklevel=2)
            return agent
    if (path / POLICY_FILE).is_file():
        policy = Policy.load(path)
        policy.check_domain(dialogue_env_of(env).domain)
        return PolicyAgent(policy, env)
    if path.exists():
        raise DialogGymError(f"{path}: not a saved agent (no {POLICY_FILE} or {AGENT_FILE} in it)")
    raise DialogGymError(f"unknown agent {spec!r}: expected one of {', '.join(BUILTIN_AGENTS)}, the folder of a "
                         "saved policy, or the output folder of 'dialog-gym train'")

"""Golden trajectories: fixed seeds and actions must give the same observations, rewards and infos.

For every registered environment id and a few seeds, dialogues are rolled out with actions drawn from
``np.random.default_rng(seed)``: in a cycle of five episodes, three uniformly among the actions
``info["action_mask"]`` allows, one uniformly over all actions and one by the rule expert (so that
successes are covered with masks off too). Each episode is hashed (sha256 over the observation
bytes, rewards, terminated/truncated and a canonical JSON of each info), and so is its ``render()``
transcript. ``tests/test_golden_trajectories.py`` compares a fresh rollout with
``tests/data/golden_trajectories.json``.

The digests are stored per versioned id and an id's behaviour is frozen (Gymnasium's rule): a change of
an id's dynamics, reward, masks, observation or user gives the id a new version (``-v0`` -> ``-v1`` in its
config's ``register`` block), a line in its family's "Version History" docstring section and a
``CHANGELOG.md`` entry; then ``--add`` stores the new version's digests. The old version's digests stay in
the file (its id is no longer registered: the test checks that a newer version replaced it)::

    PYTHONPATH=. python -m tests.golden_trajectories --add      # store the ids that have no entry yet
    PYTHONPATH=. python -m tests.golden_trajectories --rehash   # the hashing itself changed (SEEDS, EPISODES,
                                                                # what is hashed): every registered id again
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import dialog_gym
from dialog_gym.rollout import expert_act

GOLDEN_FILE = Path(__file__).resolve().parent / "data" / "golden_trajectories.json"
SEEDS = (0, 1, 2)
EPISODES = 30
MODES = ("masked", "masked", "uniform", "masked", "expert")  # episode k uses MODES[k % 5]


def canonical(value: Any) -> Any:
    """A JSON-able form of an info value, types included (an int8 array is not a float list)."""
    if isinstance(value, np.ndarray):
        return {"ndarray": str(value.dtype), "shape": list(value.shape), "data": value.tolist()}
    if isinstance(value, np.generic):
        return {"np": str(value.dtype), "value": value.item()}
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (int, float, str)):
        return {"py": type(value).__name__, "value": value}
    raise TypeError(f"unexpected info value {value!r} of type {type(value).__name__}")


def _hash_obs_info(h: Any, obs: np.ndarray, info: dict[str, Any]) -> None:
    h.update(str(obs.dtype).encode() + str(obs.shape).encode())
    h.update(np.ascontiguousarray(obs).tobytes())
    h.update(json.dumps(canonical(info), sort_keys=True).encode())


def rollout_digests(env_id: str, seed: int, episodes: int = EPISODES) -> dict[str, Any]:
    """Per-episode digests of trajectories and transcripts of ``env_id`` under ``seed``."""
    env = gym.make(env_id, render_mode="ansi")
    rng = np.random.default_rng(seed)
    n = env.action_space.n
    expert = expert_act(env)
    trajectories, transcripts = [], []
    total_reward, total_steps = 0.0, 0
    for episode in range(episodes):
        mode = MODES[episode % len(MODES)]
        h = hashlib.sha256()
        obs, info = env.reset(seed=seed if episode == 0 else None)
        _hash_obs_info(h, obs, info)
        done = False
        while not done:
            if mode == "uniform":
                action = int(rng.integers(n))
            elif mode == "expert":
                action = expert(obs, {**info, **env.unwrapped.tracker_info()})  # hashed: info alone
            else:
                allowed = np.flatnonzero(info["action_mask"])
                action = int(allowed[rng.integers(len(allowed))])
            obs, reward, terminated, truncated, info = env.step(action)
            if type(terminated) is not bool or type(truncated) is not bool or type(reward) is not float:
                raise TypeError("terminated/truncated must be Python bools and reward a Python float")
            h.update(struct.pack("<idBB", action, reward, terminated, truncated))
            _hash_obs_info(h, obs, info)
            total_reward += reward
            total_steps += 1
            done = terminated or truncated
        trajectories.append(h.hexdigest())
        transcripts.append(hashlib.sha256(str(env.render()).encode()).hexdigest())
    env.close()
    return {"trajectories": trajectories, "transcripts": transcripts,
            "total_reward": total_reward, "total_steps": total_steps}


def generate(env_ids: list[str]) -> dict[str, dict[str, Any]]:
    return {env_id: {str(seed): rollout_digests(env_id, seed) for seed in SEEDS} for env_id in env_ids}


def load() -> dict[str, Any]:
    with open(GOLDEN_FILE, encoding="utf-8") as f:
        return json.load(f)


def write(data: dict[str, Any]) -> None:
    tmp = GOLDEN_FILE.with_suffix(".json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, GOLDEN_FILE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--add", action="store_true",
                       help="store the registered ids that have no entry yet (a new id or a new version)")
    group.add_argument("--rehash", action="store_true",
                       help="rewrite every registered id's entry: only when the hashing itself changed (seeds, "
                            "episodes, what is hashed), never for a change of behaviour (that is a new version)")
    args = parser.parse_args(argv)
    ids = dialog_gym.env_ids()
    data = load()
    if args.rehash:
        data.update(seeds=list(SEEDS), episodes=EPISODES)
        data["envs"].update(generate(ids))
        print(f"rehashed {len(ids)} id(s); retired versions kept as they were")
    else:
        missing = [i for i in ids if i not in data["envs"]]
        data["envs"].update(generate(missing))
        print(f"added {len(missing)} id(s): {', '.join(missing) or '-'}")
    write(data)
    print(f"wrote {GOLDEN_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

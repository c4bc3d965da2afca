"""The public state of a dialogue environment: :meth:`DialogueEnv.get_state` / :meth:`DialogueEnv.set_state`.

A :class:`DialogueEnvState` is a self-contained snapshot of everything a step can change: the tracker,
the dialogue progress (what the masks read), the simulated user's goal and plan, the environment's
random generator (the noise channel draws from it and keeps no state of its own), the step counters,
the observation (whose first part is the featurizer's history window), the mask and the info the
environment would report now. Restoring it, in the same environment or in another one made with the
same id and options, makes the same actions give the same observations, rewards and infos.

Registered ids have no ``TimeLimit`` wrapper (the environment truncates itself at ``max_steps``), so
the unwrapped environment's state is the whole state.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dialog_gym.envs.base import EnvSnapshot
from dialog_gym.envs.masks import DialogueProgress
from dialog_gym.tracker import DialogueStateTracker
from dialog_gym.utils import file_sha256


@dataclasses.dataclass(frozen=True, eq=False, kw_only=True)
class DialogueEnvState(EnvSnapshot):
    """A snapshot of a :class:`~dialog_gym.envs.dialogue_env.DialogueEnv` (deep copies; do not mutate):
    the :class:`~dialog_gym.envs.base.EnvSnapshot` fields (random generator, steps, flags, mask, the current
    observation and info) and the dialogue's own state below, so a caller never needs anything private."""

    tracker: DialogueStateTracker
    progress: DialogueProgress
    user: dict[str, Any]             #: :meth:`SimulatedUser.get_state`
    bot_actions: int
    confidence: float
    corrupted: bool
    turn_acts: tuple[tuple[str | None, str | None], ...]  #: the bot's acts since the user last spoke
    suggestion: str | None


def config_fingerprint(config: Any) -> str:
    """The sha256 of what an environment configuration *is* (domain, table, user, noise, rewards, ...) and
    of every data file it was read from, not of where those files are, so that envs made with the same id
    and options agree across processes and machines, and an env whose config or data changed does not.

    One implementation for :meth:`get_state`'s check and the benchmark's cells: each loaded object that
    records its ``source`` file (env config, domain, user profile, roles preset, table) contributes that
    file's sha256, so an edit the parsed form would hide (a long table's repr is abbreviated) still counts."""
    payload = json.dumps(_describe(config), sort_keys=True, default=repr)
    return hashlib.sha256(payload.encode()).hexdigest()


def _describe(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        described = {"__type__": type(value).__name__,
                     **{f.name: _describe(getattr(value, f.name)) for f in dataclasses.fields(value)
                        if f.init and f.compare and f.name != "source"}}
        source = getattr(value, "source", None)
        if isinstance(source, str | os.PathLike) and Path(source).is_file():
            described["__source_sha256__"] = file_sha256(source)
        return described
    if isinstance(value, Mapping):
        return {str(k): _describe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_describe(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(repr(v) for v in value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


__all__ = ["DialogueEnvState", "config_fingerprint"]

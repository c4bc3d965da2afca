"""Resuming a correction session from its log: the logged dialogues are replayed in the environment and
checked event by event, the recorded steps rebuilt and the logged retrainings repeated, so that the
learner (constructed as for the original session) is trained as before."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dialog_gym.errors import PersistenceError
from dialog_gym.events import Event
from dialog_gym.wrappers.correction import HumanCorrectionWrapper
from dialog_gym.wrappers.correction_log import SessionLog


def replay_log(wrapper: HumanCorrectionWrapper, log: SessionLog, path: Path) -> None:
    """Replay ``log`` (read from ``path``) into ``wrapper``, which takes the log's seed, beta and
    retraining schedule. An unfinished dialogue is left under way, to be continued."""
    header = log.header
    spec = getattr(wrapper.env, "spec", None)
    if header.get("env_id") and spec is not None and header["env_id"] != spec.id:
        raise PersistenceError(f"{path}: the session was recorded in {header['env_id']}, not {spec.id}")
    wrapper.seed = int(header.get("seed", wrapper.seed))
    wrapper.beta = float(header.get("beta", wrapper.beta))
    wrapper.retrain_every = header.get("retrain_every", wrapper.retrain_every)
    with wrapper.replaying():
        for number, rec in enumerate(log.records[1:], start=2):
            _replay(wrapper, rec, f"{path}: record {number}")


def _replay(wrapper: HumanCorrectionWrapper, rec: dict[str, Any], where: str) -> None:
    base = wrapper.unwrapped
    kind = rec["type"]
    if kind == "dialogue":
        wrapper.dialogue = int(rec["dialogue"]) - 1
        wrapper.reset(seed=rec.get("seed"))
        if _dicts(base.tracker.events) != rec.get("events", []):
            raise PersistenceError(f"{where}: the dialogue does not start as logged (another environment "
                                   f"configuration or version?)")
    elif kind == "step":
        if not wrapper.active or int(rec["step"]) != len(wrapper.dialogue_steps):
            raise PersistenceError(f"{where}: step out of order")
        wrapper.execute(int(rec["proposal"]), int(rec["label"]), int(rec["action"]),
                        bool(rec.get("learner_acted", False)), None)
        if _dicts(wrapper.records[-1].events) != rec.get("events", []):
            raise PersistenceError(f"{where}: replaying {base.domain.action_names[int(rec['action'])]} did not "
                                   f"produce the logged events (another environment configuration or version?)")
    elif kind == "undo":
        wrapper.undo()
    elif kind == "end":
        if rec.get("reason") == "reset":
            wrapper.abandon_dialogue()
        elif wrapper.active:
            raise PersistenceError(f"{where}: the logged dialogue ended, the replayed one did not")
    elif kind == "retrain":
        wrapper.retrain()
    # export records are informational


def _dicts(events: Sequence[Event]) -> list[dict[str, Any]]:
    """Events as their JSON form (as the log holds them, so they compare equal after a round trip)."""
    return json.loads(json.dumps([e.as_dict() for e in events]))

"""A correction session: the correction wrapper driven over dialogues, with the durable log, resuming
from it, and exports (Rasa stories; a Minari dataset with :mod:`~dialog_gym.wrappers.minari_export`)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

from dialog_gym.envs import EnvLike, EnvRef, make_env
from dialog_gym.envs.base import dialogue_env_of
from dialog_gym.errors import DialogGymError, PersistenceError
from dialog_gym.events import Event
from dialog_gym.stories import write_stories
from dialog_gym.utils import as_json
from dialog_gym.wrappers.correction import HumanCorrectionWrapper, Learner, StepRecord
from dialog_gym.wrappers.correction_log import LOG_FORMAT, CorrectionLog, SessionLog, read_log
from dialog_gym.wrappers.teaching import Teacher


@dataclass
class SessionSummary:
    """What a :meth:`CorrectionSession.run` did (resumed dialogues included)."""

    dialogues: int  #: finished dialogues (ended or reset), resumed ones included
    successes: int
    steps: int  #: confirmed steps
    corrections: int
    corrections_per_dialogue: list[int] = field(default_factory=list)
    success_per_dialogue: list[bool] = field(default_factory=list)
    retrains: int = 0
    resumed_dialogues: int = 0  #: finished dialogues read back from the log
    resumed_steps: int = 0  #: confirmed steps read back from the log
    quit: bool = False  #: the teacher quit
    exported: str | None = None  #: the stories file last written


class CorrectionSession:
    """An interactive (or scripted) correction session: dialogues until N are done or the teacher quits.

    The session owns its :attr:`wrapper` (a :class:`~dialog_gym.wrappers.correction.HumanCorrectionWrapper`,
    whose ``step`` is the teacher loop; the teacher's export command writes the session's stories) and
    drives it over dialogues.
    With ``log_path`` every confirmed step is appended (fsynced) to a JSON-lines log; if the file already
    holds a session, :meth:`run` first resumes it: it replays the logged dialogues in the environment
    (verifying that every step produces the logged events), rebuilds the recorded steps, and repeats the
    logged retrainings, so the learner (constructed as for the original session) is trained as before.
    The session's seed, beta and retraining schedule are then the log's. An unfinished dialogue is
    continued where it stopped. Exports write every dialogue of the session (finished ones and the one
    under way) as Rasa stories to ``stories_path``, atomically.
    """

    def __init__(self, env: gym.Env | EnvLike, learner: Learner | None, teacher: Teacher, *,
                 log_path: str | os.PathLike | None = None, stories_path: str | os.PathLike | None = None,
                 beta: float = 1.0, retrain_every: int | None = None, seed: int = 0,
                 env_kwargs: dict[str, Any] | None = None) -> None:
        if isinstance(env, str | EnvRef):  # an environment by reference (or as a user names it)
            env = make_env(env, **(env_kwargs or {}))
        self.env = env
        self.learner = learner
        self.teacher = teacher
        self.log_path = Path(log_path) if log_path is not None else None
        if stories_path is None:
            stories_path = self.log_path.with_suffix(".md") if self.log_path is not None else "interactive_stories.md"
        self.stories_path = Path(stories_path)
        self.log = CorrectionLog(self.log_path) if self.log_path is not None else None
        self.wrapper = HumanCorrectionWrapper(env, learner, teacher, beta=beta, retrain_every=retrain_every,
                                              seed=seed, log=self.log, on_export=self.export)
        self.resumed_dialogues = 0
        self.resumed_steps = 0
        self.exported: str | None = None
        self._started = False

    # ------------------------------------------------------------------ running
    def run(self, dialogues: int | None = None) -> SessionSummary:
        """Run until the session holds ``dialogues`` finished dialogues (resumed ones count), or until the
        teacher quits (``None``: only then). Calls ``teacher.close()`` before returning."""
        if dialogues is not None and int(dialogues) < 0:
            raise DialogGymError(f"dialogues must be >= 0, got {dialogues}")
        if not self._started:
            self._start()
        wrapper = self.wrapper
        quit_ = False
        try:
            while dialogues is None or len(wrapper.outcomes) < int(dialogues):
                if not wrapper.active:
                    wrapper.reset()
                _, _, _, _, info = wrapper.step()
                if info.get("teacher_command") == "quit":
                    if info.get("export"):
                        self.export()
                    quit_ = True
                    break
        finally:
            if self.log is not None:
                self.log.close()
            self.teacher.close()
        return self.summary(quit_)

    def summary(self, quit_: bool = False) -> SessionSummary:
        outcomes = self.wrapper.outcomes
        return SessionSummary(
            dialogues=len(outcomes), successes=sum(o.success for o in outcomes), steps=len(self.wrapper.records),
            corrections=sum(r.corrected for r in self.wrapper.records),
            corrections_per_dialogue=[o.corrections for o in outcomes],
            success_per_dialogue=[o.success for o in outcomes], retrains=self.wrapper.retrains,
            resumed_dialogues=self.resumed_dialogues, resumed_steps=self.resumed_steps, quit=quit_,
            exported=self.exported)

    def export(self, path: str | os.PathLike | None = None) -> Path:
        """Write the session's dialogues as Rasa markdown stories (atomically) and tell the teacher."""
        target = Path(path) if path is not None else self.stories_path
        stories = self.stories()
        domain = dialogue_env_of(self.env).domain
        write_stories(target, stories, domain=domain)
        self.exported = str(target)
        if self.log is not None:
            self.log.append({"type": "export", "path": str(target), "dialogues": len(stories)})
        self.teacher.notify(f"exported {len(stories)} dialogues to {target}")
        return target

    def export_minari(self, dataset_id: str, data_path: str | os.PathLike | None = None) -> Path:
        """Write the session's dialogues as a Minari dataset (needs the ``minari`` extra); see
        :func:`dialog_gym.wrappers.minari_export.export_minari`."""
        from dialog_gym.wrappers.minari_export import export_minari

        path = export_minari(self.wrapper.records, self.env, dataset_id, data_path)
        self.teacher.notify(f"exported {len({r.dialogue for r in self.wrapper.records})} dialogues as Minari "
                            f"dataset {dataset_id} to {path}")
        return path

    def stories(self) -> list[tuple[str, list[Event]]]:
        """``(name, events)`` of every dialogue with at least one confirmed step, in order: the events before
        the first step, then each step's."""
        by_dialogue: dict[int, list[StepRecord]] = {}
        for record in self.wrapper.records:
            by_dialogue.setdefault(record.dialogue, []).append(record)
        stories = []
        for index, steps in sorted(by_dialogue.items()):
            events = list(steps[0].tracker.events)
            for record in steps:
                events.extend(record.events)
            stories.append((f"interactive_{index + 1:04d}", events))
        return stories

    # ------------------------------------------------------------------ starting and resuming
    def _start(self) -> None:
        self._started = True
        if self.log is None:
            return
        if self.log_path is not None and self.log_path.exists() and self.log_path.stat().st_size > 0:
            self._resume()
            return
        self.log.open()
        self.log.append(self._header())

    def _header(self) -> dict[str, Any]:
        from dialog_gym import __version__

        spec = getattr(self.env, "spec", None)
        describe = getattr(self.learner, "describe", None)
        return {"type": "header", "format": LOG_FORMAT, "dialog_gym_version": __version__,
                "env_id": spec.id if spec is not None else None,
                "env_kwargs": as_json(dict(spec.kwargs)) if spec is not None else {},
                "seed": self.wrapper.seed, "beta": self.wrapper.beta, "retrain_every": self.wrapper.retrain_every,
                "learner": as_json(describe()) if callable(describe) else type(self.learner).__name__,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

    def _resume(self) -> None:
        assert self.log is not None and self.log_path is not None
        log = read_log(self.log_path)
        wrapper = self.wrapper
        _replay_log(wrapper, log, self.log_path)
        self.resumed_dialogues = len(wrapper.outcomes)
        self.resumed_steps = len(wrapper.records)
        self.log.open(truncate_to=log.valid_bytes)
        unfinished = len(wrapper.dialogue_steps) if wrapper.active else None
        under_way = ("; no unfinished dialogue" if unfinished is None else
                     f"; continuing unfinished dialogue {self.resumed_dialogues + 1} after its {unfinished} "
                     "confirmed step(s)")
        self.teacher.notify(f"resumed {self.resumed_dialogues} finished dialogue(s) ({self.resumed_steps} confirmed "
                            f"step(s) in all) from {self.log_path}{under_way}")
        if not wrapper.active and wrapper.retrain_every is None:
            wrapper.retrain()  # killed between a dialogue's end and its retraining: retrain now


#: the ``gym.make`` keywords that name the task (an env config and one of its ids' settings): a session resumes
#: only in the task it was recorded in
_TASK_KWARGS = ("config", "variant")


def _task(env_id: str, kwargs: dict[str, Any]) -> str:
    """An environment as a resume error names it: the id, and the config (and variant) it was made with."""
    config = kwargs.get("config")
    variant = f":{kwargs['variant']}" if kwargs.get("variant") else ""
    return f"{env_id} ({config}{variant})" if config else env_id


def _replay_log(wrapper: HumanCorrectionWrapper, log: SessionLog, path: Path) -> None:
    """Resume: replay ``log`` (read from ``path``) into ``wrapper``, which takes the log's seed, beta and
    retraining schedule. The logged dialogues are replayed in the environment and checked event by
    event, the recorded steps rebuilt and the logged retrainings repeated, so that the learner
    (constructed as for the original session) is trained as before. An unfinished dialogue is left under
    way, to be continued."""
    header = log.header
    spec = getattr(wrapper.env, "spec", None)
    if header.get("env_id") and spec is not None:
        logged, now = header.get("env_kwargs") or {}, dict(spec.kwargs or {})
        if header["env_id"] != spec.id or any(logged.get(k) != now.get(k) for k in _TASK_KWARGS):
            raise PersistenceError(f"{path}: the session was recorded in {_task(header['env_id'], logged)}, "
                                   f"not {_task(spec.id, now)}")
    wrapper.seed = int(header.get("seed", wrapper.seed))
    wrapper.beta = float(header.get("beta", wrapper.beta))
    wrapper.retrain_every = header.get("retrain_every", wrapper.retrain_every)
    with wrapper.replaying():
        for number, rec in enumerate(log.records[1:], start=2):
            _replay(wrapper, rec, f"{path}: record {number}")


def _replay(wrapper: HumanCorrectionWrapper, rec: dict[str, Any], where: str) -> None:
    base = wrapper.dialogue_env
    kind = rec["type"]
    if kind == "dialogue":
        wrapper.dialogue = int(rec["dialogue"]) - 1
        wrapper.reset(seed=rec.get("seed"))
        if as_json([e.as_dict() for e in base.tracker.events]) != rec.get("events", []):
            raise PersistenceError(f"{where}: the dialogue does not start as logged (another environment "
                                   f"configuration or version?)")
    elif kind == "step":
        if not wrapper.active or int(rec["step"]) != len(wrapper.dialogue_steps):
            raise PersistenceError(f"{where}: step out of order")
        wrapper.execute(int(rec["proposal"]), int(rec["label"]), int(rec["action"]),
                        bool(rec.get("learner_acted", False)), None)
        if as_json([e.as_dict() for e in wrapper.records[-1].events]) != rec.get("events", []):
            raise PersistenceError(f"{where}: replaying {base.action_names[int(rec['action'])]} did not "
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


__all__ = ["CorrectionSession", "SessionSummary"]

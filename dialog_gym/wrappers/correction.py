"""Human-in-the-loop correction as imitation learning: the learner proposes, the teacher disposes.

:class:`HumanCorrectionWrapper` (alias :data:`ImitationWrapper`) is a ``gymnasium.Wrapper`` around any
dialog_gym environment. At every step the learner proposes an action; the teacher (a human at a
terminal, the scripted rule expert, a program's callback: any :class:`~dialog_gym.wrappers.teaching.Teacher`)
accepts it or substitutes another; the teacher's action is executed (DAgger: with ``beta < 1`` the
learner's own proposal is executed with probability ``1 - beta``, drawn from a seeded generator, while
the teacher's action is still recorded as the label). Every step is recorded (observation, tracker,
mask, proposal, label, executed action, whether it was a correction) and, with a log, appended to disk
before the session goes on. The learner is retrained on the aggregated steps after each dialogue, or
after every ``retrain_every`` corrections.

:class:`CorrectionSession` drives the wrapper for N dialogues or until the teacher quits, handles the
teacher's commands (undo, reset, export, quit), exports the session as Rasa stories, and resumes a
session from its log (a killed session loses no confirmed step).

The learner is duck-typed (:class:`Learner`): ``dialog_gym`` never imports ``agents``; the adapters for
the supervised policy and stable-baselines3 models live in ``agents.learners``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from dialog_gym.agent import Ranker
from dialog_gym.envs.state import DialogueEnvState
from dialog_gym.errors import DialogGymError, PersistenceError
from dialog_gym.events import Event
from dialog_gym.seeds import dialogue_seed
from dialog_gym.stories import write_stories
from dialog_gym.wrappers.correction_log import LOG_FORMAT, CorrectionLog, read_log
from dialog_gym.wrappers.records import DialogueOutcome, StepRecord
from dialog_gym.wrappers.teaching import Command, StepView, Teacher


@runtime_checkable
class Learner(Ranker, Protocol):
    """What the wrapper needs from a learner (any ``agents`` policy through an adapter).

    ``action_probabilities(observation, info, env)`` is the agent contract's ranking
    (:class:`dialog_gym.agent.Ranker`): one probability per action of the domain for the environment's
    current state, given the observation and info of the last reset or step (the wrapper masks and
    renormalises them). ``learn`` is called with the steps recorded since the last retraining (``new``)
    and all steps of the session (``aggregate``, DAgger's data set); each step's ``label`` is the
    teacher's action for its state.
    """

    def learn(self, new: Sequence[StepRecord], aggregate: Sequence[StepRecord]) -> None:
        ...


def _noop(message: str) -> None:
    pass


class HumanCorrectionWrapper(gym.Wrapper):
    """A learner proposes, a teacher accepts or corrects, the teacher's action is executed; see the module
    docstring.

    ``step(action)`` takes an outside agent's proposal, or ``None`` to let the learner propose. The
    teacher is asked until it answers accept or correct: undo restores the environment to before the
    last step of this dialogue (tracker, simulated user, random generator) and asks again; export calls
    ``on_export`` and asks again; reset abandons the dialogue and quit stops, both returning
    ``truncated=True`` with ``info["teacher_command"]`` set ("reset" or "quit"; for quit,
    ``info["export"]``). ``info`` also holds "proposal", "label", "corrected" and "learner_acted".
    """

    def __init__(self, env: gym.Env, learner: Learner | None, teacher: Teacher, *, beta: float = 1.0,
                 retrain_every: int | None = None, seed: int = 0, log: CorrectionLog | None = None,
                 on_export: Callable[[], None] | None = None) -> None:
        super().__init__(env)
        if not 0.0 <= float(beta) <= 1.0:
            raise DialogGymError(f"beta must be in [0, 1], got {beta}")
        if retrain_every is not None and int(retrain_every) < 1:
            raise DialogGymError(f"retrain_every must be at least 1 (None: after each dialogue), got {retrain_every}")
        self.learner = learner
        self.teacher = teacher
        self.beta = float(beta)
        self.retrain_every = None if retrain_every is None else int(retrain_every)
        self.seed = int(seed)
        self.log = log
        self.on_export = on_export
        self.records: list[StepRecord] = []  #: every confirmed step of the session (DAgger's data set)
        self.outcomes: list[DialogueOutcome] = []
        self.retrains = 0
        self.dialogue = -1  #: index of the current dialogue
        self._dialogue_records: list[StepRecord] = []
        self._pending: list[StepRecord] = []  # confirmed since the last retraining
        self._pending_corrections = 0
        self._snapshots: list[DialogueEnvState] = []  # the environment's state before each step, for undo
        self._active = False  # a dialogue is under way
        self._replaying = False
        self._user_confidence = 1.0

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start the next dialogue (seeded from the session seed unless ``seed`` is given)."""
        self.dialogue += 1
        if seed is None:
            seed = dialogue_seed(self.seed, self.dialogue)
        obs, info = self.env.reset(seed=seed, options=options)
        self._dialogue_records = []
        self._snapshots = []
        self._active = True
        self._user_confidence = float(info.get("nlu_confidence", 1.0))
        self._write({"type": "dialogue", "dialogue": self.dialogue, "seed": seed,
                     "events": [e.as_dict() for e in self.unwrapped.tracker.events]})
        return obs, info

    def step(self, action: Any = None) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self._active:
            raise DialogGymError("no dialogue under way: call reset() first")
        while True:
            probabilities, proposal = self._propose(action)
            decision = self.teacher.decide(self._view(proposal, probabilities))
            command = decision.command
            if command is Command.ACCEPT:
                label = proposal
            elif command is Command.CORRECT:
                label = int(decision.action)  # type: ignore[arg-type]
                problem = self._check_action(label)
                if problem:
                    self._notify(problem)
                    continue
            elif command is Command.UNDO:
                self.undo()
                continue
            elif command is Command.EXPORT:
                if self.on_export is None:
                    self._notify("export is not available here")
                else:
                    self.on_export()
                continue
            elif command is Command.RESET:
                self.abandon_dialogue()
                return self._idle_result({"teacher_command": "reset"})
            elif command is Command.QUIT:
                return self._idle_result({"teacher_command": "quit", "export": decision.export})
            else:  # pragma: no cover - the enum is closed
                raise DialogGymError(f"unknown teacher command {command!r}")
            break
        learner_acted = self.beta < 1.0 and self._learner_turn()
        executed = proposal if learner_acted else label
        return self._execute(proposal, label, executed, learner_acted, probabilities)

    # ------------------------------------------------------------------ teacher commands
    def undo(self) -> bool:
        """Take back the last step of the current dialogue; False if there is none."""
        if not self._active or not self._snapshots:
            self._notify("nothing to undo")
            return False
        state = self._snapshots.pop()
        self.unwrapped.set_state(state)
        record = self._dialogue_records.pop()
        if self.records and self.records[-1] is record:
            self.records.pop()
        if self._pending and self._pending[-1] is record:
            self._pending.pop()
            self._pending_corrections -= record.corrected
        self._user_confidence = float(state.info["nlu_confidence"])
        self._write({"type": "undo", "dialogue": record.dialogue, "step": record.step})
        self._notify(f"undone: {self.unwrapped.domain.action_names[record.action]}")
        return True

    def abandon_dialogue(self) -> None:
        """End the current dialogue without success (the teacher's reset)."""
        if self._active:
            self._finish("reset", success=False)

    def retrain(self) -> None:
        """Retrain the learner on the steps confirmed since the last retraining (and all earlier ones)."""
        if self.learner is None or not self._pending:
            return
        new, corrections = list(self._pending), self._pending_corrections
        started = time.perf_counter()
        self.learner.learn(new, list(self.records))
        self._pending = []
        self._pending_corrections = 0
        self.retrains += 1
        self._write({"type": "retrain", "examples": len(self.records), "new": len(new)})
        self._notify(f"learner retrained on {len(new)} new step(s) ({corrections} correction(s)), "
                     f"{len(self.records)} in all, in {time.perf_counter() - started:.1f}s")

    @property
    def active(self) -> bool:
        """A dialogue is under way (reset was called and the dialogue has not ended)."""
        return self._active

    @property
    def dialogue_steps(self) -> list[StepRecord]:
        """The confirmed steps of the current (or last) dialogue."""
        return list(self._dialogue_records)

    # ------------------------------------------------------------------ internals
    def _propose(self, action: Any) -> tuple[np.ndarray, int]:
        base = self.unwrapped
        mask = base.action_masks().astype(np.int8)
        n = base.action_space.n
        if action is not None:
            proposal = int(action)
            probs = np.zeros(n)
            probs[proposal] = 1.0
            return probs, proposal
        if self.learner is None:
            raw = np.ones(n)
        else:
            state = base.get_state()  # the observation and info of the last reset or step
            info = {**state.info, "action_mask": mask.copy()}
            raw = np.asarray(self.learner.action_probabilities(state.observation, info, self.env),
                             dtype=np.float64)
            if raw.shape != (n,):
                raise DialogGymError(f"the learner returned {raw.shape} probabilities for {n} actions")
        probs = np.where(mask > 0, np.nan_to_num(raw, nan=0.0).clip(min=0.0), 0.0)
        if probs.sum() <= 0:
            probs = (mask > 0).astype(np.float64)
        probs = probs / probs.sum()
        return probs, int(np.argmax(probs))

    def _view(self, proposal: int, probabilities: np.ndarray) -> StepView:
        base = self.unwrapped
        return StepView(domain=base.domain, tracker=base.tracker.copy(), transcript=base.transcript(),
                        proposal=proposal, probabilities=probabilities.copy(),
                        action_mask=base.action_masks().astype(np.int8), dialogue=self.dialogue,
                        step=len(self._dialogue_records), user_confidence=self._user_confidence,
                        slots=base.tracker.current_slot_values())

    def _check_action(self, action: int) -> str | None:
        base = self.unwrapped
        if not 0 <= action < base.action_space.n:
            return f"no action {action}: choose 0-{base.action_space.n - 1}"
        if not base.action_masks()[action]:
            return f"{base.domain.action_names[action]} is not allowed here; choose another action"
        return None

    def _learner_turn(self) -> bool:
        rng = np.random.default_rng([self.seed, self.dialogue, len(self._dialogue_records), 0xDA66])
        return bool(rng.random() >= self.beta)

    def _execute(self, proposal: int, label: int, executed: int, learner_acted: bool,
                 probabilities: np.ndarray | None) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        base = self.unwrapped
        snapshot = base.get_state()
        tracker = base.tracker.copy()
        observation = snapshot.observation.copy()
        mask = base.action_masks().astype(np.int8).copy()
        before = len(base.tracker.events)
        obs, reward, terminated, truncated, info = self.env.step(executed)
        events = list(base.tracker.events[before:])
        record = StepRecord(self.dialogue, len(self._dialogue_records), observation, tracker, mask, int(proposal),
                            int(label), int(executed), int(proposal) != int(label), bool(learner_acted),
                            float(reward), events, bool(terminated), bool(truncated), probabilities,
                            np.asarray(obs).copy())
        self._snapshots.append(snapshot)
        self._dialogue_records.append(record)
        self.records.append(record)
        self._pending.append(record)
        self._pending_corrections += record.corrected
        self._user_confidence = float(info.get("nlu_confidence", self._user_confidence))
        self._write({"type": "step", "dialogue": record.dialogue, "step": record.step, "proposal": record.proposal,
                     "label": record.label, "action": record.action, "corrected": record.corrected,
                     "learner_acted": record.learner_acted, "reward": record.reward,
                     "events": [e.as_dict() for e in events]})
        info = {**info, "proposal": record.proposal, "label": record.label, "corrected": record.corrected,
                "learner_acted": record.learner_acted, "teacher_command": None}
        if terminated or truncated:
            self._finish("truncated" if truncated and not terminated else "ended", success=bool(info["success"]),
                         gave_up=bool(info.get("user_gave_up", False)))
        elif (self.retrain_every is not None and self._pending_corrections >= self.retrain_every
              and not self._replaying):
            self.retrain()
        return obs, float(reward), bool(terminated), bool(truncated), info

    def _finish(self, reason: str, success: bool, gave_up: bool = False) -> None:
        records = self._dialogue_records
        outcome = DialogueOutcome(self.dialogue, bool(success), reason, len(records), sum(r.corrected for r in records))
        self.outcomes.append(outcome)
        self._active = False
        self._snapshots = []
        self._write({"type": "end", "dialogue": self.dialogue, "success": outcome.success, "reason": reason,
                     "steps": outcome.steps, "corrections": outcome.corrections})
        if reason == "reset":
            text = f"dialogue {self.dialogue + 1} abandoned (reset) after {outcome.steps} step(s)"
        else:
            why = ("the user gave up" if gave_up else "step limit reached" if reason == "truncated"
                   else "no confirmed reservation")
            result = "success" if success else f"failed: {why}"
            text = (f"dialogue {self.dialogue + 1} ended: {result} ({outcome.steps} steps, "
                    f"{outcome.corrections} correction(s))")
        self._notify(text)
        if self.retrain_every is None and not self._replaying:
            self.retrain()

    def _idle_result(self, extra: dict[str, Any]) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        state = self.unwrapped.get_state()
        info = {**state.info, "invalid_action": False, **extra}
        return state.observation, 0.0, False, True, info

    def _write(self, record: dict[str, Any]) -> None:
        if self.log is not None and not self._replaying:
            self.log.append(record)

    def _notify(self, message: str) -> None:
        if not self._replaying:
            self.teacher.notify(message)


#: the same wrapper under the name of the learning method
ImitationWrapper = HumanCorrectionWrapper


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

    With ``log_path`` every confirmed step is appended (fsynced) to a JSON-lines log; if the file already
    holds a session, :meth:`run` first resumes it: it replays the logged dialogues in the environment
    (verifying that every step produces the logged events), rebuilds the recorded steps, and repeats the
    logged retrainings, so the learner (constructed as for the original session) is trained as before.
    The session's seed, beta and retraining schedule are then the log's. An unfinished dialogue is
    continued where it stopped. Exports write every dialogue of the session (finished ones and the one
    under way) as Rasa stories to ``stories_path``, atomically.
    """

    def __init__(self, env: gym.Env | str, learner: Learner | None, teacher: Teacher, *,
                 log_path: str | os.PathLike | None = None, stories_path: str | os.PathLike | None = None,
                 beta: float = 1.0, retrain_every: int | None = None, seed: int = 0,
                 env_kwargs: dict[str, Any] | None = None) -> None:
        if isinstance(env, str):
            env = gym.make(env, **(env_kwargs or {}))
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
        domain = self.env.unwrapped.domain
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
        """``(name, events)`` of every dialogue with at least one confirmed step, in order."""
        by_dialogue: dict[int, list[StepRecord]] = {}
        for record in self.wrapper.records:
            by_dialogue.setdefault(record.dialogue, []).append(record)
        stories = []
        for index, records in sorted(by_dialogue.items()):
            events = list(records[0].tracker.events)
            for record in records:
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
                "env_kwargs": _jsonable(dict(spec.kwargs)) if spec is not None else {},
                "seed": self.wrapper.seed, "beta": self.wrapper.beta, "retrain_every": self.wrapper.retrain_every,
                "learner": _jsonable(describe()) if callable(describe) else type(self.learner).__name__,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

    def _resume(self) -> None:
        assert self.log is not None and self.log_path is not None
        log = read_log(self.log_path)
        header = log.header
        spec = getattr(self.env, "spec", None)
        if header.get("env_id") and spec is not None and header["env_id"] != spec.id:
            raise PersistenceError(f"{self.log_path}: the session was recorded in {header['env_id']}, "
                                   f"not {spec.id}")
        wrapper = self.wrapper
        wrapper.seed = int(header.get("seed", wrapper.seed))
        wrapper.beta = float(header.get("beta", wrapper.beta))
        wrapper.retrain_every = header.get("retrain_every", wrapper.retrain_every)
        wrapper._replaying = True
        try:
            for number, rec in enumerate(log.records[1:], start=2):
                self._replay(rec, number)
        finally:
            wrapper._replaying = False
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

    def _replay(self, rec: dict[str, Any], number: int) -> None:
        wrapper = self.wrapper
        base = self.env.unwrapped
        where = f"{self.log_path}: record {number}"
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
            wrapper._execute(int(rec["proposal"]), int(rec["label"]), int(rec["action"]),
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
    import json

    return json.loads(json.dumps([e.as_dict() for e in events]))


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


__all__ = ["CorrectionSession", "DialogueOutcome", "HumanCorrectionWrapper", "ImitationWrapper", "Learner",
           "SessionSummary", "StepRecord"]

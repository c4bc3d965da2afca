"""Human-in-the-loop correction as imitation learning: the learner proposes, the teacher disposes.

:class:`HumanCorrectionWrapper` is a ``gymnasium.Wrapper`` around any dialog_gym environment. At every
step the learner proposes an action; the teacher (a human at a terminal or in a browser, the scripted
rule expert, a program's callback: any :class:`~dialog_gym.wrappers.teaching.Teacher`) accepts it or
substitutes another; the teacher's action is executed (DAgger: with ``beta < 1`` the learner's own
proposal is executed with probability ``1 - beta``, drawn from a seeded generator, while the teacher's
action is still recorded as the label). Every step is recorded (:class:`StepRecord`: observation,
tracker, mask, proposal, label, executed action, whether it was a correction) and, with a log, appended
to disk before the session goes on. The learner is retrained on the aggregated steps after each
dialogue, or after every ``retrain_every`` corrections.

The correction loop is three modules: :mod:`~dialog_gym.wrappers.teaching` (what the teacher sees and
answers), this one (the wrapper: the teacher loop of one step, recording, undo, retraining) and
:mod:`~dialog_gym.wrappers.session` (:class:`~dialog_gym.wrappers.session.CorrectionSession`: the
wrapper driven over dialogues with its durable log, resume and exports).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from dialog_gym.agent import Ranker
from dialog_gym.envs.base import BaseDialogueEnv, EnvSnapshot, dialogue_env_of
from dialog_gym.errors import DialogGymError
from dialog_gym.events import Event
from dialog_gym.seeds import dialogue_seed
from dialog_gym.tracker import DialogueStateTracker
from dialog_gym.wrappers.correction_log import CorrectionLog
from dialog_gym.wrappers.teaching import Command, StepView, Teacher

StepResult = tuple[np.ndarray, float, bool, bool, dict[str, Any]]


@dataclass
class StepRecord:
    """One confirmed step: the state it was taken in and what the learner and the teacher did."""

    dialogue: int
    step: int
    observation: np.ndarray  #: the observation before the step
    tracker: DialogueStateTracker  #: the tracker before the step (a copy)
    action_mask: np.ndarray  #: int8 mask before the step
    proposal: int  #: the learner's proposed action
    label: int  #: the teacher's action (what the learner should have proposed)
    action: int  #: the executed action (the label, or the proposal when the learner acted)
    corrected: bool  #: the teacher's action differs from the proposal
    learner_acted: bool  #: DAgger: the learner's proposal was executed (probability 1 - beta)
    reward: float
    events: list[Event]  #: events the step added to the tracker
    terminated: bool = False
    truncated: bool = False
    probabilities: np.ndarray | None = None  #: the learner's masked distribution (None when replayed)
    next_observation: np.ndarray | None = None  #: the observation after the step


@dataclass
class DialogueOutcome:
    """How a dialogue of the session ended."""

    dialogue: int
    success: bool
    reason: str  #: "ended", "truncated" or "reset"
    steps: int
    corrections: int


@runtime_checkable
class Learner(Ranker, Protocol):
    """What the wrapper needs from a learner (duck-typed: the adapters for the supervised policy and
    stable-baselines3 models are in ``agents.learners``; ``dialog_gym`` never imports ``agents``).

    ``action_probabilities(observation, info)`` is the agent contract's ranking
    (:class:`dialog_gym.agent.Ranker`): one probability per action of the domain for the environment's
    current state, given the observation and info of the last reset or step, with ``info["tracker"]``
    (the wrapper masks and
    renormalises them). ``learn`` is called with the steps recorded since the last retraining (``new``)
    and all steps of the session (``aggregate``, DAgger's data set); each step's ``label`` is the
    teacher's action for its state.
    """

    def learn(self, new: Sequence[StepRecord], aggregate: Sequence[StepRecord]) -> None:
        ...


class HumanCorrectionWrapper(gym.Wrapper):
    """A learner proposes, a teacher accepts or corrects, the teacher's action is executed; see the module
    docstring.

    ``step(action)`` takes an outside agent's proposal, or ``None`` to let the learner propose, and asks
    the teacher until it answers accept or correct (the teacher loop, here and nowhere else): undo
    restores the environment to before the last step of this dialogue (tracker, simulated user, random
    generator) and asks again; export calls ``on_export`` (a session's stories; without it the teacher is
    told it is not available) and asks again; a correction the environment does not allow is refused and
    asked again; reset abandons the dialogue and quit stops, both returning ``truncated=True`` with
    ``info["teacher_command"]`` set ("reset" or "quit"; for quit, ``info["export"]``). ``info`` also
    holds "proposal", "label", "corrected" and "learner_acted".
    """

    def __init__(self, env: gym.Env, learner: Learner | None, teacher: Teacher, *, beta: float = 1.0,
                 retrain_every: int | None = None, seed: int = 0, log: CorrectionLog | None = None,
                 on_export: Callable[[], object] | None = None) -> None:
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
        self.on_export = on_export  #: what the teacher's export command runs (a session's stories)
        self.records: list[StepRecord] = []  #: every confirmed step of the session (DAgger's data set)
        self.outcomes: list[DialogueOutcome] = []
        self.retrains = 0
        self.dialogue = -1  #: index of the current dialogue
        self._dialogue_records: list[StepRecord] = []
        self._pending: list[StepRecord] = []  # confirmed since the last retraining
        self._pending_corrections = 0
        self._snapshots: list[EnvSnapshot] = []  # the environment's state before each step, for undo
        self._active = False  # a dialogue is under way
        self._replaying = False
        self._user_confidence = 1.0

    @property
    def dialogue_env(self) -> BaseDialogueEnv[EnvSnapshot]:
        """The dialog_gym environment inside the wrappers (checked; its tracker, domain, mask, state)."""
        return dialogue_env_of(self.env)

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
                     "events": [e.as_dict() for e in self.dialogue_env.tracker.events]})
        return obs, info

    def step(self, action: Any = None) -> StepResult:
        """One step confirmed by the teacher: ``action`` is an outside agent's proposal, or ``None`` for
        the learner's (see the class docstring)."""
        if not self._active:
            raise DialogGymError("no dialogue under way: call reset() first")
        while True:
            probabilities, proposal = self._propose(action)
            view = self.view(proposal, probabilities)
            decision = self.teacher.decide(view)
            command = decision.command
            if command is Command.ACCEPT:
                label = proposal
            elif command is Command.CORRECT:
                label = int(decision.action)  # type: ignore[arg-type]
                problem = view.problem(label)
                if problem:
                    self.notify(problem)
                    continue
            elif command is Command.UNDO:
                self.undo()
                continue
            elif command is Command.EXPORT:
                if self.on_export is None:
                    self.notify("export is not available here")
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
            learner_acted = self.beta < 1.0 and self._learner_turn()
            executed = proposal if learner_acted else label
            return self.execute(proposal, label, executed, learner_acted, probabilities)

    # ------------------------------------------------------------------ teacher commands
    def undo(self) -> bool:
        """Take back the last step of the current dialogue; False if there is none."""
        if not self._active or not self._snapshots:
            self.notify("nothing to undo")
            return False
        state = self._snapshots.pop()
        self.dialogue_env.set_state(state)
        record = self._dialogue_records.pop()
        if self.records and self.records[-1] is record:
            self.records.pop()
        if self._pending and self._pending[-1] is record:
            self._pending.pop()
            self._pending_corrections -= record.corrected
        self._user_confidence = float(state.info["nlu_confidence"])
        self._write({"type": "undo", "dialogue": record.dialogue, "step": record.step})
        self.notify(f"undone: {self.dialogue_env.action_names[record.action]}")
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
        self.notify(f"learner retrained on {len(new)} new step(s) ({corrections} correction(s)), "
                     f"{len(self.records)} in all, in {time.perf_counter() - started:.1f}s")

    @property
    def active(self) -> bool:
        """A dialogue is under way (reset was called and the dialogue has not ended)."""
        return self._active

    @property
    def dialogue_steps(self) -> list[StepRecord]:
        """The confirmed steps of the current (or last) dialogue."""
        return list(self._dialogue_records)

    @contextmanager
    def replaying(self) -> Iterator[None]:
        """While replaying a log: nothing is logged, the teacher is not told, nothing is retrained."""
        self._replaying = True
        try:
            yield
        finally:
            self._replaying = False

    # ------------------------------------------------------------------ the teacher loop's parts
    def _propose(self, action: Any = None) -> tuple[np.ndarray, int]:
        """The masked, normalised probabilities of the learner (or one-hot ``action``) and the proposal."""
        base = self.dialogue_env
        mask = base.action_masks().astype(np.int8)
        n = int(base.action_space.n)
        if action is not None:
            proposal = int(action)
            probs = np.zeros(n)
            probs[proposal] = 1.0
            return probs, proposal
        if self.learner is None:
            raw = np.ones(n)
        else:
            state = base.get_state()  # the observation and info of the last reset or step
            info = {**state.info, **base.tracker_info(), "action_mask": mask.copy()}  # the learner may read the tracker
            raw = np.asarray(self.learner.action_probabilities(state.observation, info), dtype=np.float64)
            if raw.shape != (n,):
                raise DialogGymError(f"the learner returned {raw.shape} probabilities for {n} actions")
        probs = np.where(mask > 0, np.nan_to_num(raw, nan=0.0).clip(min=0.0), 0.0)
        if probs.sum() <= 0:
            probs = (mask > 0).astype(np.float64)
        probs = probs / probs.sum()
        return probs, int(np.argmax(probs))

    def view(self, proposal: int, probabilities: np.ndarray) -> StepView:
        """What the teacher sees of the current state and the proposal."""
        base = self.dialogue_env
        return StepView(domain=base.domain, tracker=base.tracker.copy(), transcript=base.transcript(),
                        proposal=proposal, probabilities=probabilities.copy(),
                        action_mask=base.action_masks().astype(np.int8), dialogue=self.dialogue,
                        step=len(self._dialogue_records), user_confidence=self._user_confidence,
                        slots=base.tracker.current_slot_values(), action_names=base.action_names)

    def _learner_turn(self) -> bool:
        rng = np.random.default_rng([self.seed, self.dialogue, len(self._dialogue_records), 0xDA66])
        return bool(rng.random() >= self.beta)

    def execute(self, proposal: int, label: int, executed: int, learner_acted: bool,
                probabilities: np.ndarray | None) -> StepResult:
        """Step the environment with ``executed`` and record the step (a log's replay calls it directly)."""
        base = self.dialogue_env
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
        self.notify(text)
        if self.retrain_every is None and not self._replaying:
            self.retrain()

    def _idle_result(self, extra: dict[str, Any]) -> StepResult:
        """A step result that executes nothing (the teacher reset or quit)."""
        state = self.dialogue_env.get_state()
        info = {**state.info, "invalid_action": False, **extra}
        return state.observation, 0.0, False, True, info

    def _write(self, record: dict[str, Any]) -> None:
        if self.log is not None and not self._replaying:
            self.log.append(record)

    def notify(self, message: str) -> None:
        """Tell the teacher (not while replaying a log)."""
        if not self._replaying:
            self.teacher.notify(message)


__all__ = ["DialogueOutcome", "HumanCorrectionWrapper", "Learner", "StepRecord", "StepResult"]

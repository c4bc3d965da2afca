"""The correction sessions behind ``dialog-gym serve``: the browser as a teacher of the one correction loop.

Each web session is a :class:`~dialog_gym.wrappers.CorrectionSession` (the same loop, the same durable
log and the same resume as ``dialog-gym interactive``) running on its own worker thread with a
:class:`WebTeacher`: the loop asks the teacher as always; :meth:`WebTeacher.decide` publishes the step
(its view and a JSON snapshot for the page) and waits until a request hands it the browser's decision.
A request therefore returns once the loop has executed the decision (retraining included) and asks
about the next step. Requests of one session are serialised by a lock; everything the page may send is
validated against the published view before it reaches the loop, so a refused request changes nothing.

On disk: ``OUT/sessions/<id>/`` holds ``session.json`` (how the session was started: environment, start,
seed, schedule), ``log.jsonl`` (the correction log), ``evals.json`` (the learner-alone evaluations) and
``exports/`` (what the page exported). Restarting the server resumes every session from its log.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import threading
import time
from collections import deque
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dialog_gym.envs import EnvRef
from dialog_gym.errors import DialogGymError
from dialog_gym.utils import as_json, write_json
from dialog_gym.wrappers.teaching import Command, Decision, ForcedSteps, StepView, Teacher

SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
EXPORT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MINARI_ID = re.compile(r"^[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*-v\d+$")
COMMANDS = ("accept", "correct", "undo", "reset")
TOP_K = 9  #: candidates shown (and reachable with the keys 1-9)
WAIT_SECONDS = 600.0  #: longest a request waits for the loop (a pretrained start trains first)


RELOAD = "Reload the page to see the step the session is at."
STOPPED = "Start a new session (New session), or fix what the message names and restart the server."


class WebError(DialogGymError):
    """A request the session refuses; ``status`` is the HTTP status to answer with, ``hint`` what the
    person at the page can do about it (the page shows both in its banner)."""

    def __init__(self, status: int, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.hint = hint


class SessionClosed(Exception):
    """Raised inside the loop's worker thread when the server stops the session."""


@dataclass(frozen=True)
class SessionOptions:
    """How a web session starts (written to ``session.json``; a resumed session uses its own)."""

    #: the environment: as a user names it (a short or full id, an env config's path or name, with :VARIANT) or
    #: an :class:`~dialog_gym.envs.EnvRef`'s JSON form (what ``dialog-gym serve`` writes)
    env: str | dict[str, Any] = "Restaurant-v0"
    start: str = "scratch"  #: scratch, pretrained or policy
    policy: str | None = None  #: the saved policy folder, for start "policy"
    learner: str = "supervised"
    seed: int = 0
    retrain_every: int | None = 1  #: None: after each dialogue
    eval_every: int = 2  #: evaluate the learner alone after every N finished dialogues (0: never)
    eval_episodes: int = 100


class WebTeacher(Teacher):
    """A teacher whose answers come from another thread (the web requests).

    :meth:`decide` (the loop's worker thread) publishes the view with a new turn number and blocks until
    :meth:`submit` hands it a decision or :meth:`close` ends the session. ``on_view`` is called in the
    worker thread first, with the view, and returns what is published alongside it (the page's
    snapshot). With ``auto_accept_forced`` a step where the mask allows one action only is taken without
    asking, and an undo goes back past such steps (:class:`~dialog_gym.wrappers.teaching.ForcedSteps`, as
    at the terminal).
    """

    def __init__(self, on_view: Any = None, auto_accept_forced: bool = True) -> None:
        self._cond = threading.Condition()
        self._view: StepView | None = None
        self._snapshot: dict[str, Any] | None = None
        self._decision: Decision | None = None
        self._closed = False
        self._error: str | None = None
        self.turn = 0  #: number of the published step (grows with every question the loop asks)
        self.on_view = on_view
        self.auto_accept_forced = auto_accept_forced
        self._forced = ForcedSteps()
        self.messages: deque[str] = deque(maxlen=200)
        self.on_notify: Any = None

    # ------------------------------------------------------------------ the loop's side
    def decide(self, view: StepView) -> Decision:
        forced = self._forced.decide(view) if self.auto_accept_forced else None
        if forced is not None:
            return forced
        snapshot = self.on_view(view) if self.on_view is not None else None
        with self._cond:
            if self._closed:
                raise SessionClosed
            self._view, self._snapshot, self._decision = view, snapshot, None
            self.turn += 1
            self._cond.notify_all()
            while self._decision is None and not self._closed:
                self._cond.wait()
            if self._closed:
                raise SessionClosed
            decision, self._decision, self._view = self._decision, None, None
        if decision.command is Command.UNDO:
            self._forced.undone(view)
        return decision

    def notify(self, message: str) -> None:
        self.messages.append(message)
        if self.on_notify is not None:
            self.on_notify(message)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # ------------------------------------------------------------------ the requests' side
    def fail(self, message: str) -> None:
        """The worker died: wake every waiting request with ``message``."""
        with self._cond:
            self._error = message
            self._closed = True
            self._cond.notify_all()

    @property
    def error(self) -> str | None:
        return self._error

    def pending(self) -> tuple[StepView | None, dict[str, Any] | None, int]:
        """The view the loop waits on (None while it works), its snapshot and its turn."""
        with self._cond:
            return self._view, self._snapshot, self.turn

    def submit(self, decision: Decision, turn: int) -> None:
        """Answer the question of ``turn`` (it must be the one the loop waits on)."""
        with self._cond:
            if self._view is None or turn != self.turn:
                raise WebError(409, "the session is not waiting for that step", RELOAD)
            self._decision = decision
            self._cond.notify_all()

    def wait_turn(self, after: int, timeout: float = WAIT_SECONDS) -> None:
        """Block until the loop asks a question newer than turn ``after`` (or the session ends)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (self._view is not None and self.turn > after) and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WebError(503, "the session is still busy (training?)", "Try again in a moment.")
                self._cond.wait(left)
            if self._error is not None:
                raise WebError(500, f"the session stopped: {self._error}", STOPPED)
            if self._closed:
                raise WebError(410, "the session is closed", "The server is stopping: start it again, then reload the "
                                                             "page.")


class WebSession:
    """One browser session: its folder, its worker thread, its correction session, its evaluations."""

    def __init__(self, folder: Path, options: SessionOptions, evaluator: Executor) -> None:
        self.id = folder.name
        self.folder = folder
        self.options = options
        self.evaluator = evaluator
        self.lock = threading.Lock()  # one request at a time
        self.teacher = WebTeacher(on_view=self._on_view)
        self.teacher.on_notify = self._on_notify
        self.session: Any = None  # the CorrectionSession, once the worker built it
        self.env: EnvRef | None = None  #: the session's environment, once the worker read it
        self.evals: list[dict[str, Any]] = self._read_evals()
        self._evals_lock = threading.Lock()
        self._evaluating: set[int] = {e["dialogues"] for e in self.evals}
        self._ended: list[dict[str, Any]] = []  # the last finished dialogue's transcript, for the page
        self._seen_outcomes = 0
        self.thread = threading.Thread(target=self._work, name=f"dialog-gym-session-{self.id}", daemon=True)

    @property
    def log_path(self) -> Path:
        return self.folder / "log.jsonl"

    @property
    def exports(self) -> Path:
        return self.folder / "exports"

    def start(self) -> None:
        self.thread.start()

    def updated(self) -> float:
        """When the session last changed on disk: the newest of its description and its log."""
        times = [path.stat().st_mtime for path in (self.folder / "session.json", self.log_path) if path.is_file()]
        return max(times, default=0.0)

    def close(self, timeout: float = 10.0) -> None:
        self.teacher.close()
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(timeout)

    # ------------------------------------------------------------------ the worker thread
    def _work(self) -> None:
        from dialog_gym.wrappers import CorrectionSession

        try:
            self.env = EnvRef.of(self.options.env)
            learner = build_learner(self.options, self.env)
            env = self.env.make()
            self.session = CorrectionSession(env, learner, self.teacher, log_path=self.log_path,
                                             stories_path=self.exports / "stories.md", seed=self.options.seed,
                                             retrain_every=self.options.retrain_every)
            self.session.run(None)
        except SessionClosed:
            pass
        except Exception as exc:  # bad log, broken policy folder, a bug: the page shows it in one line
            self.teacher.fail(f"{type(exc).__name__}: {exc}" if not isinstance(exc, DialogGymError) else str(exc))

    def _on_notify(self, message: str) -> None:
        wrapper = self.session.wrapper if self.session is not None else None
        if wrapper is not None and not wrapper.active and len(wrapper.outcomes) > self._seen_outcomes:  # one ended
            self._seen_outcomes = len(wrapper.outcomes)
            self._ended = transcript_lines(wrapper.dialogue_env.transcript(silent_listens=True))

    def _on_view(self, view: StepView) -> dict[str, Any]:
        """Runs in the worker thread when the loop asks: schedule evaluations, build the page's snapshot."""
        wrapper = self.session.wrapper
        self._seen_outcomes = len(wrapper.outcomes)
        self._maybe_evaluate(len(wrapper.outcomes))
        return snapshot(view, wrapper, self._ended)

    def _maybe_evaluate(self, finished: int) -> None:
        every = self.options.eval_every
        if every <= 0 or finished % every or finished in self._evaluating:
            return
        self._evaluating.add(finished)
        assert self.env is not None  # set by the worker before its loop asks anything
        learner = copy.deepcopy(self.session.learner)  # as it is now: the loop goes on training the original
        future = self.evaluator.submit(evaluate_copy, learner, self.env, self.options.eval_episodes,
                                       self.options.seed)
        future.add_done_callback(lambda done: self._evaluated(done, finished))

    def _evaluated(self, future: Future, finished: int) -> None:
        if future.cancelled() or future.exception() is not None:
            self.teacher.notify(f"the evaluation after {finished} dialogue(s) failed: {future.exception()}"
                                if not future.cancelled() else f"the evaluation after {finished} dialogue(s) "
                                                               "was cancelled")
            return
        entry = {"dialogues": finished, "success_rate": float(future.result()),
                 "episodes": self.options.eval_episodes}
        with self._evals_lock:
            self.evals = sorted([*self.evals, entry], key=lambda e: e["dialogues"])
            write_json(self.folder / "evals.json", self.evals)

    def _read_evals(self) -> list[dict[str, Any]]:
        path = self.folder / "evals.json"
        if not path.is_file():
            return []
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [e for e in data if isinstance(e, dict) and "dialogues" in e] if isinstance(data, list) else []

    # ------------------------------------------------------------------ the requests
    def state(self) -> dict[str, Any]:
        """What the page shows: the pending step's snapshot, the chart, the messages."""
        view, snap, turn = self.teacher.pending()
        status = ("error" if self.teacher.error else "waiting" if view is not None
                  else "starting" if self.session is None else "working")
        state: dict[str, Any] = {"id": self.id, "status": status, "turn": turn, "error": self.teacher.error,
                                 "hint": STOPPED if self.teacher.error else None,
                                 "options": asdict(self.options), "messages": list(self.teacher.messages)[-20:]}
        if snap is not None:
            state.update(snap)
        with self._evals_lock:
            state["evals"] = list(self.evals)
        return state

    def ready(self, timeout: float = WAIT_SECONDS) -> dict[str, Any]:
        """The state once the loop asks its first question (after building and resuming)."""
        self.teacher.wait_turn(0, timeout)
        return self.state()

    def decide(self, body: dict[str, Any]) -> dict[str, Any]:
        """Hand the browser's decision to the loop and return the state at the next question."""
        decision, turn = self._decision(body)
        with self.lock:
            view, _, current = self.teacher.pending()
            if view is None:
                raise WebError(409, "the session is not waiting for a decision yet", "Try again in a moment.")
            if turn is not None and turn != current:
                raise WebError(409, f"the page shows step {turn}, the session is at step {current}", RELOAD)
            problem = None if decision.action is None else view.problem(decision.action)
            if problem:
                raise WebError(422, problem)
            self.teacher.submit(decision, current)
            self.teacher.wait_turn(current)
            return self.state()

    def _decision(self, body: dict[str, Any]) -> tuple[Decision, int | None]:
        unknown = set(body) - {"command", "action", "turn"}
        if unknown:
            raise WebError(400, f"unknown field(s) {', '.join(sorted(map(str, unknown)))}: expected command, "
                                "action, turn")
        command = body.get("command")
        if command not in COMMANDS:
            raise WebError(400, f"command must be one of {', '.join(COMMANDS)}, got {command!r}")
        turn = body.get("turn")
        if turn is not None and (not isinstance(turn, int) or isinstance(turn, bool)):
            raise WebError(400, f"turn must be an integer, got {turn!r}")
        action = body.get("action")
        if command == "correct":
            if not isinstance(action, int) or isinstance(action, bool):
                raise WebError(400, f"correct needs an integer action, got {action!r}")
            return Decision.correct(action), turn
        if action is not None:
            raise WebError(400, f"{command} takes no action")
        return {"accept": Decision.accept, "undo": Decision.undo, "reset": Decision.reset}[command](), turn

    def export(self, body: dict[str, Any]) -> dict[str, Any]:
        """Export the session (``format`` stories or minari) under this session's folder only."""
        unknown = set(body) - {"format", "name"}
        if unknown:
            raise WebError(400, f"unknown field(s) {', '.join(sorted(map(str, unknown)))}: expected format, name")
        fmt = body.get("format", "stories")
        name = body.get("name")
        if fmt not in ("stories", "minari"):
            raise WebError(400, f"format must be stories or minari, got {fmt!r}")
        with self.lock:
            view, _, _ = self.teacher.pending()
            if view is None:
                raise WebError(409, "the session is not ready yet; try again")
            if fmt == "stories":
                name = "stories" if name is None else name
                if not isinstance(name, str) or not EXPORT_NAME.match(name):
                    raise WebError(400, f"bad export name {name!r}: letters, digits, _ and - only (at most 64)")
                target = inside(self.exports, f"{name}.md")
                try:
                    self.session.export(target)
                except DialogGymError as exc:
                    raise WebError(409, str(exc)) from None
                return {"format": fmt, "file": target.name, "path": str(target),
                        "url": f"/api/sessions/{self.id}/exports/{target.name}"}
            root = self.folder / "minari"
            if name is None:  # the next free version of this session's dataset
                version = 0
                while (root / f"dialog_gym/session-{self.id}-v{version}").exists():
                    version += 1
                name = f"dialog_gym/session-{self.id}-v{version}"
            if not isinstance(name, str) or not MINARI_ID.match(name) or len(name) > 128:
                raise WebError(400, f"bad Minari dataset id {name!r}: expected [namespace/]name-vN "
                                    "(letters, digits, _ and -)")
            try:
                import minari  # noqa: F401
            except ImportError:
                from agents.extras import missing_message

                raise WebError(400, missing_message("the Minari export", "minari", "minari")) from None
            inside(root, name)
            if (root / name).exists():
                raise WebError(409, f"the Minari dataset {name} exists already: name another version")
            try:
                path = self.session.export_minari(name, root)
            except DialogGymError as exc:
                raise WebError(409, str(exc)) from None
            return {"format": fmt, "dataset": name, "path": str(path)}

    def export_file(self, name: str) -> Path:
        """An exported stories file of this session (for download)."""
        if not name.endswith(".md") or not EXPORT_NAME.match(name[:-3]):
            raise WebError(404, f"no export {name!r}")
        path = inside(self.exports, name)
        if not path.is_file():
            raise WebError(404, f"no export {name!r}")
        return path


class SessionManager:
    """Every web session under ``OUT/sessions``: creates new ones, resumes the existing ones."""

    def __init__(self, out: str | Path, options: SessionOptions, eval_workers: int = 1) -> None:
        self.out = Path(out)
        self.root = self.out / "sessions"
        self.options = options
        self.evaluator = evaluator_pool(eval_workers)
        self.sessions: dict[str, WebSession] = {}
        self._lock = threading.Lock()

    def resume_all(self) -> list[str]:
        """Start a worker for every session folder holding a log (each resumes from its log)."""
        if not self.root.is_dir():
            return []
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and SESSION_ID.match(folder.name) and (folder / "session.json").is_file():
                options = read_options(folder / "session.json")
                session = WebSession(folder, options, self.evaluator)
                self.sessions[session.id] = session
                session.start()
        return sorted(self.sessions)

    def create(self) -> WebSession:
        with self._lock:
            while True:
                ident = secrets.token_hex(4)
                if ident not in self.sessions and not (self.root / ident).exists():
                    break
            folder = self.root / ident
            folder.mkdir(parents=True)
            write_json(folder / "session.json", asdict(self.options))
            session = WebSession(folder, self.options, self.evaluator)
            self.sessions[ident] = session
        session.start()
        return session

    def get(self, ident: str) -> WebSession:
        session = self.sessions.get(ident) if SESSION_ID.match(ident or "") else None
        if session is None:
            raise WebError(404, f"no session {ident!r} on this server",
                           "Open the page's address without ?session= for the latest session, or start a new one.")
        return session

    def listing(self) -> list[dict[str, Any]]:
        """Every session, the most recently used first (``updated``: its folder's newest file, in seconds
        since the epoch), so that a page opened without a session shows the first one."""
        rows = []
        for ident, session in self.sessions.items():
            state = session.state()
            rows.append({"id": ident, "status": state["status"],
                         "env": str(session.env) if session.env is not None else session.options.env,
                         "dialogues": state.get("totals", {}).get("dialogues", 0), "turn": state["turn"],
                         "updated": session.updated()})
        return sorted(rows, key=lambda row: (-row["updated"], row["id"]))

    def close(self) -> None:
        for session in self.sessions.values():
            session.teacher.close()
        for session in self.sessions.values():
            session.close()
        self.evaluator.shutdown(wait=False, cancel_futures=True)


# ---------------------------------------------------------------------- helpers
def evaluate_copy(learner: Any, env: EnvRef, episodes: int, seed: int) -> float:
    """Success rate of ``learner`` alone: the evaluation ``dialog-gym imitate`` reports
    (:func:`agents.imitation.evaluate_learner`). Runs in the evaluating process, beside the sessions'
    (``env`` goes there by value: nothing needs to be registered there)."""
    import torch

    from agents.imitation import evaluate_learner

    torch.set_num_threads(1)
    return float(evaluate_learner(learner, env, episodes, seed)["success_rate"])


def evaluator_pool(workers: int = 1) -> Executor:
    """Where evaluations run: a spawned process, so that they do not hold the sessions' interpreter
    (its lock would slow every answer down while 100 dialogues are evaluated)."""
    import multiprocessing

    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


def inside(folder: Path, name: str) -> Path:
    """``folder/name``, refused (400) unless it stays inside ``folder``."""
    base = folder.resolve()
    target = (folder / name).resolve()
    if target == base or not target.is_relative_to(base):
        raise WebError(400, f"{name!r} would leave the session's folder")
    return target


def read_options(path: Path) -> SessionOptions:
    """A session's ``session.json``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        known = {k: v for k, v in data.items() if k in SessionOptions.__dataclass_fields__}
        return SessionOptions(**known)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise DialogGymError(f"{path}: not a session description ({exc})") from None


def build_learner(options: SessionOptions, env: EnvRef) -> Any:
    """The learner a session starts from: :func:`agents.imitation.make_learner`, or a saved supervised
    policy folder (``--policy``)."""
    if options.start != "policy":
        from agents.imitation import make_learner

        return make_learner(options.start, seed=options.seed, env_id=env, learner=options.learner)

    from agents.learners import SupervisedLearner
    from agents.policy import Policy
    from agents.supervised import SupervisedPolicy
    from dialog_gym.envs.base import dialogue_env_of

    policy = Policy.load(Path(str(options.policy)))
    if not isinstance(policy, SupervisedPolicy):
        raise DialogGymError(f"{options.policy}: a {type(policy).__name__}, not a supervised policy (the bot a "
                             "correction session retrains)")
    gym_env = env.make()
    try:
        domain = dialogue_env_of(gym_env).domain
        policy.check_domain(domain)
        learner = SupervisedLearner(policy, domain)
    finally:
        gym_env.close()
    learner.source = f"policy {options.policy}"
    return learner


def transcript_lines(text: str) -> list[dict[str, Any]]:
    """``DialogueEnv.transcript()`` as rows for the page: who, text, and what the NLU heard (with noise)."""
    from dialog_gym.wrappers.teaching import NLU_MARK

    rows: list[dict[str, Any]] = []
    for line in text.splitlines():
        if line.startswith("USER:"):
            said, _, nlu = line[5:].strip().partition(NLU_MARK.strip())
            row: dict[str, Any] = {"who": "user", "text": said.strip()}
            heard, _, confidence = nlu.rstrip("]").rpartition(" @ ")
            if heard:
                row["nlu"] = heard.strip()
                try:
                    row["confidence"] = float(confidence)
                except ValueError:
                    row["nlu"] = nlu.rstrip("]").strip()
            rows.append(row)
        elif line.startswith(("BOT:", "SYS:")):
            rows.append({"who": "bot", "text": line[4:].strip()})
        elif line.strip():
            rows.append({"who": "note", "text": line.strip()})
    return rows


def snapshot(view: StepView, wrapper: Any, ended: list[dict[str, Any]]) -> dict[str, Any]:
    """The page's picture of a pending step (built in the loop's thread, while nothing moves). Its
    transcript shows where the bot listened and the user said nothing: a step that leaves no other trace."""
    domain = view.domain
    slots = {k: as_json(v) for k, v in view.slots.items()}
    latest = view.tracker.latest_message
    actions = []
    for index, name in enumerate(domain.action_names):
        actions.append({"index": index, "name": name, "allowed": bool(view.action_mask[index]),
                        "probability": round(float(view.probabilities[index]), 4),
                        "text": domain.utter(name, view.slots)})
    outcomes = wrapper.outcomes
    records = wrapper.records
    return {
        "dialogue": view.dialogue, "step": view.step, "proposal": view.proposal,
        "transcript": transcript_lines(wrapper.dialogue_env.transcript(silent_listens=True)), "previous": ended,
        "tracker": {"slots": slots,
                    "intent": getattr(latest, "intent_name", None),
                    "confidence": round(float(view.user_confidence), 3),
                    "entities": [{"entity": e.get("entity"), "value": as_json(e.get("value"))}
                                 for e in (getattr(latest, "entities", None) or [])]},
        "candidates": [{"index": i, "name": domain.action_names[i], "probability": round(p, 4)}
                       for i, p in view.top_actions(TOP_K)],
        "actions": actions,
        "chart": {"corrections": [o.corrections for o in outcomes], "success": [o.success for o in outcomes],
                  "reasons": [o.reason for o in outcomes]},
        "totals": {"dialogues": len(outcomes), "successes": sum(o.success for o in outcomes), "steps": len(records),
                   "corrections": sum(r.corrected for r in records), "retrains": wrapper.retrains,
                   "dialogue_corrections": sum(r.corrected for r in wrapper.dialogue_steps)},
    }



__all__ = ["SessionManager", "SessionOptions", "WebError", "WebSession", "WebTeacher", "snapshot",
           "transcript_lines"]

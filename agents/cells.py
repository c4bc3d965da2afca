"""Durable units of work ("cells") run one after another or as Ray tasks.

A cell is a module-level function applied to JSON parameters (:class:`Cell`); its result depends on those parameters
only, never on the process, worker or order that ran it. The parameters hold everything the numbers depend on
(for the benchmark: the settings, and the fingerprints of the code, the environment's data, the hyperparameters
and the library versions: :mod:`agents.provenance`). Every finished cell is written at once, atomically, to
``OUT/cells/<key>.json``; running the same cells into the same folder again reuses the finished ones whose
parameters are equal, re-runs the failed ones and recomputes (and says why: which part of the parameters
changed) a finished cell whose parameters differ, so old numbers are never mixed with new ones.

A cell that raises is recorded as failed with its error; the other cells go on. With the Ray backend a
worker process that dies mid-cell gets its cell retried by Ray (``max_retries``); the driver writes the
results as they arrive (``ray.wait``), so killing the driver loses only the cells that were running.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.extras import install_hint
from dialog_gym.errors import DialogGymError, PersistenceError
from dialog_gym.utils import read_json, write_json

BACKENDS = ("serial", "ray")


@dataclass(frozen=True)
class Cell:
    """One unit of work: ``fn(cell)`` where ``fn`` is a module-level function (Ray ships it by reference).

    ``params`` is everything the result depends on (compared when a finished cell file is reused);
    ``context`` is what it does not change (where to keep side files); ``cpus`` is what the cell may use
    (torch threads set to match); ``cost`` only orders the work (the costliest first, so that no long
    cell starts last)."""

    key: str
    params: dict[str, Any] = field(hash=False)
    context: dict[str, Any] = field(default_factory=dict, hash=False)
    cpus: int = 1
    cost: float = 1.0


def execute_cell(fn: Callable[[Cell], Any], cell: Cell) -> dict[str, Any]:
    """Run one cell and return its record: status ``done`` with the result or ``failed`` with the error;
    an exception never escapes (a worker that dies is another matter: Ray retries the task).

    The record has the cell's wall ``seconds`` and its ``cpu_seconds``: the CPU time of this process over the
    cell (user + system, every thread: torch's intra-op threads count), which is the cell's own work with the
    serial backend and in a Ray worker (one cell per worker process at a time)."""
    start = time.perf_counter()
    cpu_start = time.process_time()
    record: dict[str, Any] = {"key": cell.key, "params": cell.params, "cpus": cell.cpus}
    try:
        record.update(status="done", result=fn(cell))
    except Exception as exc:  # a failed cell is a result to report, not a reason to stop the run
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    record.update(seconds=time.perf_counter() - start, cpu_seconds=time.process_time() - cpu_start,
                  host=platform.node(), pid=os.getpid(),
                  finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    return record


def failed_record(cell: Cell, error: str) -> dict[str, Any]:
    """The record of a cell that could not run at all (its worker died more often than the retries); the time
    its tries took is unknown here, so its seconds and CPU seconds are 0."""
    return {"key": cell.key, "params": cell.params, "cpus": cell.cpus, "status": "failed", "error": error,
            "seconds": 0.0, "cpu_seconds": 0.0, "host": None, "pid": None,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


class CellStore:
    """The ``cells/`` folder of an output folder: one JSON file per finished (or failed) cell."""

    def __init__(self, out: str | os.PathLike) -> None:
        self.folder = Path(out) / "cells"

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def read(self, key: str) -> dict[str, Any] | None:
        """The cell's record, or ``None`` if it has none yet."""
        path = self.path(key)
        if not path.is_file():
            return None
        record = read_json(path)
        if not isinstance(record, dict) or "status" not in record or "params" not in record:
            raise PersistenceError(f"{path}: not a cell file (expected status and params); delete it to re-run "
                                   "the cell")
        return record

    def write(self, record: dict[str, Any]) -> None:
        write_json(self.path(record["key"]), record)

    def finished(self, cells: Sequence[Cell], parts: Mapping[str, str] | None = None
                 ) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
        """The records of the cells already done with the same parameters, and for each finished cell made
        with other parameters, what changed (the :func:`changed_parts` of its parameters): it is to be
        recomputed. Failed cells are in neither: they run again."""
        done: dict[str, dict[str, Any]] = {}
        changed: dict[str, list[str]] = {}
        for cell in cells:
            record = self.read(cell.key)
            if record is None or record["status"] != "done":
                continue
            if record["params"] == cell.params:
                done[cell.key] = record
            else:
                changed[cell.key] = changed_parts(record["params"], cell.params, parts)
        return done, changed


def changed_parts(old: Mapping[str, Any], new: Mapping[str, Any], parts: Mapping[str, str] | None = None
                  ) -> list[str]:
    """What differs between two cells' parameters: the part each differing key belongs to (``parts``: key ->
    part name, e.g. ``code``; a key not in it is a setting, named ``settings (key)``), sorted."""
    parts = parts or {}
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return sorted({parts.get(k, f"settings ({k})") for k in keys})


@dataclass
class CellsRun:
    """What :func:`run_cells` did: every cell's record by key, the keys of the finished cells it reused,
    and for each finished cell it recomputed, what had changed (:func:`changed_parts`)."""

    records: dict[str, dict[str, Any]]
    reused: list[str]
    recomputed: dict[str, list[str]]

    def reasons(self) -> dict[str, int]:
        """How many recomputed cells each change concerns (a cell may count under several)."""
        counts: dict[str, int] = {}
        for changes in self.recomputed.values():
            for part in changes:
                counts[part] = counts.get(part, 0) + 1
        return dict(sorted(counts.items()))

    def summary(self, total: int, folder: str | os.PathLike) -> str:
        """One line: how many cells were reused from ``folder``, recomputed (and why) and computed anew."""
        new = total - len(self.reused) - len(self.recomputed)
        line = f"{len(self.reused)} of {total} cell{'s' * (total != 1)} reused from {folder}"
        if self.recomputed:
            why = ", ".join(f"{part} changed: {n}" for part, n in self.reasons().items())
            line += f", {len(self.recomputed)} recomputed ({why})"
        return line + f", {new} new (--fresh recomputes every cell)"


def format_duration(seconds: float) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour on (as tqdm shows times)."""
    seconds = int(max(0.0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def time_left(elapsed: float, done_cost: float, total_cost: float, running_credit: float = 0.0) -> float | None:
    """Seconds left if the rest goes at the cost-weighted rate so far: ``done_cost`` of ``total_cost`` in
    ``elapsed`` seconds, plus ``running_credit``, the cost the running cells have worked off at that rate
    (without it the estimate would climb for as long as a costly cell runs); None before a cell has
    finished. Cells differ in cost (a random agent's is 1, the imitation agents' 100), so a rate in cells
    per second would jump."""
    if done_cost <= 0:
        return None
    done = done_cost + max(0.0, running_credit)
    return elapsed * max(0.0, total_cost - done) / done


#: the share of a running cell's cost the time left may count as worked off before the cell finishes
RUNNING_CREDIT_CAP = 0.9


class CellProgress:
    """A progress bar over cells on stderr: done, running, failed, the time elapsed and the time left.

    The time left is :func:`time_left` over the cells' costs (:attr:`Cell.cost`), the running cells (the
    first ``running`` unfinished ones in the order they run) credited with the time since the last cell
    finished at the rate so far, up to :data:`RUNNING_CREDIT_CAP` of their cost; a timer thread redraws
    the bar every ``refresh`` seconds, so that the elapsed time moves while a long cell runs (the main
    thread then waits inside the cell or in ``ray.wait``). ``clock`` is the time source (tests pass
    their own, and call :meth:`tick` instead of waiting for the timer)."""

    def __init__(self, cells: Sequence[Cell], skipped: int, enabled: bool = True, refresh: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, file: Any = None) -> None:
        from tqdm.auto import tqdm

        self.costs = {c.key: max(float(c.cost), 1e-9) for c in cells}
        self.total_cost = sum(self.costs.values())
        self.done_cost = 0.0
        self.pending = [c.key for c in cells]  # unfinished, in the order they run
        self.failed = 0
        self.running = 0
        self.skipped = skipped
        self.clock = clock
        self.started = clock()
        self.last_finish = self.started
        self._lock = threading.Lock()
        self.bar = tqdm(total=len(cells), desc="cells", unit="cell", file=file or sys.stderr, disable=not enabled,
                        dynamic_ncols=True, bar_format="{desc}: {n}/{total} done {bar}{postfix}")  # tqdm adds ", "
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        if enabled and refresh > 0:
            self._timer = threading.Thread(target=self._redraw_every, args=(refresh,), daemon=True,
                                           name="dialog-gym-progress")
            self._timer.start()
        self.tick()

    def text(self) -> str:
        """What the bar shows after its counter: elapsed, time left, running, failed (and skipped) cells."""
        now = self.clock()
        elapsed = now - self.started
        left = time_left(elapsed, self.done_cost, self.total_cost, self.running_credit(now))
        parts = [f"{format_duration(elapsed)} elapsed",
                 "time left: ?" if left is None else f"about {format_duration(left)} left",
                 f"running {self.running}", f"failed {self.failed}"]
        if self.skipped:
            parts.append(f"skipped {self.skipped}")
        return ", ".join(parts)

    def running_credit(self, now: float) -> float:
        """The cost the running cells have worked off since the last cell finished, at the rate so far."""
        if self.done_cost <= 0 or not self.running:
            return 0.0
        seconds_per_cost = (self.last_finish - self.started) / self.done_cost
        running_cost = sum(self.costs[k] for k in self.pending[:self.running])
        if seconds_per_cost <= 0:
            return RUNNING_CREDIT_CAP * running_cost
        return min(RUNNING_CREDIT_CAP * running_cost, (now - self.last_finish) / seconds_per_cost)

    def tick(self) -> None:
        """Redraw the bar (the timer calls this every ``refresh`` seconds)."""
        with self._lock:
            self.bar.set_postfix_str(self.text(), refresh=True)

    def _redraw_every(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            self.tick()

    def start(self, running: int, order: Sequence[str] | None = None) -> None:
        """``running`` cells have started; ``order``: the keys in the order they run, if not the cells'."""
        with self._lock:
            self.running = running
            if order is not None:
                self.pending = [k for k in order if k in self.costs]
        self.tick()

    def finish(self, record: dict[str, Any], running: int) -> None:
        with self._lock:
            self.failed += record["status"] == "failed"
            self.running = running
            self.done_cost += self.costs.get(record["key"], 0.0)
            if record["key"] in self.pending:
                self.pending.remove(record["key"])
            self.last_finish = self.clock()
            self.bar.update(1)
        self.tick()

    def close(self) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.join()
        self.bar.close()


def run_cells(fn: Callable[[Cell], Any], cells: Sequence[Cell], out: str | os.PathLike,
              backend: str = "serial", address: str | None = None, workers: int | None = None,
              retries: int = 3, fresh: bool = False, progress: bool = False,
              note: Callable[[str], None] | None = None, parts: Mapping[str, str] | None = None) -> CellsRun:
    """Run the cells not finished in ``out`` with the same parameters (all with ``fresh``) and write each
    record as it ends; ``note`` hears, before the work, how many are reused and recomputed and why
    (``parts`` names the part each parameter belongs to, see :func:`changed_parts`)."""
    if backend not in BACKENDS:
        raise DialogGymError(f"unknown backend {backend!r} (expected one of {', '.join(BACKENDS)})")
    keys = [c.key for c in cells]
    if len(set(keys)) != len(keys):
        raise DialogGymError("two cells have the same key")
    store = CellStore(out)
    records, recomputed = ({}, {}) if fresh else store.finished(cells, parts)
    run = CellsRun(records, list(records), recomputed)
    todo = [c for c in cells if c.key not in records]
    if (run.reused or run.recomputed) and note:
        note(run.summary(len(cells), store.folder))
    bar = CellProgress(todo, len(run.reused), enabled=progress)
    try:
        if not todo:
            pass
        elif backend == "serial":
            bar.start(1)
            for i, cell in enumerate(todo):
                record = execute_cell(fn, cell)
                store.write(record)
                records[cell.key] = record
                bar.finish(record, int(i + 1 < len(todo)))
        else:
            with ray_session(address, workers) as ray:
                for record in _ray_records(ray, fn, todo, retries, bar):
                    store.write(record)
                    records[record["key"]] = record
    finally:
        bar.close()
    return run


def _ray_records(ray: Any, fn: Callable, cells: Sequence[Cell], retries: int,
                 bar: CellProgress) -> Iterator[dict[str, Any]]:
    """Submit every cell as a Ray task (the costliest first) and yield the records as they arrive."""
    remote = ray.remote(execute_cell)
    pending = {}
    ordered = sorted(cells, key=lambda c: -c.cost)
    for cell in ordered:
        ref = remote.options(num_cpus=cell.cpus, max_retries=retries).remote(fn, cell)
        pending[ref] = cell
    slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
    bar.start(min(len(pending), slots), order=[c.key for c in ordered])
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        cell = pending.pop(ready[0])
        try:
            record = ray.get(ready[0])
        except ray.exceptions.RayError as exc:  # the worker died on every try, or the task was lost
            record = failed_record(cell, f"{type(exc).__name__}: {' '.join(str(exc).split())[:500]}")
        bar.finish(record, min(len(pending), slots))
        yield record


def import_ray() -> Any:
    """The ``ray`` module, or the package's error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise DialogGymError(f"the Ray backend needs Ray, an optional extra: {install_hint('ray')}") from None
    return ray


@contextlib.contextmanager
def ray_session(address: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """Ray, connected: to the cluster at ``address`` (``auto`` or ``HOST:PORT``), to the one this process
    is already connected to, or else to a local instance with ``workers`` CPUs (default: all cores) on the
    loopback address, shut down on exit."""
    if address is None:
        # a local instance talks over 127.0.0.1 only (Ray would pick this machine's network address), and its
        # workers run at normal priority as the serial backend does (Ray's default is nice 15)
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        os.environ.setdefault("RAY_worker_niceness", "0")
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": "error",
                               "configure_logging": True}
    if address is None:
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = False  # the same, if ray was imported before the variable was set
        ray.init(num_cpus=workers or os.cpu_count() or 1, **options)
    else:
        ray.init(address=address, **options)
    try:
        yield ray
    finally:
        ray.shutdown()


def estimate_wall_time(seconds: Sequence[float], workers: int) -> float:
    """Wall time of cells of the given durations on ``workers`` single-CPU workers, the longest first
    (a lower bound is ``max(sum / workers, longest)``; this is the greedy schedule's)."""
    if not seconds:
        return 0.0
    loads = [0.0] * max(1, workers)
    for s in sorted(seconds, reverse=True):
        loads[loads.index(min(loads))] += s
    return max(loads)

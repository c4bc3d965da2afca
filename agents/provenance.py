"""What made a number: the library versions, the machine, the package's code and an environment's data.

One place collects each of them, for the benchmark's cells and ``results.json``, the imitation curves and
``dialog-gym bench-env``:

- :func:`library_versions`: the versions numbers depend on (Python, dialog_gym, numpy, Gymnasium, torch,
  stable-baselines3, sb3-contrib; ``None`` for one not installed);
- :func:`hardware`: the machine (CPU model, cores, OS) and those versions;
- :func:`code_fingerprint`: the sha256 over the installed ``dialog_gym`` and ``agents`` module files,
  sorted by relative path (a refactor changes it even when no number moves: that is the point);
- :func:`env_fingerprint`: the sha256 of an environment's resolved configuration and every data file it
  names (the env's own ``config_fingerprint``, which ``get_state`` uses too).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import os
import platform
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dialog_gym.envs import EnvLike

#: module -> the key its version is recorded under (the benchmark's cells compare these)
_LIBRARIES = {"dialog_gym": "dialog_gym", "numpy": "numpy", "gymnasium": "gymnasium", "torch": "torch",
              "stable_baselines3": "stable_baselines3", "sb3_contrib": "sb3_contrib"}
#: the packages whose source :func:`code_fingerprint` hashes
CODE_PACKAGES = ("dialog_gym", "agents")


def library_versions() -> dict[str, str | None]:
    """The Python version and each library's ``__version__`` (``None``: not installed)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for module, key in _LIBRARIES.items():
        try:
            versions[key] = str(importlib.import_module(module).__version__)
        except ImportError:
            versions[key] = None
    return versions


def cpu_model() -> str:
    """The CPU's model name (Linux), else what :mod:`platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return f"{platform.machine()} {platform.processor() or ''}".strip()


def hardware() -> dict[str, Any]:
    """The machine and the library versions (:func:`library_versions`)."""
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "machine": platform.machine(), "os": platform.platform(),
            "host": platform.node(), **library_versions()}


@functools.cache
def code_fingerprint() -> dict[str, Any]:
    """``{"sha256", "files"}``: the hash over the ``.py`` files of the installed :data:`CODE_PACKAGES`
    (each file's path relative to the packages' folder, then its bytes, in sorted path order) and their
    number. Computed once per process."""
    digest = hashlib.sha256()
    count = 0
    for package in CODE_PACKAGES:
        root = Path(importlib.import_module(package).__file__ or "").parent
        files = sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
        for path in files:
            relative = path.relative_to(root.parent).as_posix()
            data = path.read_bytes()
            digest.update(f"{relative}\0{len(data)}\0".encode())
            digest.update(data)
            count += 1
    return {"sha256": digest.hexdigest(), "files": count}


def env_fingerprint(env: EnvLike) -> str:
    """The sha256 of an environment's resolved configuration and data files (its ``config_fingerprint``),
    read afresh each time (a config path's file may have changed since)."""
    from dialog_gym.envs import EnvRef

    made = EnvRef.of(env).make()
    try:
        return str(made.unwrapped.config_fingerprint)  # type: ignore[attr-defined]
    finally:
        made.close()


def json_sha256(value: Any) -> str:
    """The sha256 of a JSON value in canonical form (sorted keys)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def session_record(started: float, machine: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """One session of work on a results folder (a run, or a re-run that reused some of its cells): when it
    started, its wall time until now, the machine, the package's version and code, and ``extra``."""
    from dialog_gym import __version__

    return {"started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
            "wall_time": time.time() - started, "hardware": machine, "dialog_gym_version": __version__,
            "code_fingerprint": code_fingerprint()["sha256"], **extra}


def earlier_sessions(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The sessions recorded in an earlier results file at ``path`` (its ``history``; a file written before
    histories existed gives one session from its top-level ``started``, ``wall_time`` and ``hardware``), or
    none when there is no readable file."""
    from dialog_gym.errors import PersistenceError
    from dialog_gym.utils import read_json

    if not Path(path).is_file():
        return []
    try:
        doc = read_json(path)
    except PersistenceError:
        return []
    if not isinstance(doc, dict):
        return []
    if isinstance(doc.get("history"), list):
        return list(doc["history"])
    legacy = {k: doc[k] for k in ("started", "wall_time", "hardware", "backend", "workers", "dialog_gym_version")
              if k in doc}
    return [legacy] if legacy else []


#: the parts of :func:`run_inputs` (what a re-run says changed; see :func:`agents.cells.changed_parts`)
INPUT_PARTS = {"settings": "settings", "code": "code", "env_data": "env data", "hyperparams": "hyperparameters",
               "versions": "versions"}


def run_inputs(settings: dict[str, Any], env: EnvLike, hyperparams: Any = None) -> dict[str, Any]:
    """Everything a run's numbers depend on, as JSON: its ``settings``, the code's and ``env``'s
    fingerprints, the ``hyperparams`` it reads and the library versions (compare two with
    :func:`agents.cells.changed_parts` and :data:`INPUT_PARTS`)."""
    from dialog_gym.utils import as_json

    return as_json({"settings": settings, "code": code_fingerprint()["sha256"], "env_data": env_fingerprint(env),
                    "hyperparams": hyperparams, "versions": library_versions()})


def path_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes, or of a folder's files (relative path and bytes, in sorted order)."""
    from dialog_gym.utils import file_sha256

    root = Path(path)
    if root.is_file():
        return file_sha256(root)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(root).as_posix()}\0{file_sha256(file)}\0".encode())
    return digest.hexdigest()

"""Small helpers shared by the whole package: one-hot vectors, atomic writes, YAML reading."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

import numpy as np
import yaml

from dialog_gym.errors import ConfigError, PersistenceError

#: safe loading (no arbitrary objects), in libyaml's C implementation when installed: about 8x faster
#: than the pure-Python ``yaml.safe_load``, which matters because ``import dialog_gym`` reads the task configs
SAFE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def one_hot(hot_idx: int, length: int, dtype: type = np.float64) -> np.ndarray:
    """A vector of ``length`` zeros with a one at ``hot_idx`` (Rasa's ``utils.one_hot``)."""
    if not 0 <= hot_idx < length:
        raise ValueError(f"can't create one-hot: index {hot_idx} out of range for length {length}")
    vec: np.ndarray = np.zeros(length, dtype=dtype)
    vec[hot_idx] = 1
    return vec


def read_text(path: str | os.PathLike, error: type[Exception] = ConfigError, what: str = "file") -> str:
    """The text of a UTF-8 file; any reason it cannot be read (missing, a directory, no permission, binary
    bytes, another encoding) raises ``error`` naming the file. The one way input files are read."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, expected a {what}") from None
    except PermissionError:
        raise error(f"{path}: cannot read the {what}: permission denied") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    if b"\0" in data:
        raise error(f"{path}: a binary file (NUL bytes), expected a UTF-8 text {what}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise error(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                    f"save the {what} as UTF-8") from None
    return text.removeprefix("\ufeff")


def read_yaml(path: str | os.PathLike, error: type[Exception] = ConfigError) -> Any:
    """Parse a YAML file with a safe loader (``yaml.safe_load``, or libyaml's C version of it); an
    unreadable file or a syntax error raises ``error``."""
    path = Path(path)
    text = read_text(path, error)
    try:
        return yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{where}: YAML syntax error: {problem}") from None


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Write a file completely or not at all: write a temporary file beside it, fsync, rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; give the file the mode open() would
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Write a folder completely or not at all: the caller fills a temporary sibling, which then replaces
    ``path`` (an earlier folder there is removed only once the new one is complete)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes 0700; give the folder the mode mkdir would
    try:
        yield tmp
        old = path.with_name(f"{tmp.name[:-4]}.old") if path.exists() else None
        if old is not None:
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextmanager
def exclusive_folder(path: str | os.PathLike, who: str) -> Iterator[None]:
    """Hold ``path`` for this process alone while the block runs (an advisory lock on ``path/.lock``).

    A second holder gets a :class:`PersistenceError` naming the first one's pid instead of two processes
    appending to the same logs. The lock dies with its process (``flock``), so a crash leaves no lock held;
    the lock file is removed when the block ends.
    """
    import fcntl

    lock_path = Path(path) / ".lock"
    while True:
        handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115  (held until the block ends)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise PersistenceError(f"{path}: in use by {holder}; one {who} per folder (or choose another)") from None
        # the previous holder removes the file as it lets go: if it did so after we opened it, we hold a lock
        # on a file no one else will find, and try again on the path's current file
        try:
            current = os.stat(lock_path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            current = False
        if current:
            break
        handle.close()
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{who} (pid {os.getpid()})")
        handle.flush()
        yield
    finally:
        with suppress(FileNotFoundError):
            lock_path.unlink()  # still held: whoever opens the path from now on gets a new file
        handle.close()


def read_json(path: str | os.PathLike, missing_hint: str = "") -> Any:
    """Parse a JSON file; a missing or unreadable file raises ``PersistenceError`` naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PersistenceError(f"{path}: not found{f' ({missing_hint})' if missing_hint else ''}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PersistenceError(f"{path}: cannot read: {exc}") from None


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def as_json(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists, unknown objects their ``str``): what a
    log or a web page holds, so that it compares equal after the round trip."""
    return json.loads(json.dumps(value, default=str))


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Atomically write ``data`` as indented JSON."""
    with atomic_write(path) as handle:
        json.dump(data, handle, indent=2, sort_keys=False)
        handle.write("\n")


def check_keys(section: Mapping[str, Any], allowed: Collection[str], where: str,
               error: type[Exception] = ConfigError) -> None:
    """Raise ``error`` naming ``where`` if ``section`` holds a key outside ``allowed``."""
    unknown = sorted(set(section) - set(allowed))
    if unknown:
        raise error(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; expected one of "
                    f"{', '.join(sorted(allowed))}")

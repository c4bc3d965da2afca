"""Ctrl-C for the ``dialog-gym`` command: status 130 and one line, whatever a library does with it.

The first Ctrl-C raises KeyboardInterrupt as usual, so a command unwinds (its files are written
atomically) and the CLI reports it. Two things can still go wrong, and each is handled here: a library
can swallow the KeyboardInterrupt or block while unwinding (the command would go on, or hang, silently),
and CPython can remember an interrupt that was handled (the process would die by SIGINT, not exit 130).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType

#: how long a command may take to unwind after Ctrl-C before the process ends anyway
GRACE_SECONDS = 20.0


def caused_by_interrupt(exc: BaseException) -> bool:
    """Whether Ctrl-C is behind ``exc``: Python wraps some exceptions (one raised by ``__set_name__`` while a
    class is created, say) in another, with the KeyboardInterrupt as its cause or context."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def forget_handled_interrupt() -> None:
    """Keep CPython from turning a Ctrl-C we handled into death by SIGINT at exit.

    CPython (since 3.8; seen on 3.11) sets a process-wide "unhandled KeyboardInterrupt" flag whenever a
    KeyboardInterrupt leaves code it runs from a string (``exec(str)``: every dataclass definition, so any
    lazy import of torch's), even when a caller catches it later; ``python -m agents`` then ends the process
    with ``kill(getpid(), SIGINT)`` instead of our status 130 (the ``dialog-gym`` script, run as a file,
    exits through ``sys.exit`` unaffected). The flag is reset at the start of each such run, so running an
    empty string clears it.
    """
    exec("")


class InterruptGuard:
    """While a batch command runs: the first Ctrl-C raises KeyboardInterrupt; if the command has not
    finished :data:`GRACE_SECONDS` later (a library swallowed the interrupt, or unwinding is stuck), or at a
    second Ctrl-C, ``report()`` is called and the process ends at once with status 130.

    Active only in the main thread and only where SIGINT has Python's default handler (a process started
    with SIGINT ignored keeps ignoring it). Files stay whole when the process ends this way: every file the
    package writes is written to a temporary name and renamed.
    """

    def __init__(self, report: Callable[[], object], status: int) -> None:
        self.report = report
        self.status = status
        self.finished = threading.Event()
        self.interrupted = False
        self._previous: object = None
        self._installed = False

    def __enter__(self) -> InterruptGuard:
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
            self._installed = True
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.finished.set()
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]
            self._installed = False

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if self.interrupted:
            self._end()
        self.interrupted = True
        threading.Thread(target=self._watch, name="dialog-gym-interrupt", daemon=True).start()
        raise KeyboardInterrupt

    def _watch(self) -> None:
        if not self.finished.wait(GRACE_SECONDS):
            self._end()

    def _end(self) -> None:
        self.report()
        os._exit(self.status)

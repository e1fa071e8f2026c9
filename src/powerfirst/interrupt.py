"""SIGINT and SIGTERM end a command with one line saying what was kept, never a traceback.

:func:`install` turns both signals into :class:`Interrupted` (a ``BaseException``, so ``except
Exception`` does not swallow it); :func:`powerfirst.cli.entry.main` installs the handlers *before* importing the CLI
(pandas, highspy …), runs it, and turns an :class:`Interrupted` into ``interrupted (SIGINT): …``
on stderr and exit code 128 + the signal number (130 for SIGINT, 143 for SIGTERM).

Whoever holds output in flight says what was kept by setting :attr:`Interrupted.kept` on the way
out (see :mod:`powerfirst.outputs.runfolder`); :func:`deferred` holds a signal back through a step
that must not be cut in two (swapping a run folder) and delivers it right after.

This module imports nothing heavy: it is loaded first, by the console entry point.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["FAULT_ENV", "Interrupted", "checkpoint", "deferred", "install"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)

#: Test hook: ``POWERFIRST_FAULT_AT=step:SIGNAL`` (e.g. ``swapped:SIGKILL``) makes the process
#: send itself SIGNAL when it reaches the named step of the write path (see :func:`checkpoint`).
FAULT_ENV = "POWERFIRST_FAULT_AT"


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; ``kept`` says what the outputs hold now (None: nothing written)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.kept: str | None = None
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal number."""
        return 128 + self.signum


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def install() -> None:
    """Make SIGINT and SIGTERM raise :class:`Interrupted` (main thread only)."""
    for signum in SIGNALS:
        signal.signal(signum, _raise)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back for the body and deliver the first that arrived right after it.

    Outside the main thread (where handlers cannot be set) the body simply runs.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    previous = {signum: signal.signal(signum, hold) for signum in SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if pending:
            signal.raise_signal(pending[0])


def checkpoint(step: str) -> None:
    """Fault-injection hook for tests: signal this process at ``step`` when :data:`FAULT_ENV` asks."""
    wanted = os.environ.get(FAULT_ENV)
    if not wanted:
        return
    at, _, name = wanted.partition(":")
    if at == step:
        os.kill(os.getpid(), signal.Signals[name or "SIGKILL"])

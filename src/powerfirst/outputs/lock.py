"""One writer per output: an exclusive ``fcntl.flock`` on a lock file beside it.

The lock file ``.<name>.powerfirst-lock`` holds the holder's pid (to name it when another run is
refused) and is removed on release. A lock taken on a file that was removed meanwhile is retried,
so two runs never both hold it. The kernel frees the lock when a process dies, however it dies.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from pathlib import Path

from powerfirst.errors import ConfigError

__all__ = ["Lock", "lock_path"]


def lock_path(target: Path) -> Path:
    """The lock file of the output ``target`` (a folder or a file): beside it, hidden."""
    return target.parent / f".{target.name}.powerfirst-lock"


class Lock:
    """An exclusive lock on ``target``; :meth:`acquire` fails at once (or waits) if another run holds it."""

    def __init__(self, target: Path, flag: str) -> None:
        self.path = lock_path(target)
        self.target = target
        self.flag = flag
        self._fd: int | None = None

    def acquire(self, *, wait: bool) -> None:
        """Take the lock; ConfigError naming the other run's pid when it is held and ``wait`` is False."""
        for _ in range(100):
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                raise ConfigError(
                    f"{self.flag} = {str(self.target)!r}: another powerfirst run (pid {holder}) is writing "
                    "it now; wait for that run to end, or pass --wait-for-lock to wait for it"
                ) from None
            except BaseException:
                os.close(fd)
                raise
            try:
                same = os.fstat(fd).st_ino == os.lstat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
                self._fd = fd
                return
            os.close(fd)  # the holder removed the file as we took it: take the new one
        raise ConfigError(f"{self.flag} = {str(self.target)!r}: could not take the lock {self.path}")

    def _refuse(self, what: str) -> ConfigError:
        return ConfigError(
            f"{self.flag} = {str(self.target)!r}: the lock file {self.path} is {what}, not one powerfirst "
            "made; powerfirst does not write through it: remove it (or choose another name)"
        )

    def _open(self) -> int:
        """Open (or create) the lock file, never through a symbolic link and never truncating another file."""
        try:
            info = os.lstat(self.path)
        except FileNotFoundError:
            pass
        else:
            if stat.S_ISLNK(info.st_mode):
                raise self._refuse("a symbolic link")
            if not stat.S_ISREG(info.st_mode):
                raise self._refuse("not a regular file")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise self._refuse("a symbolic link") from None
            raise
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode) or opened.st_nlink > 1:
            os.close(fd)
            raise self._refuse(
                "not a regular file" if opened.st_nlink <= 1 else "a hard link to another file"
            )
        return fd

    def release(self) -> None:
        """Remove the lock file and free the lock (nothing if not held)."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self._fd)
        self._fd = None

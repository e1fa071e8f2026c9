"""Single output files (``data fetch --out``, ``forecast evaluate --out`` …): written whole, beside
the target and moved over it, an existing file replaced only when the user said so (``--overwrite``).

:meth:`OutputFile.claim` checks before any work (not a folder, its folder exists and is writable,
no existing file without ``overwrite``), takes the lock beside the file (see
:mod:`powerfirst.outputs.lock`) and removes the partial files of killed runs
(``.<name>.XXXXXXXX.part``). :func:`replace_file` does the writing.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from powerfirst.errors import ConfigError
from powerfirst.interrupt import Interrupted
from powerfirst.outputs.lock import Lock

__all__ = ["OutputFile", "replace_file"]


def replace_file(
    path: Path, write: Callable[[Path], object], *, overwrite: bool, flag: str = "--out"
) -> None:
    """Call ``write(temporary)`` for a file beside ``path``, then move it over ``path`` in one step.

    Raises ConfigError when ``path`` exists and ``overwrite`` is False; on any failure the
    temporary file is removed and ``path`` is as it was.
    """
    if os.path.lexists(path) and not overwrite:
        raise ConfigError(f"{flag} {path} already exists; pass --overwrite to replace it")
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        os.chmod(temporary, _mode(path))  # mkstemp makes it private (0600)
        write(temporary)
        fd = os.open(temporary, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _mode(path: Path) -> int:
    """The mode of the file ``path`` replaces (a regular file), else the one the umask gives a new file."""
    try:
        existing = os.lstat(path)
    except FileNotFoundError:
        existing = None
    if existing is not None and stat.S_ISREG(existing.st_mode):
        return stat.S_IMODE(existing.st_mode)
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


class OutputFile:
    """A file a command will write, claimed before any work; :meth:`release` when done."""

    def __init__(self, path: Path, flag: str, overwrite: bool, lock: Lock) -> None:
        self.path = path
        self.flag = flag
        self.overwrite = overwrite
        self.existed = os.path.lexists(path)
        self.written = False
        self.notes: list[str] = []
        self._lock = lock

    @classmethod
    def claim(
        cls, path: Path, *, flag: str = "--out", overwrite: bool = False, wait: bool = False
    ) -> OutputFile:
        """Check ``path`` can be written, lock it, remove killed runs' partial files; ConfigError if not."""
        text = str(path)
        if text in {"", "."} or path.is_dir():
            empty = " (or empty, read as '.')" if text in {"", "."} else ""
            raise ConfigError(
                f"{flag} = {text!r}{empty} is a folder; give a file name (e.g. {path / 'data.csv'})"
            )
        folder = path.parent
        if not folder.is_dir():
            raise ConfigError(f"{flag} = {text!r}: folder {str(folder)!r} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError(f"{flag} = {text!r}: cannot write in {str(folder)!r}")
        if os.path.lexists(path) and not overwrite:
            what = "is a symbolic link" if path.is_symlink() else "already exists"
            raise ConfigError(f"{flag} {path} {what}; pass --overwrite to replace it")
        lock = Lock(path, flag)
        try:
            lock.acquire(wait=wait)
        except OSError as exc:
            raise ConfigError(f"{flag} = {text!r}: cannot write there ({exc.strerror or exc})") from None
        claimed = cls(path, flag, overwrite, lock)
        partial = re.compile(rf"\.{re.escape(path.name)}\.[A-Za-z0-9_]{{8}}\.part")
        for leftover in sorted(folder.iterdir()):
            if partial.fullmatch(leftover.name) and leftover.is_file() and not leftover.is_symlink():
                leftover.unlink()
                claimed.notes.append(f"removed {leftover.name}, a partial file left by a killed run")
        return claimed

    def write(self, write: Callable[[Path], object]) -> Path:
        """Write the file whole (see :func:`replace_file`); returns its path."""
        replace_file(self.path, write, overwrite=self.overwrite, flag=self.flag)
        self.written = True
        return self.path

    def write_json(self, records: object) -> Path:
        """Write ``records`` as indented JSON; a failure is a ConfigError naming the flag and the file."""
        text = json.dumps(records, indent=2) + "\n"
        try:
            return self.write(lambda path: path.write_text(text, encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(
                f"{self.flag} = {str(self.path)!r}: cannot write the JSON file ({exc.strerror or exc})"
            ) from None

    def kept(self) -> str:
        """One line: what the file is now (for the line printed when a signal ends the run)."""
        if self.written:
            return f"{self.path} is written, complete"
        if self.existed:
            return f"nothing was written; {self.path} is untouched"
        return f"nothing was written ({self.path} was not created)"

    def release(self) -> None:
        """Free the lock. Called while a signal's :class:`Interrupted` propagates, it says what was kept."""
        exc = sys.exception()
        if isinstance(exc, Interrupted) and exc.kept is None:
            exc.kept = self.kept()
        self._lock.release()

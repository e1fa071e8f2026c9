"""Swap two folders in one step: ``renameat2(RENAME_EXCHANGE)`` on Linux, through ctypes on libc.

:func:`exchange` returns False where the call or the flag is not available (another OS, an old C
library or kernel, a file system without it); the caller then falls back to two renames and a
recovery rule (see :mod:`powerfirst.outputs.runfolder`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["exchange", "rename_noreplace"]

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_UNSUPPORTED = {errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP}


def _load() -> Callable[..., int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    loaded: Callable[..., int] = function
    return loaded


_renameat2 = _load()


def _call(source: Path, target: Path, flags: int) -> bool:
    if _renameat2 is None:
        return False
    result = _renameat2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), flags)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(source), None, str(target))


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap the names of ``a`` and ``b`` (both must exist); False if unsupported here."""
    return _call(a, b, _RENAME_EXCHANGE)


def rename_noreplace(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target``, failing if ``target`` exists (plain rename where unsupported)."""
    if not _call(source, target, _RENAME_NOREPLACE):
        if target.exists():
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))
        os.rename(source, target)

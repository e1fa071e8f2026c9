"""The disk cache of the planning margins: one JSON file per backtest, so a sweep does not repeat one.

**Where**: ``$XDG_CACHE_HOME/powerfirst/margins`` (``~/.cache/powerfirst/margins`` without it), or
the folder a caller gives (e.g. under a plan's ``--out``). The folder is created with a
``CACHEDIR.TAG`` (the Cache Directory Tagging Specification), so backup tools skip it.

**Key**: SHA-256 of the canonical JSON of everything a result depends on (see :func:`cache_key`):
the site as validated and dumped (with the hashprice the backtest holds), the market year, the
strategy, the powerfirst version, a digest of powerfirst's own code, and the SHA-256 of every input
file: all bundled data files and each user file the site (or a ``--prices`` source) names.
Changing any of them is a different key; the old entry stays and is simply not read again.

**Entries**: ``margins-<key>.json`` holding ``{"powerfirst_margin_cache": 1, "sha256": …,
"payload": {"key": …, "inputs": …, "result": …}}``; ``sha256`` is the digest of the payload's
canonical JSON. Writes are atomic (a temporary file beside it, fsync, rename:
:func:`powerfirst.outputs.replace_file`). An entry whose digest, key or format does not check out
is not trusted: it is recomputed with a :class:`MarginCacheWarning`, and replaced when the file
starts with the marker above (powerfirst wrote it). A file at an entry's name that powerfirst did
not write (no marker, a symbolic link, a folder) is never replaced or removed: the result is
computed without the cache, with a warning naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import time
import warnings
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from powerfirst._paths import DATA_DIR
from powerfirst.errors import ConfigError
from powerfirst.market.source_spec import split_spec
from powerfirst.outputs import replace_file

__all__ = [
    "CACHE_FORMAT",
    "MarginCache",
    "MarginCacheWarning",
    "cache_key",
    "canonical_json",
    "check_cache_folder",
    "code_digest",
    "default_cache_dir",
    "input_files",
]

CACHE_FORMAT = 1
"""Version of the entry layout; part of every key."""
MARKER = "powerfirst_margin_cache"
_PREFIX = f'{{"{MARKER}": {CACHE_FORMAT},'.encode()
"""How an entry powerfirst wrote begins (bytes)."""
_PART = re.compile(r"\.margins-[0-9a-f]{64}\.json\.[A-Za-z0-9_]{8}\.part")
"""The temporary file of an entry being written (:func:`powerfirst.outputs.replace_file`)."""
STALE_PART_S = 3600.0
"""Age after which such a temporary file is a killed write's leftover [s]."""
TAG_NAME = "CACHEDIR.TAG"
_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by powerfirst (planning margins).\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n"
)


class MarginCacheWarning(UserWarning):
    """A cache entry was not usable (corrupt, not powerfirst's, or the folder not writable)."""


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/powerfirst/margins``, else ``~/.cache/powerfirst/margins``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "powerfirst" / "margins"


def canonical_json(value: Any) -> str:
    """One text per value: sorted keys, no spaces, no NaN (a NaN is an error, not a key)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


@lru_cache(maxsize=4096)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    """SHA-256 of a file's bytes; memoised on (path, size, mtime) so a sweep hashes each file once."""
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of the file at ``path`` (memoised while its size and modification time stay)."""
    info = path.stat()
    return _file_sha256(str(path.resolve()), info.st_size, info.st_mtime_ns)


@cache
def code_digest() -> str:
    """SHA-256 over powerfirst's own ``.py`` files (paths and contents): a changed engine is a new key,
    even without a new version number. Computed once per process."""
    package = Path(__file__).resolve().parents[1]
    sha = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        sha.update(path.relative_to(package).as_posix().encode())
        sha.update(file_sha256(path).encode())
    return sha.hexdigest()


def _version() -> str:
    try:
        return metadata.version("powerfirst")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        return "unknown"


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def input_files(site_data: Mapping[str, Any], sources: Iterable[str | None] = ()) -> dict[str, str]:
    """SHA-256 of every input file a backtest of the site may read, by path: each bundled data
    file, and each existing file named by a text of the dumped site or of ``sources`` (a path, or
    a ``path.csv:COLUMN`` SOURCE)."""
    digests = {
        f"bundled:{p.relative_to(DATA_DIR).as_posix()}": file_sha256(p)
        for p in sorted(DATA_DIR.rglob("*"))
        if p.is_file()
    }
    for text in [*_strings(site_data), *(s for s in sources if s)]:
        split = split_spec(text)
        for candidate in (text, split[0] if split else None):
            if candidate and Path(candidate).is_file():
                digests[str(Path(candidate).resolve())] = file_sha256(Path(candidate))
    return digests


def cache_key(inputs: Mapping[str, Any]) -> str:
    """The entry key of a backtest described by ``inputs`` (JSON-able): SHA-256 of its canonical
    JSON together with the cache format, the powerfirst version and the code digest."""
    full = {"format": CACHE_FORMAT, "version": _version(), "code": code_digest(), **inputs}
    return hashlib.sha256(canonical_json(full).encode()).hexdigest()


def check_cache_folder(folder: str | Path, *, flag: str = "--cache-dir") -> None:
    """ConfigError when ``folder`` (or the nearest of its parents that exists) is there but is not a
    folder: the cache could then be neither read nor written, and every backtest would warn."""
    path = Path(folder).expanduser()
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            if not candidate.is_dir():
                where = "" if candidate == path else f" ({candidate} is not a folder)"
                raise ConfigError(
                    f"{flag} = {str(folder)!r}: exists and is not a folder{where}; the margin cache is a "
                    "folder of JSON entries: give a new or existing folder"
                )
            return


class MarginCache:
    """Entries under ``folder`` (see the module docstring). :attr:`hits` and :attr:`stored` count
    what this object read and wrote."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder).expanduser()
        self.hits = 0
        self.stored = 0
        self._foreign: set[str] = set()
        self._writable: bool | None = None

    def path(self, key: str) -> Path:
        return self.folder / f"margins-{key}.json"

    def _warn(self, text: str) -> None:
        warnings.warn(text, MarginCacheWarning, stacklevel=3)

    def _ours(self, path: Path) -> bool | None:
        """True: a regular file that starts like an entry powerfirst writes; False: something else
        is there; None: nothing is there."""
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return False
        with open(path, "rb") as handle:
            return handle.read(len(_PREFIX)) == _PREFIX

    def load(self, key: str) -> dict[str, Any] | None:
        """The cached result of ``key``; None when there is none or it cannot be trusted (warned)."""
        path = self.path(key)
        try:
            ours = self._ours(path)
            if ours is None:
                return None
            if not ours:
                self._foreign.add(key)
                self._warn(
                    f"margin cache: {path} is not an entry powerfirst wrote (a link, a folder or another "
                    "file); it is left as it is and the backtest runs without the cache"
                )
                return None
            data = json.loads(path.read_text(encoding="utf-8"))
            payload = data["payload"]
            if data.get("sha256") != hashlib.sha256(canonical_json(payload).encode()).hexdigest():
                raise ValueError("its digest does not match its content")
            if payload.get("key") != key:
                raise ValueError(f"it holds key {payload.get('key')!r}")
            result = payload["result"]
            if not isinstance(result, dict):
                raise ValueError("it holds no result")
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            self._warn(
                f"margin cache: {path} is corrupt ({exc}); the backtest is run again and the entry rewritten"
            )
            return None
        self.hits += 1
        return result

    def _ready(self) -> bool:
        """Create the folder (tagged) once; False, warned, when it cannot be written."""
        if self._writable is None:
            try:
                if not self.folder.is_dir():
                    self.folder.mkdir(parents=True, exist_ok=True)
                tag = self.folder / TAG_NAME
                if not os.path.lexists(tag):
                    replace_file(tag, lambda p: p.write_text(_TAG, encoding="utf-8"), overwrite=False)
                self._writable = os.access(self.folder, os.W_OK | os.X_OK)
                self._remove_stale_parts()
            except OSError as exc:
                self._writable = False
                self._warn(f"margin cache: cannot write in {self.folder} ({exc}); results are not cached")
        return self._writable

    def _remove_stale_parts(self) -> None:
        """Remove the temporary files of writes killed before their rename (``.margins-<key>.json.
        XXXXXXXX.part``, regular files older than :data:`STALE_PART_S`); a write under way is younger."""
        now = time.time()
        for path in self.folder.glob(".margins-*.json.*.part"):
            try:
                info = os.lstat(path)
                if (
                    _PART.fullmatch(path.name)
                    and stat.S_ISREG(info.st_mode)
                    and now - info.st_mtime > STALE_PART_S
                ):
                    path.unlink()
            except OSError:
                continue

    def store(self, key: str, inputs: Mapping[str, Any], result: Mapping[str, Any]) -> bool:
        """Write the entry of ``key`` atomically; False (warned) where a file powerfirst did not
        write is in the way or the folder cannot be written."""
        if key in self._foreign or not self._ready():
            return False
        path = self.path(key)
        if self._ours(path) is False:
            self._warn(f"margin cache: {path} is not an entry powerfirst wrote; it is not replaced")
            return False
        payload = {"key": key, "inputs": inputs, "result": result}
        text = json.dumps(
            {
                MARKER: CACHE_FORMAT,
                "sha256": hashlib.sha256(canonical_json(payload).encode()).hexdigest(),
                "payload": payload,
            },
            allow_nan=False,
        )
        assert text.encode().startswith(_PREFIX)
        try:
            replace_file(path, lambda p: p.write_text(text + "\n", encoding="utf-8"), overwrite=True)
        except OSError as exc:
            self._warn(f"margin cache: cannot write {path} ({exc}); the result is not cached")
            return False
        self.stored += 1
        return True

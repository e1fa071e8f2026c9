"""``powerfirst-run.json``: the list of what a run wrote, so a later run can tell its files from a user's.

A run folder holds its files and this manifest::

    {"powerfirst_run_manifest": 1, "complete": true, "version": "0.1.0",
     "command": ["powerfirst", "backtest", ...], "pid": 4242, "written_utc": "2026-12-02T05:20:00Z",
     "files": [{"path": "breakeven/summary.json", "size_bytes": 2660, "sha256": "…"}, ...]}

While a run is being staged the manifest has ``"complete": false`` and lists the paths it is about
to write, without sizes or digests, so the leftovers of a killed run can be recognised and removed.
Paths are relative, ``/``-separated, inside the folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = [
    "MANIFEST_NAME",
    "MANIFEST_PART",
    "Entry",
    "Manifest",
    "digest",
    "read_manifest",
    "real_file",
    "real_folder",
    "safe_path",
    "strays",
    "write_manifest",
]

MANIFEST_NAME = "powerfirst-run.json"
MANIFEST_PART = f".{MANIFEST_NAME}.part"
_FORMAT = 1


@dataclass(frozen=True)
class Entry:
    """One file a run wrote: relative path, size [bytes] and SHA-256 (None while staging)."""

    path: str
    size_bytes: int | None = None
    sha256: str | None = None


@dataclass
class Manifest:
    """What a run wrote (``complete``) or is writing (not yet ``complete``)."""

    files: list[Entry] = field(default_factory=list)
    complete: bool = False
    command: list[str] = field(default_factory=lambda: ["powerfirst", *sys.argv[1:]])
    version: str = ""
    pid: int = field(default_factory=os.getpid)
    written_utc: str = ""

    def matches(self, folder: Path, entry: Entry) -> bool:
        """Whether ``entry`` is in ``folder`` as this run wrote it: a regular file really inside
        ``folder`` (no symbolic link on its way), of the same size and digest."""
        info = real_file(folder, entry.path)
        if info is None:
            return False
        if entry.size_bytes is None or entry.sha256 is None:
            return True  # staging: listed before it was written
        return info.st_size == entry.size_bytes and digest(folder / entry.path) == entry.sha256


def _version() -> str:
    try:
        return metadata.version("powerfirst")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def real_folder(folder: Path, relative: str) -> bool:
    """Whether ``folder/relative`` is a folder reached without any symbolic link below ``folder``
    (each component checked with ``lstat``) and really inside ``folder`` (by its resolved path)."""
    path = folder
    for part in PurePosixPath(relative).parts:
        path = path / part
        try:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                return False
        except OSError:
            return False
    return _inside(folder, path)


def _inside(folder: Path, path: Path) -> bool:
    base = os.path.realpath(folder)
    return os.path.realpath(path).startswith(base.rstrip(os.sep) + os.sep)


def real_file(folder: Path, relative: str) -> os.stat_result | None:
    """The ``lstat`` of ``folder/relative`` when it is a regular file whose parent folders are real
    folders inside ``folder`` (no symbolic link anywhere on its way); None otherwise."""
    if safe_path(relative) is None:
        return None
    parent = PurePosixPath(relative).parent
    if str(parent) != "." and not real_folder(folder, str(parent)):
        return None
    path = folder / relative
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or not _inside(folder, path):
        return None
    return info


def digest(path: Path) -> str:
    """SHA-256 of a file's bytes, hex; a symbolic link is not followed (OSError)."""
    sha = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's data and metadata to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_manifest(folder: Path, manifest: Manifest) -> None:
    """Write ``folder/powerfirst-run.json`` atomically (temporary file, fsync, replace)."""
    manifest.version = manifest.version or _version()
    manifest.written_utc = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    data: dict[str, Any] = {
        "powerfirst_run_manifest": _FORMAT,
        "complete": manifest.complete,
        "version": manifest.version,
        "command": manifest.command,
        "pid": manifest.pid,
        "written_utc": manifest.written_utc,
        "files": [
            {"path": e.path}
            if e.sha256 is None
            else {"path": e.path, "size_bytes": e.size_bytes, "sha256": e.sha256}
            for e in manifest.files
        ],
    }
    part = folder / MANIFEST_PART
    part.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    fsync_path(part)
    os.replace(part, folder / MANIFEST_NAME)


def safe_path(text: object) -> str | None:
    if not isinstance(text, str) or not text:
        return None
    path = PurePosixPath(text)
    if path.is_absolute() or any(part in {"", ".", ".."} for part in path.parts) or str(path) != text:
        return None
    return text


def read_manifest(folder: Path) -> Manifest | None:
    """The manifest in ``folder``, or None when there is none or it is not one powerfirst wrote."""
    path = folder / MANIFEST_NAME
    if path.is_symlink() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("powerfirst_run_manifest") != _FORMAT:
        return None
    entries: list[Entry] = []
    for item in data.get("files", []):
        if not isinstance(item, dict) or safe_path(item.get("path")) is None:
            return None
        size, sha = item.get("size_bytes"), item.get("sha256")
        if (size is None) != (sha is None) or (size is not None and not isinstance(size, int)):
            return None
        entries.append(Entry(item["path"], size, sha if isinstance(sha, str) else None))
    command = data.get("command")
    return Manifest(
        files=entries,
        complete=data.get("complete") is True and all(e.sha256 is not None for e in entries),
        command=[str(c) for c in command] if isinstance(command, list) else [],
        version=str(data.get("version", "")),
        pid=int(data.get("pid", 0)) if isinstance(data.get("pid"), int) else 0,
        written_utc=str(data.get("written_utc", "")),
    )


def strays(folder: Path, manifest: Manifest | None) -> list[str]:
    """What in ``folder`` the manifest does not account for: unlisted files, links and folders, and
    listed files changed since (relative paths; folders end in ``/`` and are not looked into)."""
    listed = {e.path: e for e in manifest.files} if manifest is not None else {}
    parents = {str(p) for path in listed for p in PurePosixPath(path).parents if str(p) != "."}
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        base = Path(root).relative_to(folder).as_posix()

        def rel(name: str, base: str = base) -> str:
            return name if base == "." else f"{base}/{name}"

        keep: list[str] = []
        for name in sorted(dirs):
            if Path(root, name).is_symlink():
                found.append(f"{rel(name)} (a symbolic link)")
            elif rel(name) not in parents:
                found.append(rel(name) + "/")
            else:
                keep.append(name)
        dirs[:] = keep
        for name in sorted(files):
            path = rel(name)
            if manifest is not None and path in {MANIFEST_NAME, MANIFEST_PART}:
                continue
            entry = listed.get(path)
            if Path(root, name).is_symlink():
                found.append(f"{path} (a symbolic link)")
            elif entry is None or manifest is None:
                found.append(path)
            elif not manifest.matches(folder, entry):
                found.append(f"{path} (changed since powerfirst wrote it)")
    return found

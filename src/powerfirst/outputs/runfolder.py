"""Run folders that cannot lose data: a run writes only into a folder it owns, all files at once.

API::

    folder = RunFolder.claim(Path("out/x"), flag="--out")   # before any work; holds the lock
    try:
        paths = folder.write(writer)   # writer(file) writes each file at file("a/b.json")
    finally:
        folder.release()

:meth:`RunFolder.claim` accepts a folder that does not exist, an empty one, or one holding an
earlier powerfirst run (every file listed, unchanged, in its ``powerfirst-run.json``, see
:mod:`powerfirst.outputs.manifest`); anything else is refused, naming the stray files. It refuses
the current folder and its ancestors, takes the lock beside the folder (a second run fails at once
naming the first one's pid, or waits), and removes the leftovers of killed runs into it.

:meth:`RunFolder.write` builds the new run in ``.<name>.powerfirst-staging-XXXXXXXX`` beside the
folder (its manifest lists each file before it is written, so a killed run's staging folder can be
recognised), seals the manifest with sizes and SHA-256 digests, then swaps the two folders in one
step (``renameat2(RENAME_EXCHANGE)``): a reader sees the earlier complete run or the new complete
run, never a mix. The earlier run, now under the staging name, is removed file by file as its
manifest lists them (a file changed since is kept, and said). Where the exchange is not available
the folder is renamed to ``.<name>.powerfirst-old-XXXXXXXX`` and the staging folder into its place;
a run killed between the two renames leaves no folder, and the next run puts the old one back.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from powerfirst.errors import ConfigError
from powerfirst.interrupt import Interrupted, checkpoint, deferred
from powerfirst.outputs.lock import Lock
from powerfirst.outputs.manifest import (
    MANIFEST_NAME,
    MANIFEST_PART,
    Entry,
    Manifest,
    digest,
    fsync_path,
    read_manifest,
    real_file,
    real_folder,
    safe_path,
    strays,
    write_manifest,
)
from powerfirst.outputs.swap import exchange, rename_noreplace

__all__ = ["RunFolder", "remove_run"]

FileOpener = Callable[[str], Path]
_SHOWN = 6
_SYSTEM_FILES = {
    ".DS_Store": "macOS Finder",
    "Thumbs.db": "Windows Explorer",
    "desktop.ini": "Windows Explorer",
}
"""Files a file browser leaves in folders it shows (named in a refusal, never removed)."""


def _listing(items: list[str]) -> str:
    more = f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
    return ", ".join(items[:_SHOWN]) + more


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_MOUNTINFO = Path("/proc/self/mountinfo")
"""Linux's list of this process's mount points (the 5th field of each line, octal-escaped)."""


def _is_mount(path: Path) -> bool:
    """Whether ``path`` (resolved) is a mount point: another device than its parent, or listed in
    ``/proc/self/mountinfo`` (a bind mount of a folder of the same file system, as ``docker -v``)."""
    if os.path.ismount(path):
        return True
    try:
        lines = _MOUNTINFO.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return False
    escaped = re.compile(r"\\([0-7]{3})")
    points = {
        escaped.sub(lambda m: chr(int(m.group(1), 8)), line.split(" ")[4])
        for line in lines
        if line.count(" ") >= 4
    }
    return str(path) in points


def _leftover_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(name)}\.powerfirst-(staging|old)-[A-Za-z0-9_]+")


def _describe(folder: Path) -> list[str]:
    """What ``folder`` holds, as it really is: symbolic links are named as such, never followed."""
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        base = Path(root).relative_to(folder)
        for name in sorted(dirs + files):
            path = Path(root, name)
            rel = (base / name).as_posix()
            if path.is_symlink():
                found.append(f"{rel} (a symbolic link to {os.readlink(path)})")
            elif name in files:
                found.append(rel)
        dirs[:] = [d for d in dirs if not Path(root, d).is_symlink()]
    return found


def remove_run(folder: Path) -> list[str]:
    """Remove what ``folder``'s manifest lists, the manifest, then the folders left empty; returns
    what was kept, as notes (empty when the folder is gone).

    Only regular files are removed, and only where no symbolic link lies on their way and they
    resolve to a place inside ``folder`` (a sealed manifest's files also need their size and
    SHA-256 unchanged); links are never followed, so nothing outside ``folder`` is touched.
    """
    manifest = read_manifest(folder)
    if manifest is not None:
        for entry in manifest.files:
            if manifest.matches(folder, entry):  # a regular file really inside, as written
                (folder / entry.path).unlink()
                checkpoint("removing")
        parents = {p for e in manifest.files for p in PurePosixPath(e.path).parents if str(p) != "."}
        for parent in sorted(parents, key=lambda p: len(p.parts), reverse=True):
            if real_folder(folder, str(parent)):
                with contextlib.suppress(OSError):
                    (folder / parent).rmdir()
        for name in (MANIFEST_PART, MANIFEST_NAME):
            if real_file(folder, name) is not None:
                (folder / name).unlink()
    try:
        folder.rmdir()
    except FileNotFoundError:
        return []
    except OSError:
        rest = _describe(folder)
        return [
            f"kept {folder}: it holds {_listing(rest or ['empty folders'])}, which powerfirst did not write"
        ]
    return []


class RunFolder:
    """A run's output folder, claimed (locked and checked) before any work; see the module doc."""

    def __init__(self, shown: Path, target: Path, flag: str, lock: Lock) -> None:
        self.shown = shown  #: the folder as the user named it
        self.target = target  #: the same, resolved
        self.flag = flag
        self.cleaned: list[str] = []  #: what the claim did beyond checking: killed runs' leftovers
        self.notes: list[str] = []  #: what writing kept that it could not remove (files changed since)
        self.previous: Manifest | None = None
        self.existed = target.exists()
        self.state = "claimed"  # then "committed"
        self._lock = lock

    # -- claiming -------------------------------------------------------------------------------

    @classmethod
    def claim(cls, target: Path, *, flag: str = "--out", wait: bool = False) -> RunFolder:
        """Check ``target`` can take this run, lock it and clean up after killed runs.

        Raises ConfigError (naming ``flag``) for the current folder, a file, an unwritable place, a
        folder holding files no earlier powerfirst run wrote, or a folder another run holds.
        """
        resolved = cls._resolve(target, flag)
        try:
            resolved.parent.mkdir(parents=True, exist_ok=True)
            lock = Lock(resolved, flag)
            lock.acquire(wait=wait)
        except OSError as exc:
            raise ConfigError(
                f"{flag} = {str(target)!r}: cannot write there ({exc.strerror or exc})"
            ) from None
        folder = cls(target, resolved, flag, lock)
        try:
            folder.cleaned = folder._clean_leftovers()
            folder._check_owned()
            checkpoint("claimed")
        except BaseException:
            folder.release()
            raise
        return folder

    @staticmethod
    def _resolve(target: Path, flag: str) -> Path:
        text = str(target)
        if text in {"", "."}:
            raise ConfigError(
                f"{flag} = {text!r} (or empty, read as '.') is the current folder: a run writes into a folder of its own, new or "
                f"holding an earlier run; give one, e.g. {flag} out/run1"
            )
        if target.is_symlink():
            raise ConfigError(f"{flag} = {text!r} is a symbolic link; give the folder itself")
        resolved = target.resolve()
        cwd = Path.cwd().resolve()
        if resolved == cwd or resolved in cwd.parents:
            raise ConfigError(
                f"{flag} = {text!r} is the current folder or holds it: a run writes into a folder of its "
                f"own; give a new one, e.g. {flag} out/run1"
            )
        if resolved.exists() and not resolved.is_dir():
            raise ConfigError(f"{flag} = {text!r}: exists and is not a folder")
        if resolved.is_dir() and _is_mount(resolved):
            raise ConfigError(
                f"{flag} = {text!r} is a mount point (a mounted volume): a run is built beside its folder "
                "and swapped into place, and a mount point cannot be swapped; give a folder inside it, "
                f"e.g. {flag} {str(target).rstrip('/') or '/'}/run1"
            )
        ancestor = resolved.parent
        while not ancestor.exists():
            ancestor = ancestor.parent
        if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
            raise ConfigError(f"{flag} = {text!r}: cannot write in {str(ancestor)!r}")
        return resolved

    def _leftovers(self) -> list[Path]:
        pattern = _leftover_pattern(self.target.name)
        return sorted(
            p
            for p in self.target.parent.iterdir()
            if pattern.fullmatch(p.name) and p.is_dir() and not p.is_symlink()
        )

    def _clean_leftovers(self) -> list[str]:
        """Put back a folder moved aside by a run killed mid-swap, then remove killed runs' folders."""
        notes: list[str] = []
        leftovers = self._leftovers()
        if not self.target.exists():
            olds = [(m, p) for p in leftovers if "-old-" in p.name and (m := read_manifest(p)) and m.complete]
            if olds:
                _, old = max(olds, key=lambda item: item[0].written_utc)
                rename_noreplace(old, self.target)
                leftovers.remove(old)
                notes.append(
                    f"put back the earlier run of {self.shown}, moved aside by a run killed mid-swap"
                )
        for path in leftovers:
            manifest = read_manifest(path)
            found = strays(path, manifest) if manifest is not None else _describe(path)
            if found:
                why = (
                    f"its {MANIFEST_NAME} does not list as a run wrote them"
                    if manifest is not None
                    else f"there is no {MANIFEST_NAME}"
                )
                notes.append(
                    f"kept {path} (named like a killed run's folder): it holds {_listing(found)}, which "
                    f"powerfirst did not write ({why}); it removes only what it wrote: look at it and "
                    "remove it yourself"
                )
                continue
            kept = remove_run(path)
            notes += kept or [f"removed {path.name}, left by a killed run"]
        return notes

    def _check_owned(self) -> None:
        self.existed = self.target.exists()
        if not self.existed:
            return
        manifest = read_manifest(self.target)
        self.previous = manifest if manifest is not None and manifest.complete else None
        found = strays(self.target, self.previous)
        if found:
            raise ConfigError(self._stray_message(found))
        if self.previous is not None and not os.access(self.target, os.W_OK | os.X_OK):
            raise ConfigError(f"{self.flag} = {str(self.shown)!r}: cannot write in it")

    def _stray_message(self, found: list[str]) -> str:
        why = (
            f"files its {MANIFEST_NAME} does not list as the earlier run wrote them"
            if self.previous is not None
            else f"files powerfirst did not write (no {MANIFEST_NAME})"
        )
        system = sorted({n for f in found if (n := PurePosixPath(f.split(" (")[0]).name) in _SYSTEM_FILES})
        hint = (
            f" ({', '.join(system)}: written by the file browser ({', '.join(_SYSTEM_FILES[n] for n in system)}), "
            "not by powerfirst; delete it if that is all there is)"
            if system
            else ""
        )
        return (
            f"{self.flag} = {str(self.shown)!r} holds {why}: {_listing(found)}{hint}; a run writes only into a "
            "new or empty folder or one holding an earlier powerfirst run, and never deletes what it did not "
            "write: move those away or choose another folder"
        )

    # -- writing --------------------------------------------------------------------------------

    def write(self, writer: Callable[[FileOpener], None]) -> dict[str, Path]:
        """Build the run with ``writer`` and swap it in whole; returns each file's path by name.

        ``writer`` receives ``file(name)``: it lists ``name`` (relative, ``/``-separated) in the
        staging manifest and returns the path to write it at. On any failure or signal before the
        swap the staging folder is removed and the folder is as it was.
        """
        if self.state != "claimed":
            raise RuntimeError("a RunFolder writes one run")
        staging = Path(
            tempfile.mkdtemp(prefix=f".{self.target.name}.powerfirst-staging-", dir=self.target.parent)
        )
        manifest = Manifest()
        try:
            self._set_mode(staging)
            write_manifest(staging, manifest)
            checkpoint("staging")
            writer(lambda name: self._add(staging, manifest, name))
            self._seal(staging, manifest)
            checkpoint("staged")
            with deferred():
                if self.target.exists():
                    found = strays(self.target, self.previous)
                    if found:
                        raise ConfigError(self._stray_message(found) + " (they appeared during the run)")
                self._swap(staging)
        except BaseException:
            if self.state != "committed":
                with deferred():
                    self.notes += remove_run(staging)
            raise
        written = [e.path for e in manifest.files] + [MANIFEST_NAME]
        return {name: self.shown / name for name in written}

    def _set_mode(self, staging: Path) -> None:
        """Give the staging folder the mode (and group, where permitted) of the folder it replaces, or,
        for a new folder, the mode ``mkdir`` would give it (the umask); mkdtemp makes it private."""
        try:
            existing = os.stat(self.target)
        except FileNotFoundError:
            os.chmod(staging, 0o777 & ~_umask())
            return
        if existing.st_gid != os.stat(staging).st_gid:
            with contextlib.suppress(OSError):  # only the owner's groups (or root) may set it
                os.chown(staging, -1, existing.st_gid)
        os.chmod(staging, stat.S_IMODE(existing.st_mode))  # after chown, which may clear setgid

    @staticmethod
    def _add(staging: Path, manifest: Manifest, name: str) -> Path:
        if safe_path(name) is None or name in {MANIFEST_NAME, MANIFEST_PART}:
            raise ValueError(f"not a file name a run may write: {name!r}")
        if any(e.path == name for e in manifest.files):
            raise ValueError(f"{name!r} written twice")
        if manifest.files:
            checkpoint("writing")  # at least one file is on disk
        manifest.files.append(Entry(name))
        write_manifest(staging, manifest)
        path = staging / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    @staticmethod
    def _seal(staging: Path, manifest: Manifest) -> None:
        entries = []
        for entry in manifest.files:
            path = staging / entry.path
            if path.is_symlink() or not path.is_file():
                raise RuntimeError(f"{entry.path} was listed but not written")
            fsync_path(path)
            entries.append(Entry(entry.path, path.stat().st_size, digest(path)))
        manifest.files = entries
        manifest.complete = True
        write_manifest(staging, manifest)
        for folder in {staging / p for e in entries for p in PurePosixPath(e.path).parents}:
            fsync_path(folder)

    def _swap(self, staging: Path) -> None:
        """Put the staged run in place in one step; then remove the earlier run."""
        old: Path | None = staging
        if not self.target.exists():
            rename_noreplace(staging, self.target)
            old = None
        elif not exchange(staging, self.target):
            old = staging.with_name(staging.name.replace("-staging-", "-old-"))
            os.rename(self.target, old)
            checkpoint("moved-aside")
            try:
                os.rename(staging, self.target)
            except BaseException:
                os.rename(old, self.target)
                raise
        self.state = "committed"
        try:
            fsync_path(self.target.parent)
            checkpoint("swapped")
            if old is not None:
                self.notes += remove_run(old)
        except OSError as exc:
            self.notes.append(
                f"{self.shown} holds the new run, but the earlier one could not be removed from {old} "
                f"({exc.strerror or exc}); the next run into {self.shown} removes it"
            )

    # -- ending ---------------------------------------------------------------------------------

    def kept(self) -> str:
        """One line: what the folder holds now (for the line printed when a signal ends the run)."""
        if self.state == "committed":
            return f"{self.shown} holds this run's complete results"
        if self.previous is not None:
            return f"{self.shown} still holds the earlier run, untouched"
        if self.existed:
            return f"nothing was written; {self.shown} is as it was"
        return f"nothing was written ({self.shown} was not created)"

    def release(self) -> None:
        """Free the lock. Called while a signal's :class:`Interrupted` propagates, it says what was kept."""
        exc = sys.exception()
        if isinstance(exc, Interrupted) and exc.kept is None:
            exc.kept = self.kept()
        self._lock.release()

"""Run folders and single output files against hostile or unusual places: symbolic links planted in
a killed run's leftover or at the lock file's name, mount points, folders with their own mode and
group, dangling links. Nothing outside the run folder is ever touched. In process, no solve."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from powerfirst.errors import ConfigError
from powerfirst.outputs import OutputFile, RunFolder
from powerfirst.outputs.manifest import Entry, Manifest, digest, write_manifest
from powerfirst.outputs.runfolder import remove_run


def _thesis(tmp_path: Path) -> Path:
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("precious", encoding="utf-8")
    return thesis


def test_a_leftover_with_a_symlinked_folder_never_deletes_outside(tmp_path: Path) -> None:
    thesis = _thesis(tmp_path)
    leftover = tmp_path / ".run2.powerfirst-staging-abc123"
    leftover.mkdir()
    (leftover / "sub").symlink_to(thesis)
    manifest = {"powerfirst_run_manifest": 1, "complete": False, "files": [{"path": "sub/chapter1.tex"}]}
    (leftover / "powerfirst-run.json").write_text(json.dumps(manifest), encoding="utf-8")
    folder = RunFolder.claim(tmp_path / "run2")
    folder.release()
    assert (thesis / "chapter1.tex").read_text(encoding="utf-8") == "precious"
    assert (leftover / "sub").is_symlink()
    assert len(folder.cleaned) == 1 and "sub (a symbolic link" in folder.cleaned[0]
    assert "empty folders" not in folder.cleaned[0]


@pytest.mark.parametrize("complete", [False, True])
def test_removing_a_run_never_follows_a_symlinked_folder(tmp_path: Path, complete: bool) -> None:
    thesis = _thesis(tmp_path)
    run = tmp_path / ".run2.powerfirst-old-abc123"
    (run / "real").mkdir(parents=True)
    (run / "real" / "ours.json").write_text("{}", encoding="utf-8")
    (run / "sub").symlink_to(thesis)
    paths = ["real/ours.json", "sub/chapter1.tex"]
    entries = [Entry(p, (run / p).stat().st_size, digest(run / p)) if complete else Entry(p) for p in paths]
    write_manifest(run, Manifest(files=entries, complete=complete))
    notes = remove_run(run)
    assert (thesis / "chapter1.tex").read_text(encoding="utf-8") == "precious"
    assert not (run / "real").exists()  # what is really inside was removed
    assert len(notes) == 1 and "sub (a symbolic link to" in notes[0]


def test_a_symlink_at_the_lock_name_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("precious notes", encoding="utf-8")
    for target in (tmp_path / "runz", tmp_path / "prices.csv"):
        link = tmp_path / f".{target.name}.powerfirst-lock"
        link.symlink_to(notes)
        with pytest.raises(ConfigError, match="is a symbolic link"):
            if target.suffix:
                OutputFile.claim(target).release()
            else:
                RunFolder.claim(target).release()
        assert notes.read_text(encoding="utf-8") == "precious notes"
        assert link.is_symlink()


def test_a_folder_at_the_lock_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".runz.powerfirst-lock").mkdir()
    with pytest.raises(ConfigError, match="not a regular file"):
        RunFolder.claim(tmp_path / "runz").release()


def test_a_mount_point_is_refused_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mount = tmp_path / "mnt"
    mount.mkdir()
    real = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == mount or real(p))
    with pytest.raises(
        ConfigError, match=r"is a mount point .* give a folder inside it, e\.g\. --out .*mnt/run1"
    ):
        RunFolder.claim(mount)


@pytest.mark.parametrize("mode", [0o700, 0o2770, 0o750])
def test_a_rerun_keeps_the_folders_mode_and_group(tmp_path: Path, mode: int) -> None:
    out = tmp_path / "out"
    out.mkdir()
    os.chmod(out, mode)
    groups = [g for g in os.getgroups() if g != out.stat().st_gid]
    if groups:
        try:
            os.chown(out, -1, groups[0])
        except OSError:
            groups = []
    gid = out.stat().st_gid
    for _ in range(2):  # an empty folder, then an earlier run
        folder = RunFolder.claim(out)
        try:
            folder.write(lambda file: file("a.json").write_text("{}", encoding="utf-8"))
        finally:
            folder.release()
        assert stat.S_IMODE(out.stat().st_mode) == mode
        assert out.stat().st_gid == gid


def test_a_new_folder_follows_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        folder = RunFolder.claim(tmp_path / "new")
        try:
            folder.write(lambda file: file("a.json").write_text("{}", encoding="utf-8"))
        finally:
            folder.release()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o750


def test_single_files_follow_the_umask_or_keep_their_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        target = tmp_path / "plain.csv"
        first = OutputFile.claim(target)
        try:
            first.write(lambda p: p.write_text("a\n", encoding="utf-8"))
        finally:
            first.release()
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
        os.chmod(target, 0o640)
        claimed = OutputFile.claim(target, overwrite=True)
        try:
            claimed.write(lambda p: p.write_text("b\n", encoding="utf-8"))
        finally:
            claimed.release()
        assert stat.S_IMODE(target.stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_a_dangling_symlink_is_not_replaced_without_overwrite(tmp_path: Path) -> None:
    link = tmp_path / "lnk.csv"
    link.symlink_to(tmp_path / "thesis" / "x.csv")
    with pytest.raises(ConfigError, match="is a symbolic link; pass --overwrite"):
        OutputFile.claim(link)
    assert link.is_symlink()


def test_a_finder_file_in_an_earlier_run_is_named_with_a_hint_and_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    folder = RunFolder.claim(out)
    try:
        folder.write(lambda file: file("a.json").write_text("{}", encoding="utf-8"))
    finally:
        folder.release()
    (out / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    with pytest.raises(ConfigError, match=r"\.DS_Store: written by the file browser \(macOS Finder\)"):
        RunFolder.claim(out)
    assert (out / ".DS_Store").is_file() and (out / "a.json").is_file()


def test_a_bind_mount_listed_in_mountinfo_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import powerfirst.outputs.runfolder as runfolder

    mount = tmp_path / "my results"
    mount.mkdir()
    listed = str(mount.resolve()).replace(" ", "\\040")
    info = tmp_path / "mountinfo"
    info.write_text(
        f"36 35 98:0 /results {listed} rw,noatime master:1 - ext3 /dev/root rw\n", encoding="utf-8"
    )
    monkeypatch.setattr(runfolder, "_MOUNTINFO", info)
    with pytest.raises(ConfigError, match="is a mount point"):
        RunFolder.claim(mount)
    assert RunFolder.claim(tmp_path / "other").release() is None

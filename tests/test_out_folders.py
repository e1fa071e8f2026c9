"""``--out`` never loses a user's file: a run writes only into a folder it owns (new, empty or an
earlier powerfirst run listed in its powerfirst-run.json), refuses anything else naming the strays,
and replaces an earlier run whole. In process (Typer's CliRunner), one-day windows."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from powerfirst.cli.app import app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SITE = str(EXAMPLES / "west-texas-fixed-block.yaml")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _backtest(out: str | Path, day: str = "2023-08-01", *strategies: str) -> Result:
    args = ["backtest", SITE, "--start", day, "--end", day, "--out", str(out)]
    for name in strategies or ("breakeven",):
        args += ["--strategy", name]
    return CliRunner().invoke(app, args)


def _said(result: Result) -> str:
    return " ".join(ANSI.sub("", result.output).split())


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _fake_strategy_folder(folder: Path) -> None:
    """What the old rule took for a strategy folder of an earlier run: summary.json + intervals.parquet."""
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text("{}", encoding="utf-8")
    (folder / "intervals.parquet").write_bytes(b"PAR1")


def test_a_user_folder_with_strategy_like_files_is_never_deleted(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _fake_strategy_folder(out / "thesis")
    (out / "thesis" / "chapter1.tex").write_text("\\chapter{One}", encoding="utf-8")
    before = _files(out)
    result = _backtest(out)
    assert result.exit_code == 2, result.output
    said = _said(result)
    assert "--out = " in said and "powerfirst did not write" in said and "thesis/" in said
    assert _files(out) == before


def test_a_user_file_in_an_earlier_runs_strategy_folder_is_never_deleted(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _backtest(out, "2023-08-01", "perfect").exit_code == 0
    notes = out / "perfect" / "mynotes.txt"
    notes.write_text("my notes", encoding="utf-8")
    before = _files(out)
    result = _backtest(out, "2023-08-02", "breakeven")  # the old rule removed perfect/ whole
    assert result.exit_code == 2, result.output
    assert "perfect/mynotes.txt" in _said(result)
    assert _files(out) == before


def test_a_user_folder_beside_an_earlier_run_is_named_and_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _backtest(out).exit_code == 0
    _fake_strategy_folder(out / "thesis")
    before = _files(out)
    result = _backtest(out, "2023-08-02")
    assert result.exit_code == 2
    assert "does not list" in _said(result) and "thesis/" in _said(result)
    assert _files(out) == before


def test_a_changed_file_of_an_earlier_run_is_named_and_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _backtest(out).exit_code == 0
    with (out / "comparison.json").open("a", encoding="utf-8") as handle:
        handle.write("\n")  # the user edited it
    before = _files(out)
    result = _backtest(out, "2023-08-02")
    assert result.exit_code == 2
    assert "comparison.json (changed since powerfirst wrote it)" in _said(result)
    assert _files(out) == before


@pytest.mark.parametrize("value", ["", ".", "..", "{cwd}"])
def test_the_current_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    work = tmp_path / "work"
    _fake_strategy_folder(work / "thesis")
    (work / "thesis" / "chapter1.tex").write_text("text", encoding="utf-8")
    monkeypatch.chdir(work)
    before = _files(tmp_path)
    result = _backtest(value.format(cwd=work))
    assert result.exit_code == 2, result.output
    assert "is the current folder" in _said(result)
    if value == "":
        assert "(or empty, read as '.')" in _said(result)
    assert _files(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_a_rerun_replaces_the_earlier_run_whole_and_lists_what_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _backtest(out, "2023-08-01", "perfect", "breakeven").exit_code == 0
    result = _backtest(out, "2023-08-02", "always-on")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "powerfirst-run.json").read_text(encoding="utf-8"))
    listed = {entry["path"] for entry in manifest["files"]}
    assert listed == {
        "always-on/summary.json",
        "always-on/intervals.parquet",
        "comparison.json",
        "report.html",
    }
    assert set(_files(out)) == listed | {"powerfirst-run.json"}
    assert manifest["complete"] is True and manifest["command"][0] == "powerfirst"
    assert manifest["version"] and manifest["written_utc"].endswith("Z")
    for entry in manifest["files"]:
        assert (out / entry["path"]).stat().st_size == entry["size_bytes"]
    # nothing beside it: no staging folder, no lock file
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_an_empty_folder_is_taken(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert _backtest(out).exit_code == 0
    assert (out / "breakeven" / "summary.json").is_file()


def test_a_second_run_into_a_held_folder_fails_at_once_naming_the_first(tmp_path: Path) -> None:
    from powerfirst.outputs import RunFolder

    out = tmp_path / "out"
    assert _backtest(out).exit_code == 0
    before = _files(out)
    holder = RunFolder.claim(out)
    try:
        result = _backtest(out, "2023-08-02")
    finally:
        holder.release()
    assert result.exit_code == 2
    assert f"another powerfirst run (pid {os.getpid()}) is writing it now" in _said(result)
    assert "--wait-for-lock" in _said(result)
    assert _files(out) == before


@pytest.mark.parametrize("command", [["forecast", "evaluate"], ["fourcp", "evaluate"]])
def test_json_outputs_are_not_overwritten_without_overwrite(tmp_path: Path, command: list[str]) -> None:
    thesis = tmp_path / "thesis.tex"
    thesis.write_text("\\chapter{One}", encoding="utf-8")
    result = CliRunner().invoke(app, [*command, "--out", str(thesis)])
    assert result.exit_code == 2, result.output
    assert "already exists; pass --overwrite" in _said(result)
    assert thesis.read_text(encoding="utf-8") == "\\chapter{One}"


def test_a_killed_runs_leftover_holding_a_user_file_is_kept_and_said(tmp_path: Path) -> None:
    from powerfirst.outputs import RunFolder
    from powerfirst.outputs.manifest import Entry, Manifest, digest, write_manifest

    out = tmp_path / "out"
    leftover = tmp_path / ".out.powerfirst-staging-abcd1234"
    (leftover / "breakeven").mkdir(parents=True)
    ours = leftover / "breakeven" / "summary.json"
    ours.write_text("{}", encoding="utf-8")
    edited = leftover / "comparison.json"
    edited.write_text("{}", encoding="utf-8")
    listed = [
        Entry(p, (leftover / p).stat().st_size, digest(leftover / p))
        for p in ("breakeven/summary.json", "comparison.json")
    ]
    write_manifest(leftover, Manifest(files=listed, complete=True))
    edited.write_text('{"edited": true}', encoding="utf-8")  # changed since
    (leftover / "mine.txt").write_text("mine", encoding="utf-8")
    folder = RunFolder.claim(out)
    folder.release()
    # a leftover gets the target's stray check: with a file its manifest does not account for, it is
    # kept whole (even the files powerfirst wrote), and the note names what is there
    assert ours.is_file()
    assert edited.read_text(encoding="utf-8") == '{"edited": true}'
    assert (leftover / "mine.txt").read_text(encoding="utf-8") == "mine"
    assert (
        len(folder.cleaned) == 1
        and "comparison.json" in folder.cleaned[0]
        and "mine.txt" in folder.cleaned[0]
    )


def test_a_name_like_a_leftover_without_a_manifest_is_kept(tmp_path: Path) -> None:
    from powerfirst.outputs import RunFolder

    lookalike = tmp_path / ".out.powerfirst-staging-abcd1234"
    lookalike.mkdir()
    (lookalike / "data.csv").write_text("a,b\n", encoding="utf-8")
    folder = RunFolder.claim(tmp_path / "out")
    folder.release()
    assert (lookalike / "data.csv").is_file()
    assert "data.csv" in folder.cleaned[0] and "did not write" in folder.cleaned[0]


def test_single_files_are_locked_and_partial_files_of_killed_runs_removed(tmp_path: Path) -> None:
    from powerfirst.errors import ConfigError
    from powerfirst.outputs import OutputFile

    target = tmp_path / "rt.csv.gz"
    partial = tmp_path / ".rt.csv.gz.k3j2h1x9.part"
    partial.write_bytes(b"half")
    unrelated = tmp_path / ".rt.csv.gz.notes.txt"
    unrelated.write_text("mine", encoding="utf-8")
    first = OutputFile.claim(target, flag="--out")
    try:
        assert not partial.exists() and unrelated.is_file()
        with pytest.raises(ConfigError, match=rf"another powerfirst run \(pid {os.getpid()}\)"):
            OutputFile.claim(target, flag="--out")
        first.write(lambda path: path.write_text("a\n", encoding="utf-8"))
    finally:
        first.release()
    assert target.read_text(encoding="utf-8") == "a\n"
    with pytest.raises(ConfigError, match="already exists; pass --overwrite"):
        OutputFile.claim(target, flag="--out")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".rt.csv.gz.notes.txt", "rt.csv.gz"]

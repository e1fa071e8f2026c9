"""Signals and concurrent runs against ``--out``: killed at each step of the write path (SIGKILL,
SIGTERM, SIGINT), the folder holds the earlier complete run or the new complete run, never a mix;
SIGINT/SIGTERM end with one line saying which (exit 130/143) and leave nothing behind; the next run
removes a killed run's leftovers. Real processes (``python -m powerfirst``), one-day windows.

The step a run is killed at is chosen with ``POWERFIRST_FAULT_AT=step:SIGNAL``: the run signals
itself there (see ``powerfirst.interrupt.checkpoint``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from powerfirst.cli.app import app
from powerfirst.interrupt import FAULT_ENV
from powerfirst.outputs import RunFolder
from powerfirst.outputs.manifest import read_manifest, strays

ROOT = Path(__file__).resolve().parents[1]
SITE = str(ROOT / "examples" / "west-texas-fixed-block.yaml")
OLD_DAY, NEW_DAY = "2023-08-01", "2023-08-02"
EXIT = {"SIGKILL": -signal.SIGKILL, "SIGTERM": 128 + signal.SIGTERM, "SIGINT": 128 + signal.SIGINT}
# each step of the write path, and which run the folder holds if the process dies there
STEPS = {
    "claimed": OLD_DAY,  # lock held, folder checked, before any work
    "staging": OLD_DAY,  # staging folder and its manifest made
    "writing": OLD_DAY,  # some files written into the staging folder
    "staged": OLD_DAY,  # every file written, manifest sealed, before the swap
    "swapped": NEW_DAY,  # folders swapped, the earlier run not yet removed
    "removing": NEW_DAY,  # part of the earlier run removed
}


def _env(fault: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    if fault:
        env[FAULT_ENV] = fault
    return env


def _args(out: Path, day: str, *extra: str) -> list[str]:
    return [
        "backtest",
        SITE,
        "--start",
        day,
        "--end",
        day,
        "--strategy",
        "breakeven",
        "--out",
        str(out),
        *extra,
    ]


def _run(out: Path, day: str, fault: str | None = None, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "powerfirst", *_args(out, day, *extra)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(fault),
        cwd=out.parent,
        check=False,
    )


def complete_run_day(out: Path) -> str:
    """The day of the complete run ``out`` holds; fails unless every file is listed, unchanged, and
    summary, intervals and comparison are all of that one day."""
    manifest = read_manifest(out)
    assert manifest is not None and manifest.complete
    assert strays(out, manifest) == []
    assert {e.path for e in manifest.files} == {
        "breakeven/summary.json",
        "breakeven/intervals.parquet",
        "comparison.json",
        "report.html",
    }
    summary = json.loads((out / "breakeven" / "summary.json").read_text(encoding="utf-8"))
    compared = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    first = pd.read_parquet(out / "breakeven" / "intervals.parquet").index[0]
    day = str(summary["window"]["start_local"])[:10]
    assert compared["window"]["start_local"][:10] == day
    assert first.tz_convert("America/Chicago").strftime("%Y-%m-%d") == day
    return day


def _beside(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name != "out")


@pytest.fixture(scope="module")
def old_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("template") / "out"
    result = CliRunner().invoke(app, _args(out, OLD_DAY))
    assert result.exit_code == 0, result.output
    assert complete_run_day(out) == OLD_DAY
    return out


@pytest.fixture
def out(old_run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "out"
    shutil.copytree(old_run, target)
    return target


@pytest.mark.parametrize("name", list(EXIT))
@pytest.mark.parametrize("step", list(STEPS))
def test_a_signal_at_any_step_leaves_one_complete_run(out: Path, step: str, name: str) -> None:
    result = _run(out, NEW_DAY, f"{step}:{name}")
    assert result.returncode == EXIT[name], result.stderr
    assert complete_run_day(out) == STEPS[step]
    if name == "SIGKILL":
        # a killed run cannot clean up: its lock file, staging or old folder stay until the next run
        assert _beside(out), "the kill left nothing to clean: the step was not reached"
    else:
        lines = result.stderr.strip().splitlines()
        kept = "still holds the earlier run, untouched" if STEPS[step] == OLD_DAY else "complete results"
        assert len(lines) == 1 and lines[0].startswith(f"interrupted ({name}): "), result.stderr
        assert kept in lines[0] and str(out.name) in lines[0]
        assert _beside(out) == []  # its own staging folder and lock removed
    folder = RunFolder.claim(out)  # the next run
    folder.release()
    assert _beside(out) == []
    assert complete_run_day(out) == STEPS[step]
    if name == "SIGKILL" and step != "claimed":
        assert any("left by a killed run" in note for note in folder.cleaned)


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_a_signal_during_start_up_says_nothing_was_written(out: Path, name: str) -> None:
    result = _run(out, NEW_DAY, f"startup:{name}")
    assert result.returncode == EXIT[name]
    assert result.stderr.strip() == f"interrupted ({name}): nothing was written"
    assert complete_run_day(out) == OLD_DAY


def _handlers_installed(pid: int) -> bool:
    """Whether the process catches SIGTERM (Python alone does not: our handlers are in)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return False
    mask = next(int(line.split()[1], 16) for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(mask >> (signal.SIGTERM - 1) & 1)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_a_real_signal_while_the_cli_is_imported_ends_with_one_line(tmp_path: Path, name: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "powerfirst", *_args(tmp_path / "out", NEW_DAY)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 30
    while not _handlers_installed(process.pid) and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.Signals[name])  # pandas, highspy … are still being imported
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == EXIT[name], stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith(f"interrupted ({name}): nothing was written")
    assert not (tmp_path / "out").exists()


def test_two_runs_into_one_folder_one_fails_clearly_one_complete_run_remains(out: Path) -> None:
    first = subprocess.Popen(
        [sys.executable, "-m", "powerfirst", *_args(out, NEW_DAY)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env("claimed:SIGSTOP"),  # holds the folder, then stops until continued
        cwd=out.parent,
    )
    try:
        _, status = os.waitpid(first.pid, os.WUNTRACED)
        assert os.WIFSTOPPED(status)
        second = _run(out, "2023-08-03")
        assert second.returncode == 2
        message = " ".join(second.stderr.split())
        assert f"another powerfirst run (pid {first.pid}) is writing it now" in message
        assert complete_run_day(out) == OLD_DAY
        waiting = subprocess.Popen(
            [sys.executable, "-m", "powerfirst", *_args(out, "2023-08-03", "--wait-for-lock")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            cwd=out.parent,
        )
    finally:
        first.send_signal(signal.SIGCONT)
        first_err = first.communicate(timeout=60)[1]
    assert first.returncode == 0, first_err
    waiting_err = waiting.communicate(timeout=60)[1]
    assert waiting.returncode == 0, waiting_err
    assert complete_run_day(out) == "2023-08-03"
    assert _beside(out) == []


FALLBACK = (
    "import sys; import powerfirst.outputs.runfolder as r; r.exchange = lambda a, b: False; "
    "from powerfirst.cli.entry import main; main()"
)


@pytest.mark.parametrize(("fault", "code", "day"), [(None, 0, NEW_DAY), ("moved-aside:SIGKILL", -9, None)])
def test_without_an_atomic_exchange_two_renames_and_recovery(
    out: Path, fault: str | None, code: int, day: str | None
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", FALLBACK, *_args(out, NEW_DAY)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(fault),
        cwd=out.parent,
        check=False,
    )
    assert result.returncode == code, result.stderr
    if day is None:
        assert not out.exists()  # killed between the two renames
        assert any("-old-" in name for name in _beside(out))
    else:
        assert complete_run_day(out) == day
    folder = RunFolder.claim(out)  # the next run puts the earlier run back
    folder.release()
    assert complete_run_day(out) == (day or OLD_DAY)
    assert _beside(out) == []
    if day is None:
        assert any("put back the earlier run" in note for note in folder.cleaned)


def test_the_console_script_installs_the_handlers_before_the_heavy_cli() -> None:
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["powerfirst"] == "powerfirst.__main__:main"
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, powerfirst.__main__ as m; m.main; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
        check=True,
    )
    loaded = probe.stdout
    assert "'powerfirst.interrupt'" in loaded
    for heavy in ("'pandas'", "'numpy'", "'highspy'", "'typer'", "'powerfirst.cli.app'"):
        assert heavy not in loaded

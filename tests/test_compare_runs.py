"""scripts/compare-runs.py: the check that a restructuring changed no result finds every difference."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "compare-runs.py"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("compare_runs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SUMMARY: dict[str, Any] = {
    "strategy": "breakeven",
    "net_margin_usd": 1_234_567.891,
    "revenue_usd": {"mining": 2.5e6, "ancillary": 0.0},
    "solve_seconds": 1.5,
    "peaks": [{"month": 6, "load_mw": 10.0}],
}


def _write(folder: Path, summary: dict[str, Any]) -> Path:
    (folder / "breakeven").mkdir(parents=True)
    (folder / "breakeven" / "summary.json").write_text(json.dumps(summary))
    (folder / "comparison.json").write_text(json.dumps({"strategies": {"breakeven": {"value": 1.0}}}))
    (folder / "powerfirst-run.json").write_text(json.dumps({"pid": 1}))
    return folder


def test_identical_runs_and_noise_and_timings_pass(tmp_path: Path) -> None:
    before = _write(tmp_path / "a", SUMMARY)
    noisy = json.loads(json.dumps(SUMMARY))
    noisy["net_margin_usd"] *= 1 + 1e-12
    noisy["solve_seconds"] = 99.0
    after = _write(tmp_path / "b", noisy)
    assert _module().compare(before, after, 1e-9) == []
    run = subprocess.run(
        [sys.executable, str(SCRIPT), str(before), str(after)], capture_output=True, text=True
    )
    assert run.returncode == 0
    assert "2 JSON files compared: identical" in run.stdout


def test_every_kind_of_difference_is_named(tmp_path: Path) -> None:
    before = _write(tmp_path / "a", SUMMARY)
    changed = json.loads(json.dumps(SUMMARY))
    changed["net_margin_usd"] += 0.01
    changed["revenue_usd"]["heat"] = 0.0
    del changed["revenue_usd"]["ancillary"]
    changed["peaks"][0]["month"] = 7
    changed["strategy"] = "rule-based"
    after = _write(tmp_path / "b", changed)
    diffs = _module().compare(before, after, 1e-9)
    assert sorted(diffs) == sorted(
        [
            "breakeven/summary.json.net_margin_usd: 1234567.891 before, 1234567.901 after",
            "breakeven/summary.json.revenue_usd.ancillary: only before",
            "breakeven/summary.json.revenue_usd.heat: only after",
            "breakeven/summary.json.peaks[0].month: 6 before, 7 after",
            "breakeven/summary.json.strategy: 'breakeven' before, 'rule-based' after",
        ]
    )
    run = subprocess.run(
        [sys.executable, str(SCRIPT), str(before), str(after)], capture_output=True, text=True
    )
    assert run.returncode == 1
    assert "5 differences" in run.stdout


def test_a_file_on_one_side_only_is_a_difference(tmp_path: Path) -> None:
    before = _write(tmp_path / "a", SUMMARY)
    after = _write(tmp_path / "b", SUMMARY)
    (after / "breakeven" / "summary.json").unlink()
    assert _module().compare(before, after, 1e-9) == [f"{Path('breakeven/summary.json')}: only in before"]


def test_a_file_only_after_lists_of_other_lengths_and_small_numbers_are_differences(tmp_path: Path) -> None:
    before = _write(tmp_path / "a", SUMMARY)
    changed = json.loads(json.dumps(SUMMARY))
    changed["peaks"].append({"month": 7, "load_mw": 11.0})
    changed["revenue_usd"]["ancillary"] = 0.002  # 0.0 before: far beyond noise
    after = _write(tmp_path / "b", changed)
    (after / "extra.json").write_text("{}")
    assert sorted(_module().compare(before, after, 1e-9)) == sorted(
        [
            "breakeven/summary.json.peaks: 1 items before, 2 after",
            "breakeven/summary.json.revenue_usd.ancillary: 0.0 before, 0.002 after",
            "extra.json: only in after",
        ]
    )


def test_a_flag_that_turns_into_a_number_is_a_difference(tmp_path: Path) -> None:
    before = _write(tmp_path / "a", {**SUMMARY, "is_upper_bound": True})
    after = _write(tmp_path / "b", {**SUMMARY, "is_upper_bound": 1})
    assert _module().compare(before, after, 1e-9) == [
        "breakeven/summary.json.is_upper_bound: True before, 1 after"
    ]

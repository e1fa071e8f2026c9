"""Write a backtest's files: per strategy ``summary.json`` and ``intervals.parquet``, plus
``comparison.json`` and ``report.html``."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from powerfirst.backtest.runner import Backtest, StrategyResult, comparison
from powerfirst.report import write_report

__all__ = ["write_outputs"]


def _clean(value: Any) -> Any:
    """JSON-safe: non-finite floats become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(_clean(data), indent=2, allow_nan=False) + "\n", encoding="utf-8")


def write_outputs(out_dir: Path, bt: Backtest, results: list[StrategyResult]) -> dict[str, Path]:
    """Write every file of the backtest under ``out_dir``; returns the paths by name.

    Files are written into a temporary folder beside ``out_dir`` first and moved into place only
    when all of them were written, so a failure leaves no half-written result set.
    """
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out_dir.name}-", dir=out_dir.parent) as tmp:
        staging = Path(tmp)
        names: list[str] = []
        for result in results:
            (staging / result.name).mkdir()
            _write_json(staging / result.name / "summary.json", result.summary)
            result.ledger.intervals.to_parquet(staging / result.name / "intervals.parquet", engine="pyarrow")
            names += [f"{result.name}/summary.json", f"{result.name}/intervals.parquet"]
        compared = comparison(bt, results)
        _write_json(staging / "comparison.json", compared)
        write_report(staging / "report.html", bt, results, compared)
        names += ["comparison.json", "report.html"]
        out_dir.mkdir(exist_ok=True)
        paths: dict[str, Path] = {}
        for name in names:
            target = out_dir / name
            target.parent.mkdir(exist_ok=True)
            os.replace(staging / name, target)
            paths[name] = target
    return paths

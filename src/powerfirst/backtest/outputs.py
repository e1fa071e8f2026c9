"""Write a backtest's files: per strategy ``summary.json`` and ``intervals.parquet``, plus
``comparison.json`` and ``report.html``."""

from __future__ import annotations

import json
import math
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
    """Write every file of the backtest under ``out_dir``; returns the paths by name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for result in results:
        folder = out_dir / result.name
        folder.mkdir(exist_ok=True)
        _write_json(folder / "summary.json", result.summary)
        result.ledger.intervals.to_parquet(folder / "intervals.parquet", engine="pyarrow")
        paths[f"{result.name}/summary.json"] = folder / "summary.json"
        paths[f"{result.name}/intervals.parquet"] = folder / "intervals.parquet"
    compared = comparison(bt, results)
    _write_json(out_dir / "comparison.json", compared)
    paths["comparison.json"] = out_dir / "comparison.json"
    paths["report.html"] = write_report(out_dir / "report.html", bt, results, compared)
    return paths

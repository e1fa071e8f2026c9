"""Write a backtest's files: per strategy ``summary.json`` and ``intervals.parquet``, plus
``comparison.json`` and ``report.html``."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from powerfirst.backtest.runner import Backtest, StrategyResult, comparison
from powerfirst.errors import ConfigError
from powerfirst.report import write_report

__all__ = ["check_output_dir", "write_outputs"]


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


def check_output_dir(out_dir: Path) -> None:
    """Fail early, before any work, when ``out_dir`` cannot hold the results."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out = {str(out_dir)!r}: exists and is not a folder")
    ancestor = out_dir
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"--out = {str(out_dir)!r}: cannot write in {str(ancestor)!r}")


def _is_strategy_folder(path: Path) -> bool:
    return path.is_dir() and (path / "summary.json").is_file() and (path / "intervals.parquet").is_file()


def write_outputs(
    out_dir: Path, bt: Backtest, results: list[StrategyResult], compared: dict[str, Any] | None = None
) -> dict[str, Path]:
    """Write every file of the backtest under ``out_dir``; returns the paths by name.

    Files are written into a temporary folder beside ``out_dir`` first and moved into place only
    when all of them were written, so a failure leaves no half-written result set. Strategy folders
    of an earlier run that this run did not repeat are removed, so ``out_dir`` never mixes windows.
    """
    try:
        return _write(out_dir, bt, results, comparison(bt, results) if compared is None else compared)
    except OSError as exc:
        raise ConfigError(
            f"--out = {str(out_dir)!r}: cannot write the results ({exc.strerror or exc})"
        ) from None


def _write(
    out_dir: Path, bt: Backtest, results: list[StrategyResult], compared: dict[str, Any]
) -> dict[str, Path]:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out_dir.name}-", dir=out_dir.parent) as tmp:
        staging = Path(tmp)
        names: list[str] = []
        for result in results:
            (staging / result.name).mkdir()
            _write_json(staging / result.name / "summary.json", result.summary)
            result.ledger.intervals.to_parquet(staging / result.name / "intervals.parquet", engine="pyarrow")
            names += [f"{result.name}/summary.json", f"{result.name}/intervals.parquet"]
        _write_json(staging / "comparison.json", compared)
        write_report(staging / "report.html", bt, results, compared)
        names += ["comparison.json", "report.html"]
        out_dir.mkdir(exist_ok=True)
        current = {r.name for r in results}
        for old in out_dir.iterdir():
            if old.name not in current and _is_strategy_folder(old):
                shutil.rmtree(old)
        paths: dict[str, Path] = {}
        for name in names:
            target = out_dir / name
            target.parent.mkdir(exist_ok=True)
            os.replace(staging / name, target)
            paths[name] = target
    return paths

"""Write a backtest's files: per strategy ``summary.json`` and ``intervals.parquet``, plus
``comparison.json``, ``report.html`` and the manifest ``powerfirst-run.json`` (see
:mod:`powerfirst.outputs.runfolder`)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from powerfirst.backtest.runner import Backtest, StrategyResult, comparison
from powerfirst.errors import ConfigError
from powerfirst.outputs.runfolder import RunFolder
from powerfirst.reporting.html import write_report

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


def write_outputs(
    out: RunFolder | Path,
    bt: Backtest,
    results: list[StrategyResult],
    compared: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write every file of the backtest into the run folder ``out``; returns the paths by name.

    ``out`` is a :class:`RunFolder` claimed before the work (a plain path is claimed here). The
    files appear all at once, with the manifest ``powerfirst-run.json``, replacing an earlier
    powerfirst run there as a whole; nothing powerfirst did not write is ever removed.
    """
    if isinstance(out, Path):
        folder = RunFolder.claim(out)
        try:
            return write_outputs(folder, bt, results, compared)
        finally:
            folder.release()
    compared = comparison(bt, results) if compared is None else compared

    def writer(file: Callable[[str], Path]) -> None:
        for result in results:
            _write_json(file(f"{result.name}/summary.json"), result.summary)
            result.ledger.intervals.to_parquet(file(f"{result.name}/intervals.parquet"), engine="pyarrow")
        _write_json(file("comparison.json"), compared)
        write_report(file("report.html"), bt, results, compared)

    try:
        return out.write(writer)
    except OSError as exc:
        raise ConfigError(
            f"--out = {str(out.shown)!r}: cannot write the results ({exc.strerror or exc})"
        ) from None

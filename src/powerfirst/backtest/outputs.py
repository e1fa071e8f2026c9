"""Write a backtest's files: per strategy ``summary.json`` and ``intervals.parquet``, plus
``comparison.json``, ``report.html`` and the manifest ``powerfirst-run.json`` (see
:mod:`powerfirst.outputs.runfolder`)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from powerfirst.accounting.results import Comparison
from powerfirst.accounting.results.base import ResultModel
from powerfirst.backtest.runner import Backtest, StrategyResult, comparison
from powerfirst.errors import ConfigError
from powerfirst.outputs.runfolder import RunFolder
from powerfirst.reporting.data import ReportHall, ReportInput, ReportStreams, ReportWindow, StrategyRun
from powerfirst.reporting.html import write_report

__all__ = ["report_input", "write_outputs"]


def _clean(value: Any) -> Any:
    """JSON-safe: non-finite floats become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _write_json(path: Path, model: ResultModel) -> None:
    """The model as indented JSON, its fields in declaration order."""
    data = _clean(model.model_dump(mode="json"))
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def report_input(bt: Backtest, results: list[StrategyResult], compared: Comparison) -> ReportInput:
    """What the report renders of this backtest: the result models and the data it charts."""
    site = bt.site
    hall_config = site.gpu_hall
    hall = bt.inputs.site.hall
    return ReportInput(
        site_name=site.name,
        price_name=bt.prices.name,
        window=ReportWindow(
            bt.window.start_utc,
            bt.window.end_utc,
            bt.window.timezone,
            bt.window.describe(),
            bt.window.zone_line(),
        ),
        comparison=compared,
        strategies=[StrategyRun(r.summary, r.ledger.intervals, tuple(r.ledger.fleet_names)) for r in results],
        hashprice=bt.hashprice_summary(),
        prices_usd_per_mwh=bt.prices.prices,
        price_interval_hours=bt.prices.interval_hours,
        expected_utc=bt.prices.expected_index(bt.window.start_utc, bt.window.end_utc),
        times_utc=bt.inputs.times_utc,
        price_usd_per_mwh=bt.inputs.price_usd_per_mwh,
        interval_hours=bt.inputs.interval_hours,
        num_intervals=bt.inputs.num_intervals,
        hall=None
        if hall is None
        else ReportHall(
            hall.name, hall.gpus, hall.has_inference, hall.has_rental, tuple(j.name for j in hall.jobs)
        ),
        streams=ReportStreams(
            gpu_hall=hall_config is not None,
            inference=hall_config is not None and hall_config.inference is not None,
            training=hall_config is not None and bool(hall_config.training_jobs),
            rental=hall_config is not None and hall_config.rental is not None,
            heat=site.heat_offtake is not None,
            ancillary=site.ancillary is not None,
            fourcp=site.fourcp is not None,
        ),
    )


def write_outputs(
    out: RunFolder | Path,
    bt: Backtest,
    results: list[StrategyResult],
    compared: Comparison | None = None,
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
    report = report_input(bt, results, compared)

    def writer(file: Callable[[str], Path]) -> None:
        for result in results:
            _write_json(file(f"{result.name}/summary.json"), result.summary)
            result.ledger.intervals.to_parquet(file(f"{result.name}/intervals.parquet"), engine="pyarrow")
        _write_json(file("comparison.json"), compared)
        write_report(file("report.html"), report)

    try:
        return out.write(writer)
    except OSError as exc:
        raise ConfigError(
            f"--out = {str(out.shown)!r}: cannot write the results ({exc.strerror or exc})"
        ) from None

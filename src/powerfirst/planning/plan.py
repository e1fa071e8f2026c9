"""A plan end to end (``powerfirst plan``): drivers, margins, cash flows, Monte Carlo, sensitivities.

1. the driver model is fitted (:func:`~powerfirst.planning.drivers.fit_driver_model`) and the
   deterministic scenarios drawn: ``base`` (the median path), ``low`` and ``high`` (BTC price at its
   P10 / P90 every month);
2. the per-MW margins: one backtest per market year × hashprice of the grid, each a task of the
   executor (so a Dask cluster runs them in parallel; the disk cache is shared by workers on this
   machine), assembled into the :class:`~powerfirst.planning.inputs.MarginTable` exactly as
   :func:`~powerfirst.planning.margins.margin_table` does;
3. the deterministic paths' cash flows; on the base path the waterfall, the tornado and the
   break-evens (:mod:`powerfirst.planning.sensitivity`);
4. with ``monte_carlo``: the paths in chunks of ``chunk_paths``, each a task
   (:mod:`powerfirst.planning.montecarlo`; identical results however chunked and wherever run),
   then the :class:`~powerfirst.planning.results.PlanSummary` over all paths and the monthly
   P10/P50/P90 of the difference (the fan chart). Without it, the summary and the fan are over the
   three deterministic paths.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from powerfirst._types import Array
from powerfirst.errors import DataError
from powerfirst.planning.cashflows import CashFlows, plan_cashflows
from powerfirst.planning.drivers import BLOCK_PATHS, deterministic, driver_notes, fit_driver_model
from powerfirst.planning.inputs import DriverPaths, MarginTable
from powerfirst.planning.margins import margin_tasks, run_margin_task, table_of_runs
from powerfirst.planning.montecarlo import chunk_tasks, merge_chunks, run_chunk
from powerfirst.planning.report_data import FanChart, PlanReportData
from powerfirst.planning.results import irr_root_notes, summarise
from powerfirst.planning.scenario import Scenario
from powerfirst.planning.sensitivity import breakevens, tornado, waterfall
from powerfirst.planning.simulation import MonteCarlo, default_grid
from powerfirst.planning.sweep import Executor

__all__ = ["DETERMINISTIC", "PlanRun", "Progress", "month_labels", "plan_margins", "run_plan"]

DETERMINISTIC = ("base", "low", "high")
"""The named deterministic scenarios, in the rows of :attr:`PlanRun.deterministic`."""
Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: stage ``backtests`` or ``monte carlo``, tasks done and in all."""


@dataclass(frozen=True)
class PlanRun:
    """Everything ``powerfirst plan`` writes."""

    data: PlanReportData
    deterministic: CashFlows
    """Cash flows of the deterministic paths (rows: :data:`DETERMINISTIC`)."""
    months: list[str]
    """``YYYY-MM`` of each month of the horizon."""
    monthly_difference_percentiles_usd: Array | None
    """(3, M) P10, P50, P90 over the Monte Carlo paths of the net difference per month [USD]; None
    without Monte Carlo."""
    npv_difference_usd: Array
    """(P,) NPV of the difference on each Monte Carlo path (the deterministic paths without) [USD]."""
    margins: MarginTable


def month_labels(start_month: str, count: int) -> list[str]:
    """``YYYY-MM`` of ``count`` months from ``start_month``."""
    return [str(m) for m in np.datetime64(start_month, "M") + np.arange(count)]


def _row(paths: DriverPaths, i: int) -> DriverPaths:
    """Path ``i`` of ``paths`` alone."""
    return dataclasses.replace(
        paths,
        btc_usd=paths.btc_usd[i : i + 1],
        hashrate_ths=paths.hashrate_ths[i : i + 1],
        fees_btc_per_block=paths.fees_btc_per_block[i : i + 1],
        gpu_usd_per_gpu_hour=paths.gpu_usd_per_gpu_hour[i : i + 1],
        market_year=paths.market_year[i : i + 1],
    )


def plan_margins(
    scenario: Scenario,
    start_hashprice_usd_per_th_day: float,
    ex: Executor,
    *,
    cache_dir: str | Path | None,
    progress: Progress | None = None,
) -> MarginTable:
    """The scenario's margin table, its backtests run by ``ex`` (see the module docstring);
    ``cache_dir`` None: no cache."""
    spec = scenario.file.simulation.margins
    grid = spec.hashprice_grid_usd_per_th_day or default_grid(start_hashprice_usd_per_th_day)
    years = spec.market_years or list(scenario.drivers.market_years)
    tasks = margin_tasks(
        scenario.site,
        years,
        grid,
        strategy=spec.strategy,
        months=(spec.months[0], spec.months[1]),
        cache_dir=cache_dir,
    )

    def done(k: int) -> None:
        if progress is not None:
            progress("backtests", k, len(tasks))

    try:
        runs = ex.map(run_margin_task, tasks, done=done)
    except DataError as exc:
        field = "simulation.margins.market_years" if spec.market_years else "drivers.market_years"
        raise DataError(f"{field} = {years} (the real market years backtested): {exc}") from None
    rows = [runs[i : i + len(grid)] for i in range(0, len(runs), len(grid))]
    table = table_of_runs(
        scenario.site,
        rows,
        spec.strategy,
        block_in_mining_margin=spec.block_in_mining_margin,
        cache_dir=cache_dir,
    )
    if spec.hashprice_grid_usd_per_th_day is None:
        grid_text = ", ".join(f"{1000 * h:,.4g}" for h in grid)
        table = dataclasses.replace(
            table,
            notes=(
                *table.notes,
                f"hashprice grid (default: × 0.25 … × 3 the base path's first month, "
                f"{1000 * start_hashprice_usd_per_th_day:,.4g} USD/PH/day): {grid_text} USD/PH/day",
            ),
        )
    return table


def _percentiles(values: Array) -> Array:
    """(3, M) P10, P50, P90 over the rows of ``values`` [float64]."""
    return np.asarray(np.percentile(values, [10.0, 50.0, 90.0], axis=0), dtype=np.float64)


def run_plan(
    scenario: Scenario,
    ex: Executor,
    *,
    monte_carlo: MonteCarlo | None,
    cache_dir: str | Path | None,
    chunk_paths: int | None = None,
    progress: Progress | None = None,
) -> PlanRun:
    """Run the plan (see the module docstring). ``monte_carlo`` (usually the scenario's
    ``simulation.monte_carlo``, maybe changed by the command line): None runs the deterministic
    scenarios only; ``chunk_paths`` overrides ``simulation.chunk_paths``."""
    spec = scenario.file
    settings = scenario.drivers
    model = fit_driver_model(settings.fees_csv_path)
    det_paths = deterministic(model, spec.start_month, spec.horizon_months, settings, DETERMINISTIC)
    margins = plan_margins(
        scenario,
        float(det_paths.hashprice_usd_per_th_day[0, 0]),
        ex,
        cache_dir=cache_dir,
        progress=progress,
    )
    det = plan_cashflows(scenario, det_paths, margins)
    base = _row(det_paths, 0)
    notes = [*driver_notes(model, settings, spec.start_month)]
    sensitivity_notes: list[str] = []
    rows = tornado(scenario, base, margins, sensitivity_notes)
    npvs = det.metrics.npv_difference_usd
    notes.append(
        "deterministic scenarios (NPV of the difference): "
        + "; ".join(f"{name} {v / 1e6:,.2f} M USD" for name, v in zip(DETERMINISTIC, npvs, strict=True))
        + " (low/high: BTC price at its P10/P90 every month)"
    )
    extra = [n for n in det.summary.notes if n.startswith("the contract's site-level margin")]
    extra += irr_root_notes([f"deterministic {name}" for name in DETERMINISTIC], det.difference_usd)
    months = month_labels(spec.start_month, spec.horizon_months)
    monthly: Array | None = None
    if monte_carlo is None:
        summary = summarise(scenario, margins, det.metrics, seed=None, notes=[*notes, *extra])
        summary = summary.model_copy(
            update={
                "notes": [*summary.notes, "no Monte Carlo: the figures are over the base, low and high paths"]
            }
        )
        samples, cumulative = npvs, np.cumsum(det.difference_usd, axis=1)
    else:
        tasks = chunk_tasks(
            scenario,
            model,
            settings,
            margins,
            paths=monte_carlo.paths,
            seed=monte_carlo.seed,
            chunk_paths=chunk_paths or spec.simulation.chunk_paths,
        )

        def done(k: int) -> None:
            if progress is not None:
                progress("monte carlo", k, len(tasks))

        metrics, difference, cumulative = merge_chunks(ex.map(run_chunk, tasks, done=done))
        mc_note = (
            f"Monte Carlo: {monte_carlo.paths:,} paths, seed {monte_carlo.seed}; paths drawn in blocks of "
            f"{BLOCK_PATHS}, block b from numpy SeedSequence(seed).spawn(…)[b] (the same paths however "
            "the run is split into tasks)"
        )
        summary = summarise(
            scenario, margins, metrics, seed=monte_carlo.seed, notes=[*notes, *extra, mc_note]
        )
        samples = metrics.npv_difference_usd
        monthly = _percentiles(difference)
    fan = _percentiles(cumulative)
    data = PlanReportData(
        title=f"{spec.name} — {scenario.site.name}",
        summary=summary,
        deterministic_npv_difference_usd=float(npvs[0]),
        npv_difference_samples_usd=[float(x) for x in samples],
        waterfall=waterfall(det, spec.discount_rate_pct_per_year),
        tornado=rows,
        breakevens=breakevens(scenario, base, margins),
        fan=FanChart(
            months=months,
            p10_usd=[float(x) for x in fan[0]],
            p50_usd=[float(x) for x in fan[1]],
            p90_usd=[float(x) for x in fan[2]],
        ),
        executor=ex.name,
        notes=[*summary.notes, *sensitivity_notes, f"ran on: {ex.name}"],
    )
    return PlanRun(
        data=data,
        deterministic=det,
        months=months,
        monthly_difference_percentiles_usd=monthly,
        npv_difference_usd=np.asarray(samples, dtype=np.float64),
        margins=margins,
    )

"""``powerfirst plan``: a conversion plan's economics and risk, here or on a Dask cluster."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.progress import Progress, TaskID
from rich.table import Table

from powerfirst.cli.common import console, counted_progress, err_console, fail, one_line_warnings
from powerfirst.errors import ConfigError, PowerfirstError
from powerfirst.outputs import RunFolder
from powerfirst.planning.margins_cache import check_cache_folder, default_cache_dir
from powerfirst.planning.plan import PlanRun, run_plan
from powerfirst.planning.results import Distribution
from powerfirst.planning.scenario import load_scenario
from powerfirst.planning.simulation import MonteCarlo
from powerfirst.planning.sweep import MAX_LOCAL_WORKERS, executor, parse_cluster
from powerfirst.reporting.plan_report import render_plan_report

__all__ = ["cashflow_frame", "plan"]

MAX_PATHS = 1_000_000


def _monte_carlo(
    file_value: MonteCarlo | None, paths: int | None, seed: int | None, off: bool
) -> MonteCarlo | None:
    """The Monte Carlo run: the file's, changed by --paths / --seed, or none (--no-monte-carlo)."""
    if off:
        if paths is not None or seed is not None:
            raise ConfigError("--no-monte-carlo with --paths or --seed: give one or the other")
        return None
    if paths is None and seed is None:
        return file_value
    if file_value is None and (paths is None or seed is None):
        missing = "--seed" if seed is None else "--paths"
        raise ConfigError(
            f"the scenario has no simulation.monte_carlo section: give {missing} too "
            "(--paths 1 to 1,000,000 paths, --seed an integer ≥ 0)"
        )
    return MonteCarlo(
        paths=paths if paths is not None else file_value.paths,  # type: ignore[union-attr]
        seed=seed if seed is not None else file_value.seed,  # type: ignore[union-attr]
    )


def cashflow_frame(run: PlanRun) -> pd.DataFrame:
    """``cashflows.parquet``: one row per month of the deterministic base path, each line item of the
    plan, the baseline and their difference [USD]; with Monte Carlo, P10/P50/P90 of the net difference."""
    det = run.deterministic
    columns: dict[str, object] = {"month": run.months}
    plan, baseline = det.plan.as_columns(), det.baseline.as_columns()
    for name, values in plan.items():
        columns[f"plan_{name}"] = np.asarray(values[0], dtype=np.float64)
        columns[f"baseline_{name}"] = np.asarray(baseline[name][0], dtype=np.float64)
        columns[f"difference_{name}"] = np.asarray(values[0] - baseline[name][0], dtype=np.float64)
    if run.monthly_difference_percentiles_usd is not None:
        for i, p in enumerate(("p10", "p50", "p90")):
            columns[f"net_difference_{p}_usd"] = run.monthly_difference_percentiles_usd[i]
    return pd.DataFrame(columns)


@contextmanager
def _progress_bar() -> Iterator[Progress]:
    with counted_progress(description="{task.description:<12}", unit="tasks", transient=False) as bar:
        yield bar


def _money(value: float | None) -> str:
    return "—" if value is None else f"{value / 1e6:,.2f} M USD"


def _spread(dist: Distribution | None, unit: str, scale: float = 1.0, digits: int = 2) -> str:
    if dist is None:
        return "—"
    p10, p50, p90 = (f"{x * scale:,.{digits}f}" for x in (dist.p10, dist.p50, dist.p90))
    return f"{p10} / {p50} / {p90}{' ' + unit if unit else ''} ({dist.paths:,} paths)"


def _print(run: PlanRun, paths: dict[str, Path]) -> None:
    s, data = run.data.summary, run.data
    table = Table(title=data.title, show_header=False)
    table.add_column("figure", no_wrap=True)
    table.add_column("value")
    mc = f"{s.num_paths:,} Monte Carlo paths, seed {s.seed}" if s.seed is not None else "deterministic paths"
    table.add_row("paths", mc)
    table.add_row("NPV of the conversion P10 / P50 / P90", _spread(s.npv_difference_usd, "M USD", 1e-6))
    table.add_row("NPV of the conversion, base path", _money(data.deterministic_npv_difference_usd))
    table.add_row("probability the plan beats mining", f"{s.probability_plan_beats_baseline:.1%}")
    table.add_row(
        "IRR of the conversion P10 / P50 / P90", _spread(s.irr_difference_pct_per_year, "%/year", 1.0, 1)
    )
    table.add_row("payback P10 / P50 / P90", _spread(s.payback_month_difference, "months", 1.0, 0))
    table.add_row("lowest annual DSCR P10 / P50 / P90", _spread(s.min_dscr, "", 1.0, 2))
    for b in data.breakevens:
        value = "none" if b.value is None else f"{b.value:,.4g} {b.unit}"
        table.add_row(f"break-even {b.name}", f"{value} (base path {b.base_value:,.4g} {b.unit})")
    console.print(table)
    if s.seed is None:
        console.print(
            "note: no Monte Carlo: P10 / P50 / P90 are percentiles over the base, low and high paths, "
            "interpolated between them (each path's own NPV is in summary.json's notes)",
            highlight=False,
            soft_wrap=True,
        )
    for b in data.breakevens:
        console.print(f"note: break-even {b.name}: {b.note}", highlight=False, soft_wrap=True)
    console.print(f"ran on: {data.executor}", highlight=False)
    for name in ("summary.json", "cashflows.parquet", "report.html"):
        if name in paths:
            console.print(f"{name}: {paths[name]}", highlight=False)


def plan(
    scenario_file: Annotated[Path, typer.Argument(help="Scenario YAML file.", metavar="SCENARIO.yaml")],
    out: Annotated[
        Path,
        typer.Option(
            help="Output folder: new, empty, or holding an earlier powerfirst run (listed in its "
            "powerfirst-run.json), which this run replaces whole; anything else is refused."
        ),
    ],
    cluster: Annotated[
        str,
        typer.Option(
            help="Where the backtests and Monte Carlo chunks run: none (this process), local (a Dask "
            "LocalCluster on 127.0.0.1) or tcp://HOST:PORT (a running Dask scheduler)."
        ),
    ] = "none",
    workers: Annotated[
        int | None,
        typer.Option(help="--cluster local: worker processes (default 2).", min=1, max=MAX_LOCAL_WORKERS),
    ] = None,
    paths: Annotated[
        int | None,
        typer.Option(help="Monte Carlo paths; overrides simulation.monte_carlo.paths.", min=1, max=MAX_PATHS),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(help="Monte Carlo seed; overrides simulation.monte_carlo.seed.", min=0, max=2**63 - 1),
    ] = None,
    no_monte_carlo: Annotated[
        bool, typer.Option("--no-monte-carlo", help="The deterministic scenarios only.")
    ] = False,
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="Margin cache folder (default: $XDG_CACHE_HOME/powerfirst/margins)."),
    ] = None,
    connect_timeout_s: Annotated[
        float, typer.Option(help="--cluster tcp://…: seconds to wait for the scheduler.", min=0.1, max=600)
    ] = 30.0,
    wait_for_lock: Annotated[
        bool, typer.Option(help="Wait while another run writes --out, instead of stopping at once.")
    ] = False,
) -> None:
    """Plan a conversion of mining MW to AI: cash flows, NPV, IRR, payback and DSCR against staying
    with mining, over deterministic and Monte Carlo driver paths, with margins from backtests of the
    site under real market years. Writes summary.json, cashflows.parquet and report.html."""
    folder: RunFolder | None = None
    try:
        folder = RunFolder.claim(out, flag="--out", wait=wait_for_lock)
        for note in folder.cleaned:
            err_console.print(f"note: {note}", highlight=False, soft_wrap=True)
        if workers is not None and parse_cluster(cluster)[0] != "local":
            raise ConfigError(
                f"--workers = {workers} sets a local cluster's worker processes; --cluster is {cluster!r} "
                "(give --cluster local, or leave --workers out)"
            )
        if cache_dir is not None:
            check_cache_folder(cache_dir)
        scenario = load_scenario(scenario_file)
        mc = _monte_carlo(scenario.file.simulation.monte_carlo, paths, seed, no_monte_carlo)
        with (
            one_line_warnings(),
            _progress_bar() as bar,
            executor(cluster, workers=workers or 2, connect_timeout_s=connect_timeout_s) as ex,
        ):
            tasks: dict[str, TaskID] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done)

            run = run_plan(
                scenario,
                ex,
                monte_carlo=mc,
                cache_dir=cache_dir if cache_dir is not None else default_cache_dir(),
                progress=progress,
            )
        html = render_plan_report(run.data)
        summary = run.data.summary.model_copy(update={"notes": run.data.notes})

        def writer(file: Callable[[str], Path]) -> None:
            file("summary.json").write_text(
                json.dumps(summary.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8"
            )
            cashflow_frame(run).to_parquet(file("cashflows.parquet"), engine="pyarrow", index=False)
            file("report.html").write_text(html, encoding="utf-8")

        try:
            written = folder.write(writer)
        except OSError as exc:
            raise ConfigError(
                f"--out = {str(out)!r}: cannot write the results ({exc.strerror or exc})"
            ) from None
        notes = folder.notes
    except PowerfirstError as exc:
        fail(exc)
    finally:
        if folder is not None:
            folder.release()
    _print(run, written)
    for note in notes:
        console.print(f"note: {note}", highlight=False)

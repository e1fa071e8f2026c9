"""The ``powerfirst forecast`` commands: evaluate price forecasters on held-out years."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from powerfirst.cli.common import console, err_console, fail
from powerfirst.errors import ConfigError, PowerfirstError
from powerfirst.forecast import FORECASTERS, QUANTILES, ForecastScore, evaluate_forecasts
from powerfirst.market.evaluation_data import evaluation_zone
from powerfirst.market.loading import default_day_ahead
from powerfirst.market.markets import ERCOT, market_names
from powerfirst.outputs.onefile import OutputFile

__all__ = ["forecast_app"]

forecast_app = typer.Typer(
    help="Forecast the real-time price from what is known at issue time, and score forecasters "
    "walk-forward on held-out years.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@forecast_app.callback()
def _forecast() -> None:
    """Forecast the real-time price and evaluate forecasters."""


@forecast_app.command()
def evaluate(
    prices: Annotated[
        str, typer.Option(help="Real-time price SOURCE to forecast and score, e.g. ercot-rt:HB_WEST.")
    ] = "ercot-rt:HB_WEST",
    day_ahead: Annotated[
        str | None,
        typer.Option(
            help=f"Day-ahead price SOURCE (revealed as published, e.g. ERCOT {ERCOT.publish_time_text} Central the day before), "
            "or 'none'; default: ercot-da at the --prices point for bundled ercot-rt prices, else none."
        ),
    ] = None,
    market: Annotated[
        str | None,
        typer.Option(
            help=f"Market the prices are from ({market_names()}); bundled sources know theirs. Sets the zone "
            "of --test-year and the day-ahead clock."
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(help="Market-local zone (IANA) of a CSV source without interval_start_local."),
    ] = None,
    load: Annotated[
        str | None,
        typer.Option(
            help="System load SOURCE [MW] (path.csv:COLUMN, hourly or finer); default: bundled ERCOT native "
            "load for ERCOT prices, else none."
        ),
    ] = None,
    test_year: Annotated[
        list[int] | None,
        typer.Option(
            "--test-year",
            help="Market-local year to score (repeatable); forecasters are fitted on the years before it.",
        ),
    ] = None,
    forecast: Annotated[
        list[str] | None,
        typer.Option("--forecast", help=f"Forecaster (repeatable): {', '.join(FORECASTERS)}. Default: all."),
    ] = None,
    horizon_hours: Annotated[int, typer.Option(help="Target hours per forecast [h].")] = 48,
    issue_every_hours: Annotated[int, typer.Option(help="Hours between forecast issues [h].")] = 1,
    out: Annotated[Path | None, typer.Option(help="Write the score rows to this JSON file.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace --out if it exists.")] = False,
) -> None:
    """Fit each forecaster on the years before each test year, forecast through the test year from
    what is known at each issue time, and score against the realised hourly mean real-time price:
    MAE of the median and mean pinball loss [USD/MWh], and coverage of the 10–90 % band, by lead."""
    years = test_year or [2022, 2023]
    names = forecast or list(FORECASTERS)
    rows: list[ForecastScore] = []
    target: OutputFile | None = None
    da_source = (
        default_day_ahead(prices)
        if day_ahead is None
        else None
        if day_ahead.strip().lower() == "none"
        else day_ahead
    )
    try:
        zone = evaluation_zone(prices, da_source, market=market, timezone=timezone)
        if out is not None:
            target = OutputFile.claim(out, flag="--out", overwrite=overwrite)  # before any work
        for name in names:
            if name not in FORECASTERS:
                raise ConfigError(
                    f"--forecast = {name!r}: unknown forecaster; choices: {', '.join(FORECASTERS)}"
                )
        if len(set(years)) != len(years):
            raise ConfigError(f"--test-year: each year once, got {', '.join(map(str, years))}")
        with Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            TextColumn("{task.completed:>5}/{task.total}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
            disable=not sys.stderr.isatty(),
        ) as bar:
            tasks: dict[str, TaskID] = {}
            for year in years:

                def advance(stage: str, done: int, total: int, year: int = year) -> None:
                    label = f"{year} {stage}"
                    if label not in tasks:
                        tasks[label] = bar.add_task(label, total=total)
                    bar.update(tasks[label], completed=done, total=total)

                rows += evaluate_forecasts(
                    prices,
                    da_source,
                    year,
                    names,
                    horizon_hours=horizon_hours,
                    issue_every_hours=issue_every_hours,
                    progress=advance,
                    load=load,
                    market=market,
                    timezone=timezone,
                )
        if target is not None:
            target.write_json([r.as_dict() for r in rows])
    except PowerfirstError as exc:
        fail(exc)
        return
    finally:
        if target is not None:
            target.release()  # on a signal, says what --out holds
    levels = ", ".join(f"{q:g}" for q in QUANTILES)
    table = Table(
        title=f"{prices} forecasts (day-ahead: {da_source or 'none'}), issued every {issue_every_hours} h, "
        f"{horizon_hours} h ahead; quantiles {levels}"
    )
    for column in (
        "test year",
        "trained on",
        "forecaster",
        "lead",
        "MAE USD/MWh",
        "pinball USD/MWh",
        "10–90 cover",
        "n",
    ):
        left = column in {"trained on", "forecaster", "lead"}
        table.add_column(column, justify="left" if left else "right", no_wrap=True)
    for r in rows:
        table.add_row(
            str(r.test_year),
            r.train_years,
            r.forecaster,
            r.lead_bucket,
            f"{r.mae_usd_per_mwh:.2f}",
            f"{r.pinball_usd_per_mwh:.2f}",
            f"{r.coverage_10_90:.1%}",
            f"{r.n:,}",
            end_section=r.lead_bucket == "all",
        )
    console.print(f"{zone.line()}; day-ahead prices: {da_source or 'none'}", highlight=False)
    console.print(table)
    for r in rows:
        if r.skipped_issues and r.lead_bucket == "all" and r.forecaster == rows[0].forecaster:
            console.print(
                f"{r.test_year}: {r.skipped_issues} issue times skipped for every forecaster, nothing known to "
                f"forecast from (a hole in the data), {r.skipped_first_utc} to {r.skipped_last_utc}",
                highlight=False,
            )
    if out is not None:
        console.print(f"scores: {out}", highlight=False)

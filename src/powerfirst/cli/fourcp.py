"""``powerfirst fourcp``: evaluate the 4CP peak predictor on the bundled ERCOT years (Typer + Rich)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from powerfirst.cli.common import console, fail
from powerfirst.errors import PowerfirstError
from powerfirst.fourcp.evaluate import BUNDLED_YEARS, MARKET_LINE, evaluate_fourcp
from powerfirst.outputs.onefile import OutputFile

__all__ = ["fourcp_app"]

fourcp_app = typer.Typer(
    name="fourcp",
    help="Predict ERCOT 4CP peak hours and decide when to curtail for them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@fourcp_app.callback()
def _group() -> None:
    """Predict ERCOT 4CP peak hours and decide when to curtail for them."""


def _opt(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


@fourcp_app.command()
def evaluate(
    rate_usd_per_mw_year: Annotated[
        float,
        typer.Option(
            help="4CP transmission rate [USD per MW-year]; each of the four monthly peaks costs a quarter."
        ),
    ] = 55_000.0,
    lost_margin_usd_per_mwh: Annotated[
        float,
        typer.Option(
            help="What one MW of curtailed load would have earned in an hour (mining or GPU margin) "
            "[USD/MWh]: the cost of curtailing. An hour is curtailed when its expected avoided 4CP "
            "charge per MW exceeds it."
        ),
    ] = 60.0,
    year: Annotated[
        list[int] | None,
        typer.Option(
            "--year",
            help=f"Year to evaluate (repeatable; default {', '.join(map(str, BUNDLED_YEARS))}); "
            "the predictor is fitted on the other bundled years.",
        ),
    ] = None,
    da_point: Annotated[
        str, typer.Option(help="ERCOT day-ahead price point the predictor reads.")
    ] = "HB_HUBAVG",
    load: Annotated[
        str | None,
        typer.Option(
            help="System load SOURCE [MW] (path.csv:COLUMN, hourly); with --fourcp-peaks, instead of bundled ERCOT."
        ),
    ] = None,
    fourcp_peaks: Annotated[
        str | None,
        typer.Option(
            help="4CP peaks CSV (year, month, peak_hour_start_utc: one peak per month); with --load. "
            "The years are those of this file."
        ),
    ] = None,
    day_ahead: Annotated[
        str | None,
        typer.Option(help="Day-ahead price SOURCE with --load (default: none; else ercot-da:DA_POINT)."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the rows as JSON to this file.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace --out if it exists.")] = False,
) -> None:
    """Leave-one-year-out evaluation of the 4CP predictor against the 15:00–19:00 weekday rule.

    For each year, fit on the other bundled years, then walk June–September hour by hour deciding
    from what is known at each hour's start. Money is per MW of curtailable load.
    """
    years = tuple(year) if year else BUNDLED_YEARS
    target: OutputFile | None = None
    try:
        if out is not None:
            target = OutputFile.claim(out, flag="--out", overwrite=overwrite)  # before any work
        rows = evaluate_fourcp(
            rate_usd_per_mw_year,
            lost_margin_usd_per_mwh,
            years=years,
            da_point=da_point,
            load=load,
            fourcp_peaks=fourcp_peaks,
            day_ahead=day_ahead,
        )
        if target is not None:
            target.write_json([asdict(r) for r in rows])
    except PowerfirstError as exc:
        fail(exc)
        return
    finally:
        if target is not None:
            target.release()  # on a signal, says what --out holds
    table = Table(
        title=f"4CP leave-one-year-out: rate {rate_usd_per_mw_year:,.0f} USD/MW-year, "
        f"lost margin {lost_margin_usd_per_mwh:g} USD/MWh (per MW of curtailable load)"
    )
    columns = (
        "year",
        "method",
        "peaks caught",
        "curtailed h",
        "avoided USD/MW",
        "lost USD/MW",
        "net USD/MW",
        "Brier",
        "Brier base rate",
        "log loss",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in {"year", "method"} else "right", no_wrap=True)
    for r in rows:
        table.add_row(
            str(r.year),
            r.method,
            f"{r.peaks_caught}/{r.peaks}",
            f"{r.curtailment_hours:,}",
            f"{r.avoided_charge_usd_per_mw:,.0f}",
            f"{r.lost_margin_usd_per_mw:,.0f}",
            f"{r.net_value_usd_per_mw:,.0f}",
            _opt(r.brier, ".5f"),
            f"{r.brier_base_rate:.5f}",
            _opt(r.log_loss, ".4f"),
        )
    if load is not None or day_ahead is not None:
        console.print(MARKET_LINE, highlight=False)
    console.print(table)
    if out is not None:
        console.print(f"rows: {out}", highlight=False)

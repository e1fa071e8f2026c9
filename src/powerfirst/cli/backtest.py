"""``powerfirst backtest``: run strategies over a window and print the comparison."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from powerfirst.backtest.outputs import write_outputs
from powerfirst.backtest.runner import (
    Backtest,
    StrategyResult,
    comparison,
    prepare_backtest,
    run_strategy,
)
from powerfirst.cli.common import console, err_console, fail
from powerfirst.cli.options import END_HELP, SOURCES_HELP, START_HELP
from powerfirst.errors import ConfigError, PowerfirstError
from powerfirst.forecast.registry import FORECASTERS
from powerfirst.market.markets import ERCOT, market_names
from powerfirst.outputs import RunFolder
from powerfirst.policies import STRATEGIES, RollingPolicy, make_policy
from powerfirst.policies.registry import load_site, parse_site
from powerfirst.site.schema import Site


def input_lines(bt: Backtest, results: list[StrategyResult]) -> list[str]:
    """Console lines: where each market input came from, what each forecaster was fitted with,
    and the training jobs not scheduled because their dates lie outside the window."""
    lines = [f"input {name}: {source}" for name, source in bt.market_inputs.items() if source is not None]
    for r in results:
        details = r.summary.policy
        if "forecast_inputs" in details:
            lines += _forecast_lines(r.name, details)
    if results:
        for job in results[0].summary.training_jobs or []:
            if not job.in_window:
                note = job.note if job.note is not None else "not scheduled"
                lines.append(f"training job {job.name!r} (deadline {job.deadline_utc}): {note}")
    return lines


FALLBACK_NOTES_SHOWN = 3
"""Fallback notes of a strategy printed in the console (summary.json keeps up to five)."""


def _forecast_lines(name: str, details: dict[str, Any]) -> list[str]:
    """Console lines of a forecasting policy: what its forecaster was fitted with (or that it was
    not), the hours it was fitted on, forecasts without a current day-ahead price, the 4CP
    predictor's state and every fallback (a count and the first notes)."""
    forecaster = details["forecast"]
    if details.get("forecast_fitted") is False:
        lines = [f"{name}: forecaster {forecaster} {details.get('forecast_note')}"]
    else:
        text = f"{name}: forecaster {forecaster} fitted with {', '.join(details['forecast_inputs'])}"
        if details.get("forecast_trained_on_utc"):
            text += f" on {details['forecast_trained_on_utc']}"
        hours = details.get("forecast_training_hours")
        if hours:
            text += (
                f" ({hours['hours_with_price']:,} of {hours['hours_in_span']:,} hours with a real-time price"
            )
            if hours["hours_skipped"]:
                text += f"; {hours['hours_skipped']:,} hours without one skipped, longest hole: {hours['longest_hole']}"
            text += ")"
        lines = [text]
    gaps = details.get("forecast_day_ahead_gaps") or {}
    if gaps.get("note"):
        lines.append(f"{name}: {gaps['note']}")
    if details.get("fourcp_note"):
        lines.append(f"{name}: 4CP predictor off: {details['fourcp_note']}")
    if details.get("fallbacks"):
        notes = details.get("fallback_notes") or []
        shown = "; ".join(notes[:FALLBACK_NOTES_SHOWN])
        more = " …" if details["fallbacks"] > len(notes[:FALLBACK_NOTES_SHOWN]) else ""
        lines.append(
            f"{name}: {details['fallbacks']} fallback(s) to the strike-price rule and the site's default GPU "
            f"rule (no plan for the hour): {shown}{more}"
        )
    return lines


def _money(value: float | None) -> str:
    return "—" if value is None else f"{value / 1e6:,.2f}"


_STRATEGY_OPTIONS: dict[str, tuple[str, ...]] = {
    "--hysteresis-usd-per-mwh": ("breakeven", "rule-based"),
    "--confirm-intervals": ("breakeven", "rule-based"),
    "--forecast": (RollingPolicy.name,),
    "--horizon-hours": (RollingPolicy.name,),
    "--risk-quantile": (RollingPolicy.name,),
    "--day-ahead": (RollingPolicy.name,),
}
"""Options that only a strategy reads, and the strategies that read them."""


def _check_strategy_options(names: list[str], given: dict[str, object]) -> None:
    """An option of a strategy that is not run is an error, not a setting silently unused."""
    if not set(names) <= set(STRATEGIES):
        return  # an unknown --strategy is refused with its own message
    for flag, value in given.items():
        users = _STRATEGY_OPTIONS.get(flag, ())
        if value is not None and users and not set(users) & set(names):
            raise ConfigError(
                f"{flag} = {value!r} is an option of {' and '.join(users)}, which is not run "
                f"(--strategy: {', '.join(names)}); add --strategy {users[0]} or leave the option out"
            )


def _with_overrides(site: Site, overrides: dict[str, tuple[tuple[str, ...], object]]) -> Site:
    """The site with CLI options (flag → (field path, value)) written over its fields, validated
    like the file itself; an error names the flag."""
    given = {flag: (path, value) for flag, (path, value) in overrides.items() if value is not None}
    if not given:
        return site
    # what the file set (an explicit null included), not the defaults it left out
    data = site.model_dump(exclude_unset=True)
    for path, value in given.values():
        node = data
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return parse_site(data, source=None, options={path: flag for flag, (path, _) in given.items()})


def backtest(
    site_file: Annotated[Path, typer.Argument(help="Site YAML file.", metavar="SITE.yaml")],
    start: Annotated[str, typer.Option(help=START_HELP)],
    end: Annotated[str, typer.Option(help=END_HELP)],
    out: Annotated[
        Path,
        typer.Option(
            help="Output folder: new, empty, or holding an earlier powerfirst run (listed in its "
            "powerfirst-run.json), which this run replaces whole; anything else is refused."
        ),
    ],
    strategy: Annotated[
        list[str] | None,
        typer.Option(
            "--strategy",
            help=f"Strategy to run (repeatable): {', '.join(STRATEGIES)}. Default: all but rolling "
            "(which fits its forecast on the two years before the window and re-solves every hour).",
        ),
    ] = None,
    prices: Annotated[
        str | None, typer.Option(help=SOURCES_HELP + " Overrides the site's price series.")
    ] = None,
    tx_fees_btc_per_block: Annotated[
        float | None,
        typer.Option(
            help="Transaction fees per block added to the subsidy [BTC/block]; overrides the site file."
        ),
    ] = None,
    hysteresis_usd_per_mwh: Annotated[
        float | None, typer.Option(help="breakeven: return only below breakeven minus this [USD/MWh].")
    ] = None,
    confirm_intervals: Annotated[
        int | None, typer.Option(help="breakeven: consecutive intervals past the threshold before switching.")
    ] = None,
    day_ahead: Annotated[
        str | None,
        typer.Option(
            help="Day-ahead price SOURCE (same syntax as --prices) that rolling may see once published "
            f"(at the market's publication time the day before, e.g. ERCOT {ERCOT.publish_time_text} Central); overrides "
            "market_data.day_ahead; default: ercot-da at the --prices point for bundled ERCOT."
        ),
    ] = None,
    market: Annotated[
        str | None,
        typer.Option(
            help=f"Market the prices are from ({market_names()}); overrides the site's market "
            "(bundled sources know theirs). Sets the zone of plain dates and the day-ahead clock."
        ),
    ] = None,
    load: Annotated[
        str | None,
        typer.Option(
            help="System load SOURCE [MW] for rolling's forecaster and 4CP predictor: path.csv:COLUMN with "
            "interval_start_utc, hourly or finer; default: bundled ERCOT native load for ERCOT prices, else none. "
            "Overrides market_data.load."
        ),
    ] = None,
    ancillary_prices: Annotated[
        str | None,
        typer.Option(
            help="Ancillary-service prices CSV: interval_start_utc and a column per product (REGDN, REGUP, RRS, "
            "NSPIN, ECRS) [USD/MW per hour], hourly; default: bundled ERCOT 2022–2023. Overrides "
            "market_data.ancillary_prices."
        ),
    ] = None,
    fourcp_peaks: Annotated[
        str | None,
        typer.Option(
            help="4CP peaks CSV: one peak hour per month (year, month, peak_hour_start_utc) or the interval(s) of "
            "each month's peak (peak_interval_start_utc); default: bundled ERCOT 2021–2023. Overrides "
            "market_data.fourcp_peaks and fourcp.peaks_csv."
        ),
    ] = None,
    forecast: Annotated[
        str | None,
        typer.Option(help=f"rolling: price forecaster, one of {', '.join(FORECASTERS)} (default gbm)."),
    ] = None,
    horizon_hours: Annotated[
        int | None, typer.Option(help="rolling: hours each re-solve looks ahead (default 48) [h].")
    ] = None,
    risk_quantile: Annotated[
        float | None,
        typer.Option(help="rolling: forecast quantile GPU commitments are priced at, 0.5–0.9 (default 0.9)."),
    ] = None,
    wait_for_lock: Annotated[
        bool, typer.Option(help="Wait while another run writes --out, instead of stopping at once.")
    ] = False,
) -> None:
    """Backtest strategies on a site over real market history and write summaries and a report.

    --start/--end are market-local calendar dates (both included) unless given as ISO times with
    an offset (end exclusive); see the README. Intervals without a price are excluded and reported
    as gaps, never filled.
    """
    names = strategy or [name for name in STRATEGIES if name != RollingPolicy.name]
    folder: RunFolder | None = None
    try:
        folder = RunFolder.claim(out, flag="--out", wait=wait_for_lock)
        for note in folder.cleaned:
            err_console.print(f"note: {note}", highlight=False, soft_wrap=True)
        overrides: dict[str, tuple[tuple[str, ...], object]] = {
            "--tx-fees-btc-per-block": (("bitcoin", "tx_fees_btc_per_block"), tx_fees_btc_per_block),
            "--hysteresis-usd-per-mwh": (
                ("strategies", "breakeven", "hysteresis_usd_per_mwh"),
                hysteresis_usd_per_mwh,
            ),
            "--confirm-intervals": (("strategies", "breakeven", "confirm_intervals"), confirm_intervals),
            "--forecast": (("strategies", "rolling", "forecast"), forecast),
            "--horizon-hours": (("strategies", "rolling", "horizon_hours"), horizon_hours),
            "--risk-quantile": (("strategies", "rolling", "risk_quantile"), risk_quantile),
        }
        _check_strategy_options(
            names, {flag: value for flag, (_, value) in overrides.items()} | {"--day-ahead": day_ahead}
        )
        site = _with_overrides(load_site(site_file), overrides)
        for name in names:
            make_policy(name, site)  # unknown names fail before any work
        if len(set(names)) != len(names):
            raise ConfigError(f"--strategy: each strategy once, got {', '.join(names)}")
        bt = prepare_backtest(
            site,
            start,
            end,
            prices=prices,
            day_ahead=day_ahead,
            market=market,
            load=load,
            ancillary_prices=ancillary_prices,
            fourcp_peaks=fourcp_peaks,
        )
        results: list[StrategyResult] = []
        with Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            TextColumn("{task.completed:>6}/{task.total} intervals"),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
            disable=not sys.stderr.isatty(),
        ) as bar:
            for name in names:
                task = bar.add_task(name, total=bt.inputs.num_intervals)

                def advance(done: int, task: TaskID = task) -> None:
                    bar.update(task, completed=done)

                results.append(run_strategy(bt, name, progress=advance))
        compared = comparison(bt, results)
        paths = write_outputs(folder, bt, results, compared)
        notes = folder.notes
    except PowerfirstError as exc:
        fail(exc)
        return
    finally:
        if folder is not None:
            folder.release()  # on a signal, says what --out holds
    table = Table(title=f"{site.name} — {bt.prices.name}, {bt.window.describe()}")
    hybrid = site.gpu_hall is not None
    programs = site.ancillary is not None or site.heat_offtake is not None or site.fourcp is not None
    columns = ["strategy", "net margin M USD", "value captured", "mining M USD"]
    if hybrid:
        columns.append("AI M USD")
    if programs:
        columns.append("AS+heat−4CP M USD")
    columns += ["sell-back M USD", "power cost M USD", "all-in USD/MWh", "mean uptime", "time s"]
    for column in columns:
        if column == "strategy":
            table.add_column(column, no_wrap=True)
        else:
            table.add_column(column, justify="right")
    for r in results:
        s = r.summary
        captured = compared.strategies[r.name].value_captured_pct
        all_in = s.all_in_power_cost_usd_per_mwh
        uptime = sum(s.uptime.values()) / len(s.uptime)
        revenue, cost = s.revenue_usd, s.cost_usd
        row = [
            r.name + (" (upper bound)" if s.is_upper_bound else ""),
            _money(s.net_margin_usd),
            "—" if captured is None else f"{captured:.1f} %",
            _money(revenue.mining),
        ]
        if hybrid:
            row.append(_money(revenue.inference + revenue.training + revenue.rental - cost.sla_penalty))
        if programs:
            row.append(_money(revenue.ancillary + revenue.heat - cost.fourcp_charge))
        table.add_row(
            *row,
            _money(revenue.power_sellback),
            _money(cost.energy + cost.adders),
            "—" if all_in is None else f"{all_in:.2f}",
            f"{uptime:.1%}",
            f"{s.solve_seconds:.2f}",
        )
    console.print(table)
    console.print(bt.window.zone_line(), highlight=False, soft_wrap=True)
    console.print(
        f"intervals: {bt.inputs.num_intervals}; {bt.gaps.describe()}", highlight=False, soft_wrap=True
    )
    for line in input_lines(bt, results):
        console.print(line, highlight=False)
    for warning in bt.warnings:
        console.print(f"warning: {warning}", highlight=False, soft_wrap=True)
    for note in compared.notes:
        if note not in bt.warnings:
            console.print(f"note: {note}", highlight=False)
    for note in notes:
        console.print(f"note: {note}", highlight=False)
    console.print(f"report: {paths['report.html']}")

"""``powerfirst prices`` and ``powerfirst breakeven``: what a price source holds, and a miner's strike price."""

from __future__ import annotations

from typing import Annotated

import typer

from powerfirst.bitcoin.economics import breakeven_usd_per_mwh
from powerfirst.cli.common import console, fail
from powerfirst.cli.options import END_HELP, SOURCES_HELP, START_HELP
from powerfirst.errors import ConfigError, PowerfirstError
from powerfirst.market.markets import market_names
from powerfirst.market.source_spec import price_spec
from powerfirst.market.sources import parse_source
from powerfirst.market.window import check_on_grid, parse_window, resolve_market, resolve_timezone


def breakeven(
    hashprice_usd_per_ph_day: Annotated[float, typer.Option(help="Hashprice [USD per PH/s per day].")],
    efficiency_j_per_th: Annotated[float, typer.Option(help="Miner efficiency [J/TH].")],
    pue: Annotated[float, typer.Option(help="Meter power / machine power [-].")] = 1.0,
    pool_fee_fraction: Annotated[float, typer.Option(help="Pool fee [0-1].")] = 0.0,
) -> None:
    """Print the power price [USD/MWh] at which a miner breaks even: hashprice / (0.024 × J/TH)."""
    checks = [
        (
            "--hashprice-usd-per-ph-day",
            hashprice_usd_per_ph_day,
            "USD/PH/day",
            0 < hashprice_usd_per_ph_day <= 1_000_000,
            "in (0, 1,000,000]",
        ),
        (
            "--efficiency-j-per-th",
            efficiency_j_per_th,
            "J/TH",
            1.0 <= efficiency_j_per_th <= 500.0,
            "in [1, 500]",
        ),
        ("--pue", pue, "ratio", 1.0 <= pue <= 3.0, "between 1 and 3"),
        ("--pool-fee-fraction", pool_fee_fraction, "fraction", 0.0 <= pool_fee_fraction < 1.0, "in [0, 1)"),
    ]
    for flag, value, unit, ok, limit in checks:
        if not ok:
            fail(ConfigError(f"{flag} = {value:g} {unit}: must be {limit}"))
    value = float(
        breakeven_usd_per_mwh(
            hashprice_usd_per_ph_day, efficiency_j_per_th, pue=pue, pool_fee_fraction=pool_fee_fraction
        )
    )
    console.print(f"{value:.2f} USD/MWh")


def prices(
    source: Annotated[str, typer.Argument(help=SOURCES_HELP, metavar="SOURCE")],
    start: Annotated[str, typer.Option(help=START_HELP)],
    end: Annotated[str, typer.Option(help=END_HELP)],
    timezone: Annotated[str | None, typer.Option(help="Market-local zone for a CSV source.")] = None,
    market: Annotated[
        str | None, typer.Option(help=f"Market of a CSV source ({market_names()}); sets the zone of dates.")
    ] = None,
) -> None:
    """Show what a price source holds for a window: intervals, gaps and price statistics."""
    try:
        spec = price_spec(source)  # the SOURCE text, parsed once
        iso, market_origin = resolve_market(parse_source(spec), option=market)
        zone, origin = resolve_timezone(
            parse_source(spec, market=iso),
            site_timezone=timezone,
            market=iso,
            market_origin=market_origin,
            timezone_label="--timezone",
            advice="give --timezone (an IANA zone, e.g. America/New_York) or --market (one of {markets})",
            none_named="neither --timezone nor --market is given",
        )
        src = parse_source(spec, timezone=zone, market=iso)
        window = parse_window(start, end, zone, origin)
        series = src.load(window.start_utc, window.end_utc)
        check_on_grid(window, series, start, end)
        gaps = series.gaps(window.start_utc, window.end_utc)
    except PowerfirstError as exc:
        fail(exc)
        return
    values = series.prices.dropna()
    console.print(f"{series.name}: {window.describe()}")
    console.print(window.zone_line(), highlight=False)
    console.print(
        f"interval {series.interval_hours * 60:g} min; {len(values)} of {gaps.expected_intervals} intervals "
        f"have a price; {gaps.describe()}",
        highlight=False,
        soft_wrap=True,
    )
    if len(values):
        console.print(
            f"USD/MWh: mean {values.mean():.2f}, min {values.min():.2f}, max {values.max():.2f}, "
            f"negative in {(values < 0).mean():.1%} of intervals"
        )

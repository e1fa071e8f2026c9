"""The market data a 4CP evaluation reads: whole ERCOT-local years of system load and day-ahead prices.

4CP is ERCOT's program, so the years are ERCOT-local and a day-ahead source of another market is
an error.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from powerfirst.errors import ConfigError
from powerfirst.market.information import MarketData, bundled_system_load
from powerfirst.market.markets import ERCOT
from powerfirst.market.sources import PriceSource, parse_source
from powerfirst.market.window import resolve_timezone

__all__ = ["fourcp_day_ahead_source", "fourcp_market_data"]


def _year_bounds_utc(year: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    return (
        pd.Timestamp(f"{year}-01-01", tz=ERCOT.timezone).tz_convert("UTC"),
        pd.Timestamp(f"{year + 1}-01-01", tz=ERCOT.timezone).tz_convert("UTC"),
    )


def fourcp_market_data(
    years: Sequence[int],
    da_point: str = "HB_HUBAVG",
    *,
    load: pd.Series | None = None,
    day_ahead: str | None = None,
) -> MarketData:
    """Hourly system load [MW] and day-ahead prices [USD/MWh] of whole local years (no real-time
    prices): the bundled ERCOT native load and ``ercot-da:da_point``, or the user's ``load`` series
    and ``day_ahead`` SOURCE (none when ``load`` is given without it)."""
    loads, prices = [], []
    user = load is not None
    source = fourcp_day_ahead_source(day_ahead if day_ahead is not None else f"ercot-da:{da_point}")
    empty = pd.Series([], index=pd.DatetimeIndex([], tz="UTC").as_unit("ns"), dtype="float64")
    for year in sorted(years):
        start, end = _year_bounds_utc(year)
        if load is not None:
            loads.append(load[(load.index >= start) & (load.index < end)])
        else:
            loads.append(bundled_system_load(start, end))
        if not user or day_ahead is not None:
            prices.append(source.load(start, end).prices)
    return MarketData(
        timezone=ERCOT.timezone,
        rt_price_usd_per_mwh=empty,
        rt_interval=pd.Timedelta(minutes=15),
        da_price_usd_per_mwh=pd.concat(prices).sort_index() if prices else empty,
        load_mw=pd.concat(loads).sort_index(),
        market=ERCOT,
    )


def fourcp_day_ahead_source(spec: str) -> PriceSource:
    """The day-ahead SOURCE read as ERCOT's (4CP is ERCOT's program): a bundled source of another
    market, or a CSV whose ``interval_start_local`` is in another zone, is an error."""
    source = parse_source(spec, timezone=ERCOT.timezone, market=ERCOT)
    if source.market is not None and source.market.key != ERCOT.key:
        raise ConfigError(
            f"--day-ahead {spec} is {source.market.label} data, but 4CP is {ERCOT.label}'s program: "
            f"give {ERCOT.label} day-ahead prices"
        )
    resolve_timezone(source, site_timezone=None, market=ERCOT, market_origin="4CP's market")
    return source

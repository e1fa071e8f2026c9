"""Market data for a period, read from price sources and system load (the user's file or ERCOT's
bundled native load) into a MarketData."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from powerfirst.errors import DataError
from powerfirst.market.information import MarketData, bundled_system_load
from powerfirst.market.markets import Market
from powerfirst.market.sources import parse_source
from powerfirst.market.user_inputs import read_load_csv

__all__ = ["load_market_data", "load_source"]

_Reader = Callable[[pd.Timestamp, pd.Timestamp], pd.Series]


def _empty() -> pd.Series:
    return pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC").as_unit("ns"))


def load_source(rt_source: str, load: str | None) -> str | None:
    """Where system load comes from, in words: the user's ``load`` (``path.csv:COLUMN``), ERCOT's
    bundled native load for an ERCOT price source, else None (no load)."""
    if load is not None:
        return load
    if rt_source.startswith("ercot-"):
        return "bundled ERCOT native load 2021–2023 (ercot_native_load_hourly_*.csv.gz:ERCOT)"
    return None


def load_market_data(
    rt_source: str,
    da_source: str | None,
    start_utc: pd.Timestamp,
    end_utc: pd.Timestamp,
    load: str | None = None,
    *,
    timezone: str | None = None,
    market: Market | None = None,
) -> MarketData:
    """Real-time prices (required), day-ahead prices and system load for [start_utc, end_utc).

    ``timezone`` and ``market`` are the market-local zone and market a CSV source is read in (see
    :func:`powerfirst.market.window.resolve_timezone`); a bundled source has its own.

    Day-ahead prices [USD/MWh] and load [MW] are optional inputs: the market-local years of the
    period that their data does not cover stay empty (ERCOT day-ahead and load begin in 2021).
    Load [MW] is ``load`` (the user's ``path.csv:COLUMN``, hourly or finer) or, without it,
    ERCOT's bundled native load for an ERCOT real-time source (none otherwise). Raises DataError
    when the real-time source does not cover the period, a source name is invalid or the load file
    is bad.
    """
    rt_reader = parse_source(rt_source, timezone=timezone, market=market)
    rt = rt_reader.load(start_utc, end_utc)
    da = _empty()
    if da_source is not None:
        da_reader = parse_source(
            da_source, timezone=rt.timezone, market=rt_reader.market
        )  # an unknown source fails here, not silently below
        da = _covered(lambda s, e: da_reader.load(s, e).prices, start_utc, end_utc, rt.timezone)
    load_mw = _empty()
    if load is not None:
        user = read_load_csv(load)
        load_mw = user[(user.index >= start_utc) & (user.index < end_utc)]
    elif rt.name.startswith("ercot-"):
        load_mw = _covered(bundled_system_load, start_utc, end_utc, rt.timezone)
    return MarketData(
        timezone=rt.timezone,
        rt_price_usd_per_mwh=rt.prices,
        rt_interval=rt.interval,
        da_price_usd_per_mwh=da,
        load_mw=load_mw,
        market=rt_reader.market,
    )


def _covered(read: _Reader, start_utc: pd.Timestamp, end_utc: pd.Timestamp, timezone: str) -> pd.Series:
    """What ``read`` has for the period, one market-local year at a time; years it lacks are skipped."""
    parts: list[pd.Series] = []
    first = start_utc.tz_convert(timezone).year
    last = (end_utc - pd.Timedelta(seconds=1)).tz_convert(timezone).year
    for year in range(first, last + 1):
        lo = max(start_utc, pd.Timestamp(f"{year}-01-01", tz=timezone).tz_convert("UTC"))
        hi = min(end_utc, pd.Timestamp(f"{year + 1}-01-01", tz=timezone).tz_convert("UTC"))
        try:
            part = read(lo, hi)
        except DataError:
            continue
        if not part.empty:
            parts.append(part)
    if not parts:
        return _empty()
    series = pd.concat(parts).astype("float64")
    unique: pd.Series = series[~series.index.duplicated(keep="first")]
    return unique.sort_index()

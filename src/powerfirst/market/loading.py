"""The market data of a period, read from its sources: real-time and day-ahead prices, system load
(the user's file or the bundled load of the prices' market) and ancillary-service prices, into a
:class:`~powerfirst.market.information.MarketData`.

Every reader of market data for the backtest and the forecasters is here (or in the modules it
calls): the callers pass the sources as the user wrote them and get the data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pandas as pd

from powerfirst.errors import DataError
from powerfirst.market.grid_programs import ancillary_table
from powerfirst.market.information import MarketData, bundled_system_load
from powerfirst.market.markets import Market, bundled_price_series, market_of_prefix
from powerfirst.market.series import PriceSeries
from powerfirst.market.source_spec import SourceSpec, price_spec
from powerfirst.market.sources import BundledPriceSource, PriceSource, parse_source
from powerfirst.market.user_inputs import read_load_csv

__all__ = [
    "ancillary_history",
    "default_day_ahead",
    "history_start",
    "load_market_data",
    "load_source",
    "past_market_data",
    "window_market_data",
]

_Reader = Callable[[pd.Timestamp, pd.Timestamp], pd.Series]


def _empty() -> pd.Series:
    return pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC").as_unit("ns"))


def _load_market(spec: SourceSpec) -> Market | None:
    """The market whose bundled system load goes with a bundled price source (None: none)."""
    if spec.kind != "bundled":
        return None
    market = market_of_prefix(spec.head)
    return market if market is not None and market.bundled_load is not None else None


def _bundled_load_of(source: PriceSource) -> Market | None:
    if not isinstance(source, BundledPriceSource):
        return None
    market = source.market
    return market if market is not None and market.bundled_load is not None else None


def load_source(rt_source: str | SourceSpec, load: str | None) -> str | None:
    """Where system load comes from, in words: the user's ``load`` (``path.csv:COLUMN``), the
    bundled load of a bundled price source's market (ERCOT's native load), else None (no load)."""
    if load is not None:
        return load
    market = _load_market(price_spec(rt_source))
    if market is not None and market.bundled_load is not None:
        return market.bundled_load.description
    return None


def default_day_ahead(spec: str | SourceSpec) -> str | None:
    """The day-ahead source that goes with a real-time source: ``ercot-rt:P`` → ``ercot-da:P`` when
    the bundled day-ahead file has that point; else none."""
    try:
        parsed = price_spec(spec)
    except DataError:
        return None
    if parsed.kind != "bundled":
        return None
    day_ahead = bundled_price_series()[parsed.head].day_ahead
    if not day_ahead:
        return None
    try:
        parse_source(f"{day_ahead}:{parsed.point}")
    except DataError:
        return None
    return f"{day_ahead}:{parsed.point}"


def load_market_data(
    rt_source: str | SourceSpec,
    da_source: str | SourceSpec | None,
    start_utc: pd.Timestamp,
    end_utc: pd.Timestamp,
    load: str | None = None,
    *,
    timezone: str | None = None,
    market: Market | None = None,
    required_from_utc: pd.Timestamp | None = None,
) -> MarketData:
    """Real-time prices (required), day-ahead prices and system load for [start_utc, end_utc).

    ``timezone`` and ``market`` are the market-local zone and market a CSV source is read in (see
    :func:`powerfirst.market.window.resolve_timezone`); a bundled source has its own.
    ``required_from_utc``: the real-time prices of [start_utc, required_from_utc) are optional
    history: when the source cannot load them, its prices are read from where they start (see
    :func:`history_start`); None: the whole period is required.

    Day-ahead prices [USD/MWh] and load [MW] are optional inputs: the market-local years of the
    period that their data does not cover stay empty (ERCOT day-ahead and load begin in 2021).
    Load [MW] is ``load`` (the user's ``path.csv:COLUMN``, hourly or finer) or, without it, the
    bundled load of a bundled real-time source's market (ERCOT's native load; none otherwise).
    Raises DataError when the real-time source does not cover the period, a source name is
    invalid or the load file is bad.
    """
    rt_reader = parse_source(rt_source, timezone=timezone, market=market)
    rt = _with_history(rt_reader, start_utc, end_utc, required_from_utc)
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
    elif _bundled_load_of(rt_reader) is not None:
        load_mw = _covered(bundled_system_load, start_utc, end_utc, rt.timezone)
    return MarketData(
        timezone=rt.timezone,
        rt_price_usd_per_mwh=rt.prices,
        rt_interval=rt.interval,
        da_price_usd_per_mwh=da,
        load_mw=load_mw,
        market=rt_reader.market,
    )


def history_start(source: PriceSource, start_utc: pd.Timestamp, before_utc: pd.Timestamp) -> pd.Timestamp:
    """Where the history of [start_utc, before_utc) that ``source`` has begins: ``start_utc`` when
    it loads from there, else the start of its first priced interval (a bundled series' first year:
    no file before it); ``before_utc`` when it has no price before it."""
    try:
        source.load(start_utc, before_utc)
    except DataError:
        first = source.first_priced_utc()
        if first is None or first >= before_utc:
            return before_utc
        return max(start_utc, first)
    return start_utc


def _with_history(
    source: PriceSource,
    start_utc: pd.Timestamp,
    end_utc: pd.Timestamp,
    required_from_utc: pd.Timestamp | None,
) -> PriceSeries:
    """The prices of [start_utc, end_utc), [start_utc, required_from_utc) being optional history
    read from where the source's prices start. Raises the source's DataError (naming its
    coverage) when it does not cover [required_from_utc, end_utc)."""
    try:
        return source.load(start_utc, end_utc)
    except DataError:
        if required_from_utc is None or required_from_utc <= start_utc:
            raise
    first = source.first_priced_utc()
    if first is not None and start_utc < first < required_from_utc:
        try:
            return source.load(first, end_utc)
        except DataError:  # a year missing between the history and the window
            pass
    return source.load(required_from_utc, end_utc)


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


def ancillary_history(
    products: tuple[str, ...], path: str | Path | None, start_utc: pd.Timestamp, end_utc: pd.Timestamp
) -> dict[str, pd.Series]:
    """The hourly capacity price of each product over [start_utc, end_utc) [USD/MW per hour]: the
    user's file (``path``) or the bundled ERCOT prices; hours without a price left out."""
    table = ancillary_table(products, path)
    inside = table[(table.index >= start_utc) & (table.index < end_utc)]
    return {p: inside[p].dropna().astype("float64") for p in products}


def window_market_data(
    spec: str | SourceSpec,
    day_ahead: str | SourceSpec | None,
    load: str | None,
    ancillary: tuple[tuple[str, ...], str | Path | None] | None,
    start: pd.Timestamp,
    window: tuple[pd.Timestamp, pd.Timestamp],
    zone: tuple[str, Market | None],
) -> MarketData:
    """The market data a clock reveals over a ``window`` ([start, end) UTC): from ``start``
    (history before the window, read from where the prices start when they start later) to two
    days after it (day-ahead prices are published the day before), in the backtest's zone and
    market. ``ancillary``: the site's products and the user's price file (None: no ancillary
    services). Raises DataError when the real-time prices do not cover the window."""
    window_start, window_end = window
    end = window_end + pd.Timedelta(days=2)
    try:
        data = load_market_data(spec, day_ahead, start, end, load, required_from_utc=window_start)
    except DataError:  # the real-time source ends with the window
        data = load_market_data(spec, day_ahead, start, window_end, load, required_from_utc=window_start)
    return replace(
        data,
        as_price_usd_per_mw_hour=ancillary_history(*ancillary, start, end) if ancillary is not None else {},
        timezone=zone[0],
        market=zone[1],
    )


def past_market_data(
    spec: str | SourceSpec,
    day_ahead: str | SourceSpec | None,
    load: str | None,
    before_utc: pd.Timestamp,
    zone: tuple[str, Market | None],
    days: int,
) -> MarketData | None:
    """Up to ``days`` days of market data before ``before_utc``: from where the price source's
    prices start when they start later (None when it has none before ``before_utc``)."""
    source = parse_source(spec)
    asked = before_utc - pd.Timedelta(days=days)
    start = history_start(source, asked, before_utc)
    if start >= before_utc:
        return None
    if start > asked:
        try:
            source.load(start, before_utc)
        except DataError:  # a year missing inside the history
            return None
    data = load_market_data(spec, day_ahead, start, before_utc, load)  # a bad load file fails here
    return replace(data, timezone=zone[0], market=zone[1])

"""How ``--start`` and ``--end`` are read.

* A plain date (``2023-01-01``) is a **market-local** calendar day: ``--start`` is local midnight
  at the start of that day, ``--end`` is local midnight at the *end* of that day (the end date is
  included). ``--start 2023-01-01 --end 2023-12-31`` in ERCOT is the 35,040 intervals of 2023 in
  Central time, from 2023-01-01T06:00Z to 2024-01-01T06:00Z. DST days are 23 or 25 hours long.
* A time with a UTC offset or ``Z`` (``2023-06-01T05:00:00Z``) is that instant; the end is exclusive.
* A time without an offset (``2023-06-01T14:00``) is **market-local** (never UTC); the end is
  exclusive.
* The window must lie on the price series' interval grid (:func:`check_on_grid`): ``--start
  2023-01-01T06:07:00Z`` on 15-minute prices that start at :00, :15, :30, :45 is an error naming
  the nearest valid times (06:00Z and 06:15Z), never a window of misaligned intervals.

Which zone is "market-local" (:func:`resolve_timezone`), first that applies:

1. a CSV price source with ``interval_start_local`` (ISO-8601 with offsets): the zone, among the
   site's ``timezone``, the market's zone and every known market's zone, whose UTC offsets match
   every row; a conflict with the site's ``timezone`` or ``market`` is an error naming both. A
   bundled source is dated in its market's zone (its files carry ``interval_start_local`` in it):
   a site ``timezone`` with other UTC offsets is an error naming both, like a CSV's;
2. the site's ``timezone``;
3. the market's zone (``market:`` in the site file, ``--market``, or the market of a bundled
   source: ``ercot-rt`` → ERCOT);
4. otherwise an error: plain dates need a zone, and none is guessed.

The price source that decides is the one the backtest reads (``--prices`` when given), never the
site's replaced ``contract.price_series``. The zone and where it came from are stated with the
results (:attr:`Window.origin`). The user's other CSVs (day-ahead prices, system load, ancillary
prices) are dated in UTC; one that carries ``interval_start_local`` in another zone than the
backtest's is an error naming both (:func:`check_local_zone`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from powerfirst.calendar import local_offsets_ns
from powerfirst.csv_input import describe_length
from powerfirst.errors import ConfigError, DataError
from powerfirst.market.markets import MARKETS, Market, find_market, market_names
from powerfirst.market.series import PriceSeries
from powerfirst.market.sources import BundledPriceSource, CsvPriceSource, PriceSource

__all__ = [
    "Window",
    "check_local_zone",
    "check_on_grid",
    "parse_window",
    "resolve_market",
    "resolve_timezone",
]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Window:
    """A half-open UTC window [start_utc, end_utc) and the zone it was read in."""

    start_utc: pd.Timestamp
    end_utc: pd.Timestamp
    timezone: str
    origin: str = ""
    """Where the zone came from, e.g. "from the CSV's interval_start_local"."""

    def describe(self) -> str:
        local_start = self.start_utc.tz_convert(self.timezone)
        local_end = self.end_utc.tz_convert(self.timezone)
        return f"{local_start.isoformat()} to {local_end.isoformat()} ({self.timezone}, end exclusive)"

    def zone_line(self) -> str:
        """E.g. "dates read in America/New_York (from the CSV's interval_start_local)"."""
        return f"dates read in {self.timezone}" + (f" ({self.origin})" if self.origin else "")


_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def _parse_point(text: str, timezone: str, *, field: str, is_end: bool) -> pd.Timestamp:
    text = text.strip()
    if not (_DATE.match(text) or _ISO_TIME.match(text)):
        raise ConfigError(
            f"{field} = {text!r}: give a date as YYYY-MM-DD (market-local, e.g. 2023-07-31) or an ISO-8601 "
            "time such as 2023-07-31T05:00:00Z"
        )
    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        raise ConfigError(f"{field} = {text!r}: not a date (YYYY-MM-DD) or ISO-8601 time") from None
    if pd.isna(stamp):
        raise ConfigError(f"{field} = {text!r}: not a date (YYYY-MM-DD) or ISO-8601 time")
    if stamp.tzinfo is None:
        if _DATE.match(text) and is_end:
            stamp = stamp + pd.Timedelta(days=1)
        try:
            stamp = stamp.tz_localize(timezone, ambiguous="raise", nonexistent="raise")
        except Exception:  # pytz/zoneinfo raise different types for DST edge cases
            raise ConfigError(_dst_message(field, text, stamp, timezone)) from None
    return stamp.tz_convert("UTC")


def _dst_message(field: str, text: str, naive: pd.Timestamp, timezone: str) -> str:
    """Why a local time cannot be read (it is skipped or repeated by a clock change), and the
    times with offsets that the user may mean."""
    wall = naive.to_pydatetime()
    zone = ZoneInfo(timezone)
    first, second = (wall.replace(fold=f, tzinfo=zone).utcoffset() for f in (0, 1))
    iso = wall.isoformat(timespec="minutes")

    def offset(delta: timedelta) -> str:
        minutes = int(delta.total_seconds() // 60)
        sign = "-" if minutes < 0 else "+"
        return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"

    if first is None or second is None or first == second:
        return f"{field} = {text!r}: not a valid local time in {timezone}; give it with its UTC offset"
    if first > second:  # clocks go back: the wall time happens twice
        return (
            f"{field} = {text!r}: {iso} happens twice in {timezone} (DST ends: the clocks go back that night); give it "
            f"with its UTC offset: {iso}{offset(first)} (the first) or {iso}{offset(second)} (the second)"
        )
    return (
        f"{field} = {text!r}: {iso} does not exist in {timezone} (DST starts: the clocks go forward that night); give a "
        "time outside the skipped hour, or with its UTC offset"
    )


def resolve_market(
    source: PriceSource, *, option: str | None = None, site_market: str | None = None
) -> tuple[Market | None, str]:
    """The market of a backtest and where it was named: ``--market`` (``option``), else the site's
    ``market``, else the market of a bundled price source; (None, "") when none says. A named
    market that differs from a bundled source's own is an error naming both."""
    named: tuple[Market, str] | None = None
    if option is not None:
        named = (find_market(option, field="--market"), "--market")
    elif site_market is not None:
        named = (find_market(site_market, field="market"), "the site's market")
    own = source.market if isinstance(source, BundledPriceSource) else None
    if named is not None and own is not None and named[0].key != own.key:
        raise ConfigError(
            f"{named[1]} = {named[0].key!r} but the price source {source.name} is {own.label} data "
            f"(market {own.key!r}); give a CSV of {named[0].label} prices or drop the market"
        )
    if named is not None:
        return named
    if own is not None:
        return own, f"the price source {source.name}"
    return None, ""


def _same_offsets(zone_a: str, zone_b: str) -> bool:
    """True when two IANA zones have the same UTC offset at every hour of 2020–2024 (e.g.
    ``US/Central`` and ``America/Chicago``)."""
    if zone_a == zone_b:
        return True
    hours = pd.date_range("2020-01-01", "2025-01-01", freq="h", tz="UTC").as_unit("ns").asi8
    return bool(np.array_equal(local_offsets_ns(hours, zone_a), local_offsets_ns(hours, zone_b)))


_SITE_ADVICE = (
    "set timezone: (an IANA zone, e.g. America/New_York) or market: (one of {markets}) in the site file, "
    "or give --market"
)


def resolve_timezone(
    source: PriceSource,
    *,
    site_timezone: str | None,
    market: Market | None,
    market_origin: str = "",
    timezone_label: str = "the site's timezone",
    advice: str = _SITE_ADVICE,
    none_named: str = "the site names neither timezone: nor market:",
) -> tuple[str, str]:
    """The zone plain dates and local-time features use, and where it came from (see the module
    docstring). Raises DataError/ConfigError instead of guessing. ``timezone_label`` names where
    ``site_timezone`` was set, ``advice`` (with ``{markets}``) says how to name a zone and
    ``none_named`` that none was, in the terms of the command (``prices`` has ``--timezone`` and
    ``--market``, no site file)."""
    fix = advice.format(markets=market_names())
    if isinstance(source, CsvPriceSource):
        candidates = [z for z in (site_timezone, market.timezone if market else None) if z]
        candidates += [m.timezone for m in MARKETS.values()]
        found = source.local_zones(candidates)
        if found is not None:
            column = f"{source.path}'s interval_start_local"
            if site_timezone is not None:
                if site_timezone in found:
                    return site_timezone, f"from {timezone_label}, matching {column}"
                raise DataError(
                    f"{column} offsets are those of {', '.join(found) or 'no known zone'}, but {timezone_label} "
                    f"is {site_timezone}: correct one of them"
                )
            if market is not None:
                if market.timezone in found:
                    return market.timezone, f"from {column}, the zone of {market.label}"
                raise DataError(
                    f"{column} offsets are those of {', '.join(found) or 'no known zone'}, but {market_origin} "
                    f"is {market.label}, whose operating day is in {market.timezone}: correct one of them"
                )
            if len(found) == 1:
                return found[0], f"from {column}"
            if not found:
                raise DataError(
                    f"{column} offsets match none of the known markets' zones "
                    f"({', '.join(dict.fromkeys(candidates))}): {fix}"
                )
            raise DataError(
                f"{column} offsets match several zones ({', '.join(found)}; e.g. a file without a DST change): {fix}"
            )
    if isinstance(source, BundledPriceSource) and site_timezone is not None:
        if not _same_offsets(site_timezone, source.timezone):
            raise DataError(
                f"{timezone_label} is {site_timezone}, but the price source {source.name} is "
                f"{source.market.label if source.market else 'bundled'} data dated in {source.timezone} (its "
                f"interval_start_local): plain dates, 4CP hours and local-time rules would be read in another "
                "zone than the market's; drop the timezone or set it to the market's"
            )
        return site_timezone, f"from {timezone_label}, matching {source.name}"
    if site_timezone is not None:
        return site_timezone, f"from {timezone_label}"
    if market is not None:
        return market.timezone, f"the zone of {market.label}, from {market_origin}"
    raise ConfigError(
        f"{source.name}: plain dates and local-time features need a time zone, and this CSV has no "
        f"interval_start_local column (ISO-8601 with UTC offsets) and {none_named}: {fix}"
    )


def check_local_zone(path: str | Path, what: str, timezone: str, origin: str) -> None:
    """DataError when the CSV ``path`` (given as ``what``: a flag or site-file field) carries an
    ``interval_start_local`` whose UTC offsets are not those of ``timezone`` (the backtest's zone,
    set ``origin``); nothing when the file has no such column (its ``interval_start_utc`` decides)."""
    candidates = [timezone, *(m.timezone for m in MARKETS.values())]
    found = CsvPriceSource(path, "interval_start_utc").local_zones(candidates)
    if found is None or timezone in found:
        return
    raise DataError(
        f"{what} {path}: its interval_start_local offsets are those of {', '.join(found) or 'no known zone'}, "
        f"but the backtest reads dates in {timezone} ({origin}): a file of another market or zone; correct "
        "the file or the zone"
    )


def parse_window(start: str, end: str, timezone: str, origin: str = "") -> Window:
    """Read ``--start``/``--end`` (see the module docstring) into a UTC window."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"time zone {timezone!r}: unknown IANA time zone (e.g. America/Chicago)") from None
    start_utc = _parse_point(start, timezone, field="--start", is_end=False)
    end_utc = _parse_point(end, timezone, field="--end", is_end=True)
    if end_utc <= start_utc:
        raise ConfigError(
            f"--end = {end!r} must be after --start = {start!r} (window would be "
            f"{start_utc.isoformat()} to {end_utc.isoformat()} UTC)"
        )
    return Window(start_utc, end_utc, timezone, origin)


def _z(stamp: pd.Timestamp) -> str:
    return stamp.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def check_on_grid(window: Window, series: PriceSeries, start: str, end: str) -> None:
    """ConfigError when ``--start`` or ``--end`` (texts ``start``/``end``, read into ``window``)
    is not an interval boundary of ``series`` (its grid: the first priced interval, or the
    coverage start, plus whole intervals); the message names the nearest valid times."""
    index = series.prices.index
    if len(index):
        anchor = pd.Timestamp(index[0])
    elif series.coverage is not None:
        anchor = pd.Timestamp(series.coverage[0])
    else:
        return
    interval = series.interval
    for field, text, stamp in (("--start", start, window.start_utc), ("--end", end, window.end_utc)):
        offset = (stamp - anchor) % interval
        if offset != pd.Timedelta(0):
            before = stamp - offset
            after = before + interval
            raise ConfigError(
                f"{field} = {text!r} ({_z(stamp)}) is not on the {describe_length(interval)} interval grid of {series.name} "
                f"(its interval starts, e.g. {_z(anchor)}); nearest valid times: "
                f"{_z(before)} or {_z(after)} "
                f"({before.tz_convert(window.timezone).isoformat()} or {after.tz_convert(window.timezone).isoformat()} "
                f"in {window.timezone})"
            )

"""Hourly values by market-local day and hour, and the local calendar the 4CP predictor reads.

Days are counted from 1970-01-01 local; hours are local wall-clock hours 0–23.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from functools import cache

import numpy as np
import pandas as pd

from powerfirst._types import Array, IntArray
from powerfirst.calendar import NS_PER_DAY, NS_PER_HOUR, local_offsets_ns
from powerfirst.errors import DataError

__all__ = [
    "EPOCH_ORDINAL",
    "DayTable",
    "local_wall_ns",
    "month_bounds",
    "month_index",
    "off_day",
    "table_of",
    "utc_ns",
]

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


_OFFSET_BLOCK_BITS = 13
"""UTC offsets are tabulated per block of 2**13 hours (~341 days) of UTC hours since 1970."""


@cache
def _offset_block_ns(timezone: str, block: int) -> IntArray:
    """UTC offset of ``timezone`` [ns] at each UTC hour start of one block."""
    start = pd.Timestamp(block << _OFFSET_BLOCK_BITS, unit="h", tz="UTC")
    hours = pd.date_range(start, periods=1 << _OFFSET_BLOCK_BITS, freq="h").as_unit("ns")
    offsets = local_offsets_ns(np.asarray(hours.asi8, dtype=np.int64), timezone)
    offsets.flags.writeable = False
    return offsets


def local_wall_ns(ns: IntArray, timezone: str) -> IntArray:
    """Local wall-clock time of UTC instants, as nanoseconds since 1970-01-01 local (offsets taken at
    the UTC hour start: zones that change offset within an hour are not supported)."""
    hour = ns // NS_PER_HOUR
    block = hour >> _OFFSET_BLOCK_BITS
    within = hour - (block << _OFFSET_BLOCK_BITS)
    if len(ns) and block[0] == block[-1]:
        return ns + _offset_block_ns(timezone, int(block[0]))[within]
    offsets = np.empty(len(ns), dtype=np.int64)
    for b in np.unique(block):
        mask = block == b
        offsets[mask] = _offset_block_ns(timezone, int(b))[within[mask]]
    return ns + offsets


def utc_ns(index: pd.Index, what: str) -> IntArray:
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise DataError(f"4CP predictor: {what} must be indexed by time-zone-aware (UTC) timestamps")
    return np.asarray(index.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)


def month_index(day: int) -> int:
    """Months since 1970-01 of a local day (days since 1970-01-01)."""
    d = date.fromordinal(day + EPOCH_ORDINAL)
    return (d.year - 1970) * 12 + d.month - 1


def month_bounds(month_index: int) -> tuple[int, int]:
    """First day and the day after the last (days since 1970-01-01) of a month."""
    year, month0 = divmod(month_index, 12)
    first = date(1970 + year, month0 + 1, 1)
    nxt = date(1970 + year + (month0 + 1) // 12, (month0 + 1) % 12 + 1, 1)
    return first.toordinal() - EPOCH_ORDINAL, nxt.toordinal() - EPOCH_ORDINAL


@cache
def _holidays(year: int) -> frozenset[int]:
    """Summer holidays that lower ERCOT load: Independence Day (as observed) and Labor Day."""
    july4 = date(year, 7, 4)
    shift = {5: -1, 6: 1}.get(july4.weekday(), 0)
    september = date(year, 9, 1)
    labor_day = september + timedelta(days=(7 - september.weekday()) % 7)
    return frozenset(d.toordinal() - EPOCH_ORDINAL for d in (july4 + timedelta(days=shift), labor_day))


@cache
def off_day(day: int) -> bool:
    d = date.fromordinal(day + EPOCH_ORDINAL)
    return d.weekday() >= 5 or day in _holidays(d.year)


class DayTable:
    """Hourly values by local day and local hour, rows ``first_day`` to ``last_day`` (NaN: unknown)."""

    def __init__(self, ns: IntArray, values: Array, timezone: str, first_day: int, last_day: int) -> None:
        self.first_day = first_day
        self.values = np.full((max(last_day - first_day + 1, 0), 24), np.nan)
        if len(ns):
            wall = local_wall_ns(ns, timezone)
            day = wall // NS_PER_DAY
            hour = (wall - day * NS_PER_DAY) // NS_PER_HOUR
            keep = (day >= first_day) & (day <= last_day) & np.isfinite(values)
            self.values[day[keep] - first_day, hour[keep]] = values[keep]
        self.peak = np.fmax.reduce(self.values, axis=1) if len(self.values) else np.empty(0)

    def row(self, day: int) -> Array | None:
        i = day - self.first_day
        return self.values[i] if 0 <= i < len(self.values) else None

    def at(self, day: int, hour: int) -> float:
        i = day - self.first_day
        return float(self.values[i, hour]) if 0 <= i < len(self.values) else math.nan

    def peaks(self, first: int, stop: int) -> Array:
        """Daily peaks of days ``first`` to ``stop - 1`` (NaN: no value)."""
        out = np.full(stop - first, np.nan)
        lo, hi = max(first - self.first_day, 0), min(stop - self.first_day, len(self.peak))
        if hi > lo:
            out[lo + self.first_day - first : hi + self.first_day - first] = self.peak[lo:hi]
        return out


def table_of(series: pd.Series, timezone: str, what: str, first_day: int, last_day: int) -> DayTable:
    clean = series.dropna()
    return DayTable(
        utc_ns(clean.index, what), clean.to_numpy(dtype=np.float64), timezone, first_day, last_day
    )

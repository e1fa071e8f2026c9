"""Time helpers shared by every layer: nanosecond constants and numbered calendar periods.

Times are UTC ``pandas.DatetimeIndex`` values or int64 nanoseconds since the epoch; a market-local
zone is always passed in by name (it comes from the market, see :mod:`powerfirst.market.markets`).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from powerfirst._types import IntArray

__all__ = ["NS_PER_DAY", "NS_PER_HOUR", "NS_PER_MINUTE", "calendar_ids", "local_offsets_ns"]

NS_PER_MINUTE = 60_000_000_000
NS_PER_HOUR = 60 * NS_PER_MINUTE
NS_PER_DAY = 24 * NS_PER_HOUR


_SHORT_SPAN_NS = 7 * NS_PER_DAY
"""Longest sorted span read with one offset when its ends share it (zones change offset at most
twice a year, months apart)."""


def local_offsets_ns(ns: IntArray, timezone: str) -> IntArray:
    """UTC offset of the zone ``timezone`` at each instant (int64 UTC nanoseconds) [ns]: the
    local wall-clock time is ``ns + offset`` (positive east of Greenwich)."""
    ns = np.asarray(ns, dtype=np.int64)
    if ns.size == 0:
        return np.zeros(0, dtype=np.int64)

    def offset(value: int) -> int:
        delta = pd.Timestamp(value, unit="ns", tz="UTC").tz_convert(timezone).utcoffset()
        return int((delta or timedelta(0)) // timedelta(microseconds=1)) * 1000

    if ns.size > 1 and int(ns[-1]) - int(ns[0]) <= _SHORT_SPAN_NS and np.all(np.diff(ns) > 0):
        first, last = offset(int(ns[0])), offset(int(ns[-1]))
        if first == last:
            return np.full(ns.shape, first, dtype=np.int64)  # no clock change inside a short sorted span
    utc = pd.DatetimeIndex(ns, tz="UTC")
    return np.asarray(utc.tz_convert(timezone).tz_localize(None).as_unit("ns").asi8 - ns, dtype=np.int64)


def calendar_ids(
    times_utc: pd.DatetimeIndex, timezone: str, slice_hours: float
) -> tuple[IntArray, tuple[str, ...], IntArray, IntArray]:
    """Numbered periods of each interval, from 0: (SLA month, its labels, clock hour, rental slice).

    Months are market-local calendar months; clock hours are UTC hours; rental slices are blocks of
    ``slice_hours`` from market-local midnight.
    """
    local = times_utc.tz_convert(timezone)
    utc_ns = times_utc.as_unit("ns").asi8
    # integer keys, factorized in order of appearance (no strings: a rolling controller calls
    # this for every re-solve)
    month_key = np.asarray(local.year, dtype=np.int64) * 12 + np.asarray(local.month, dtype=np.int64) - 1
    month_codes, month_keys = pd.factorize(month_key)
    hour_codes, _ = pd.factorize(utc_ns // NS_PER_HOUR)
    since_midnight = (utc_ns - local.normalize().as_unit("ns").asi8) / NS_PER_HOUR
    slice_in_day = np.floor(since_midnight / slice_hours + 1e-9).astype(np.int64)
    local_day = (utc_ns + local_offsets_ns(utc_ns, timezone)) // (24 * NS_PER_HOUR)
    slice_codes, _ = pd.factorize(local_day * 100_000 + slice_in_day)
    return (
        np.asarray(month_codes, dtype=np.int64),
        tuple(f"{int(k) // 12:04d}-{int(k) % 12 + 1:02d}" for k in month_keys),
        np.asarray(hour_codes, dtype=np.int64),
        np.asarray(slice_codes, dtype=np.int64),
    )

"""Time helpers shared by every layer: nanosecond constants and numbered calendar periods.

Times are UTC ``pandas.DatetimeIndex`` values or int64 nanoseconds since the epoch; a market-local
zone is always passed in by name (it comes from the market, see :mod:`powerfirst.market.markets`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from powerfirst._types import IntArray

__all__ = ["NS_PER_DAY", "NS_PER_HOUR", "calendar_ids"]

NS_PER_HOUR = 3_600_000_000_000
NS_PER_DAY = 24 * NS_PER_HOUR


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
    local_day = local.tz_localize(None).as_unit("ns").asi8 // (24 * NS_PER_HOUR)
    slice_codes, _ = pd.factorize(local_day * 100_000 + slice_in_day)
    return (
        np.asarray(month_codes, dtype=np.int64),
        tuple(f"{int(k) // 12:04d}-{int(k) % 12 + 1:02d}" for k in month_keys),
        np.asarray(hour_codes, dtype=np.int64),
        np.asarray(slice_codes, dtype=np.int64),
    )

"""ERCOT's report clock to UTC interval starts.

ERCOT reports label time by the operating day (a local calendar date in ERCOT's zone, Central prevailing time), the
**hour ending** (1–24, or "01:00"–"24:00") and, for 15-minute data, the interval of that hour
(1–4). On the fall-back day the hour ending 02 appears twice: the second one, 01:00–02:00 Central
*Standard* Time, carries ``DSTFlag = true`` (ERCOT's "repeated hour flag"); on the spring-forward
day the hour ending 03 does not exist.

The interval start is the wall-clock time ``day + (hour_ending − 1) h + (interval − 1) × 15 min``,
read in that zone: a wall time that occurs twice is the first (daylight) occurrence unless
the DST flag is set; a wall time that does not exist is an error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from powerfirst.errors import DataError
from powerfirst.market.isos.ercot import ERCOT

__all__ = ["ERCOT_TZ", "hour_ending_number", "interval_start_utc"]

ERCOT_TZ = ERCOT.timezone


def hour_ending_number(values: pd.Series) -> pd.Series:
    """Hour ending as an integer 1–24, from ``3``, ``"3"``, ``"03:00"`` or ``"24:00"``."""
    parts = values.astype(str).str.strip().str.extract(r"^(\d{1,2})(?::(\d{2}))?$")
    hours = pd.to_numeric(parts[0], errors="coerce")
    minutes = pd.to_numeric(parts[1], errors="coerce").fillna(0)
    bad = hours.isna() | ~hours.between(1, 24) | (minutes != 0)
    if bad.any():
        raise DataError(f"ERCOT hour ending {values[bad].iloc[0]!r} is not an hour 1–24 (e.g. 01:00 … 24:00)")
    return hours.astype("int64")


def interval_start_utc(
    day: pd.Series,
    hour_ending: pd.Series,
    dst_flag: pd.Series,
    interval: pd.Series | None = None,
    *,
    minutes_per_interval: int = 15,
) -> pd.DatetimeIndex:
    """UTC start of each reported interval (see the module docstring).

    ``day``: operating day (``YYYY-MM-DD`` or ``MM/DD/YYYY``); ``hour_ending``: 1–24;
    ``dst_flag``: True on the repeated (standard-time) hour of the fall-back day;
    ``interval``: 1–4 within the hour (None for hourly data).
    """
    dates = pd.to_datetime(day.astype(str).str.strip(), errors="coerce", format="mixed")
    if dates.isna().any():
        raise DataError(f"ERCOT operating day {day[dates.isna()].iloc[0]!r} is not a date")
    hours = hour_ending_number(hour_ending)
    offset = pd.to_timedelta(hours - 1, unit="h")
    if interval is not None:
        number = pd.to_numeric(interval, errors="coerce")
        per_hour = 60 // minutes_per_interval
        bad = number.isna() | ~number.between(1, per_hour)
        if bad.any():
            raise DataError(f"ERCOT delivery interval {interval[bad].iloc[0]!r} is not 1–{per_hour}")
        offset = offset + pd.to_timedelta((number - 1) * minutes_per_interval, unit="min")
    wall = pd.DatetimeIndex(dates.dt.normalize() + offset)
    flags = _flags(dst_flag)
    local = wall.tz_localize(ERCOT_TZ, ambiguous=~flags, nonexistent="NaT")
    if local.isna().any():
        raise DataError(
            f"ERCOT time {wall[local.isna()][0]} (local) does not exist in {ERCOT_TZ}: it is in the "
            "hour skipped when clocks spring forward"
        )
    repeated = flags & ~np.asarray(_is_ambiguous(wall))
    if repeated.any():
        raise DataError(
            f"ERCOT DST flag set on {wall[repeated][0]} local, which is not the repeated fall-back hour"
        )
    return local.tz_convert("UTC")


def _flags(dst_flag: pd.Series) -> np.ndarray:
    text = dst_flag.astype(str).str.strip().str.lower()
    known = text.isin(["true", "false", "y", "n"])
    if not known.all():
        raise DataError(f"ERCOT DST flag {dst_flag[~known].iloc[0]!r} is not true/false or Y/N")
    return text.isin(["true", "y"]).to_numpy()


def _is_ambiguous(wall: pd.DatetimeIndex) -> np.ndarray:
    """True where a wall time occurs twice in ERCOT's zone (the fall-back hour)."""
    first = wall.tz_localize(ERCOT_TZ, ambiguous=np.ones(len(wall), dtype=bool), nonexistent="NaT")
    second = wall.tz_localize(ERCOT_TZ, ambiguous=np.zeros(len(wall), dtype=bool), nonexistent="NaT")
    return np.asarray(first != second)

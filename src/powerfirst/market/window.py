"""How ``--start`` and ``--end`` are read.

* A plain date (``2023-01-01``) is a **market-local** calendar day: ``--start`` is local midnight
  at the start of that day, ``--end`` is local midnight at the *end* of that day (the end date is
  included). ``--start 2023-01-01 --end 2023-12-31`` in ERCOT is the 35,040 intervals of 2023 in
  Central time, from 2023-01-01T06:00Z to 2024-01-01T06:00Z. DST days are 23 or 25 hours long.
* A time with a UTC offset or ``Z`` (``2023-06-01T05:00:00Z``) is that instant; the end is exclusive.
* A time without an offset (``2023-06-01T14:00``) is market-local; the end is exclusive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from powerfirst.errors import ConfigError

__all__ = ["Window", "parse_window"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Window:
    """A half-open UTC window [start_utc, end_utc) and the zone it was read in."""

    start_utc: pd.Timestamp
    end_utc: pd.Timestamp
    timezone: str

    def describe(self) -> str:
        local_start = self.start_utc.tz_convert(self.timezone)
        local_end = self.end_utc.tz_convert(self.timezone)
        return f"{local_start.isoformat()} to {local_end.isoformat()} ({self.timezone}, end exclusive)"


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
        except Exception as exc:  # pytz/zoneinfo raise different types for DST edge cases
            raise ConfigError(
                f"{field} = {text!r}: this local time does not exist or is ambiguous in {timezone} "
                f"(DST change); give the time with its UTC offset ({exc})"
            ) from None
    return stamp.tz_convert("UTC")


def parse_window(start: str, end: str, timezone: str) -> Window:
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
    return Window(start_utc, end_utc, timezone)

"""Calendar months of a plan: ``YYYY-MM`` text, month offsets and days per month."""

from __future__ import annotations

import re

import numpy as np

from powerfirst._types import IntArray

__all__ = ["check_month", "days_in_months", "month_offset"]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def check_month(text: str) -> str:
    """``text`` if it is a month ``YYYY-MM`` (years 1900–2200, months 01–12); else ValueError."""
    found = _MONTH.match(text)
    if not found or not 1900 <= int(found[1]) <= 2200 or not 1 <= int(found[2]) <= 12:
        raise ValueError("a month is written YYYY-MM, e.g. 2027-01 (years 1900 to 2200, months 01 to 12)")
    return text


def month_offset(start: str, month: str) -> int:
    """Months from ``start`` to ``month`` (both ``YYYY-MM``); negative when ``month`` is earlier."""
    return (int(month[:4]) - int(start[:4])) * 12 + int(month[5:7]) - int(start[5:7])


def days_in_months(start: str, count: int) -> IntArray:
    """(count,) number of days of each month from ``start`` [days]."""
    first = np.datetime64(start, "M")
    months = first + np.arange(count + 1)
    days = np.diff(months.astype("datetime64[D]")).astype(np.int64)
    return np.asarray(days, dtype=np.int64)

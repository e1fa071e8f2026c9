"""Price series: the one shape every market data source returns.

A :class:`PriceSeries` is a float series in USD/MWh indexed by tz-aware UTC interval *starts*,
sorted and unique, with a fixed interval length. Missing intervals are absent (never filled):
:meth:`PriceSeries.gaps` counts them against the regular grid of a window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from powerfirst.errors import DataError

__all__ = ["GapReport", "PriceSeries"]


@dataclass(frozen=True)
class GapReport:
    """Intervals missing from a series inside a window (a gap is never filled silently)."""

    count: int
    """Missing intervals [count]."""
    longest_intervals: int
    """Longest run of consecutive missing intervals [count]."""
    longest_start_utc: str | None
    """Start of the longest run (ISO-8601 UTC), None when there is no gap."""
    expected_intervals: int
    """Intervals in the window's regular grid [count]."""

    def as_dict(self) -> dict[str, int | str | None]:
        return {
            "count": self.count,
            "longest_intervals": self.longest_intervals,
            "longest_start_utc": self.longest_start_utc,
            "expected_intervals": self.expected_intervals,
            "handling": "excluded: intervals without a price are not dispatched or accounted",
        }


@dataclass(frozen=True)
class PriceSeries:
    """Prices per interval.

    ``prices`` holds USD/MWh (sign: positive is paid by the buyer) indexed by the UTC start of each
    interval; ``interval`` is the interval length; ``timezone`` is the market's local time zone
    (used to read dates such as ``--start 2023-01-01``).
    """

    name: str
    prices: pd.Series
    interval: pd.Timedelta
    timezone: str
    unit: str = "USD/MWh"

    def __post_init__(self) -> None:
        index = self.prices.index
        if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
            raise DataError(f"{self.name}: index must be tz-aware interval starts")
        if not index.is_monotonic_increasing or index.has_duplicates:
            raise DataError(f"{self.name}: interval starts must be sorted and unique")
        if self.interval <= pd.Timedelta(0):
            raise DataError(f"{self.name}: interval length must be positive, got {self.interval}")

    @property
    def interval_hours(self) -> float:
        return float(self.interval / pd.Timedelta(hours=1))

    def __len__(self) -> int:
        return len(self.prices)

    def between(self, start_utc: pd.Timestamp, end_utc: pd.Timestamp) -> PriceSeries:
        """Intervals starting in [start_utc, end_utc)."""
        index = self.prices.index
        mask = (index >= start_utc) & (index < end_utc)
        return PriceSeries(self.name, self.prices[mask], self.interval, self.timezone, self.unit)

    def expected_index(self, start_utc: pd.Timestamp, end_utc: pd.Timestamp) -> pd.DatetimeIndex:
        """The regular grid of interval starts in [start_utc, end_utc)."""
        return pd.date_range(
            start_utc, end_utc, freq=self.interval, inclusive="left", name="interval_start_utc"
        )

    def gaps(self, start_utc: pd.Timestamp, end_utc: pd.Timestamp) -> GapReport:
        """Missing intervals in [start_utc, end_utc) against the regular grid."""
        expected = self.expected_index(start_utc, end_utc)
        present = expected.isin(self.prices.dropna().index)
        missing = ~present
        count = int(missing.sum())
        if count == 0:
            return GapReport(0, 0, None, len(expected))
        # run lengths of consecutive missing intervals
        padded = np.concatenate(([False], missing, [False]))
        edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
        starts, ends = edges[0::2], edges[1::2]
        lengths = ends - starts
        k = int(np.argmax(lengths))
        longest_start = expected[starts[k]].strftime("%Y-%m-%dT%H:%M:%SZ")
        return GapReport(count, int(lengths[k]), longest_start, len(expected))

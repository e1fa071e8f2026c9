"""Price series: the one shape every market data source returns.

A :class:`PriceSeries` is a float series in USD/MWh indexed by tz-aware UTC interval *starts*,
sorted and unique, with a fixed interval length. Missing intervals are absent (never filled):
:meth:`PriceSeries.gaps` counts them against the regular grid of a window, in two kinds: the part
of the window outside the source's coverage (before its first or after its last priced interval:
the file does not reach there) and the missing intervals inside it (real holes in the data).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from powerfirst.errors import DataError

__all__ = ["GapReport", "PriceSeries"]


_ISO = "%Y-%m-%dT%H:%M:%SZ"


def _runs(mask: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Starts and (exclusive) ends of the runs of True in ``mask``."""
    padded = np.concatenate(([False], mask, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return edges[0::2], edges[1::2]


@dataclass(frozen=True)
class GapReport:
    """Intervals of a window without a price (never filled silently), in two kinds: missing
    intervals inside the source's coverage (``count``, the longest run), and the intervals of the
    window outside it (``outside_intervals``, ``outside_spans_utc``)."""

    count: int
    """Missing intervals inside the source's coverage [count]."""
    longest_intervals: int
    """Longest run of consecutive missing intervals inside the coverage [count]."""
    longest_start_utc: str | None
    """Start of the longest run (ISO-8601 UTC), None when there is no gap."""
    expected_intervals: int
    """Intervals in the window's regular grid [count]."""
    outside_intervals: int = 0
    """Intervals of the window before the source's first or after its last priced interval [count]."""
    outside_spans_utc: tuple[tuple[str, str], ...] = ()
    """The spans of the window outside the coverage, [start, end) ISO-8601 UTC."""
    coverage_utc: tuple[str, str] | None = None
    """The source's coverage, [first priced interval start, last one's end) ISO-8601 UTC (None: unknown)."""

    @property
    def total_missing(self) -> int:
        """Intervals of the window without a price, of both kinds [count]."""
        return self.count + self.outside_intervals

    def describe(self) -> str:
        """One line for the console and the report."""
        text = f"data gaps inside the data: {self.count} missing"
        if self.count:
            text += f" (longest {self.longest_intervals} from {self.longest_start_utc})"
        if self.outside_intervals:
            spans = ", ".join(f"{a} to {b}" for a, b in self.outside_spans_utc)
            covered = (
                f"the data covers {self.coverage_utc[0]} to {self.coverage_utc[1]}"
                if self.coverage_utc
                else ""
            )
            text += f"; outside the data's coverage: {self.outside_intervals} intervals ({spans}; {covered})"
        if self.total_missing:
            text += "; excluded"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "count": self.count,
            "longest_intervals": self.longest_intervals,
            "longest_start_utc": self.longest_start_utc,
            "expected_intervals": self.expected_intervals,
            "outside_coverage": {
                "intervals": self.outside_intervals,
                "spans_utc": [{"start_utc": a, "end_utc": b} for a, b in self.outside_spans_utc],
                "coverage_start_utc": self.coverage_utc[0] if self.coverage_utc else None,
                "coverage_end_utc": self.coverage_utc[1] if self.coverage_utc else None,
            },
            "basis": (
                "count, longest_intervals and longest_start_utc are missing intervals inside the data's coverage; "
                "outside_coverage is the part of the window before the data's first or after its last priced interval"
            ),
            "handling": "excluded: intervals without a price are not dispatched or accounted",
        }


@dataclass(frozen=True)
class PriceSeries:
    """Prices per interval.

    ``prices`` holds USD/MWh (sign: positive is paid by the buyer) indexed by the UTC start of each
    interval; ``interval`` is the interval length; ``timezone`` is the market's local time zone
    (used to read dates such as ``--start 2023-01-01``); ``coverage`` is [first, last + interval)
    of the priced intervals of the whole source, UTC (None: unknown, every gap counts as inside).
    """

    name: str
    prices: pd.Series
    interval: pd.Timedelta
    timezone: str
    unit: str = "USD/MWh"
    coverage: tuple[pd.Timestamp, pd.Timestamp] | None = field(default=None, kw_only=True)

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
        return PriceSeries(
            self.name, self.prices[mask], self.interval, self.timezone, self.unit, coverage=self.coverage
        )

    def expected_index(self, start_utc: pd.Timestamp, end_utc: pd.Timestamp) -> pd.DatetimeIndex:
        """The regular grid of interval starts in [start_utc, end_utc)."""
        return pd.date_range(
            start_utc, end_utc, freq=self.interval, inclusive="left", name="interval_start_utc"
        )

    def gaps(self, start_utc: pd.Timestamp, end_utc: pd.Timestamp) -> GapReport:
        """Intervals of [start_utc, end_utc) without a price against the regular grid: inside the
        coverage (holes) and outside it (before the first or after the last priced interval)."""
        expected = self.expected_index(start_utc, end_utc)
        present = expected.isin(self.prices.dropna().index)
        if self.coverage is None:
            inside = np.ones(len(expected), dtype=bool)
            coverage = None
        else:
            first, last = self.coverage
            inside = np.asarray((expected >= first) & (expected < last), dtype=bool)
            coverage = (first.strftime(_ISO), last.strftime(_ISO))
        missing = ~present & inside
        outside = ~inside
        out_starts, out_ends = _runs(outside)
        spans = tuple(
            (
                expected[a].strftime(_ISO),
                (expected[b - 1] + self.interval).strftime(_ISO),
            )
            for a, b in zip(out_starts, out_ends, strict=True)
        )
        count = int(missing.sum())
        if count == 0:
            return GapReport(0, 0, None, len(expected), int(outside.sum()), spans, coverage)
        starts, ends = _runs(missing)
        lengths = ends - starts
        k = int(np.argmax(lengths))
        longest_start = expected[starts[k]].strftime(_ISO)
        return GapReport(
            count, int(lengths[k]), longest_start, len(expected), int(outside.sum()), spans, coverage
        )

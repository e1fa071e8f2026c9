"""What a :class:`~powerfirst.market.information.MarketHistory` holds, as recent numpy arrays.

The hot path of every forecaster: :meth:`KnownArrays.of` takes the tail of each known series once
(int64 UTC nanoseconds and float64 values), and the helpers below look values up without pandas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from powerfirst._types import Array, IntArray
from powerfirst.calendar import NS_PER_HOUR
from powerfirst.market.information import MarketHistory

__all__ = [
    "KnownArrays",
    "hour_starts_ns",
    "lookup",
]


TAIL_HOURS = 72
"""History kept for features [h]: enough for 'same hour on the previous day' at a 48 h lead."""


def hour_starts_ns(index: pd.DatetimeIndex) -> IntArray:
    """UTC nanoseconds of a tz-aware index."""
    if not isinstance(index, pd.DatetimeIndex):
        index = pd.DatetimeIndex(index)
    return np.asarray(index.as_unit("ns").asi8, dtype=np.int64)


def lookup(ns: IntArray, values: Array, query_ns: IntArray) -> Array:
    """``values`` at exactly ``query_ns`` (sorted ``ns``); NaN where there is none."""
    if ns.size == 0:
        return np.full(query_ns.shape, np.nan)
    idx = np.minimum(np.searchsorted(ns, query_ns, side="left"), ns.size - 1)
    return np.where(ns[idx] == query_ns, values[idx], np.nan)


@dataclass(frozen=True)
class KnownArrays:
    """The last :data:`TAIL_HOURS` of each known series (day-ahead: from then to its published end)."""

    issued_ns: int
    """Issue time [UTC ns]."""
    timezone: str
    rt_ns: IntArray
    """Start of each settled real-time interval [UTC ns]."""
    rt_usd_per_mwh: Array
    da_ns: IntArray
    """Start of each published day-ahead hour [UTC ns]."""
    da_usd_per_mwh: Array
    load_ns: IntArray
    """Start of each ended load hour [UTC ns]."""
    load_mw: Array

    @classmethod
    def of(cls, history: MarketHistory) -> KnownArrays:
        issued_ns = int(pd.Timestamp(history.issued_utc).as_unit("ns").value)
        from_ns = issued_ns - TAIL_HOURS * NS_PER_HOUR
        rt_ns, rt = history.recent("rt", from_ns)
        da_ns, da = history.recent("da", from_ns)
        load_ns, load = history.recent("load", from_ns)
        return cls(issued_ns, history.timezone, rt_ns, rt, da_ns, da, load_ns, load)

    @property
    def last_rt_usd_per_mwh(self) -> float:
        """Last settled real-time price [USD/MWh]; NaN when none is known."""
        return float(self.rt_usd_per_mwh[-1]) if self.rt_usd_per_mwh.size else float("nan")

    def rt_mean_since(self, from_ns: int) -> float:
        """Mean of the settled real-time prices of intervals starting at or after ``from_ns`` [USD/MWh]."""
        k = int(np.searchsorted(self.rt_ns, from_ns, side="left"))
        return float(self.rt_usd_per_mwh[k:].mean()) if k < self.rt_ns.size else float("nan")

    def rt_max_since(self, from_ns: int) -> float:
        """Largest settled real-time price of intervals starting at or after ``from_ns`` [USD/MWh]."""
        k = int(np.searchsorted(self.rt_ns, from_ns, side="left"))
        return float(self.rt_usd_per_mwh[k:].max()) if k < self.rt_ns.size else float("nan")

    def rt_hourly_means(self) -> tuple[IntArray, Array]:
        """Hour starts [UTC ns] and mean settled real-time price of each hour that has one [USD/MWh]."""
        if self.rt_ns.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        hours = self.rt_ns - self.rt_ns % NS_PER_HOUR
        first = np.flatnonzero(np.concatenate(([True], hours[1:] != hours[:-1])))
        sums = np.add.reduceat(self.rt_usd_per_mwh, first)
        counts = np.diff(np.append(first, hours.size))
        return hours[first], sums / counts

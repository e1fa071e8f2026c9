"""Issue forecasts through a period the way a rolling controller does, and the prices they aim at.

:func:`walk` moves a :class:`~powerfirst.market.information.MarketClock` forward over issue times
and yields what is known at each with the target hours of that issue: the hour containing the
issue time and the following ones. Training (``fit``) and scoring (``evaluate``) both use it, so
a forecaster learns from exactly the situations it is scored in.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from powerfirst.forecast.base import Array
from powerfirst.forecast.known import HOUR_NS, Ints, hour_starts_ns
from powerfirst.market.information import MarketData, MarketHistory

__all__ = ["UNFITTABLE_OPTIONS", "describe_missing", "hourly_mean_rt", "lead_hours", "walk"]

UNFITTABLE_OPTIONS = (
    "use --forecast persistence (no fitting needed beyond a few days), give --load SOURCE "
    "(system load, path.csv:COLUMN), or give prices that start earlier (--prices path.csv:COLUMN "
    "with the years before the window)"
)
"""What a user can do when a forecaster has nothing to fit on."""


def hourly_mean_rt(data: MarketData) -> pd.Series:
    """Realised hourly mean real-time price by UTC hour start [USD/MWh]: the mean of the hour's
    intervals that have a price; hours without any are absent."""
    rt = data.rt_price_usd_per_mwh.dropna()
    if rt.empty:
        return pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC").as_unit("ns"))
    ns = hour_starts_ns(pd.DatetimeIndex(rt.index))
    hours = ns - ns % HOUR_NS
    frame = pd.Series(rt.to_numpy(dtype=np.float64)).groupby(hours).mean()
    index = pd.DatetimeIndex(frame.index.to_numpy(dtype="datetime64[ns]"), tz="UTC")
    return pd.Series(frame.to_numpy(dtype=np.float64), index=index, name="rt_hourly_mean_usd_per_mwh")


def describe_missing(data: MarketData) -> str:
    """The period the real-time prices of ``data`` cover and their longest hole, in words: the
    first and last missing hour (UTC) and its length."""
    realised = hourly_mean_rt(data)
    if realised.empty:
        return "the training period holds no real-time price at all"
    index = pd.DatetimeIndex(realised.index)
    text = (
        f"real-time prices cover {index[0].isoformat()} to {(index[-1] + pd.Timedelta(hours=1)).isoformat()}"
    )
    if len(index) < 2:
        return text
    steps = np.diff(index.asi8)
    k = int(np.argmax(steps))
    hole = pd.Timedelta(int(steps[k]), unit="ns") - pd.Timedelta(hours=1)
    if hole <= pd.Timedelta(0):
        return text + " without a missing hour"
    first, last = index[k] + pd.Timedelta(hours=1), index[k + 1] - pd.Timedelta(hours=1)
    return (
        f"{text}; the longest hole: no price from {first.isoformat()} to {last.isoformat()} "
        f"(the hours from first to last missing, {hole / pd.Timedelta(days=1):.1f} days)"
    )


def lead_hours(issued_ns: int, target_ns: Ints) -> Array:
    """Hours from the issue time to the *end* of each target hour [h]: 1 for the hour starting now."""
    return np.asarray((target_ns + HOUR_NS - issued_ns) / HOUR_NS, dtype=np.float64)


def walk(
    data: MarketData,
    first_issue_utc: pd.Timestamp,
    end_utc: pd.Timestamp,
    every_hours: int,
    horizon_hours: int,
) -> Iterator[tuple[MarketHistory, pd.DatetimeIndex]]:
    """What is known at each issue time in [first_issue_utc, end_utc), every ``every_hours`` hours,
    with the ``horizon_hours`` target hours that start at the hour containing the issue time."""
    clock = data.clock()
    step = pd.Timedelta(hours=every_hours)
    issued = pd.Timestamp(first_issue_utc)
    offsets = pd.to_timedelta(np.arange(horizon_hours), unit="h")
    while issued < end_utc:
        targets = pd.DatetimeIndex(issued.floor("h") + offsets).as_unit("ns")
        yield clock.known_at(issued), targets
        issued = issued + step

"""Issue forecasts through a period the way a rolling controller does, and the prices they aim at.

:func:`walk` moves a :class:`~powerfirst.market.information.MarketClock` forward over issue times
and yields what is known at each with the target hours of that issue: the hour containing the
issue time and the following ones. Training (``fit``) and scoring (``evaluate``) both use it, so
a forecaster learns from exactly the situations it is scored in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from powerfirst._types import Array, IntArray
from powerfirst.calendar import NS_PER_HOUR
from powerfirst.forecast.known import hour_starts_ns
from powerfirst.market.information import MarketData, MarketHistory

__all__ = [
    "TrainingHours",
    "describe_missing",
    "hourly_mean_rt",
    "lead_hours",
    "training_hours",
    "unfittable_options",
    "walk",
]

_EARLIER_PRICES = "give prices that start earlier (--prices path.csv:COLUMN with the days before the period)"


def unfittable_options(forecaster: str) -> str:
    """What a user can do when ``forecaster`` (a ``--forecast`` name) has nothing to fit on: its
    options only (persistence learns from real-time prices alone, so only earlier prices help)."""
    if forecaster == "persistence":
        return _EARLIER_PRICES
    if forecaster == "day-ahead":
        return f"use --forecast persistence, or {_EARLIER_PRICES}"
    return (
        "use --forecast persistence (no fitting needed beyond a few days), give --load SOURCE "
        f"(system load, path.csv:COLUMN), or {_EARLIER_PRICES}"
    )


def hourly_mean_rt(data: MarketData) -> pd.Series:
    """Realised hourly mean real-time price by UTC hour start [USD/MWh]: the mean of the hour's
    intervals that have a price; hours without any are absent."""
    rt = data.rt_price_usd_per_mwh.dropna()
    if rt.empty:
        return pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC").as_unit("ns"))
    ns = hour_starts_ns(pd.DatetimeIndex(rt.index))
    hours = ns - ns % NS_PER_HOUR
    frame = pd.Series(rt.to_numpy(dtype=np.float64)).groupby(hours).mean()
    index = pd.DatetimeIndex(frame.index.to_numpy(dtype="datetime64[ns]"), tz="UTC")
    return pd.Series(frame.to_numpy(dtype=np.float64), index=index, name="rt_hourly_mean_usd_per_mwh")


@dataclass(frozen=True)
class TrainingHours:
    """How much of a training period had real-time prices (hours are UTC clock hours)."""

    first_utc: pd.Timestamp
    end_utc: pd.Timestamp
    """End of the last hour with a price (exclusive)."""
    with_price: int
    """Hours with at least one settled real-time price [count]."""
    span: int
    """Hours from the first to the end of the last hour with a price [count]."""
    longest_hole: str | None
    """The longest run of hours without a price, in words; None when there is none."""

    @property
    def missing(self) -> int:
        """Hours inside the span without a price, skipped by training [count]."""
        return self.span - self.with_price

    def describe(self) -> str:
        text = f"{self.with_price:,} of {self.span:,} hours with a real-time price"
        if self.missing:
            text += f"; {self.missing:,} hours without one skipped (longest hole: {self.longest_hole})"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "hours_with_price": self.with_price,
            "hours_in_span": self.span,
            "hours_skipped": self.missing,
            "longest_hole": self.longest_hole,
        }


def training_hours(data: MarketData) -> TrainingHours | None:
    """The hours of ``data`` with a real-time price, the span they lie in and the longest hole;
    None when there is no price at all."""
    realised = hourly_mean_rt(data)
    if realised.empty:
        return None
    index = pd.DatetimeIndex(realised.index)
    end = index[-1] + pd.Timedelta(hours=1)
    span = int((end - index[0]) / pd.Timedelta(hours=1))
    return TrainingHours(index[0], end, len(index), span, _longest_hole(index))


def _longest_hole(index: pd.DatetimeIndex) -> str | None:
    if len(index) < 2:
        return None
    steps = np.diff(index.asi8)
    k = int(np.argmax(steps))
    hole = pd.Timedelta(int(steps[k]), unit="ns") - pd.Timedelta(hours=1)
    if hole <= pd.Timedelta(0):
        return None
    first, last = index[k] + pd.Timedelta(hours=1), index[k + 1] - pd.Timedelta(hours=1)
    return (
        f"no price from {first.isoformat()} to {last.isoformat()} "
        f"(the hours from first to last missing, {hole / pd.Timedelta(days=1):.1f} days)"
    )


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
    hole = _longest_hole(index)
    if hole is None:
        return text if len(index) < 2 else text + " without a missing hour"
    return f"{text}; the longest hole: {hole}"


def lead_hours(issued_ns: int, target_ns: IntArray) -> Array:
    """Hours from the issue time to the *end* of each target hour [h]: 1 for the hour starting now."""
    return np.asarray((target_ns + NS_PER_HOUR - issued_ns) / NS_PER_HOUR, dtype=np.float64)


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

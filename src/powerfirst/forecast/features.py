"""The features of the learned forecaster: one function for training and prediction alike.

:func:`forecast_features` reads only a :class:`~powerfirst.forecast.known.KnownArrays` (what is
known at the issue time) and the target hours, so what the model learns from and what it is asked
about are computed by the same code (no train/serve skew). Missing inputs (no day-ahead source, no
load, a day not yet published) are NaN; the trees route NaN explicitly.
"""

from __future__ import annotations

import numpy as np

from powerfirst._types import Array, IntArray
from powerfirst.calendar import NS_PER_DAY, NS_PER_HOUR, local_offsets_ns
from powerfirst.forecast.known import KnownArrays, lookup
from powerfirst.forecast.walk import lead_hours

__all__ = ["FEATURE_INPUTS", "FEATURE_NAMES", "forecast_features"]

FEATURE_NAMES: tuple[str, ...] = (
    "lead_h",
    "target_local_hour",
    "target_local_day_of_week",
    "anchor_usd_per_mwh",
    "rt_last_minus_anchor_usd_per_mwh",
    "rt_mean_1h_minus_anchor_usd_per_mwh",
    "rt_mean_24h_minus_anchor_usd_per_mwh",
    "rt_max_24h_minus_anchor_usd_per_mwh",
    "rt_same_hour_last_day_minus_anchor_usd_per_mwh",
    "da_target_minus_anchor_usd_per_mwh",
    "da_target_day_mean_minus_anchor_usd_per_mwh",
    "da_same_hour_latest_day_minus_anchor_usd_per_mwh",
    "rt_minus_da_24h_usd_per_mwh",
    "load_last_mw",
    "load_same_hour_last_day_mw",
)
"""Columns of :func:`forecast_features`; units in the names (h, USD/MWh, MW; calendar fields are
market-local: hour 0–23, Monday = 0). Prices are given relative to the anchor. No month or
season: with two or three training years it would memorise their regimes (it scored worse on
held-out 2022)."""
FEATURE_INPUTS: dict[str, str] = {
    **{name: "day-ahead prices" for name in FEATURE_NAMES if name.startswith("da_") or "minus_da" in name},
    **{name: "system load" for name in FEATURE_NAMES if name.startswith("load_")},
}
"""The input series a feature needs (features not listed need only real-time prices and the clock).
A learned forecaster leaves out the features whose input has no data in its training period."""
ANCHOR_RT_UP_TO_LEAD_HOURS = 1.0
"""Up to this lead the anchor is the last settled real-time price; beyond it the day-ahead price [h]."""


def _days_back_to_ended(target_ns: IntArray, known_until_ns: int) -> IntArray:
    """Whole days to step back from each target hour so that the hour has ended by ``known_until_ns``."""
    return np.maximum(-((known_until_ns - target_ns - NS_PER_HOUR) // NS_PER_DAY), 1)


def forecast_features(known: KnownArrays, target_ns: IntArray) -> tuple[Array, Array]:
    """Feature matrix (one row per target hour start [UTC ns], columns :data:`FEATURE_NAMES`) and
    the anchor of each row [USD/MWh].

    The anchor is a reference price the model corrects (it learns price − anchor, so a shift of
    the price level between years moves forecasts with it): the last settled real-time price up to
    :data:`ANCHOR_RT_UP_TO_LEAD_HOURS`, beyond it (or when no real-time price has settled in the
    recent history) the day-ahead price of the target hour (published, else of the same hour on the
    latest published day), else the last settled real-time price.
    """
    n = target_ns.size
    issued = known.issued_ns
    offsets = local_offsets_ns(target_ns, known.timezone)
    wall = target_ns + offsets
    days = wall // NS_PER_DAY
    lead = lead_hours(issued, target_ns)

    hour_ns, hour_usd = known.rt_hourly_means()
    rt_same_hour = lookup(hour_ns, hour_usd, target_ns - _days_back_to_ended(target_ns, issued) * NS_PER_DAY)

    da_target = lookup(known.da_ns, known.da_usd_per_mwh, target_ns)
    day_start = days * NS_PER_DAY - offsets
    da_day_mean = _day_mean(known, day_start)
    if known.da_ns.size:
        last_da = int(known.da_ns[-1])
        back = np.maximum(-((last_da - target_ns) // NS_PER_DAY), 0)
        da_latest = lookup(known.da_ns, known.da_usd_per_mwh, target_ns - back * NS_PER_DAY)
    else:
        da_latest = np.full(n, np.nan)

    rt_last = known.last_rt_usd_per_mwh
    # the day-ahead price anchors long leads, and short ones too when no real-time price is known
    # (after a hole in the real-time data)
    use_da = ((lead > ANCHOR_RT_UP_TO_LEAD_HOURS) | np.isnan(rt_last)) & ~np.isnan(da_latest)
    anchor = np.where(use_da, da_latest, rt_last)
    spread = _rt_minus_da(known, hour_ns, hour_usd)
    load_same_hour = lookup(
        known.load_ns, known.load_mw, target_ns - _days_back_to_ended(target_ns, issued) * NS_PER_DAY
    )
    load_last = float(known.load_mw[-1]) if known.load_mw.size else np.nan

    columns = [
        lead,
        ((wall // NS_PER_HOUR) % 24).astype(np.float64),
        ((days + 3) % 7).astype(np.float64),  # 1970-01-01 was a Thursday
        anchor,
        rt_last - anchor,
        known.rt_mean_since(issued - NS_PER_HOUR) - anchor,
        known.rt_mean_since(issued - NS_PER_DAY) - anchor,
        known.rt_max_since(issued - NS_PER_DAY) - anchor,
        rt_same_hour - anchor,
        da_target - anchor,
        da_day_mean - anchor,
        da_latest - anchor,
        np.full(n, spread),
        np.full(n, load_last),
        load_same_hour,
    ]
    return np.column_stack(columns), anchor


def _day_mean(known: KnownArrays, day_start_ns: IntArray) -> Array:
    """Mean published day-ahead price of each market-local day starting at ``day_start_ns``, when
    the whole day (its last hour) is published; NaN otherwise [USD/MWh]."""
    if known.da_ns.size == 0:
        return np.full(day_start_ns.shape, np.nan)
    cumulative = np.concatenate(([0.0], np.cumsum(known.da_usd_per_mwh)))
    lo = np.searchsorted(known.da_ns, day_start_ns, side="left")
    hi = np.searchsorted(known.da_ns, day_start_ns + NS_PER_DAY - NS_PER_HOUR, side="right")
    complete = known.da_ns[-1] >= day_start_ns + NS_PER_DAY - NS_PER_HOUR
    count = hi - lo
    total = cumulative[hi] - cumulative[lo]
    return np.where(complete & (count > 0), total / np.maximum(count, 1), np.nan)


def _rt_minus_da(known: KnownArrays, hour_ns: IntArray, hour_usd: Array) -> float:
    """Mean of (hourly real-time − day-ahead) over the ended hours of the last day [USD/MWh]."""
    recent = (hour_ns >= known.issued_ns - NS_PER_DAY) & (hour_ns + NS_PER_HOUR <= known.issued_ns)
    spread = hour_usd[recent] - lookup(known.da_ns, known.da_usd_per_mwh, hour_ns[recent])
    spread = spread[~np.isnan(spread)]
    return float(spread.mean()) if spread.size else float("nan")

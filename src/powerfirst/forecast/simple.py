"""Two reference forecasters: persistence and the published day-ahead price.

Both give a point forecast as the median (0.5 quantile) and widen it into the other quantiles with
empirical quantiles of their own errors (realised hourly mean real-time price − point forecast
[USD/MWh]) learned in ``fit``, per lead hour and per kind of point forecast. Unfitted, every
quantile equals the point forecast.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import numpy as np
import pandas as pd

from powerfirst._types import Array, IntArray
from powerfirst.calendar import NS_PER_DAY, local_offsets_ns
from powerfirst.errors import DataError
from powerfirst.forecast.base import QUANTILES, DayAheadGaps, NothingKnownError, PriceForecaster
from powerfirst.forecast.known import TAIL_HOURS, KnownArrays, hour_starts_ns, lookup
from powerfirst.forecast.walk import describe_missing, hourly_mean_rt, lead_hours, unfittable_options, walk
from powerfirst.market.information import MarketData, MarketHistory

__all__ = ["DayAheadForecaster", "PersistenceForecaster"]

MAX_LEAD_HOURS = 48
"""Error quantiles are learned per lead hour up to this lead [h]; longer leads use this one's."""
TRAIN_ISSUE_EVERY_HOURS = 5
"""Issue spacing when learning errors [h]; coprime with 24, so every hour of the day is an issue hour."""
MIN_ERRORS = 50
"""Fewest errors behind a per-lead quantile; with fewer, the kind's errors over all leads are used [count]."""


class _ErrorBandForecaster(PriceForecaster):
    """Point forecast plus empirical error quantiles by (kind of point forecast, lead hour)."""

    kinds: ClassVar[tuple[str, ...]] = ("point",)

    def __init__(self) -> None:
        self._offsets_usd_per_mwh = np.zeros((len(self.kinds), MAX_LEAD_HOURS + 1, len(QUANTILES)))
        """Error quantile added to the point forecast, by kind, lead hour and quantile [USD/MWh]."""

    @abstractmethod
    def _point(self, known: KnownArrays, target_ns: IntArray) -> tuple[Array, IntArray]:
        """Point forecast [USD/MWh] of each target hour and the index of its kind in :attr:`kinds`."""

    def predict(self, history: MarketHistory, target_hours_utc: pd.DatetimeIndex) -> Array:
        known = KnownArrays.of(history)
        target_ns = hour_starts_ns(target_hours_utc)
        if self.day_ahead_gaps is not None:
            self.day_ahead_gaps.note(known.issued_ns, int(known.da_ns[-1]) if known.da_ns.size else None)
        point, kind = self._point(known, target_ns)
        lead = _lead_index(known.issued_ns, target_ns)
        return np.sort(point[:, None] + self._offsets_usd_per_mwh[kind, lead], axis=1)

    def fit(self, data: MarketData) -> None:
        """Learn the error quantiles. Issue times with no point forecast (nothing settled in the
        last days, e.g. inside a long hole of the history) are skipped; DataError naming the
        hole and the options when fewer than :data:`MIN_ERRORS` errors remain."""
        self.check_inputs(data)
        realised = hourly_mean_rt(data)
        if realised.size < 2 * 24:
            raise DataError(
                f"--forecast {self.name}: training data holds {realised.size} hours of real-time prices; need at "
                f"least 48 ({describe_missing(data)}); {unfittable_options(self.name)}"
            )
        realised_ns, realised_usd = hour_starts_ns(pd.DatetimeIndex(realised.index)), realised.to_numpy()
        errors, kinds, leads = [], [], []
        first_issue = realised.index[0] + pd.Timedelta(hours=24)
        end = realised.index[-1] + pd.Timedelta(hours=1)
        for history, targets in walk(data, first_issue, end, TRAIN_ISSUE_EVERY_HOURS, MAX_LEAD_HOURS):
            known = KnownArrays.of(history)
            target_ns = hour_starts_ns(targets)
            try:
                point, kind = self._point(known, target_ns)
            except DataError:  # nothing known to forecast from at this issue time: skip it
                continue
            errors.append(lookup(realised_ns, realised_usd, target_ns) - point)
            kinds.append(kind)
            leads.append(_lead_index(known.issued_ns, target_ns))
        usable = sum(int(np.isfinite(e).sum()) for e in errors)
        if usable < MIN_ERRORS:
            raise DataError(
                f"--forecast {self.name}: the training data gives {usable} forecast errors with a realised price; "
                f"need at least {MIN_ERRORS} ({describe_missing(data)}); {unfittable_options(self.name)}"
            )
        self._offsets_usd_per_mwh = _error_quantiles(
            np.concatenate(errors), np.concatenate(kinds), np.concatenate(leads), len(self.kinds)
        )


def _lead_index(issued_ns: int, target_ns: IntArray) -> IntArray:
    """Whole lead hours (1 = the hour now running), clipped to 1..MAX_LEAD_HOURS."""
    lead = np.ceil(lead_hours(issued_ns, target_ns) - 1e-9).astype(np.int64)
    return np.clip(lead, 1, MAX_LEAD_HOURS)


def _error_quantiles(errors: Array, kinds: IntArray, leads: IntArray, n_kinds: int) -> Array:
    """Error quantiles by (kind, lead) [USD/MWh]; the median's offset stays 0 (the point forecast)."""
    levels = np.array([q for q in QUANTILES])
    offsets = np.zeros((n_kinds, MAX_LEAD_HOURS + 1, len(QUANTILES)))
    ok = ~np.isnan(errors)
    errors, kinds, leads = errors[ok], kinds[ok], leads[ok]
    for kind in range(n_kinds):
        of_kind = kinds == kind
        if of_kind.sum() < MIN_ERRORS:
            continue
        pooled = np.quantile(errors[of_kind], levels)
        for lead in range(1, MAX_LEAD_HOURS + 1):
            here = errors[of_kind & (leads == lead)]
            offsets[kind, lead] = np.quantile(here, levels) if here.size >= MIN_ERRORS else pooled
    offsets[:, :, QUANTILES.index(0.5)] = 0.0
    return offsets


class PersistenceForecaster(_ErrorBandForecaster):
    """Median: the last settled real-time price, for every target hour [USD/MWh]."""

    name: ClassVar[str] = "persistence"
    label: ClassVar[str] = "persistence"

    def _point(self, known: KnownArrays, target_ns: IntArray) -> tuple[Array, IntArray]:
        last = known.last_rt_usd_per_mwh
        if np.isnan(last):
            raise NothingKnownError(
                f"{self.name}: no settled real-time price known at {pd.Timestamp(known.issued_ns, tz='UTC')}"
            )
        return np.full(target_ns.shape, last), np.zeros(target_ns.shape, dtype=np.int64)


class DayAheadForecaster(_ErrorBandForecaster):
    """Median: the published day-ahead price of the target hour [USD/MWh].

    Beyond what is published, the day-ahead price of the same market-local hour on the latest
    published day; with no day-ahead price known at all, the last settled real-time price. Forecasts
    issued without a day-ahead price for the hour of issue (a hole in the day-ahead data) are
    counted in :attr:`day_ahead_gaps`.
    """

    name: ClassVar[str] = "day-ahead"
    label: ClassVar[str] = "day-ahead"
    kinds: ClassVar[tuple[str, ...]] = ("published", "latest day", "persistence")
    inputs_used: tuple[str, ...] = ("day-ahead prices", "real-time prices")

    def __init__(self) -> None:
        super().__init__()
        self.day_ahead_gaps = DayAheadGaps()

    def check_inputs(self, data: MarketData) -> None:
        """Without any day-ahead price this forecaster would be persistence under another name."""
        if data.da_price_usd_per_mwh.dropna().empty:
            first, last = (
                data.rt_price_usd_per_mwh.index[[0, -1]] if len(data.rt_price_usd_per_mwh) else (None, None)
            )
            raise DataError(
                f"--forecast day-ahead: no day-ahead prices for {first} to {last} (UTC); give them with "
                "--day-ahead SOURCE (path.csv:COLUMN, hourly USD/MWh), or use --forecast persistence"
            )

    def _point(self, known: KnownArrays, target_ns: IntArray) -> tuple[Array, IntArray]:
        point = lookup(known.da_ns, known.da_usd_per_mwh, target_ns)
        kind = np.zeros(target_ns.shape, dtype=np.int64)
        missing = np.isnan(point)
        if not missing.any():
            return point, kind
        if known.da_ns.size:
            point[missing] = _same_local_hour_latest_day(known, target_ns[missing])
            kind[missing] = 1
        else:
            last = known.last_rt_usd_per_mwh
            if np.isnan(last):
                raise NothingKnownError(
                    f"{self.name}: neither a day-ahead price nor a real-time price settled in the last "
                    f"{TAIL_HOURS} h is known at "
                    f"{pd.Timestamp(known.issued_ns, tz='UTC')}"
                )
            point[missing] = last
            kind[missing] = 2
        return point, kind


def _same_local_hour_latest_day(known: KnownArrays, target_ns: IntArray) -> Array:
    """Day-ahead price of each target's market-local hour on the latest published day [USD/MWh]
    (the hour before where that hour is missing, e.g. on a DST day)."""
    last_ns = known.da_ns[-1:]
    last_offset = int(local_offsets_ns(last_ns, known.timezone)[0])
    target_wall = target_ns + local_offsets_ns(target_ns, known.timezone)
    last_wall = int(last_ns[0]) + last_offset
    days_back = np.maximum(-((last_wall - target_wall) // NS_PER_DAY), 0)  # ceil((target − last) / day)
    candidate = target_wall - days_back * NS_PER_DAY - last_offset
    idx = np.searchsorted(known.da_ns, candidate, side="right") - 1
    return np.asarray(known.da_usd_per_mwh[np.maximum(idx, 0)], dtype=np.float64)

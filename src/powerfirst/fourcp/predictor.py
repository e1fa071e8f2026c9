"""Probability that an hour is its month's ERCOT 4CP peak, from what is known when it is decided.

ERCOT charges transmission (4CP) on a site's load in the interval of each monthly system peak of
June–September; each peak costs ``rate_usd_per_mw_year / 4`` per MW of load in it. The project
takes the peak to be the hour of highest ERCOT native load of the (ERCOT-local) month
(:func:`~powerfirst.market.grid_programs.fourcp_peaks_bundled`). :class:`FourCpPredictor` gives,
for each target hour of the next two days, the probability that it will be that hour, using only a
:class:`~powerfirst.market.information.MarketHistory` (load of the hours that have ended,
day-ahead prices as published).

The model, in three parts, all learned in :meth:`FourCpPredictor.fit` from whole years:

1. **The peak load of each of the next three local days** (today, tomorrow, the day after) [MW],
   Gaussian: mean ``yesterday's peak + x·β`` and residual standard deviation σ, from one ridge
   regression per (days ahead, issue hour of day, day-ahead prices known or not). For today the
   quantity is the peak of the hours still to come (the earlier ones are already in the month's
   running maximum). Features ``x``: the change of load over 24 hours at the last ended hour
   [MW], that hour's load less yesterday's peak [MW], yesterday's peak less the mean peak of the
   last seven days [MW], whether the target day and yesterday are off days (weekend, Independence
   Day, Labor Day) and — when the target day's day-ahead prices are published — the log change of
   its afternoon (14:00–19:00) day-ahead price from yesterday's, and the log ratio of afternoon to
   daily mean price of both days. Working in differences from yesterday keeps the model valid
   across years of load growth and of gas-price levels.
2. **The rest of the month**: the largest daily peak of the days after the forecast days, less
   the mean peak of the last seven days [MW], Gaussian with a mean ``a_month + b·ln(days left)``
   and a standard deviation per month. Modelling the maximum of those days directly carries
   their mutual correlation (heat waves last), which a product over independent days would miss.
3. **The hour of the day's peak**: the frequency of each local hour being the highest of the
   hours from ``s`` on, for each start hour ``s``, over the ten highest-load days of each training
   month (and the training peaks themselves), with a small pseudo-count for every hour.

A target day D is the month's peak day if its peak (part 1) exceeds the month's running maximum
of the hours that have ended, the forecast peaks of the other forecast days of the same month,
and the rest of the month (part 2); with the forecasts taken as independent,

    P(D) = ∫ φ_D(x) · 1[x > running max] · Π_c Φ_c(x) dx

over the competitors c, integrated on a grid. The hour's probability is P(D) times the
hour-of-peak frequency (from the current hour on, for today). Hours that have already ended, and
hours outside June–September, get 0: nothing is left to decide for them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from powerfirst._types import Array, BoolArray
from powerfirst.calendar import NS_PER_DAY, NS_PER_HOUR
from powerfirst.errors import ConfigError, DataError
from powerfirst.fourcp.days import (
    EPOCH_ORDINAL,
    DayTable,
    local_wall_ns,
    month_bounds,
    month_index,
    off_day,
    table_of,
    utc_ns,
)
from powerfirst.fourcp.ridge import MIN_SAMPLES, Linear, norm_cdf, ridge_cv
from powerfirst.market.grid_programs import FOURCP_MONTHS
from powerfirst.market.information import MarketData, MarketHistory

__all__ = ["FourCpPredictor", "curtail_hours", "expected_charge_usd_per_mw"]


_FORECAST_DAYS = 3
"""Days with their own peak forecast: today, tomorrow and the day after (targets run ~48 h ahead)."""
_LOOKBACK_DAYS = 7
_HISTORY_DAYS = 40
"""Days of load read per call: the month so far (≤ 31 days) and a week of daily peaks before it."""
_AFTERNOON_HOURS = slice(14, 19)
_TOP_DAYS_PER_MONTH = 10
_HOUR_PSEUDO_COUNT = 0.05
_GRID_Z = np.linspace(-6.0, 6.0, 241)
_GRID_WEIGHTS = np.exp(-0.5 * _GRID_Z**2)
_GRID_WEIGHTS /= _GRID_WEIGHTS.sum()


def expected_charge_usd_per_mw(probability: Array, rate_usd_per_mw_year: float) -> Array:
    """Expected 4CP charge of one MW of load in each hour [USD/MW]: probability × rate / 4."""
    return np.asarray(probability, dtype=np.float64) * (rate_usd_per_mw_year / 4.0)


def curtail_hours(
    probability: Array, rate_usd_per_mw_year: float, lost_margin_usd_per_mwh: float
) -> BoolArray:
    """Whether to curtail each hour: when the expected 4CP charge avoided by one MW [USD/MW] exceeds
    what that MW would have earned in the hour (``lost_margin_usd_per_mwh`` × 1 h) [USD/MW]."""
    if not math.isfinite(rate_usd_per_mw_year) or rate_usd_per_mw_year < 0:
        raise ConfigError(f"4CP rate = {rate_usd_per_mw_year:g} USD/MW-year: must be a finite number ≥ 0")
    if not math.isfinite(lost_margin_usd_per_mwh):
        raise ConfigError(f"lost margin = {lost_margin_usd_per_mwh:g} USD/MWh: must be a finite number")
    return np.asarray(expected_charge_usd_per_mw(probability, rate_usd_per_mw_year) > lost_margin_usd_per_mwh)


# --- features ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Features:
    base: Array
    """Intercept, 24-h load change, last load − yesterday's peak, yesterday's peak − 7-day mean, off days."""
    day_ahead: Array | None
    """Day-ahead price features of the target day (None: not published)."""
    reference_mw: float
    """Yesterday's peak [MW] (the latest daily peak when yesterday has none): the forecast's origin."""
    week_mean_mw: float
    """Mean daily peak of the last seven days [MW]."""


def _da_level(row: Array | None) -> tuple[float, float] | None:
    """Log afternoon day-ahead price and log(afternoon / daily mean) of a day, or None if incomplete."""
    if row is None or np.isnan(row[_AFTERNOON_HOURS]).any() or np.isnan(row).sum() > 1:
        return None
    afternoon = math.log(max(float(row[_AFTERNOON_HOURS].mean()), 1.0))
    daily = math.log(max(float(row[~np.isnan(row)].mean()), 1.0))
    return afternoon, afternoon - daily


def _features(load: DayTable, da: DayTable | None, today: int, hour: int, day: int) -> _Features | None:
    """Features of ``day``'s peak as known at local hour ``hour`` of local day ``today``.

    Reads only what has ended by then: daily peaks of the seven days before ``today``, the load of
    the last ended hour and of the same hour a day earlier, and day-ahead prices of ``day`` and of
    yesterday (None when the seven days hold no load).
    """
    week = load.peaks(today - _LOOKBACK_DAYS, today)
    known = week[~np.isnan(week)]
    if known.size == 0:
        return None
    week_mean = float(known.mean())
    reference = float(week[-1]) if not math.isnan(week[-1]) else float(known[-1])
    last_day, last_hour = (today, hour - 1) if hour >= 1 else (today - 1, 23)
    last = load.at(last_day, last_hour)
    change = last - load.at(last_day - 1, last_hour)
    base = np.array(
        [
            1.0,
            0.0 if math.isnan(change) else change,
            0.0 if math.isnan(last) else last - reference,
            reference - week_mean,
            float(off_day(day)),
            float(off_day(today - 1)),
        ]
    )
    day_ahead = None
    if da is not None:
        target, yesterday = _da_level(da.row(day)), _da_level(da.row(today - 1))
        if target is not None and yesterday is not None:
            day_ahead = np.array([target[0] - yesterday[0], target[1], yesterday[1]])
    return _Features(base, day_ahead, reference, week_mean)


# --- fitting -----------------------------------------------------------------------------------------


class FourCpPredictor:
    """Probability that an hour is its month's 4CP peak hour (see the module docstring).

    ``fit`` learns from whole years; ``probability`` answers from a ``MarketHistory`` only, in well
    under 2 ms for 48 targets.
    """

    def __init__(self) -> None:
        self.timezone: str | None = None
        self.training_months: list[tuple[int, int]] = []
        """(year, month) pairs learned from."""
        self._day_models: dict[tuple[int, int, bool], Linear] = {}
        self._rest_slope_mw: float = 0.0
        self._rest_by_month: dict[int, tuple[float, float]] = {}
        self._hour_weights = np.zeros((24, 24))

    @property
    def fitted(self) -> bool:
        return self.timezone is not None

    def fit(self, data: MarketData, peaks: pd.DataFrame) -> None:
        """Learn from ``data`` (hourly system load [MW], day-ahead prices [USD/MWh] if any) over the
        June–September months listed in ``peaks`` (columns as ``fourcp_peaks_bundled()``: ``year``,
        ``month``, ``peak_start_utc``; other months are ignored)."""
        missing = [c for c in ("year", "month", "peak_start_utc") if c not in peaks.columns]
        if missing:
            raise DataError(f"4CP predictor: the peaks table lacks column(s) {', '.join(missing)}")
        months = sorted(
            {
                (int(y), int(m))
                for y, m in zip(peaks["year"], peaks["month"], strict=True)
                if m in FOURCP_MONTHS
            }
        )
        if not months:
            raise DataError("4CP predictor: the peaks table lists no June–September month to learn from")
        load = data.load_mw.dropna()
        if load.empty:
            raise DataError("4CP predictor: fitting needs hourly system load; the market data has none")
        tz = data.timezone
        wall = local_wall_ns(utc_ns(load.index, "system load"), tz)
        first_day, last_day = int(wall.min() // NS_PER_DAY), int(wall.max() // NS_PER_DAY)
        table = table_of(load, tz, "system load", first_day, last_day)
        da_series = data.da_price_usd_per_mwh.dropna()
        da = None if da_series.empty else table_of(da_series, tz, "day-ahead prices", first_day, last_day)
        wanted_indices = {(y - 1970, m - 1) for y, m in months}
        days = [
            d
            for d in range(first_day + _LOOKBACK_DAYS, last_day + 1)
            if divmod(month_index(d), 12) in wanted_indices and not math.isnan(table.peak[d - first_day])
        ]
        if not days:
            raise DataError(
                "4CP predictor: the market data holds no system load in the months of the peaks table "
                f"({', '.join(f'{y}-{m:02d}' for y, m in months)})"
            )
        self._fit_day_models(table, da, days)
        self._fit_rest_of_month(table, days)
        self._fit_hours(table, days, peaks, tz)
        self.timezone = tz
        self.training_months = months

    def _fit_day_models(self, table: DayTable, da: DayTable | None, days: list[int]) -> None:
        rows: dict[tuple[int, int, bool], tuple[list[Array], list[float], list[int]]] = {}
        for target in days:
            year = date.fromordinal(target + EPOCH_ORDINAL).year
            for ahead in range(_FORECAST_DAYS):
                today = target - ahead
                for hour in range(24):
                    feats = _features(table, da, today, hour, target)
                    if feats is None:
                        continue
                    if ahead == 0:
                        rest = table.values[target - table.first_day, hour:]
                        if np.isnan(rest).all():
                            continue
                        peak = float(np.nanmax(rest))
                    else:
                        peak = float(table.peak[target - table.first_day])
                    y = peak - feats.reference_mw
                    xs, ys, gs = rows.setdefault((ahead, hour, False), ([], [], []))
                    xs.append(feats.base)
                    ys.append(y)
                    gs.append(year)
                    if feats.day_ahead is not None:
                        xs, ys, gs = rows.setdefault((ahead, hour, True), ([], [], []))
                        xs.append(np.concatenate([feats.base, feats.day_ahead]))
                        ys.append(y)
                        gs.append(year)
        self._day_models = {
            key: ridge_cv(np.vstack(xs), np.asarray(ys), np.asarray(gs))
            for key, (xs, ys, gs) in rows.items()
            if len(ys) >= MIN_SAMPLES
        }

    def _fit_rest_of_month(self, table: DayTable, days: list[int]) -> None:
        """Largest daily peak of the days from ``today + 3`` to the month's end, less the week mean."""
        month_cols = {m: i for i, m in enumerate(FOURCP_MONTHS)}
        xs, ys, ms = [], [], []
        for first in days:
            today = first - _FORECAST_DAYS
            m_index = month_index(first)
            _, stop = month_bounds(m_index)
            week = table.peaks(today - _LOOKBACK_DAYS, today)
            later = table.peaks(first, stop)
            if np.isnan(week).all() or np.isnan(later).all():
                continue
            row = np.zeros(len(FOURCP_MONTHS) + 1)
            month = m_index % 12 + 1
            row[month_cols[month]] = 1.0
            row[-1] = math.log(stop - first)
            xs.append(row)
            ys.append(float(np.fmax.reduce(later)) - float(week[~np.isnan(week)].mean()))
            ms.append(month)
        if len(ys) < MIN_SAMPLES:
            raise DataError("4CP predictor: too little load data to learn the rest-of-month peak")
        x, y, month_of = np.vstack(xs), np.asarray(ys), np.asarray(ms)
        present = x[:, :-1].any(axis=0)
        design = x[:, np.r_[np.flatnonzero(present), len(FOURCP_MONTHS)]]
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        resid = y - design @ coef
        intercepts = dict(zip([FOURCP_MONTHS[i] for i in np.flatnonzero(present)], coef[:-1], strict=True))
        pooled_sigma = float(resid.std(ddof=design.shape[1]))
        self._rest_slope_mw = float(coef[-1])
        self._rest_by_month = {}
        for month in FOURCP_MONTHS:
            mask = month_of == month
            if month in intercepts and mask.sum() > 2:
                sigma = float(math.sqrt(float(resid[mask] @ resid[mask]) / (mask.sum() - 1)))
                self._rest_by_month[month] = (float(intercepts[month]), sigma)
            else:
                self._rest_by_month[month] = (float(np.mean(list(intercepts.values()))), pooled_sigma)

    def _fit_hours(self, table: DayTable, days: list[int], peaks: pd.DataFrame, tz: str) -> None:
        """Frequency of each local hour being the highest from start hour ``s`` on, on top-load days."""
        counts = np.zeros((24, 24))
        by_month: dict[int, list[int]] = {}
        for d in days:
            by_month.setdefault(month_index(d), []).append(d)
        for month_days in by_month.values():
            top = sorted(month_days, key=lambda d: -float(table.peak[d - table.first_day]))[
                :_TOP_DAYS_PER_MONTH
            ]
            for d in top:
                row = table.values[d - table.first_day]
                filled = np.where(np.isnan(row), -np.inf, row)
                for s in range(24):
                    counts[s, s + int(np.argmax(filled[s:]))] += 1.0
        starts = pd.DatetimeIndex(pd.to_datetime(peaks["peak_start_utc"], utc=True))
        for month, hour in zip(peaks["month"], starts.tz_convert(tz).hour, strict=True):
            if month in FOURCP_MONTHS:
                counts[: hour + 1, hour] += 1.0
        upper = np.triu(np.ones((24, 24)))
        weights = (counts + _HOUR_PSEUDO_COUNT) * upper
        self._hour_weights = weights / weights.sum(axis=1, keepdims=True)

    # --- prediction ---------------------------------------------------------------------------------

    def _forecast(
        self, load: DayTable, da: DayTable | None, today: int, hour: int, day: int
    ) -> tuple[float, float, float]:
        """Mean and standard deviation of ``day``'s peak [MW] (today: of the hours still to come), and
        the mean peak of the last seven days [MW]."""
        feats = _features(load, da, today, hour, day)
        if feats is None:
            raise DataError(
                "4CP predictor: no system load in the seven days before the issue time; "
                "the history must hold the hourly load of the last week"
            )
        ahead = min(day - today, _FORECAST_DAYS - 1)
        model = self._day_models.get((ahead, hour, True)) if feats.day_ahead is not None else None
        if model is not None and feats.day_ahead is not None:
            x = np.concatenate([feats.base, feats.day_ahead])
        else:
            model = self._day_models.get((ahead, hour, False))
            x = feats.base
        if model is None:
            raise DataError(f"4CP predictor: no model learned for {ahead} day(s) ahead at local hour {hour}")
        return feats.reference_mw + float(x @ model.coef), model.sigma_mw, feats.week_mean_mw

    def probability(self, history: MarketHistory, target_hours_utc: pd.DatetimeIndex) -> Array:
        """Probability [0–1] that each target hour (UTC hour start, ~48 h ahead of
        ``history.issued_utc``) is its month's 4CP peak hour, from ``history`` only.

        0 for hours outside June–September and for hours that have already ended.
        """
        if self.timezone is None:
            raise DataError("4CP predictor: call fit() before probability()")
        out = np.zeros(len(target_hours_utc))
        if len(target_hours_utc) == 0:
            return out
        tz = history.timezone
        issued_ns = int(pd.Timestamp(history.issued_utc).as_unit("ns").value)
        target_ns = utc_ns(target_hours_utc, "target hours")
        target_ns = target_ns - target_ns % NS_PER_HOUR
        wall = local_wall_ns(np.append(target_ns, issued_ns), tz)
        wall_day = wall // NS_PER_DAY
        wall_hour = (wall - wall_day * NS_PER_DAY) // NS_PER_HOUR
        today, hour = int(wall_day[-1]), int(wall_hour[-1])
        target_day, target_hour = wall_day[:-1], wall_hour[:-1]
        open_ = target_ns + NS_PER_HOUR > issued_ns
        month_of_day = {int(d): month_index(int(d)) for d in np.unique(target_day[open_])}
        live_days = [d for d, m in month_of_day.items() if m % 12 + 1 in FOURCP_MONTHS and d >= today]
        if not live_days:
            return out

        load_series = history.load_mw
        load_ns = utc_ns(load_series.index, "system load") if len(load_series) else np.empty(0, np.int64)
        lo = int(np.searchsorted(load_ns, issued_ns - (_HISTORY_DAYS + 1) * NS_PER_DAY))
        load = DayTable(
            load_ns[lo:], load_series.to_numpy(dtype=np.float64)[lo:], tz, today - _HISTORY_DAYS, today
        )
        forecast_days = sorted({today + k for k in range(_FORECAST_DAYS)} | set(live_days))
        da_series = history.da_price_usd_per_mwh
        da = None
        if len(da_series):
            da_ns = utc_ns(da_series.index, "day-ahead prices")
            lo = int(np.searchsorted(da_ns, issued_ns - 3 * NS_PER_DAY))
            da_values = da_series.to_numpy(dtype=np.float64)[lo:]
            da = DayTable(da_ns[lo:], da_values, tz, today - 2, forecast_days[-1])
        forecasts = {d: self._forecast(load, da, today, hour, d) for d in forecast_days}
        week_mean = forecasts[today][2]
        day_probability: dict[int, float] = {}
        for day in live_days:
            m_index = month_of_day[day]
            start, stop = month_bounds(m_index)
            known = load.values[max(start - load.first_day, 0) : today - load.first_day + 1]
            running_max = float(np.fmax.reduce(known.ravel())) if known.size else math.nan
            mu, sigma, _ = forecasts[day]
            x = mu + sigma * _GRID_Z
            density = _GRID_WEIGHTS if math.isnan(running_max) else _GRID_WEIGHTS * (x > running_max)
            for other in forecast_days:
                if other != day and start <= other < stop:
                    m, s, _ = forecasts[other]
                    density = density * norm_cdf((x - m) / s)
            later = [d for d in range(max(today + _FORECAST_DAYS, start), stop) if d != day]
            if later:
                intercept, s = self._rest_by_month[m_index % 12 + 1]
                m = week_mean + intercept + self._rest_slope_mw * math.log(len(later))
                density = density * norm_cdf((x - m) / s)
            day_probability[day] = float(density.sum())
        for i in np.flatnonzero(open_):
            day = int(target_day[i])
            if day in day_probability:
                start_hour = hour if day == today else 0
                out[i] = day_probability[day] * self._hour_weights[start_hour, int(target_hour[i])]
        return np.clip(out, 0.0, 1.0)

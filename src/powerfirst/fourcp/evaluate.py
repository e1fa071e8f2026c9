"""Leave-one-year-out evaluation of the 4CP predictor against today's fixed afternoon window.

For each evaluated year Y the predictor is fitted on the other bundled years (their load,
day-ahead prices and 4CP peaks) — or the other years of the user's files (``--load``,
``--fourcp-peaks``, optionally ``--day-ahead``; taken to be ERCOT's, 4CP being ERCOT's program, so
months, hours and the day-ahead clock are read in ERCOT's zone, and a day-ahead CSV whose
``interval_start_local`` is in another zone is an error) — then June–September of Y is walked hour by hour with a
:class:`~powerfirst.market.information.MarketClock`: at each hour start the probability that this
hour is the month's peak is computed from what is known then, and the hour is curtailed when the
expected 4CP charge avoided by one MW exceeds what that MW would have earned
(:func:`~powerfirst.fourcp.predictor.curtail_hours`). The rule of today (the ``rule-based``
strategy's defaults: 15:00–19:00 local on weekdays of June–September) is scored alongside.

All money is per MW of curtailable load: a caught peak avoids ``rate / 4`` [USD/MW]; each curtailed
hour gives up ``lost_margin`` [USD/MWh × 1 h = USD/MW].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from powerfirst._types import Array, BoolArray
from powerfirst.errors import ConfigError
from powerfirst.fourcp.predictor import FourCpPredictor, curtail_hours
from powerfirst.fourcp.window import (
    RULE_WINDOW_END_HOUR,
    RULE_WINDOW_MONTHS,
    RULE_WINDOW_START_HOUR,
    RULE_WINDOW_WEEKDAYS_ONLY,
)
from powerfirst.market.fourcp_data import fourcp_day_ahead_source, fourcp_market_data
from powerfirst.market.grid_programs import FOURCP_MONTHS, fourcp_peaks_bundled, fourcp_peaks_csv
from powerfirst.market.markets import ERCOT
from powerfirst.market.user_inputs import read_load_csv

__all__ = ["BUNDLED_YEARS", "MARKET_LINE", "FourCpEvaluationRow", "evaluate_fourcp", "fourcp_market_data"]


BUNDLED_YEARS = (2021, 2022, 2023)
"""Years with bundled ERCOT native load and day-ahead prices."""
TIMEZONE = ERCOT.timezone
MARKET_LINE = (
    f"market: {ERCOT.label} (4CP is {ERCOT.label}'s program): months, hours and the day-ahead clock read in "
    f"{TIMEZONE}"
)
"""What the evaluation takes the market of the user's files to be, stated with its results."""
_LOG_LOSS_FLOOR = 1e-6


@dataclass(frozen=True)
class FourCpEvaluationRow:
    """The result of one method in one evaluated year (money per MW of curtailable load)."""

    year: int
    method: str
    """``predictor`` (curtail when the expected avoided charge exceeds the lost margin) or ``rule``
    (15:00–19:00 local on weekdays of June–September)."""
    peaks_caught: int
    """Monthly peak hours (of ``peaks``) in which the load was curtailed."""
    peaks: int
    curtailment_hours: int
    avoided_charge_usd_per_mw: float
    """Caught peaks × rate / 4 [USD/MW]."""
    lost_margin_usd_per_mw: float
    """Curtailed hours × lost margin [USD/MW]."""
    net_value_usd_per_mw: float
    """Avoided charge − lost margin [USD/MW]."""
    brier: float | None
    """Mean squared error of the hourly probabilities against the peak indicator (predictor only)."""
    log_loss: float | None
    """Mean negative log-likelihood of the hourly probabilities, floored at 1e-6 (predictor only) [nats]."""
    brier_base_rate: float
    """Brier score of the constant forecast peaks / hours, for scale."""
    mean_probability_at_peaks: float | None
    """Mean probability the predictor gave the peak hours (predictor only)."""
    missed_peaks_utc: tuple[str, ...]
    """Start (UTC, ISO) of the peak hours that were not curtailed."""


def _summer_hours_utc(year: int) -> pd.DatetimeIndex:
    start = pd.Timestamp(f"{year}-{FOURCP_MONTHS[0]:02d}-01", tz=TIMEZONE)
    end = pd.Timestamp(f"{year}-{FOURCP_MONTHS[-1] + 1:02d}-01", tz=TIMEZONE)
    return pd.date_range(start.tz_convert("UTC"), end.tz_convert("UTC"), freq="h", inclusive="left")


def _rule_mask(hours_utc: pd.DatetimeIndex) -> BoolArray:
    local = hours_utc.tz_convert(TIMEZONE)
    mask = np.isin(local.month, list(RULE_WINDOW_MONTHS))
    mask &= (local.hour >= RULE_WINDOW_START_HOUR) & (local.hour < RULE_WINDOW_END_HOUR)
    if RULE_WINDOW_WEEKDAYS_ONLY:
        mask &= local.day_of_week < 5
    return np.asarray(mask, dtype=bool)


def _row(
    year: int,
    method: str,
    curtailed: BoolArray,
    is_peak: BoolArray,
    hours_utc: pd.DatetimeIndex,
    rate_usd_per_mw_year: float,
    lost_margin_usd_per_mwh: float,
    probability: Array | None,
) -> FourCpEvaluationRow:
    caught = int((curtailed & is_peak).sum())
    hours = int(curtailed.sum())
    avoided = caught * rate_usd_per_mw_year / 4.0
    lost = hours * lost_margin_usd_per_mwh
    base_rate = float(is_peak.mean())
    brier = log_loss = at_peaks = None
    if probability is not None:
        brier = float(np.mean((probability - is_peak) ** 2))
        p = np.clip(probability, _LOG_LOSS_FLOOR, 1.0 - _LOG_LOSS_FLOOR)
        log_loss = float(-np.mean(np.where(is_peak, np.log(p), np.log1p(-p))))
        at_peaks = float(probability[is_peak].mean())
    return FourCpEvaluationRow(
        year=year,
        method=method,
        peaks_caught=caught,
        peaks=int(is_peak.sum()),
        curtailment_hours=hours,
        avoided_charge_usd_per_mw=avoided,
        lost_margin_usd_per_mw=lost,
        net_value_usd_per_mw=avoided - lost,
        brier=brier,
        log_loss=log_loss,
        brier_base_rate=float(np.mean((base_rate - is_peak) ** 2)),
        mean_probability_at_peaks=at_peaks,
        missed_peaks_utc=tuple(t.isoformat() for t in hours_utc[is_peak & ~curtailed]),
    )


def evaluate_fourcp(
    rate_usd_per_mw_year: float,
    lost_margin_usd_per_mwh: float,
    years: Sequence[int] = BUNDLED_YEARS,
    da_point: str = "HB_HUBAVG",
    training_years: Sequence[int] = BUNDLED_YEARS,
    *,
    load: str | None = None,
    fourcp_peaks: str | None = None,
    day_ahead: str | None = None,
) -> list[FourCpEvaluationRow]:
    """Leave-one-year-out: for each of ``years``, fit on the other ``training_years`` and walk
    June–September hour by hour; one ``predictor`` and one ``rule`` row per year.

    With the user's ``load`` (``path.csv:COLUMN`` [MW]) and ``fourcp_peaks`` (CSV, one peak per
    month), both required together, the years are those of the peaks file (``years`` and
    ``training_years`` default to them); ``day_ahead`` is an optional price SOURCE.

    ``rate_usd_per_mw_year``: 4CP transmission rate [USD per MW-year]; ``lost_margin_usd_per_mwh``:
    what one MW of curtailed load would have earned in an hour [USD/MWh].
    """
    if not math.isfinite(rate_usd_per_mw_year) or rate_usd_per_mw_year <= 0:
        raise ConfigError(f"4CP rate = {rate_usd_per_mw_year:g} USD/MW-year: must be a finite number > 0")
    if not math.isfinite(lost_margin_usd_per_mwh):
        raise ConfigError(f"lost margin = {lost_margin_usd_per_mwh:g} USD/MWh: must be a finite number")
    user_load: pd.Series | None = None
    if (load is None) != (fourcp_peaks is None):
        raise ConfigError(
            "--load and --fourcp-peaks go together: the predictor learns the user's peaks from the user's load"
        )
    if load is not None and fourcp_peaks is not None:
        user_load = read_load_csv(load)
        peaks = fourcp_peaks_csv(fourcp_peaks, pd.Timedelta(hours=1), TIMEZONE)
        available = tuple(sorted({int(y) for y in peaks["year"]}))
        years = tuple(y for y in years if y in available) if tuple(years) != BUNDLED_YEARS else available
        training_years = available
        what = f"the peaks in {fourcp_peaks}"
    else:
        peaks = fourcp_peaks_bundled()
        available = BUNDLED_YEARS
        what = "the bundled ERCOT load and day-ahead prices"
    bundled = ", ".join(map(str, available))
    for year in (*years, *training_years):
        if year not in available:
            raise ConfigError(f"year {year}: {what} cover {bundled}")
    if not years:
        raise ConfigError("no year to evaluate")
    if len(set(years)) != len(years):
        raise ConfigError(f"each year once, got {', '.join(map(str, years))}")
    if day_ahead is not None:
        fourcp_day_ahead_source(day_ahead)  # a bad --day-ahead fails before any work
    rows: list[FourCpEvaluationRow] = []
    for year in years:
        train = sorted(set(training_years) - {year})
        if not train:
            raise ConfigError(f"year {year}: no other year to learn from (training years: {bundled})")
        predictor = FourCpPredictor()
        predictor.fit(
            fourcp_market_data(train, da_point, load=user_load, day_ahead=day_ahead),
            peaks[peaks["year"].isin(train)],
        )
        clock = fourcp_market_data([year], da_point, load=user_load, day_ahead=day_ahead).clock()
        hours = _summer_hours_utc(year)
        probability = np.empty(len(hours))
        for i, hour in enumerate(hours):
            probability[i] = predictor.probability(clock.known_at(hour), hours[i : i + 1])[0]
        year_peaks = pd.DatetimeIndex(
            pd.to_datetime(peaks.loc[peaks["year"] == year, "peak_start_utc"], utc=True)
        ).floor("h")
        is_peak = np.asarray(hours.isin(year_peaks), dtype=bool)
        chosen = curtail_hours(probability, rate_usd_per_mw_year, lost_margin_usd_per_mwh)
        args = (is_peak, hours, rate_usd_per_mw_year, lost_margin_usd_per_mwh)
        rows.append(_row(year, "predictor", chosen, *args, probability))
        rows.append(_row(year, "rule", _rule_mask(hours), *args, None))
    return rows

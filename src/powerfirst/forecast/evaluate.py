"""Walk-forward evaluation of price forecasters on held-out market-local years.

For a test year Y every forecaster is fitted on the years before Y only (training ends where the
scored period starts), then issues a forecast every few hours through Y from what a
:class:`~powerfirst.market.information.MarketClock` reveals, and each target hour is scored against
the realised hourly mean real-time price [USD/MWh]:

* MAE of the median [USD/MWh];
* mean pinball (quantile) loss over :data:`~powerfirst.forecast.base.QUANTILES` [USD/MWh];
* coverage of the 10–90 % band (share of realised prices inside it; 0.8 when calibrated) [-].

Lead = hours from the issue time to the end of the target hour (1 h: the hour that starts now).

An issue time at which a forecaster knows nothing to forecast from (a hole in the data longer than
its look-back, e.g. CAISO's days without prices) is skipped for every forecaster, so all are scored
on the same issues; the count and the first and last skipped issue are in each score row
(``skipped_issues``) and the console. A day-ahead source of another market than the real-time
prices is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from powerfirst._types import Array, IntArray
from powerfirst.errors import ConfigError, DataError
from powerfirst.forecast.base import QUANTILES, NothingKnownError
from powerfirst.forecast.known import hour_starts_ns, lookup
from powerfirst.forecast.registry import make_forecaster
from powerfirst.forecast.walk import hourly_mean_rt, lead_hours, walk
from powerfirst.market.evaluation_data import (
    EvaluationZone,
    earliest_training_start,
    evaluation_zone,
    year_start_utc,
)
from powerfirst.market.loading import load_market_data

__all__ = ["LEAD_BUCKETS", "EvaluationZone", "ForecastScore", "evaluate_forecasts", "evaluation_zone"]

LEAD_BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("1 h", 1, 1),
    ("2–6 h", 2, 6),
    ("7–24 h", 7, 24),
    ("25–48 h", 25, 48),
    ("49+ h", 49, 10_000),
)
"""(label, first lead, last lead) [h]; a bucket without scored targets is left out."""
ALL_LEADS = "all"
HISTORY_BEFORE_TEST = pd.Timedelta(days=7)
"""Market history revealed before the first scored issue (not scored, part of the training years)."""
MAX_HORIZON_HOURS = 168
MAX_TRAIN_YEARS = 30

ProgressFn = Callable[[str, int, int], None]
"""progress(stage, done, total): called while fitting (stage 'fit NAME') and forecasting ('forecast')."""


@dataclass(frozen=True)
class ForecastScore:
    """Scores of one forecaster over one test year and lead bucket."""

    forecaster: str
    test_year: int
    train_years: str
    """Market-local years the forecaster was fitted on, e.g. '2020–2021'."""
    lead_bucket: str
    mae_usd_per_mwh: float
    """Mean absolute error of the median [USD/MWh]."""
    pinball_usd_per_mwh: float
    """Mean pinball loss over the quantile levels [USD/MWh]."""
    coverage_10_90: float
    """Share of realised prices within the 0.1–0.9 quantiles [-]."""
    n: int
    """Scored (issue, target hour) pairs [count]."""
    skipped_issues: int = 0
    """Issue times skipped: a forecaster knew nothing to forecast from (a hole in the data) [count]."""
    skipped_first_utc: str | None = None
    """First skipped issue time (ISO-8601 UTC), None when none was skipped."""
    skipped_last_utc: str | None = None
    """Last skipped issue time (ISO-8601 UTC), None when none was skipped."""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _check(horizon_hours: int, issue_every_hours: int, forecasters: list[str]) -> None:
    if not 1 <= horizon_hours <= MAX_HORIZON_HOURS:
        raise ConfigError(f"--horizon-hours = {horizon_hours} h: must be in 1..{MAX_HORIZON_HOURS}")
    if not 1 <= issue_every_hours <= MAX_HORIZON_HOURS:
        raise ConfigError(f"--issue-every-hours = {issue_every_hours} h: must be in 1..{MAX_HORIZON_HOURS}")
    if not forecasters:
        raise ConfigError("--forecast: name at least one forecaster")
    if len(set(forecasters)) != len(forecasters):
        raise ConfigError(f"--forecast: each forecaster once, got {', '.join(forecasters)}")


def evaluate_forecasts(
    rt_source: str,
    da_source: str | None,
    test_year: int,
    forecasters: list[str],
    horizon_hours: int = 48,
    issue_every_hours: int = 1,
    *,
    test_start_utc: pd.Timestamp | None = None,
    test_end_utc: pd.Timestamp | None = None,
    train_start_utc: pd.Timestamp | None = None,
    progress: ProgressFn | None = None,
    load: str | None = None,
    market: str | None = None,
    timezone: str | None = None,
) -> list[ForecastScore]:
    """Fit on the years before ``test_year``, forecast through it, and score by lead bucket.

    ``load`` is the user's system load (``path.csv:COLUMN`` [MW]); default: bundled ERCOT native
    load for ERCOT prices, else none. ``market`` (``--market``) and ``timezone`` (``--timezone``)
    decide the market-local zone with the source (:func:`evaluation_zone`).

    The scored period is the market-local calendar year ``test_year`` unless ``test_start_utc`` /
    ``test_end_utc`` narrow it; training covers [``train_start_utc``, scored period start), by
    default from the earliest year the real-time source covers. Returns, per forecaster, one row
    per lead bucket and one for all leads (``lead_bucket == 'all'``).
    """
    _check(horizon_hours, issue_every_hours, forecasters)
    models = {name: make_forecaster(name) for name in forecasters}
    zone = evaluation_zone(rt_source, da_source, market=market, timezone=timezone)
    timezone = zone.timezone
    start = test_start_utc if test_start_utc is not None else year_start_utc(test_year, timezone)
    end = test_end_utc if test_end_utc is not None else year_start_utc(test_year + 1, timezone)
    if not start < end:
        raise ConfigError(f"test period: start {start.isoformat()} must be before end {end.isoformat()}")
    train_start = (
        train_start_utc
        if train_start_utc is not None
        else earliest_training_start(rt_source, test_year, timezone, MAX_TRAIN_YEARS)
    )
    if not train_start < start:
        raise ConfigError(
            f"training start {train_start.isoformat()} must be before the test period start {start.isoformat()}"
        )
    train = load_market_data(
        rt_source, da_source, train_start, start, load, timezone=timezone, market=zone.market
    )
    first_year = train_start.tz_convert(timezone).year
    last_year = (start - pd.Timedelta(seconds=1)).tz_convert(timezone).year
    train_years = str(first_year) if first_year == last_year else f"{first_year}–{last_year}"
    for name, model in models.items():
        if progress:
            progress(f"fit {name}", 0, 1)
        model.fit(train)
        if progress:
            progress(f"fit {name}", 1, 1)

    test = load_market_data(
        rt_source, da_source, start - HISTORY_BEFORE_TEST, end, load, timezone=timezone, market=zone.market
    )
    realised = hourly_mean_rt(test)
    realised_ns, realised_usd = hour_starts_ns(pd.DatetimeIndex(realised.index)), realised.to_numpy()
    start_ns, end_ns = (
        hour_starts_ns(pd.DatetimeIndex([start]))[0],
        hour_starts_ns(pd.DatetimeIndex([end]))[0],
    )
    total = int(np.ceil((end - start) / pd.Timedelta(hours=issue_every_hours)))
    quantiles: dict[str, list[Array]] = {name: [] for name in models}
    leads: list[IntArray] = []
    actual: list[Array] = []
    skipped: list[pd.Timestamp] = []
    for done, (history, targets) in enumerate(walk(test, start, end, issue_every_hours, horizon_hours)):
        target_ns = hour_starts_ns(targets)
        y = lookup(realised_ns, realised_usd, target_ns)
        scored = (target_ns >= start_ns) & (target_ns < end_ns) & ~np.isnan(y)
        if progress and (done % 24 == 0 or done + 1 == total):
            progress("forecast", done + 1, total)
        if not scored.any():  # no realised price to score (after the data's end, inside a hole)
            continue
        try:
            predicted = {name: model.predict(history, targets)[scored] for name, model in models.items()}
        except (
            NothingKnownError
        ):  # nothing known to forecast from (right after a long hole): not scored, counted
            skipped.append(pd.Timestamp(history.issued_utc))
            continue
        issued_ns = hour_starts_ns(pd.DatetimeIndex([history.issued_utc]))[0]
        leads.append(np.ceil(lead_hours(int(issued_ns), target_ns[scored]) - 1e-9).astype(np.int64))
        actual.append(y[scored])
        for name in models:
            quantiles[name].append(predicted[name])

    lead = np.concatenate(leads) if leads else np.zeros(0, dtype=np.int64)
    y_all = np.concatenate(actual) if actual else np.zeros(0)
    first_skipped = skipped[0].tz_convert("UTC").isoformat() if skipped else None
    last_skipped = skipped[-1].tz_convert("UTC").isoformat() if skipped else None
    rows: list[ForecastScore] = []
    for name in models:
        q_all = np.concatenate(quantiles[name]) if quantiles[name] else np.zeros((0, len(QUANTILES)))
        buckets = [(label, (lead >= lo) & (lead <= hi)) for label, lo, hi in LEAD_BUCKETS]
        for label, mask in [*buckets, (ALL_LEADS, np.ones(lead.shape, dtype=bool))]:
            if mask.any():
                score = _score(name, test_year, train_years, label, q_all[mask], y_all[mask])
                rows.append(
                    replace(
                        score,
                        skipped_issues=len(skipped),
                        skipped_first_utc=first_skipped,
                        skipped_last_utc=last_skipped,
                    )
                )
    if not rows:
        raise DataError(
            f"{rt_source}: no realised real-time price in the test period {start.isoformat()} to {end.isoformat()}"
            + (
                f" that could be forecast ({len(skipped)} issue times skipped: nothing known to forecast from)"
                if skipped
                else ""
            )
        )
    return rows


def _score(name: str, test_year: int, train_years: str, bucket: str, q: Array, y: Array) -> ForecastScore:
    """Scores of quantile forecasts ``q`` (rows × QUANTILES) against realised prices ``y`` [USD/MWh]."""
    levels = np.asarray(QUANTILES)
    error = y[:, None] - q
    pinball = np.maximum(levels * error, (levels - 1.0) * error)
    median = q[:, QUANTILES.index(0.5)]
    low, high = q[:, QUANTILES.index(0.1)], q[:, QUANTILES.index(0.9)]
    return ForecastScore(
        forecaster=name,
        test_year=test_year,
        train_years=train_years,
        lead_bucket=bucket,
        mae_usd_per_mwh=float(np.mean(np.abs(y - median))),
        pinball_usd_per_mwh=float(np.mean(pinball)),
        coverage_10_90=float(np.mean((y >= low) & (y <= high))),
        n=int(y.size),
    )

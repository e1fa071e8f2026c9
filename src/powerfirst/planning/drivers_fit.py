"""The joint monthly model of BTC price, network hashrate (and fees, given a fee series), fitted by
least squares on the monthly history (:mod:`powerfirst.planning.drivers_history`).

With r_t = ln(P_t / P_{t−1}) the monthly log change of the mean BTC price and
g_t = ln(H_t / H_{t−1}) that of the mean network hashrate:

    r_t = μ + ε_p,t
    g_t = a + b · r_{t−L} + ε_h,t          (hashrate follows the price L months later)
    ln F_t = m + φ · (ln F_{t−1} − m) + ε_f,t   (fees per block, only with a fee series)

(ε_p, ε_h[, ε_f]) are normal, independent over months, correlated within a month (correlation
estimated from the residuals). μ and σ_p are the mean and sample standard deviation of r; a, b and
σ_h come from ordinary least squares (numpy), the lag L in 1…``max_lag_months`` being the one with
the largest R² (lag 0 is not a candidate: the same month's co-movement is the shocks' correlation).
The hashrate implied by difficulty trails the true hashrate by about a week (difficulty adjusts
every 2,016 blocks), which is part of the one-month lag the bundled history gives; Blockchain.com's
direct hashrate estimate shows the same response spread over lags 0 and 1. An error-correction term in the hashprice level was tried on the bundled history and adds nothing
(coefficient ≈ 0, R² unchanged), so the model leaves it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from powerfirst._types import Array, IntArray
from powerfirst.errors import DataError
from powerfirst.planning.drivers_history import MonthlyHistory, bitcoin_history

__all__ = ["DriverModel", "FeeModel", "fit_driver_model"]

MIN_MONTHS = 24
"""Fewest months of joint history the fit accepts."""
MIN_FEE_MONTHS = 12
"""Fewest months of fee history for a fee equation."""


@dataclass(frozen=True)
class FeeModel:
    """AR(1) of the log monthly mean fees per block, fitted on a fee series."""

    mean_log: float
    """m: the long-run mean of ln(fees [BTC/block])."""
    persistence: float
    """φ per month [-], clipped to [0, 0.99]."""
    volatility_log_per_month: float
    """σ_f: standard deviation of ε_f."""
    correlation_with_price: float
    correlation_with_hashrate: float
    months: int
    """Months the AR(1) was fitted on."""

    @property
    def long_run_btc_per_block(self) -> float:
        """exp(m) [BTC/block]: the median the fees revert to."""
        return float(np.exp(self.mean_log))


@dataclass(frozen=True)
class DriverModel:
    """Fitted parameters (per month, natural logs) and the history they were fitted on."""

    first_month: str
    """First month of the returns fitted on (``YYYY-MM``)."""
    last_month: str
    months_fitted: int
    btc_drift_log_per_month: float
    """μ."""
    btc_volatility_log_per_month: float
    """σ_p."""
    hashrate_intercept_log_per_month: float
    """a."""
    hashrate_lag_months: int
    """L."""
    hashrate_response_to_btc: float
    """b: log hashrate growth per unit of log price change L months earlier [-]."""
    hashrate_volatility_log_per_month: float
    """σ_h: standard deviation of the hashrate equation's residual."""
    hashrate_r_squared: float
    r_squared_by_lag: tuple[float, ...]
    """R² of the hashrate equation at lags 1, 2, … on one common sample (the record of the lag choice)."""
    shock_correlation: float
    """ρ: correlation of ε_p and ε_h in the same month."""
    fees: FeeModel | None
    """None: fees are assumed, not fitted (the bundled data has no fee series)."""
    history: MonthlyHistory
    notes: tuple[str, ...]

    @property
    def hashrate_drift_log_per_month(self) -> float:
        """a + b·μ: mean log hashrate growth per month."""
        return (
            self.hashrate_intercept_log_per_month
            + self.hashrate_response_to_btc * self.btc_drift_log_per_month
        )

    def describe(self) -> list[str]:
        """The fitted values in words, one line each (annual figures: median growth exp(12·x) − 1)."""

        def yearly(x: float) -> str:
            return f"{100 * np.expm1(12 * x):+.1f} %/yr"

        lines = [
            f"fitted on {self.months_fitted} monthly changes {self.first_month}…{self.last_month}",
            f"BTC: drift μ = {self.btc_drift_log_per_month:.4f}/month ({yearly(self.btc_drift_log_per_month)} median), "
            f"volatility σ_p = {self.btc_volatility_log_per_month:.4f}/month "
            f"({self.btc_volatility_log_per_month * np.sqrt(12):.2f}/√yr)",
            f"hashrate: g_t = {self.hashrate_intercept_log_per_month:.4f} + {self.hashrate_response_to_btc:.3f} · "
            f"r_(t−{self.hashrate_lag_months}) + ε_h, σ_h = {self.hashrate_volatility_log_per_month:.4f}/month, "
            f"R² = {self.hashrate_r_squared:.3f} (R² by lag 1…: "
            + ", ".join(f"{r:.3f}" for r in self.r_squared_by_lag)
            + f"); drift {yearly(self.hashrate_drift_log_per_month)} median",
            f"shock correlation ρ(ε_p, ε_h) = {self.shock_correlation:.3f}",
        ]
        if self.fees is not None:
            f = self.fees
            lines.append(
                f"fees: ln F AR(1) around {f.long_run_btc_per_block:.4f} BTC/block, φ = {f.persistence:.3f}/month, "
                f"σ_f = {f.volatility_log_per_month:.4f}/month, ρ with price {f.correlation_with_price:.3f}, "
                f"with hashrate {f.correlation_with_hashrate:.3f} ({f.months} months)"
            )
        return lines


def _ols(y: Array, x: Array) -> tuple[Array, Array, float]:
    """Coefficients, residuals and R² of y on [1, x] (numpy least squares)."""
    design = np.column_stack([np.ones_like(y), x])
    coef = np.asarray(np.linalg.lstsq(design, y, rcond=None)[0], dtype=np.float64)
    resid = np.asarray(y - design @ coef, dtype=np.float64)
    return coef, resid, float(1.0 - resid.var() / y.var())


def _fit_fees(history: MonthlyHistory, eps_p: Array, eps_h: Array, rows: IntArray) -> FeeModel:
    """AR(1) of ln fees over consecutive months with fees, and its residuals' correlation with the
    price and hashrate residuals (``eps_*`` at history rows ``rows``) over the months both have."""
    log_fees = np.log(np.where(history.fees_btc_per_block > 0, history.fees_btc_per_block, np.nan))
    pairs = np.flatnonzero(np.isfinite(log_fees[1:]) & np.isfinite(log_fees[:-1])) + 1
    if pairs.size < MIN_FEE_MONTHS:
        raise DataError(
            f"fee series: {pairs.size} pairs of consecutive whole months with fees > 0; the fit needs "
            f"at least {MIN_FEE_MONTHS}"
        )
    coef, resid, _ = _ols(log_fees[pairs], log_fees[pairs - 1])
    phi = float(np.clip(coef[1], 0.0, 0.99))
    mean_log = float(coef[0] / (1.0 - coef[1])) if coef[1] < 0.99 else float(np.mean(log_fees[pairs]))
    sigma = float(np.std(resid, ddof=2))
    common, in_fee, in_joint = np.intersect1d(pairs, rows, return_indices=True)
    rho_p = rho_h = 0.0
    if common.size >= MIN_FEE_MONTHS:
        rho_p = float(np.corrcoef(resid[in_fee], eps_p[in_joint])[0, 1])
        rho_h = float(np.corrcoef(resid[in_fee], eps_h[in_joint])[0, 1])
    return FeeModel(mean_log, phi, sigma, rho_p, rho_h, int(pairs.size))


def fit_driver_model(fees_csv_path: str | Path | None = None, *, max_lag_months: int = 6) -> DriverModel:
    """Fit the joint model on the bundled history (extended by a network CSV, if given)."""
    history = bitcoin_history(fees_csv_path)
    log_p, log_h = np.log(history.btc_usd), np.log(history.hashrate_ths)
    r = np.diff(log_p)
    g = np.diff(log_h)
    # change of month k (k ≥ 1) sits at index k − 1 of r and g
    valid = np.isfinite(r) & np.isfinite(g)
    both = valid.copy()
    for lag in range(1, max_lag_months + 1):
        both[lag:] &= valid[:-lag]
    both[:max_lag_months] = False
    common = np.flatnonzero(both)
    if common.size < MIN_MONTHS:
        raise DataError(
            f"driver history: {common.size} months of joint price and hashrate changes with "
            f"{max_lag_months} months before them; the fit needs at least {MIN_MONTHS}"
        )
    # the lag is chosen on one common sample (comparable R²), then refitted on all its months
    r2_by_lag = tuple(_ols(g[common], r[common - lag])[2] for lag in range(1, max_lag_months + 1))
    lag = 1 + int(np.argmax(r2_by_lag))
    rows = np.flatnonzero(valid[lag:] & valid[:-lag]) + lag
    coef, resid_h, r2 = _ols(g[rows], r[rows - lag])
    mu = float(np.mean(r[rows]))
    sigma_p = float(np.std(r[rows], ddof=1))
    eps_p = r[rows] - mu
    sigma_h = float(np.std(resid_h, ddof=2))
    rho = float(np.corrcoef(eps_p, resid_h)[0, 1])
    notes = [*history.sources]
    fees = None
    if fees_csv_path is not None:
        fees = _fit_fees(history, eps_p, resid_h, rows + 1)
        if fees.correlation_with_price == 0.0 and fees.correlation_with_hashrate == 0.0:
            notes.append(
                "fees: fewer than 12 months where the fee series and the price/hashrate fit overlap: "
                "fee shocks are taken as uncorrelated with price and hashrate shocks"
            )
    else:
        notes.append(
            "FEES ARE ASSUMED, NOT FITTED: the bundled data has no transaction-fee series; fees per block "
            "are the settings' fees_btc_per_block (default 0), scaled by the given elasticities. Give "
            "fees_csv_path (a network CSV from `powerfirst data fetch bitcoin`) to fit them."
        )
    model = DriverModel(
        first_month=history.months[int(rows[0]) + 1],
        last_month=history.months[int(rows[-1]) + 1],
        months_fitted=int(rows.size),
        btc_drift_log_per_month=mu,
        btc_volatility_log_per_month=sigma_p,
        hashrate_intercept_log_per_month=float(coef[0]),
        hashrate_lag_months=lag,
        hashrate_response_to_btc=float(coef[1]),
        hashrate_volatility_log_per_month=sigma_h,
        hashrate_r_squared=r2,
        r_squared_by_lag=r2_by_lag,
        shock_correlation=rho,
        fees=fees,
        history=history,
        notes=tuple(notes),
    )
    return model

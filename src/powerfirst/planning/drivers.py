"""Paths of a plan's drivers: Monte Carlo (:func:`simulate`) and named deterministic scenarios
(:func:`deterministic`), both as :class:`~powerfirst.planning.inputs.DriverPaths`.

Month 0 holds the starting levels; month t ≥ 1 follows the fitted joint model
(:mod:`powerfirst.planning.drivers_fit`) with the settings' overrides
(:class:`~powerfirst.planning.drivers_settings.DriverSettings`):

* BTC price: ln P_t = ln P_{t−1} + μ' + ε_p,t, μ' = ln(1 + btc_growth_per_year)/12 or the fitted μ;
* hashrate: ln H_t = ln H_{t−1} + a' + b · r_{t−L} + ε_h,t, with a' = ln(1 + hashrate_growth_per_year)/12 − b·μ'
  when a growth is given, else the fitted a; returns before month 1 are taken as μ' (no surprise);
* fees per block: with a fee series, ln F_t − m = φ (ln F_{t−1} − m) + ε_f,t; without one (the bundled
  case) F_t = F_0 · (P_t/P_0)^e_p · (H_t/H_0)^e_h with F_0 and the elasticities **assumed** by the settings;
* subsidy: the real halving schedule (:mod:`powerfirst.planning.drivers_halving`);
* GPU rental price: median path floor + (start − floor) · 2^(−t / half-life), times exp(Z_t) with
  Z_t = φ_g Z_{t−1} + σ_g η_t, Z_0 = 0 (independent of the Bitcoin shocks);
* market year: Monte Carlo draws one of ``market_years`` per path and calendar year (the same for all
  that year's months of the path); deterministic scenarios cycle through them by calendar year (the
  first calendar year of the plan takes the first), or use ``deterministic_market_year``.

Deterministic scenarios set every shock to its conditional mean given the price shock: ``base``
has no shocks (the median path), ``low``/``high`` put the price at its 10th/90th percentile at
every month (ln P_t = ln P_0 + μ' t ∓ 1.2816 σ_p √t), the hashrate (and fitted fees) responding
through the lag and the shocks' correlation.

Draws use one ``numpy.random.Generator(PCG64(seed))`` in a fixed order (Bitcoin shocks, GPU
shocks, market years): the same seed gives the same arrays.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from powerfirst._types import Array, IntArray
from powerfirst.errors import ConfigError
from powerfirst.planning.drivers_fit import DriverModel, FeeModel, fit_driver_model
from powerfirst.planning.drivers_halving import halving_schedule, subsidy_btc_per_block_monthly
from powerfirst.planning.drivers_history import MonthlyHistory, bitcoin_history
from powerfirst.planning.drivers_settings import DriverSettings, parse_driver_settings
from powerfirst.planning.inputs import DriverPaths

__all__ = [
    "SCENARIO_Z",
    "DriverModel",
    "DriverSettings",
    "FeeModel",
    "MonthlyHistory",
    "bitcoin_history",
    "deterministic",
    "driver_notes",
    "fit_driver_model",
    "halving_schedule",
    "parse_driver_settings",
    "simulate",
    "simulate_paths",
    "subsidy_btc_per_block_monthly",
]

SCENARIO_Z = {"base": 0.0, "low": -1.2815515655446004, "high": 1.2815515655446004}
"""Standard-normal quantile of the price in each named deterministic scenario (P50, P10, P90)."""
MAX_MONTHS = 1_200
MAX_PATHS = 1_000_000
MAX_CELLS = 20_000_000
BLOCK_PATHS = 100
"""Paths drawn from one random stream by :func:`simulate_paths` (part of what a seed means: changing
it changes the paths a seed gives)."""
"""Most paths × months one call draws: a call holds about 15 (P, M) float arrays at its peak,
8 bytes a cell (20 M cells ≈ 2.4 GB)."""
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class _Params:
    """The model with the settings applied: what the paths are drawn from."""

    mu: float
    sigma_p: float
    intercept_h: float
    lag: int
    response: float
    sigma_h: float
    rho: float
    fees: FeeModel | None
    btc0: float
    hashrate0: float
    fees0: float
    notes: tuple[str, ...]


def _whole(value: object) -> bool:
    """A whole number (Python or numpy integer, not a bool)."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _check_args(start_month: str, months: int, num_paths: int = 1) -> None:
    if not isinstance(start_month, str) or not _MONTH.match(start_month):
        raise ConfigError(f"start_month = {start_month!r}: need a month written YYYY-MM (e.g. 2026-01)")
    if not _whole(months) or not 1 <= months <= MAX_MONTHS:
        raise ConfigError(f"months = {months!r} months: need a whole number in [1, {MAX_MONTHS}]")
    if not _whole(num_paths) or not 1 <= num_paths <= MAX_PATHS:
        raise ConfigError(f"num_paths = {num_paths!r} paths: need a whole number in [1, {MAX_PATHS:,}]")
    if num_paths * months > MAX_CELLS:
        raise ConfigError(
            f"num_paths × months = {num_paths:,} × {months} = {num_paths * months:,} path-months: "
            f"at most {MAX_CELLS:,} per call (memory); split the paths into batches"
        )


def _level(history: MonthlyHistory, column: str, start_month: str, what: str) -> tuple[float, str | None]:
    """The history's value of ``column`` in ``start_month``, or its last one (with a note)."""
    values: Array = getattr(history, column)
    if start_month in history.months and np.isfinite(values[history.months.index(start_month)]):
        return float(values[history.months.index(start_month)]), None
    row = history.last_month_with(column)
    if start_month < history.months[row]:
        raise ConfigError(
            f"start_month = {start_month}: before the driver history ({history.months[0]}…{history.months[row]}) "
            f"has a {what}; give the starting level in the settings"
        )
    return float(values[row]), (
        f"starting {what} {values[row]:,.6g} is the last month of history ({history.months[row]}), "
        f"not {start_month}: give the level in the settings to start from today's"
    )


def _params(model: DriverModel, settings: DriverSettings, start_month: str) -> _Params:
    if settings.fees_csv_path is not None and model.fees is None:
        raise ConfigError(
            f"fees_csv_path = {settings.fees_csv_path!r}: the driver model was fitted without it; fit it with "
            "fit_driver_model(settings.fees_csv_path)"
        )
    notes = list(model.notes)
    history = model.history
    levels = []
    for given, column, what in (
        (settings.start_btc_usd, "btc_usd", "BTC price [USD/BTC]"),
        (settings.start_hashrate_ths, "hashrate_ths", "network hashrate [TH/s]"),
    ):
        if given is not None:
            levels.append(given)
            continue
        value, note = _level(history, column, start_month, what)
        levels.append(value)
        if note:
            notes.append(note)
    if model.fees is not None:
        if (
            settings.fees_btc_per_block
            or settings.fees_btc_price_elasticity
            or settings.fees_hashrate_elasticity
        ):
            raise ConfigError(
                "the driver model fits fees from a fee series: fees_btc_per_block, fees_btc_price_elasticity and "
                "fees_hashrate_elasticity must be left out"
            )
        fees0, note = _level(history, "fees_btc_per_block", start_month, "fees per block [BTC/block]")
        if note:
            notes.append(note)
    else:
        fees0 = settings.fees_btc_per_block
        notes.append(
            f"fees per block start at {fees0:g} BTC/block (ASSUMED"
            + (", i.e. no fees: hashprice is subsidy-only and understated" if fees0 == 0 else "")
            + f"), scaled by (price ratio)^{settings.fees_btc_price_elasticity:g} × "
            f"(hashrate ratio)^{settings.fees_hashrate_elasticity:g}"
        )
    if settings.btc_growth_per_year is None:
        mu = model.btc_drift_log_per_month
        notes.append(
            f"BTC drift is the history's ({100 * np.expm1(12 * mu):+.0f} %/yr median, "
            f"{model.first_month}…{model.last_month}); a plan over years should give btc_growth_per_year"
        )
    else:
        mu = float(np.log1p(settings.btc_growth_per_year) / 12.0)
    sigma_p = (
        model.btc_volatility_log_per_month
        if settings.btc_volatility_per_year is None
        else settings.btc_volatility_per_year / np.sqrt(12.0)
    )
    b = model.hashrate_response_to_btc
    if settings.hashrate_growth_per_year is None:
        intercept = model.hashrate_intercept_log_per_month
    else:
        intercept = float(np.log1p(settings.hashrate_growth_per_year) / 12.0 - b * mu)
    return _Params(
        mu=mu,
        sigma_p=float(sigma_p),
        intercept_h=intercept,
        lag=model.hashrate_lag_months,
        response=b,
        sigma_h=model.hashrate_volatility_log_per_month,
        rho=model.shock_correlation,
        fees=model.fees,
        btc0=levels[0],
        hashrate0=levels[1],
        fees0=fees0,
        notes=tuple(notes),
    )


def driver_notes(model: DriverModel, settings: DriverSettings | None, start_month: str) -> tuple[str, ...]:
    """Assumptions and fallbacks behind the paths from ``start_month``, to be printed with a plan."""
    return _params(model, settings or DriverSettings(), start_month).notes


def _bitcoin_paths(
    p: _Params, settings: DriverSettings, eps: Array, months: int
) -> tuple[Array, Array, Array]:
    """(P, M) BTC price, hashrate and fees from shocks ``eps`` (k, P, M − 1) of price, hashrate[, fees]."""
    num_paths = eps.shape[1]
    r = p.mu + eps[0]
    r_lagged = np.concatenate([np.full((num_paths, p.lag), p.mu), r], axis=1)[:, : months - 1]
    g = p.intercept_h + p.response * r_lagged + eps[1]
    # log of the level relative to month 0 (0 there, so month 0 is the starting level exactly)
    log_p = np.zeros((num_paths, months))
    log_h = np.zeros((num_paths, months))
    np.cumsum(r, axis=1, out=log_p[:, 1:])
    np.cumsum(g, axis=1, out=log_h[:, 1:])
    btc, hashrate = p.btc0 * np.exp(log_p), p.hashrate0 * np.exp(log_h)
    if p.fees is None:
        fees = p.fees0 * np.ones((num_paths, months))
        if settings.fees_btc_price_elasticity:
            fees *= np.exp(settings.fees_btc_price_elasticity * log_p)
        if settings.fees_hashrate_elasticity:
            fees *= np.exp(settings.fees_hashrate_elasticity * log_h)
    else:
        phi, start = p.fees.persistence, np.log(p.fees0) - p.fees.mean_log
        x = np.empty((num_paths, months))
        x[:, 0] = start
        decay = phi ** np.arange(1, months)
        x[:, 1:] = start * decay + lfilter([1.0], [1.0, -phi], eps[2], axis=1)
        fees = np.exp(p.fees.mean_log + x)
    return btc, hashrate, fees


def _covariance_factor(p: _Params) -> Array:
    """Lower Cholesky factor of the monthly shocks' covariance (price, hashrate[, fees])."""
    sd = [p.sigma_p, p.sigma_h]
    corr = [[1.0, p.rho], [p.rho, 1.0]]
    if p.fees is not None:
        sd.append(p.fees.volatility_log_per_month)
        rp, rh = p.fees.correlation_with_price, p.fees.correlation_with_hashrate
        corr = [[1.0, p.rho, rp], [p.rho, 1.0, rh], [rp, rh, 1.0]]
    s = np.asarray(sd)
    cov = np.asarray(corr) * np.outer(s, s)
    try:
        return np.asarray(np.linalg.cholesky(cov + 1e-15 * np.eye(len(sd))), dtype=np.float64)
    except np.linalg.LinAlgError:  # pairwise correlations from different samples may clash
        return np.asarray(np.diag(s), dtype=np.float64)


def _gpu_median(settings: DriverSettings, months: int) -> Array:
    floor = settings.gpu_floor_usd_per_gpu_hour
    excess = settings.gpu_start_usd_per_gpu_hour - floor
    return np.asarray(
        floor + excess * 0.5 ** (np.arange(months) / settings.gpu_half_life_months), dtype=np.float64
    )


def _calendar_year(start_month: str, months: int) -> IntArray:
    """(M,) calendar year of each month counted from the plan's first (0, 1, …)."""
    first = int(start_month[5:7]) - 1
    return np.asarray((first + np.arange(months)) // 12, dtype=np.int64)


def simulate(
    model: DriverModel,
    start_month: str,
    months: int,
    num_paths: int,
    seed: int,
    settings: DriverSettings | None = None,
) -> DriverPaths:
    """Monte Carlo paths of every driver, ``num_paths`` × ``months`` from ``start_month`` (YYYY-MM)."""
    _check_args(start_month, months, num_paths)
    _check_seed(seed)
    months, num_paths, seed = int(months), int(num_paths), int(seed)
    settings = settings or DriverSettings()
    p = _params(model, settings, start_month)
    rng = np.random.default_rng(seed)
    factor = _covariance_factor(p)
    z = rng.standard_normal((factor.shape[0], num_paths, months - 1))
    eta = rng.standard_normal((num_paths, months - 1))
    years = int(_calendar_year(start_month, months)[-1]) + 1
    draws = rng.integers(0, len(settings.market_years), size=(num_paths, years))
    return _from_draws(p, settings, start_month, factor, z, eta, draws, seed)


def simulate_paths(
    model: DriverModel,
    start_month: str,
    months: int,
    seed: int,
    first_path: int,
    num_paths: int,
    settings: DriverSettings | None = None,
) -> DriverPaths:
    """Monte Carlo paths ``first_path … first_path + num_paths − 1`` of a run seeded ``seed``, the
    same whichever batch they are drawn in: the run's paths are cut into fixed blocks of
    :data:`BLOCK_PATHS`, block b drawn from its own stream ``numpy.random.SeedSequence(seed).spawn(…)[b]``
    (entropy ``seed``, spawn key ``(b,)``) in :func:`simulate`'s order (Bitcoin shocks, GPU shocks,
    market years), and the paths asked for taken from their blocks. A run split into chunks of any
    size, run here or on any number of workers, thus gives identical paths. (Not the paths of
    :func:`simulate` with the same seed, which draws all paths from one stream.)"""
    _check_args(start_month, months, num_paths)
    _check_seed(seed)
    if not _whole(first_path) or not 0 <= first_path <= MAX_PATHS - num_paths:
        raise ConfigError(
            f"first_path = {first_path!r}: need a whole number ≥ 0, the last path at most {MAX_PATHS:,}"
        )
    months, num_paths, seed, first_path = int(months), int(num_paths), int(seed), int(first_path)
    settings = settings or DriverSettings()
    p = _params(model, settings, start_month)
    factor = _covariance_factor(p)
    k, b = factor.shape[0], BLOCK_PATHS
    years = int(_calendar_year(start_month, months)[-1]) + 1
    z = np.empty((k, num_paths, months - 1))
    eta = np.empty((num_paths, months - 1))
    draws = np.empty((num_paths, years), dtype=np.int64)
    last = first_path + num_paths
    for block in range(first_path // b, (last - 1) // b + 1):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))
        block_z = rng.standard_normal((k, b, months - 1))
        block_eta = rng.standard_normal((b, months - 1))
        block_draws = rng.integers(0, len(settings.market_years), size=(b, years))
        lo, hi = max(first_path, block * b), min(last, (block + 1) * b)
        into, outof = slice(lo - first_path, hi - first_path), slice(lo - block * b, hi - block * b)
        z[:, into], eta[into], draws[into] = block_z[:, outof], block_eta[outof], block_draws[outof]
    return _from_draws(p, settings, start_month, factor, z, eta, draws, seed)


def _check_seed(seed: object) -> None:
    if not _whole(seed) or int(seed) < 0:  # type: ignore[call-overload]
        raise ConfigError(f"seed = {seed!r}: need a whole number ≥ 0")


def _from_draws(
    p: _Params,
    settings: DriverSettings,
    start_month: str,
    factor: Array,
    z: Array,
    eta: Array,
    draws: IntArray,
    seed: int,
) -> DriverPaths:
    """The paths from standard-normal draws ``z`` (k, P, M − 1) of the Bitcoin shocks, ``eta``
    (P, M − 1) of the GPU shocks and market-year indices ``draws`` (P, calendar years)."""
    months = z.shape[2] + 1
    eps = np.tensordot(factor, z, axes=1)
    btc, hashrate, fees = _bitcoin_paths(p, settings, eps, months)
    deviation = np.zeros((z.shape[1], months))
    deviation[:, 1:] = lfilter(
        [1.0], [1.0, -settings.gpu_shock_persistence], eta * settings.gpu_volatility_per_month, axis=1
    )
    gpu = _gpu_median(settings, months)[None, :] * np.exp(deviation)
    year = _calendar_year(start_month, months)
    return DriverPaths(
        start_month=start_month,
        btc_usd=btc,
        hashrate_ths=hashrate,
        fees_btc_per_block=fees,
        subsidy_btc_per_block=subsidy_btc_per_block_monthly(start_month, months),
        gpu_usd_per_gpu_hour=gpu,
        market_year=np.asarray(draws[:, year], dtype=np.int64),
        market_years=tuple(settings.market_years),
        seed=seed,
    )


def deterministic(
    model: DriverModel,
    start_month: str,
    months: int,
    settings: DriverSettings | None = None,
    scenarios: Sequence[str] = ("base",),
) -> DriverPaths:
    """One path per named scenario (rows in the order given): ``base`` (the median path, every
    shock 0), ``low`` / ``high`` (BTC price at its 10th / 90th percentile every month)."""
    _check_args(start_month, months)
    months = int(months)
    unknown = [name for name in scenarios if name not in SCENARIO_Z]
    if unknown or not scenarios:
        raise ConfigError(
            f"scenarios = {list(scenarios)!r}: each must be one of {', '.join(SCENARIO_Z)} (at least one)"
        )
    settings = settings or DriverSettings()
    p = _params(model, settings, start_month)
    t = np.arange(1, months, dtype=np.float64)
    z = np.asarray([SCENARIO_Z[name] for name in scenarios])[:, None]
    eps_p = z * p.sigma_p * (np.sqrt(t) - np.sqrt(t - 1.0))[None, :]
    shocks = [eps_p, p.rho * p.sigma_h / p.sigma_p * eps_p if p.sigma_p else 0.0 * eps_p]
    if p.fees is not None:
        f = p.fees
        shocks.append(
            f.correlation_with_price * f.volatility_log_per_month / p.sigma_p * eps_p
            if p.sigma_p
            else 0.0 * eps_p
        )
    btc, hashrate, fees = _bitcoin_paths(p, settings, np.stack(shocks), months)
    year = _calendar_year(start_month, months)
    if settings.deterministic_market_year is not None:
        index = settings.market_years.index(settings.deterministic_market_year) + 0 * year
    else:
        index = year % len(settings.market_years)
    return DriverPaths(
        start_month=start_month,
        btc_usd=btc,
        hashrate_ths=hashrate,
        fees_btc_per_block=fees,
        subsidy_btc_per_block=subsidy_btc_per_block_monthly(start_month, months),
        gpu_usd_per_gpu_hour=np.repeat(_gpu_median(settings, months)[None, :], len(scenarios), axis=0),
        market_year=np.repeat(np.asarray(index, dtype=np.int64)[None, :], len(scenarios), axis=0),
        market_years=tuple(settings.market_years),
        seed=None,
    )

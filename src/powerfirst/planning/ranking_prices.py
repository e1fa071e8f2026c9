"""The price figures of a candidate site in one market year: hours of negative and of
below-breakeven prices, the mean and the volatility of the real-time price.

The months evaluated are market-local calendar months; only priced intervals count (a hole in the
data is neither negative nor below breakeven). An interval of Δt hours counts Δt hours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from powerfirst.backtest.runner import market_timezone
from powerfirst.bitcoin.economics import breakeven_usd_per_mwh
from powerfirst.errors import DataError
from powerfirst.market.sources import parse_source
from powerfirst.site.schema import Site

__all__ = ["PriceFigures", "local_month_start", "site_breakeven_usd_per_mwh", "year_price_figures"]


@dataclass(frozen=True)
class PriceFigures:
    """One market year's prices at a site (the months evaluated)."""

    price_source: str
    timezone: str
    market: str | None
    priced_hours: float
    negative_price_hours: float
    below_breakeven_hours: float
    mean_price_usd_per_mwh: float
    volatility_usd_per_mwh: float
    """Sample standard deviation (n − 1) of the hourly mean prices [USD/MWh]."""
    month_hours: dict[int, float]
    """Hours of each calendar month evaluated (1 = January), market-local (DST days counted as they are)."""


def site_breakeven_usd_per_mwh(site: Site, hashprice_usd_per_ph_day: float) -> float:
    """The site's mining breakeven [USD/MWh at the meter]: each fleet's breakeven (its efficiency,
    PUE and pool fee) weighted by its full power at the meter."""
    weights = np.array([f.max_power_mw for f in site.fleets])
    each = np.array(
        [
            breakeven_usd_per_mwh(
                hashprice_usd_per_ph_day,
                f.efficiency_j_per_th,
                pue=f.effective_pue,
                pool_fee_fraction=f.pool_fee_fraction,
            )
            for f in site.fleets
        ]
    )
    return float(np.sum(weights * each) / np.sum(weights))


def local_month_start(year: int, month: int, timezone: str) -> pd.Timestamp:
    """First instant of a market-local calendar month (``month`` 13 = January of the next year), UTC."""
    return pd.Timestamp(
        year=year + (month - 1) // 12, month=(month - 1) % 12 + 1, day=1, tz=timezone
    ).tz_convert("UTC")


def year_price_figures(
    site: Site,
    year: int,
    months: tuple[int, int],
    breakeven_usd_per_mwh: float,
    *,
    prices: str | None = None,
    market: str | None = None,
) -> PriceFigures:
    """The price figures of ``year``'s calendar months ``first..last`` (market-local) at ``site``
    (``prices``: a SOURCE replacing the site's series). An interval is below breakeven when its
    price plus the contract's adders is below ``breakeven_usd_per_mwh``. DataError without prices."""
    spec = prices or site.contract.price_series
    zone, _, iso, _ = market_timezone(site, spec, market)
    lo, hi = local_month_start(year, months[0], zone), local_month_start(year, months[1] + 1, zone)
    try:
        series = parse_source(spec, timezone=zone, market=iso).load(lo, hi)
    except DataError as exc:
        raise DataError(f"market year {year} ({zone}): {spec} has no prices then: {exc}") from None
    values = series.prices.dropna()
    if values.empty:
        raise DataError(f"market year {year} ({zone}): {spec} has no price from {lo} to {hi}")
    step_h = series.interval_hours
    price = values.to_numpy(dtype=np.float64)
    adders = site.contract.total_adder_usd_per_mwh
    hourly = values.groupby(pd.DatetimeIndex(values.index).floor("h")).mean()
    return PriceFigures(
        price_source=series.name,
        timezone=zone,
        market=iso.key if iso is not None else None,
        priced_hours=float(price.size * step_h),
        negative_price_hours=float(np.count_nonzero(price < 0.0) * step_h),
        below_breakeven_hours=float(np.count_nonzero(price + adders < breakeven_usd_per_mwh) * step_h),
        mean_price_usd_per_mwh=float(price.mean()),
        volatility_usd_per_mwh=float(hourly.std(ddof=1)) if len(hourly) > 1 else float("nan"),
        month_hours={
            m: (local_month_start(year, m + 1, zone) - local_month_start(year, m, zone))
            / pd.Timedelta(hours=1)
            for m in range(months[0], months[1] + 1)
        },
    )

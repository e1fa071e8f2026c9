"""Small sites and arrays for tests: build DispatchInputs straight from numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from powerfirst.accounting import Ledger, account
from powerfirst.backtest.engine import run_policy
from powerfirst.dispatch.inputs import DispatchInputs, site_params
from powerfirst.policies import make_policy
from powerfirst.site import Site, parse_site

Array = npt.NDArray[np.float64]


def fleet(name: str = "a", **overrides: Any) -> dict[str, Any]:
    """A fleet of 1,000 units of 3,000 W and 100 TH/s (30 J/TH), PUE 1, no pool fee: 3 MW."""
    base: dict[str, Any] = {
        "name": name,
        "units": 1000,
        "hashrate_ths": 100.0,
        "power_w": 3000.0,
        "pue": 1.0,
        "pool_fee_fraction": 0.0,
    }
    base.update(overrides)
    return base


def make_site(
    fleets: list[dict[str, Any]] | None = None,
    *,
    grid_mw: float = 100.0,
    contract: dict[str, Any] | None = None,
    **extra: Any,
) -> Site:
    data: dict[str, Any] = {
        "name": "test site",
        "grid": {"connection_limit_mw": grid_mw},
        "contract": contract or {"kind": "index", "price_series": "ercot-rt:HB_WEST"},
        "fleets": fleets or [fleet()],
    }
    data.update(extra)
    return parse_site(data)


def make_inputs(
    site: Site,
    prices_usd_per_mwh: list[float] | Array,
    hashprice_usd_per_th_day: float | list[float] | Array = 0.1,
    *,
    interval_minutes: float = 60.0,
) -> DispatchInputs:
    prices = np.asarray(prices_usd_per_mwh, dtype=np.float64)
    hashprice = np.broadcast_to(np.asarray(hashprice_usd_per_th_day, dtype=np.float64), prices.shape).copy()
    times = pd.date_range(
        "2023-01-01", periods=prices.size, freq=pd.Timedelta(minutes=interval_minutes), tz="UTC"
    )
    return DispatchInputs(
        site=site_params(site, interval_minutes / 60.0),
        times_utc=times,
        price_usd_per_mwh=prices,
        hashprice_usd_per_th_day=hashprice,
    )


def run(site: Site, inputs: DispatchInputs, strategy: str) -> tuple[Array, Ledger]:
    """Run a strategy with the realised hashprice as the known one; return power (F, T) and the ledger."""
    result = run_policy(make_policy(strategy, site), inputs, inputs.hashprice_usd_per_th_day)
    return result.power_mw, account(inputs, result.power_mw, result.initial_power_mw)

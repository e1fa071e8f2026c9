"""Small named fixtures: sites from dicts, dispatch inputs from small arrays, strategy runs.

Every fixture here is a session-scoped *factory* (a plain function without state), so hypothesis
tests can use them too. The reference fleet of :func:`fleet_spec` is 1,000 units of 100 TH/s and
3,000 W (30 J/TH), PUE 1, no pool fee: 3 MW at the meter. At a hashprice of 0.1 USD/TH/day it earns
100,000 TH/s × 0.1 / 24 h = 416.67 USD/h at full power, i.e. 138.89 USD/MWh (its breakeven).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from powerfirst.accounting.ledger import Ledger, account
from powerfirst.backtest.engine import PolicyRun, run_policy
from powerfirst.backtest.realised import build_inputs
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.market.series import PriceSeries
from powerfirst.policies import make_policy
from powerfirst.policies.registry import parse_site
from powerfirst.site.compile import site_params
from powerfirst.site.schema import Site

Array = npt.NDArray[np.float64]

REFERENCE_RATE_USD_PER_MWH = 10_000 / 24 / 3
"""Mining revenue per MWh of the reference fleet at 0.1 USD/TH/day (= its breakeven price)."""

START_UTC = pd.Timestamp("2023-01-01", tz="UTC")


def _fleet(name: str = "a", **overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name,
        "units": 1000,
        "hashrate_ths": 100.0,
        "power_w": 3000.0,
        "pue": 1.0,
        "pool_fee_fraction": 0.0,
    }
    spec.update(overrides)
    return spec


def _site(
    fleets: Sequence[dict[str, Any]] | None = None,
    *,
    grid_mw: float = 100.0,
    contract: dict[str, Any] | None = None,
    **extra: Any,
) -> Site:
    data: dict[str, Any] = {
        "name": "test site",
        "grid": {"connection_limit_mw": grid_mw},
        "contract": contract or {"kind": "index", "price_series": "prices.csv:P"},
        "fleets": list(fleets) if fleets else [_fleet()],
    }
    data.update(extra)
    return parse_site(data)


def _inputs(
    site: Site,
    prices_usd_per_mwh: Sequence[float] | Array,
    hashprice_usd_per_th_day: float | Sequence[float] | Array = 0.1,
    *,
    interval_minutes: float = 60.0,
) -> DispatchInputs:
    prices = np.asarray(prices_usd_per_mwh, dtype=np.float64)
    hashprice = np.broadcast_to(np.asarray(hashprice_usd_per_th_day, dtype=np.float64), prices.shape).copy()
    times = pd.date_range(START_UTC, periods=prices.size, freq=pd.Timedelta(minutes=interval_minutes))
    return DispatchInputs(
        site=site_params(site, interval_minutes / 60.0),
        times_utc=times,
        price_usd_per_mwh=prices,
        hashprice_usd_per_th_day=hashprice,
    )


def _series_inputs(
    site: Site,
    prices_usd_per_mwh: Sequence[float] | Array,
    daily_hashprice_usd_per_th_day: Sequence[float],
    *,
    interval_minutes: float = 60.0,
    start_utc: pd.Timestamp = START_UTC,
) -> DispatchInputs:
    """Through the production path: a PriceSeries (NaN = a gap) and a daily hashprice series."""
    interval = pd.Timedelta(minutes=interval_minutes)
    prices = pd.Series(
        np.asarray(prices_usd_per_mwh, dtype=np.float64),
        index=pd.date_range(start_utc, periods=len(prices_usd_per_mwh), freq=interval),
    )
    series = PriceSeries("test prices", prices, interval, "UTC")
    days = pd.date_range(start_utc.floor("D"), periods=len(daily_hashprice_usd_per_th_day), freq="D")
    daily = pd.Series(np.asarray(daily_hashprice_usd_per_th_day, dtype=np.float64), index=days)
    return build_inputs(site, series, daily)


def _run(
    site: Site, inputs: DispatchInputs, strategy: str, known_hashprice: Array | None = None
) -> tuple[PolicyRun, Ledger]:
    """Run a strategy (the realised hashprice is the known one unless given) and book it."""
    known = inputs.hashprice_usd_per_th_day if known_hashprice is None else known_hashprice
    result = run_policy(make_policy(strategy, site), inputs, known)
    return result, account(inputs, result.power_mw, result.initial_power_mw)


@pytest.fixture(scope="session")
def fleet_spec() -> Callable[..., dict[str, Any]]:
    """``fleet_spec(name="a", **overrides)``: a fleet mapping (the reference 3 MW, 30 J/TH fleet)."""
    return _fleet


@pytest.fixture(scope="session")
def site_factory() -> Callable[..., Site]:
    """``site_factory(fleets=None, *, grid_mw=100, contract=None, **extra)``: a validated Site
    (index contract by default)."""
    return _site


@pytest.fixture(scope="session")
def inputs_factory() -> Callable[..., DispatchInputs]:
    """``inputs_factory(site, prices, hashprice=0.1, *, interval_minutes=60)``: DispatchInputs from arrays."""
    return _inputs


@pytest.fixture(scope="session")
def series_inputs_factory() -> Callable[..., DispatchInputs]:
    """``series_inputs_factory(site, prices, daily_hashprice, *, interval_minutes=60, start_utc=...)``:
    DispatchInputs through ``build_inputs`` from a PriceSeries and a daily hashprice series."""
    return _series_inputs


@pytest.fixture(scope="session")
def run_and_account() -> Callable[..., tuple[PolicyRun, Ledger]]:
    """``run_and_account(site, inputs, name, known_hashprice=None)``: the engine's run and its ledger."""
    return _run


@pytest.fixture(scope="session")
def fixed_block() -> Callable[..., dict[str, Any]]:
    """``fixed_block(block_mw=2, block_price=30, **adders)``: a fixed-block contract mapping."""

    def make(block_mw: float = 2.0, block_price: float = 30.0, **adders: float) -> dict[str, Any]:
        return {
            "kind": "fixed_block",
            "price_series": "prices.csv:P",
            "block_mw": block_mw,
            "block_price_usd_per_mwh": block_price,
            "adders_usd_per_mwh": adders,
        }

    return make


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[Any]:
    """A real one-node Slurm 22.05 cluster (munged, slurmctld, slurmd) on 127.0.0.1 in a temp dir,
    8 fake GPUs, partitions ``preemptible`` and ``protected`` (tests/slurm_cluster.py). Skips when
    Slurm or munge is not installed (``scripts/install-slurm.sh`` installs them) or not root."""
    import os
    import shutil

    from slurm_cluster import INSTALL_HINT, missing_programs, start_cluster

    if os.environ.get("POWERFIRST_SKIP_SLURM"):
        pytest.skip("POWERFIRST_SKIP_SLURM is set")
    missing = missing_programs()
    if missing:
        pytest.skip(f"Slurm/munge not installed ({', '.join(missing)} missing): {INSTALL_HINT}")
    if os.geteuid() != 0:
        pytest.skip("the Slurm test cluster runs slurmd, which needs root")
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()
        if not os.environ.get("POWERFIRST_KEEP_SLURM"):
            shutil.rmtree(cluster.root, ignore_errors=True)

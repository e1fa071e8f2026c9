"""Small hand-made planning inputs: a site of a given mining MW, scenarios, driver paths, margin tables.

The site of :func:`site_of` has one fleet of 1 kW miners (50 TH/s each, PUE 1): ``mining_mw`` × 1,000
units make exactly ``mining_mw`` MW at the meter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from powerfirst.planning.inputs import DriverPaths, MarginTable
from powerfirst.planning.scenario import Scenario, ScenarioFile, check_against_site
from powerfirst.policies.registry import parse_site
from powerfirst.site.schema import Site


def site_of(mining_mw: float) -> Site:
    """A site mining exactly ``mining_mw`` MW at the meter (whole kW)."""
    return parse_site(
        {
            "name": f"test site {mining_mw:g} MW",
            "grid": {"connection_limit_mw": max(mining_mw * 1.2, 1.0)},
            "contract": {"kind": "index", "price_series": "ercot-rt:HB_WEST"},
            "fleets": [
                {"name": "f", "units": round(mining_mw * 1000), "hashrate_ths": 50.0, "power_w": 1000.0}
            ],
        }
    )


def lease(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "kind": "colocation_lease",
        "rate_usd_per_mw_year": 1.6e6,
        "it_mw_per_utility_mw": 1.0,
        "term_years": 10,
        "escalator_pct_per_year": 2.0,
    }
    spec.update(overrides)
    return spec


def phase(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "hall",
        "convert_mw": 1.0,
        "start_month": "2027-01",
        "build_months": 0,
        "capex_usd_per_mw": 10e6,
        "business": lease(),
    }
    spec.update(overrides)
    return spec


def scenario_dict(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "site": "site.yaml",
        "start_month": "2027-01",
        "horizon_months": 120,
        "discount_rate_pct_per_year": 10.0,
        "tax_rate_pct": 0.0,
        "mining": {"opex_usd_per_mw_month": 0.0},
        "phases": [phase()],
    }
    spec.update(overrides)
    return spec


def scenario(mining_mw: float = 10.0, **overrides: Any) -> Scenario:
    """A validated scenario on :func:`site_of` (checked against the site as a file would be)."""
    spec = ScenarioFile.model_validate(scenario_dict(**overrides))
    site = site_of(mining_mw)
    check_against_site(spec, site, source="<test>")
    return Scenario(file=spec, site=site, site_path=Path("site.yaml"))


def driver_paths(
    num_paths: int,
    num_months: int,
    *,
    start_month: str = "2027-01",
    btc_usd: float | np.ndarray = 100_000.0,
    hashrate_ths: float = 8e8,
    gpu_usd_per_gpu_hour: float | np.ndarray = 2.0,
    market_year: np.ndarray | None = None,
    market_years: tuple[int, ...] = (2023,),
) -> DriverPaths:
    """Driver paths: every value broadcast to (P, M); no fees, a 3.125 BTC subsidy."""
    shape = (num_paths, num_months)
    return DriverPaths(
        start_month=start_month,
        btc_usd=np.broadcast_to(np.asarray(btc_usd, dtype=np.float64), shape).copy(),
        hashrate_ths=np.full(shape, hashrate_ths),
        fees_btc_per_block=np.zeros(shape),
        subsidy_btc_per_block=np.full(num_months, 3.125),
        gpu_usd_per_gpu_hour=np.broadcast_to(
            np.asarray(gpu_usd_per_gpu_hour, dtype=np.float64), shape
        ).copy(),
        market_year=(
            np.zeros(shape, dtype=np.int64) if market_year is None else market_year.astype(np.int64)
        ),
        market_years=market_years,
    )


def margin_table(
    *,
    market_years: tuple[int, ...] = (2023,),
    grid: tuple[float, ...] = (0.0, 1.0),
    margins: np.ndarray | None = None,
    ai_cost_usd_per_mw_month: float | np.ndarray = 0.0,
) -> MarginTable:
    """A margin table; by default a zero mining margin everywhere."""
    years, h = len(market_years), len(grid)
    return MarginTable(
        site_name="test",
        market_years=market_years,
        hashprice_grid_usd_per_th_day=np.asarray(grid, dtype=np.float64),
        mining_margin_usd_per_mw_month=(np.zeros((years, h, 12)) if margins is None else margins),
        ai_power_cost_usd_per_mw_month=np.broadcast_to(
            np.asarray(ai_cost_usd_per_mw_month, dtype=np.float64), (years, 12)
        ).copy(),
        strategy="breakeven",
    )


def gpu_cloud(**overrides: Any) -> dict[str, Any]:
    """An own GPU cloud phase's business: 1,000 GPUs at 30,000 USD, 1,000 W each at PUE 1.25
    (1.25 MW at the meter), refreshed every year at 25 % resale, 50 % utilised."""
    spec: dict[str, Any] = {
        "kind": "gpu_cloud",
        "gpus": 1000,
        "usd_per_gpu": 30_000.0,
        "watts_per_gpu": 1000.0,
        "pue": 1.25,
        "refresh_years": 1,
        "resale_pct_of_cost": 25.0,
        "utilisation_pct": 50.0,
    }
    spec.update(overrides)
    return spec

"""A plan's report data built by hand, for the report's tests: 200 Monte Carlo NPVs, a waterfall
that adds up to −12.3 M USD, six tornado rows in no particular order, a fan of 24 months and two
break-evens (the GPU price's out of range)."""

from __future__ import annotations

from typing import Any

import numpy as np

from powerfirst.planning.report_data import Breakeven, FanChart, PlanReportData, TornadoRow, WaterfallStep
from powerfirst.planning.results import Distribution, PlanSummary

DETERMINISTIC_NPV_USD = -12.3e6
SAMPLES_USD = np.random.default_rng(13).normal(-5e6, 10e6, 200)
WATERFALL_USD = {
    "AI revenue (lease and GPU cloud)": 96.4e6,
    "mining revenue given up": -41.2e6,
    "conversion capex": -58.0e6,
    "opex": -9.7e6,
    "power cost saved": 7.1e6,
    "debt (drawn − repaid − interest)": -2.5e6,
    "tax": -4.4e6,
}
# (driver, low NPV, high NPV) in USD: swings 4, 30, 12, 2, 20, 8 M USD
TORNADO_USD = [
    ("network hashrate", -14.0e6, -10.0e6),
    ("BTC price", 2.7e6, -27.3e6),
    ("GPU rental price", -18.3e6, -6.3e6),
    ("discount rate", -11.3e6, -13.3e6),
    ("capex per MW", 3.7e6, -16.3e6),
    ("power price", -8.3e6, -16.3e6),
]
SWING_ORDER = [
    "BTC price",
    "capex per MW",
    "GPU rental price",
    "power price",
    "network hashrate",
    "discount rate",
]
MONTHS = [f"{2027 + m // 12}-{m % 12 + 1:02d}" for m in range(24)]
NOTES = [
    "No terminal value: assets held at the horizon and rent beyond it count for nothing.",
    "BTC price, hashrate and fees drawn jointly from their fit on 2016–2025 history.",
]


def distribution(p10: float, p50: float, p90: float, mean: float, paths: int) -> Distribution:
    return Distribution(p10=p10, p50=p50, p90=p90, mean=mean, paths=paths)


def summary(**changes: Any) -> PlanSummary:
    npv = Distribution.of(SAMPLES_USD)
    assert npv is not None
    fields: dict[str, Any] = {
        "scenario": "west-texas-conversion",
        "site": "West Texas 100 MW",
        "start_month": "2027-01",
        "horizon_months": 24,
        "num_paths": 200,
        "seed": 7,
        "discount_rate_pct_per_year": 10.0,
        "mining_mw": 100.0,
        "converted_mw": 20.0,
        "npv_plan_usd": distribution(180e6, 210e6, 250e6, 212e6, 200),
        "npv_baseline_usd": distribution(190e6, 215e6, 240e6, 216e6, 200),
        "npv_difference_usd": npv,
        "probability_plan_beats_baseline": 0.42,
        "irr_difference_pct_per_year": distribution(-3.5, 6.25, 14.0, 6.0, 180),
        "irr_multiple_roots_paths": 0,
        "payback_month_difference": None,
        "min_dscr": distribution(0.91, 1.35, 1.8, 1.33, 200),
        "terminal_value_method": "salvage",
        "terminal_value_plan_usd": distribution(20e6, 25e6, 30e6, 25e6, 200),
        "terminal_value_baseline_usd": distribution(0.0, 0.0, 0.0, 0.0, 200),
        "strategy": "breakeven",
        "notes": [NOTES[0], "The debt still owed at the horizon is repaid in its last month."],
    }
    fields.update(changes)
    return PlanSummary(**fields)


def report_data(**changes: Any) -> PlanReportData:
    """The report's data; ``changes`` replace fields (``summary`` included)."""
    rng = np.random.default_rng(3)
    steps = np.cumsum(rng.normal(-0.5e6, 2e6, (3, 24)), axis=1)
    p10, p50, p90 = np.sort(steps, axis=0)
    fields: dict[str, Any] = {
        "title": "Convert 20 MW of West Texas to AI",
        "summary": summary(),
        "deterministic_npv_difference_usd": DETERMINISTIC_NPV_USD,
        "npv_difference_samples_usd": SAMPLES_USD.tolist(),
        "waterfall": [WaterfallStep(label=k, npv_usd=v) for k, v in WATERFALL_USD.items()],
        "tornado": [
            TornadoRow(
                driver=d,
                low_label=f"{d} low",
                high_label=f"{d} high",
                npv_difference_low_usd=low,
                npv_difference_high_usd=high,
            )
            for d, low, high in TORNADO_USD
        ],
        "breakevens": [
            Breakeven(
                name="hashprice",
                value=38.47,
                unit="USD/PH/day",
                base_value=52.1,
                note="first-year mean hashprice at which the plan equals mining",
            ),
            Breakeven(
                name="GPU price",
                value=None,
                unit="USD/GPU-h",
                base_value=2.1,
                note="no GPU price in 0.5 to 10 USD/GPU-h makes the NPV zero",
            ),
        ],
        "fan": FanChart(months=MONTHS, p10_usd=p10.tolist(), p50_usd=p50.tolist(), p90_usd=p90.tolist()),
        "executor": "Dask LocalCluster on 127.0.0.1 (2 workers)",
        "notes": NOTES,
    }
    fields.update(changes)
    return PlanReportData(**fields)

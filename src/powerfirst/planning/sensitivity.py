"""What moves a plan's value, on the deterministic base path: the cash-flow waterfall, the tornado
and the break-even hashprice and GPU price.

Every figure here is the NPV of the difference plan − baseline [USD] (what converting adds to
staying with mining; positive: the conversion pays), at the scenario's discount rate, on the base
path (the drivers' median path, every shock zero) with one thing changed at a time:

* **waterfall**: the NPV of each cash line's difference; the bars add up to the difference's NPV;
* **tornado** (:data:`TORNADO`): BTC price × 0.7 / × 1.3 in every month (the hashprice moves with
  it; fees are in BTC); the network hashrate × (1 ∓ 0.1)^(t/12) (its growth 10 points a year
  lower / higher); GPU rental price × 0.7 / × 1.3; capex × 0.8 / × 1.2 (conversions and GPUs, the
  first and the refreshes); lease rent × 0.85 / × 1.15; discount rate − / + 2 points (not below
  0); the power-price year: every month under each market year in turn (the worst and the best);
* **break-evens**: the factor on the base path's hashprice (every month) and on its GPU price at
  which the NPV is zero, found by ``scipy.optimize.brentq`` between the factors of
  :data:`BREAKEVEN_FACTORS` that bracket a sign change nearest to 1; reported as the base path's
  mean times that factor: the hashprice's over the first year, the GPU price's over the months a
  GPU cloud rents (its first year would be months before any GPU is rented: a price no one is paid).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from scipy.optimize import brentq

from powerfirst._types import BoolArray
from powerfirst.planning.cashflows import CashFlows, plan_cashflows
from powerfirst.planning.deals import ColocationLease, GpuCloud
from powerfirst.planning.finance import npv_usd
from powerfirst.planning.inputs import DriverPaths, MarginTable
from powerfirst.planning.report_data import Breakeven, TornadoRow, WaterfallStep
from powerfirst.planning.scenario import Phase, Scenario

__all__ = [
    "BREAKEVEN_FACTORS",
    "NOT_CASH",
    "TORNADO",
    "breakevens",
    "npv_difference_usd",
    "scaled_paths",
    "tornado",
    "waterfall",
]

NOT_CASH = frozenset({"depreciation_usd", "taxable_income_usd", "ebitda_usd", "net_usd"})
"""Columns of :meth:`CashFlowLines.as_columns` that are not cash lines of the net flow."""
BREAKEVEN_FACTORS = tuple(float(x) for x in np.geomspace(0.02, 50.0, 41))
"""Factors on the base path's driver searched for a break-even, 0.02 to 50 (41 points, log-spaced)."""
TORNADO: tuple[tuple[str, str, float, float, str, str], ...] = (
    ("BTC price", "btc", 0.7, 1.3, "×0.7 in every month", "×1.3 in every month"),
    ("network hashrate growth", "hashrate_growth", -0.1, 0.1, "−10 points/yr", "+10 points/yr"),
    ("GPU rental price", "gpu", 0.7, 1.3, "×0.7 in every month", "×1.3 in every month"),
    ("capex", "capex", 0.8, 1.2, "×0.8 (conversions and GPUs)", "×1.2 (conversions and GPUs)"),
    ("lease rent", "lease", 0.85, 1.15, "×0.85", "×1.15"),
    ("discount rate", "discount", -2.0, 2.0, "−2 points", "+2 points"),
)
"""(driver, what is changed, low setting, high setting, their labels) of each tornado row."""


def npv_difference_usd(scenario: Scenario, paths: DriverPaths, margins: MarginTable) -> float:
    """NPV of plan − baseline on the first path [USD]."""
    return float(plan_cashflows(scenario, paths, margins).metrics.npv_difference_usd[0])


def scaled_paths(paths: DriverPaths, driver: str, factor: float) -> DriverPaths:
    """``paths`` with one driver changed: ``hashprice`` or ``btc`` (the BTC price × factor, hence the
    hashprice), ``gpu`` (GPU price × factor), ``hashrate_growth`` (hashrate × (1 + factor)^(t/12))."""
    if driver in {"hashprice", "btc"}:
        return dataclasses.replace(paths, btc_usd=paths.btc_usd * factor)
    if driver == "gpu":
        return dataclasses.replace(paths, gpu_usd_per_gpu_hour=paths.gpu_usd_per_gpu_hour * factor)
    if driver == "hashrate_growth":
        years = np.arange(paths.num_months) / 12.0
        return dataclasses.replace(paths, hashrate_ths=paths.hashrate_ths * (1.0 + factor) ** years[None, :])
    raise ValueError(f"unknown driver {driver!r}")


def _scaled_phase(phase: Phase, what: str, factor: float) -> Phase:
    business = phase.business
    if what == "capex":
        if isinstance(business, GpuCloud):
            business = business.model_copy(update={"usd_per_gpu": business.usd_per_gpu * factor})
        return phase.model_copy(
            update={"capex_usd_per_mw": phase.capex_usd_per_mw * factor, "business": business}
        )
    if isinstance(business, ColocationLease):
        business = business.model_copy(
            update={"rate_usd_per_mw_year": business.rate_usd_per_mw_year * factor}
        )
    return phase.model_copy(update={"business": business})


def scaled_scenario(scenario: Scenario, what: str, setting: float) -> Scenario:
    """``scenario`` with ``capex`` or ``lease`` rent × ``setting``, or the ``discount`` rate + ``setting`` points."""
    spec = scenario.file
    if what == "discount":
        rate = max(spec.discount_rate_pct_per_year + setting, 0.0)
        return dataclasses.replace(
            scenario, file=spec.model_copy(update={"discount_rate_pct_per_year": rate})
        )
    phases = [_scaled_phase(p, what, setting) for p in spec.phases]
    return dataclasses.replace(scenario, file=spec.model_copy(update={"phases": phases}))


def waterfall(flows: CashFlows, discount_rate_pct_per_year: float) -> list[WaterfallStep]:
    """The NPV of each cash line's difference on the first path of ``flows`` (lines that are zero
    left out); they add up to the NPV of the net difference."""
    plan, baseline = flows.plan.as_columns(), flows.baseline.as_columns()
    steps = []
    for name, values in plan.items():
        if name in NOT_CASH:
            continue
        npv = float(npv_usd(discount_rate_pct_per_year, values[0] - baseline[name][0]))
        if npv != 0.0:
            steps.append(WaterfallStep(label=name.removesuffix("_usd").replace("_", " "), npv_usd=npv))
    return steps


def tornado(
    scenario: Scenario, base: DriverPaths, margins: MarginTable, notes: list[str]
) -> list[TornadoRow]:
    """The tornado rows on the single base path ``base`` (see the module docstring); ``notes``
    gets every market year's NPV and the rows left out."""
    has_lease = any(isinstance(p.business, ColocationLease) for p in scenario.file.phases)
    rows = []
    for driver, what, low, high, low_text, high_text in TORNADO:
        if what == "lease" and not has_lease:
            notes.append("tornado: no lease rent row (no phase is a colocation lease)")
            continue
        values = []
        for setting in (low, high):
            if what in {"btc", "gpu", "hashrate_growth"}:
                values.append(npv_difference_usd(scenario, scaled_paths(base, what, setting), margins))
            else:
                values.append(npv_difference_usd(scaled_scenario(scenario, what, setting), base, margins))
        rows.append(
            TornadoRow(
                driver=driver,
                low_label=f"{driver} {low_text}",
                high_label=f"{driver} {high_text}",
                npv_difference_low_usd=values[0],
                npv_difference_high_usd=values[1],
            )
        )
    by_year = {}
    for i, year in enumerate(base.market_years):
        path = dataclasses.replace(base, market_year=np.full_like(base.market_year, i))
        by_year[year] = npv_difference_usd(scenario, path, margins)
    if len(by_year) > 1:
        worst, best = min(by_year, key=by_year.__getitem__), max(by_year, key=by_year.__getitem__)
        rows.append(
            TornadoRow(
                driver="power-price year",
                low_label=f"every month under market year {worst} (the worst)",
                high_label=f"every month under market year {best} (the best)",
                npv_difference_low_usd=by_year[worst],
                npv_difference_high_usd=by_year[best],
            )
        )
    notes.append(
        "NPV of the difference on the base path with every month under one market year: "
        + "; ".join(f"{y}: {v / 1e6:,.2f} M USD" for y, v in by_year.items())
    )
    return rows


def _label(start_month: str, offset: int) -> str:
    """The calendar month ``offset`` months after ``start_month`` (YYYY-MM)."""
    index = int(start_month[:4]) * 12 + int(start_month[5:7]) - 1 + offset
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _gpu_months(scenario: Scenario, num_months: int) -> BoolArray:
    """(M,) True in the months at least one GPU cloud phase rents its GPUs (from the build's end)."""
    running = np.zeros(num_months, dtype=bool)
    for phase in scenario.file.phases:
        if isinstance(phase.business, GpuCloud):
            running[scenario.file.phase_start(phase) + phase.build_months :] = True
    return running


def _breakeven(
    name: str,
    unit: str,
    base_value: float,
    npv_at: Callable[[float], float],
    span: str,
    basis: str,
) -> Breakeven:
    factors = np.asarray(BREAKEVEN_FACTORS)
    values = np.array([npv_at(float(f)) for f in factors])
    sign = np.sign(values)
    brackets = np.flatnonzero(sign[:-1] * sign[1:] <= 0.0)
    lo, hi = base_value * factors[0], base_value * factors[-1]
    if brackets.size == 0:
        side = "above" if values[0] > 0 else "below"
        return Breakeven(
            name=name,
            value=None,
            unit=unit,
            base_value=base_value,
            note=f"no break-even: the conversion's NPV stays {side} zero for {span} from {lo:,.4g} to "
            f"{hi:,.4g} {unit} (× {factors[0]:g} to × {factors[-1]:g} the base path)",
        )
    k = brackets[np.argmin(np.abs(np.log(factors[brackets]) + np.log(factors[brackets + 1])))]
    if values[k] == 0.0:
        factor = float(factors[k])
    else:
        factor = float(brentq(npv_at, factors[k], factors[k + 1], xtol=1e-12, rtol=1e-12))
    more = (
        f"; {brackets.size} sign changes in the range, the one nearest the base path"
        if brackets.size > 1
        else ""
    )
    return Breakeven(
        name=name,
        value=base_value * factor,
        unit=unit,
        base_value=base_value,
        note=f"the conversion's NPV is zero with {span} × {factor:.4g} the base path in every month{more}; "
        f"value and base: {basis}",
    )


def breakevens(scenario: Scenario, base: DriverPaths, margins: MarginTable) -> list[Breakeven]:
    """Break-even hashprice [USD/PH/day] and GPU price [USD/GPU-hour] (base-path means: see the
    module docstring), on the
    single base path ``base``; None with a note where the NPV does not change sign."""
    year = slice(0, min(12, base.num_months))
    hashprice = float(np.mean(base.hashprice_usd_per_th_day[0, year])) * 1000.0
    gpu = float(np.mean(base.gpu_usd_per_gpu_hour[0, year]))
    gpu_basis = "the base path's first-year mean"
    renting = _gpu_months(scenario, base.num_months)
    if renting.any():
        gpu = float(np.mean(base.gpu_usd_per_gpu_hour[0, renting]))
        months = np.flatnonzero(renting)
        gpu_basis = (
            f"the base path's mean over the months a GPU cloud rents, "
            f"{_label(scenario.file.start_month, int(months[0]))} to "
            f"{_label(scenario.file.start_month, int(months[-1]))}"
        )
    found = [
        _breakeven(
            "hashprice",
            "USD/PH/day",
            hashprice,
            lambda f: npv_difference_usd(scenario, scaled_paths(base, "hashprice", f), margins),
            "the hashprice",
            "the base path's first-year mean",
        )
    ]
    if any(isinstance(p.business, GpuCloud) for p in scenario.file.phases):
        found.append(
            _breakeven(
                "GPU price",
                "USD/GPU-hour",
                gpu,
                lambda f: npv_difference_usd(scenario, scaled_paths(base, "gpu", f), margins),
                "the GPU rental price",
                gpu_basis,
            )
        )
    else:
        found.append(
            Breakeven(
                name="GPU price",
                value=None,
                unit="USD/GPU-hour",
                base_value=gpu,
                note="no GPU cloud phase: the GPU price does not move the plan's value",
            )
        )
    return found

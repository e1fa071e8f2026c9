"""The dispatch optimizer: hand-checkable optima, agreement with the accounting, infeasibility, statuses.

Reference fleet (conftest): 3 MW, 30 J/TH, PUE 1, no fee; at 0.1 USD/TH/day it earns 138.89 USD/MWh.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from powerfirst.accounting.ledger import account
from powerfirst.backtest.engine import run_policy
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.dispatch.model import build_dispatch_model
from powerfirst.dispatch.optimize import optimize_dispatch
from powerfirst.errors import DataError, InfeasibleError, SolverError
from powerfirst.policies import AlwaysOnPolicy
from powerfirst.site.schema import Site
from powerfirst.solver import HighsSolver, LinearProgram, SolveStatus

RATE = 10_000 / 24 / 3  # USD/MWh earned by the reference fleet at 0.1 USD/TH/day

SiteFactory = Callable[..., Site]
InputsFactory = Callable[..., DispatchInputs]
Spec = Callable[..., dict[str, Any]]


# --- hand-checkable optima ----------------------------------------------------------------------


def test_turns_a_fleet_off_in_the_one_expensive_interval(
    site_factory: SiteFactory, inputs_factory: InputsFactory
) -> None:
    inputs = inputs_factory(site_factory(), [30.0, 30.0, 500.0, 30.0])
    plan = optimize_dispatch(inputs)
    assert plan.status is SolveStatus.OPTIMAL
    assert plan.power_mw.tolist() == [pytest.approx([3.0, 3.0, 0.0, 3.0], abs=1e-7)]
    assert plan.net_margin_usd == pytest.approx(3 * 3.0 * (RATE - 30.0))
    assert plan.upper_bound_usd == pytest.approx(plan.net_margin_usd)
    assert plan.mip_gap is None


def test_min_off_time_makes_staying_on_right(
    site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory
) -> None:
    prices = [30.0, 200.0, 30.0, 30.0, 30.0]
    # staying on through the spike loses 3 × (200 − 138.9) = 183 USD; switching off holds the units
    # off for 3 h (min off 180 min), losing 2 × 3 × (138.9 − 30) = 653 USD more
    held = optimize_dispatch(inputs_factory(site_factory([fleet_spec(min_off_time_min=180)]), prices))
    assert held.power_mw[0] == pytest.approx([3.0] * 5, abs=1e-7)
    assert held.net_margin_usd == pytest.approx(3 * (4 * (RATE - 30.0) + RATE - 200.0))
    # without anti-cycling the optimum switches off for the spike
    free = optimize_dispatch(inputs_factory(site_factory(), prices))
    assert free.power_mw[0] == pytest.approx([3.0, 0.0, 3.0, 3.0, 3.0], abs=1e-7)
    assert free.net_margin_usd > held.net_margin_usd


def test_a_unit_switched_off_stays_off_for_min_off_intervals(
    site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory
) -> None:
    # min off 2 h on 1 h intervals: switched off at t=1, held off at t=2 although t=2 is cheap
    prices = [30.0, 500.0, 30.0, 30.0, 30.0]
    plan = optimize_dispatch(inputs_factory(site_factory([fleet_spec(min_off_time_min=120)]), prices))
    assert plan.power_mw[0] == pytest.approx([3.0, 0.0, 0.0, 3.0, 3.0], abs=1e-7)
    assert plan.net_margin_usd == pytest.approx(3 * 3.0 * (RATE - 30.0))
    free = optimize_dispatch(inputs_factory(site_factory(), prices))
    assert free.power_mw[0] == pytest.approx([3.0, 0.0, 3.0, 3.0, 3.0], abs=1e-7)


def test_a_restart_is_worth_it_only_when_the_interval_pays_for_it(
    site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory
) -> None:
    site = site_factory([fleet_spec(restart_time_min=30)])
    off = np.array([0.0])
    # one interval from off: margin (138.9 − p) × 3 against the restart's lost hashing 138.9 × 0.5 × 3
    cheap = optimize_dispatch(inputs_factory(site, [30.0]), initial_power_mw=off)
    assert cheap.power_mw[0] == pytest.approx([3.0], abs=1e-7)
    assert cheap.net_margin_usd == pytest.approx(3 * (RATE - 30.0) - 1.5 * RATE)
    dear = optimize_dispatch(inputs_factory(site, [80.0]), initial_power_mw=off)
    assert dear.power_mw[0] == pytest.approx([0.0], abs=1e-7)
    assert dear.net_margin_usd == pytest.approx(0.0, abs=1e-6)
    # already running (the default initial state): no restart, so it runs
    running = optimize_dispatch(inputs_factory(site, [80.0]))
    assert running.power_mw[0] == pytest.approx([3.0], abs=1e-7)


def test_negative_prices_pay_the_site_to_consume(
    site_factory: SiteFactory, inputs_factory: InputsFactory, fixed_block: Spec
) -> None:
    # no mining revenue at all: running is still right while the real-time price is negative
    site = site_factory(contract=fixed_block(2.0, 30.0))
    plan = optimize_dispatch(inputs_factory(site, [-20.0, 15.0], 0.0))
    assert plan.power_mw[0] == pytest.approx([3.0, 0.0], abs=1e-7)
    # t0: block 60, buy 1 MWh at −20; t1: block 60, sell 2 MWh at 15
    assert plan.net_margin_usd == pytest.approx(-(60.0 - 20.0) - (60.0 - 30.0))


def test_grid_limit_is_respected_and_the_efficient_fleet_goes_first(
    site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory
) -> None:
    site = site_factory([fleet_spec("old"), fleet_spec("new", hashrate_ths=200.0)], grid_mw=4.0)
    plan = optimize_dispatch(inputs_factory(site, [20.0, 20.0, 20.0]))
    assert plan.power_mw.sum(axis=0) == pytest.approx([4.0] * 3, abs=1e-7)
    assert plan.power_mw[1] == pytest.approx([3.0] * 3, abs=1e-7)  # 15 J/TH fleet full
    assert plan.power_mw[0] == pytest.approx([1.0] * 3, abs=1e-7)  # 30 J/TH fleet gets the rest


def test_merit_order_counts_the_pue(
    site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory
) -> None:
    # 'hot': 20 J/TH × PUE 1.6 = 32 J/TH at the meter; 'cool': 30 J/TH × PUE 1.0 → 'cool' goes first
    hot = fleet_spec("hot", hashrate_ths=150.0, pue=1.6)  # 4.8 MW at the meter
    cool = fleet_spec("cool")  # 3 MW
    site = site_factory([hot, cool], grid_mw=5.0)
    inputs = inputs_factory(site, [10.0, 10.0])
    plan = optimize_dispatch(inputs)
    assert plan.power_mw[1] == pytest.approx([3.0, 3.0], abs=1e-7)
    assert plan.power_mw[0] == pytest.approx([2.0, 2.0], abs=1e-7)
    # the always-on rule fills the grid in the same order
    applied = run_policy(AlwaysOnPolicy(), inputs, inputs.hashprice_usd_per_th_day).power_mw
    assert applied == pytest.approx(plan.power_mw, abs=1e-7)


def test_switch_blocks_make_a_milp_with_whole_blocks(
    site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory
) -> None:
    site = site_factory([fleet_spec(units=1200, switch_block_units=400)], grid_mw=2.5)
    inputs = inputs_factory(site, [20.0, 20.0, 20.0])
    assert build_dispatch_model(inputs).lp.is_mip
    plan = optimize_dispatch(inputs)
    # blocks of 1.2 MW; the grid allows 2.5 MW → two blocks, not 2.5 MW
    assert plan.power_mw[0] == pytest.approx([2.4] * 3, abs=1e-7)
    assert plan.mip_gap is not None and plan.mip_gap <= 1e-4
    assert plan.upper_bound_usd >= plan.net_margin_usd - 1e-6


def test_an_unconstrained_fleet_is_one_column_per_interval(
    site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory
) -> None:
    # no anti-cycling, no restart, grid above the load: bounds only
    simple = build_dispatch_model(inputs_factory(site_factory(), [1.0] * 10)).lp
    assert (simple.num_cols, simple.num_rows, simple.is_mip) == (10, 0, False)
    # min off time: power, starts and stops; balance and anti-cycling rows; plus a binding grid
    cycling = build_dispatch_model(
        inputs_factory(site_factory([fleet_spec(min_off_time_min=30)], grid_mw=2.0), [1.0] * 10)
    ).lp
    assert (cycling.num_cols, cycling.num_rows) == (30, 30)


# --- the objective is the accounted net margin ------------------------------------------------


CASES: dict[str, dict[str, Any]] = {
    "index": {"fleets": [{}], "grid_mw": 100.0, "block": None, "initial": None},
    "index, two fleets, grid binds, adders": {
        "fleets": [{"pool_fee_fraction": 0.02}, {"hashrate_ths": 150.0, "pue": 1.1}],
        "grid_mw": 4.0,
        "block": None,
        "adders": {"tdsp": 3.0},
        "initial": None,
    },
    "fixed block, anti-cycling and restart": {
        "fleets": [{"min_off_time_min": 120, "restart_time_min": 10}, {"hashrate_ths": 150.0, "pue": 1.1}],
        "grid_mw": 5.0,
        "block": (4.0, 35.0),
        "adders": {"t": 2.5},
        "initial": None,
    },
    "restart only, starting from off": {
        "fleets": [{"restart_time_min": 15, "pool_fee_fraction": 0.03}],
        "grid_mw": 100.0,
        "block": (1.0, 50.0),
        "initial": [0.0],
    },
    "switch blocks with a minimum off time (MILP)": {
        "fleets": [
            {"units": 1200, "switch_block_units": 300, "min_off_time_min": 45},
            {"min_power_fraction": 0.5},
        ],
        "grid_mw": 5.0,
        "block": None,
        "initial": [1.8, 3.0],
    },
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_objective_equals_the_accounted_net_margin(
    case: str, site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory, fixed_block: Spec
) -> None:
    spec = CASES[case]
    adders = spec.get("adders", {})
    contract = (
        fixed_block(*spec["block"], **adders)
        if spec["block"]
        else {"kind": "index", "price_series": "p.csv:P", "adders_usd_per_mwh": adders}
    )
    site = site_factory(
        [fleet_spec(f"f{i}", **kw) for i, kw in enumerate(spec["fleets"])],
        grid_mw=spec["grid_mw"],
        contract=contract,
    )
    rng = np.random.default_rng(len(case))
    prices = rng.normal(110.0, 90.0, 96)
    hashprice = np.repeat([0.08, 0.11], 48)
    inputs = inputs_factory(site, prices, hashprice, interval_minutes=15)
    initial = None if spec["initial"] is None else np.array(spec["initial"])
    plan = optimize_dispatch(inputs, initial_power_mw=initial)
    ledger = account(inputs, plan.power_mw, initial)
    assert ledger.net_margin_usd == pytest.approx(plan.net_margin_usd, rel=1e-7, abs=1e-5)
    # and the optimum does something: it is not simply all on or all off
    assert 0 < ledger.uptime()["f0"] < 1


# --- infeasible sites and solver outcomes --------------------------------------------------------


def test_must_run_above_the_grid_limit_is_explained(
    site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory
) -> None:
    site = site_factory([fleet_spec("hosted", min_power_fraction=0.8), fleet_spec("own")], grid_mw=2.0)
    inputs = inputs_factory(site, [30.0, 30.0])
    with pytest.raises(InfeasibleError) as caught:
        optimize_dispatch(inputs)
    error = caught.value
    assert isinstance(error, SolverError) and error.status == "infeasible"
    text = "\n".join(error.explanation)
    assert "must-run power 2.4 MW ('hosted' 2.4 MW) exceeds the grid connection limit 2 MW" in text
    assert "conflicting constraint: grid connection limit 2 MW" in text
    assert "fleet 'hosted' power within [2.4, 3] MW" in text
    # the message carries the explanation too
    assert "grid connection limit 2 MW" in str(error)
    # the backtest checks the same thing before any interval is run
    with pytest.raises(InfeasibleError) as early:
        run_policy(AlwaysOnPolicy(), inputs, inputs.hashprice_usd_per_th_day)
    assert early.value.explanation == [error.explanation[0]]


def test_must_run_exactly_at_the_grid_limit_is_feasible(
    site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory
) -> None:
    site = site_factory([fleet_spec("hosted", min_power_fraction=0.5), fleet_spec("own")], grid_mw=1.5)
    plan = optimize_dispatch(inputs_factory(site, [900.0, 900.0]))
    assert plan.power_mw == pytest.approx(np.array([[1.5, 1.5], [0.0, 0.0]]), abs=1e-7)


def test_the_must_run_check_and_the_optimizer_agree_at_the_limit(
    site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory
) -> None:
    # must-run 1.5 MW against a limit 0.5 W lower
    site = site_factory([fleet_spec("hosted", min_power_fraction=0.5), fleet_spec("own")], grid_mw=1.5 - 5e-7)
    inputs = inputs_factory(site, [30.0, 30.0])
    if inputs.site.must_run_conflict() is None:
        # the pre-check let it through: the backtest runs every strategy, so perfect must solve it
        optimize_dispatch(inputs)
    else:
        with pytest.raises(InfeasibleError):
            optimize_dispatch(inputs)


def test_solver_statuses_are_normalised() -> None:
    solver = HighsSolver()
    unbounded = LinearProgram(  # min −x, x ≥ 0
        c=np.array([-1.0]),
        a=sp.csc_array((0, 1)),
        row_lower=np.zeros(0),
        row_upper=np.zeros(0),
        col_lower=np.zeros(1),
        col_upper=np.array([np.inf]),
    )
    result = solver.solve(unbounded)
    assert result.status is SolveStatus.UNBOUNDED
    assert not result.status.has_solution and result.x is None
    infeasible = LinearProgram(  # x ≥ 2 and x ≤ 1
        c=np.array([1.0]),
        a=sp.csc_array(np.array([[1.0]])),
        row_lower=np.array([2.0]),
        row_upper=np.array([np.inf]),
        col_lower=np.zeros(1),
        col_upper=np.ones(1),
    )
    result = solver.solve(infeasible)
    assert result.status is SolveStatus.INFEASIBLE
    assert result.x is None and result.iis_rows == [0]
    feasible = LinearProgram(  # min x + 10, x ≥ 0.5
        c=np.array([1.0]),
        a=sp.csc_array(np.array([[1.0]])),
        row_lower=np.array([0.5]),
        row_upper=np.array([np.inf]),
        col_lower=np.zeros(1),
        col_upper=np.ones(1),
        offset=10.0,
    )
    result = solver.solve(feasible)
    assert result.status is SolveStatus.OPTIMAL
    assert result.objective == pytest.approx(10.5)
    assert result.x is not None and result.x.tolist() == pytest.approx([0.5])


def _empty_lp(offset: float) -> LinearProgram:
    return LinearProgram(
        c=np.zeros(0),
        a=sp.csc_array((0, 0)),
        row_lower=np.zeros(0),
        row_upper=np.zeros(0),
        col_lower=np.zeros(0),
        col_upper=np.zeros(0),
        offset=offset,
    )


def test_an_empty_model_is_optimal() -> None:
    result = HighsSolver().solve(_empty_lp(0.0))
    assert result.status is SolveStatus.OPTIMAL
    assert result.x is not None and result.x.size == 0


def test_an_empty_model_keeps_its_offset() -> None:
    assert HighsSolver().solve(_empty_lp(3.0)).objective == pytest.approx(3.0)


# --- inputs through the production path -------------------------------------------------------


def test_build_inputs_maps_daily_hashprice_and_excludes_gaps(
    site_factory: SiteFactory, series_inputs_factory: Callable[..., DispatchInputs]
) -> None:
    start = pd.Timestamp("2023-03-01T22:00", tz="UTC")
    prices = [10.0, np.nan, 30.0, 40.0]  # 22:00, 23:00 (a gap), 00:00, 01:00
    inputs = series_inputs_factory(site_factory(), prices, [0.05, 0.07], start_utc=start)
    assert inputs.num_intervals == 3
    assert inputs.price_usd_per_mwh.tolist() == [10.0, 30.0, 40.0]
    assert inputs.hashprice_usd_per_th_day.tolist() == [0.05, 0.07, 0.07]
    assert list(inputs.times_utc.strftime("%H:%M")) == ["22:00", "00:00", "01:00"]
    assert inputs.interval_hours == 1.0


def test_build_inputs_needs_every_utc_day_of_hashprice(
    site_factory: SiteFactory, series_inputs_factory: Callable[..., DispatchInputs]
) -> None:
    start = pd.Timestamp("2023-03-01T22:00", tz="UTC")
    with pytest.raises(DataError, match="hashprice missing for UTC day 2023-03-02"):
        series_inputs_factory(site_factory(), [10.0, 20.0, 30.0], [0.05], start_utc=start)
    with pytest.raises(DataError, match="no prices in the window"):
        series_inputs_factory(site_factory(), [np.nan, np.nan], [0.05], start_utc=start)

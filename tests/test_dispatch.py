"""The dispatch optimizer: hand-checkable cases, agreement with the accounting, infeasibility."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from powerfirst.accounting import account
from powerfirst.dispatch.model import build_dispatch_model
from powerfirst.dispatch.optimize import optimize_dispatch
from powerfirst.errors import InfeasibleError
from powerfirst.solver import HighsSolver, LinearProgram, SolveStatus
from sitekit import fleet, make_inputs, make_site

# fleet(): 3 MW, 30 J/TH, PUE 1, no fee. At 0.1 USD/TH/day it earns 10,000/24/3 = 138.89 USD/MWh.
RATE = 10_000 / 24 / 3


def test_turns_off_in_the_one_expensive_interval() -> None:
    site = make_site([fleet()])
    inputs = make_inputs(site, [30.0, 30.0, 500.0, 30.0])
    plan = optimize_dispatch(inputs)
    assert plan.status is SolveStatus.OPTIMAL
    assert plan.power_mw[0].tolist() == pytest.approx([3.0, 3.0, 0.0, 3.0])
    assert plan.net_margin_usd == pytest.approx(3 * 3.0 * (RATE - 30.0))


def test_min_off_time_makes_staying_on_right() -> None:
    # a short spike of 200 USD/MWh loses 3 × (200 − 138.9) = 183 USD if we stay on; switching off
    # holds the units off for 3 intervals (min off 3 h), losing 2 × 3 × (138.9 − 30) = 653 USD
    site = make_site([fleet(min_off_time_min=180)])
    inputs = make_inputs(site, [30.0, 200.0, 30.0, 30.0, 30.0])
    plan = optimize_dispatch(inputs)
    assert plan.power_mw[0].tolist() == pytest.approx([3.0] * 5)
    # without anti-cycling it switches off for the spike
    free = optimize_dispatch(make_inputs(make_site([fleet()]), [30.0, 200.0, 30.0, 30.0, 30.0]))
    assert free.power_mw[0].tolist() == pytest.approx([3.0, 0.0, 3.0, 3.0, 3.0])


def test_off_units_stay_off_for_the_min_off_time() -> None:
    site = make_site([fleet(min_off_time_min=120)])
    # a long expensive stretch, then one cheap interval, then expensive, then cheap
    inputs = make_inputs(site, [500.0, 30.0, 500.0, 30.0, 30.0])
    plan = optimize_dispatch(inputs)
    # switched off at t=0 → held off at t=0 and t=1 (2 h), may run at t=3
    assert plan.power_mw[0, :2].tolist() == pytest.approx([0.0, 0.0])
    assert plan.power_mw[0, 3:].tolist() == pytest.approx([3.0, 3.0])


def test_grid_limit_prefers_the_efficient_fleet() -> None:
    efficient = fleet("new", hashrate_ths=200.0)  # 15 J/TH
    old = fleet("old")  # 30 J/TH
    site = make_site([old, efficient], grid_mw=4.0)
    inputs = make_inputs(site, [20.0, 20.0])
    plan = optimize_dispatch(inputs)
    assert plan.power_mw.sum(axis=0).tolist() == pytest.approx([4.0, 4.0])
    assert plan.power_mw[1].tolist() == pytest.approx([3.0, 3.0])
    assert plan.power_mw[0].tolist() == pytest.approx([1.0, 1.0])


def test_objective_equals_the_accounted_margin() -> None:
    rng = np.random.default_rng(7)
    site = make_site(
        [fleet("a", min_off_time_min=120, restart_time_min=10), fleet("b", hashrate_ths=150.0, pue=1.1)],
        grid_mw=5.0,
        contract={
            "kind": "fixed_block",
            "price_series": "ercot-rt:HB_WEST",
            "block_mw": 4.0,
            "block_price_usd_per_mwh": 35.0,
            "adders_usd_per_mwh": {"t": 2.5},
        },
    )
    inputs = make_inputs(site, rng.normal(80.0, 60.0, 96), hashprice_usd_per_th_day=0.08, interval_minutes=15)
    plan = optimize_dispatch(inputs)
    ledger = account(inputs, plan.power_mw)
    assert ledger.net_margin_usd == pytest.approx(plan.net_margin_usd, rel=1e-9, abs=1e-6)


def test_switch_blocks_make_a_milp_with_whole_blocks() -> None:
    site = make_site([fleet(switch_block_units=400, units=1200)], grid_mw=2.5)
    inputs = make_inputs(site, [20.0, 20.0, 20.0])
    model = build_dispatch_model(inputs)
    assert model.lp.is_mip
    plan = optimize_dispatch(inputs)
    # blocks of 1.2 MW; the grid allows 2.5 MW → two blocks
    assert plan.power_mw[0].tolist() == pytest.approx([2.4, 2.4, 2.4])
    assert plan.mip_gap is not None and plan.mip_gap <= 1e-4
    assert plan.upper_bound_usd >= plan.net_margin_usd - 1e-6


def test_infeasible_site_is_explained() -> None:
    site = make_site([fleet("hosted", min_power_fraction=0.8), fleet("own")], grid_mw=2.0)
    inputs = make_inputs(site, [30.0, 30.0])
    with pytest.raises(InfeasibleError) as caught:
        optimize_dispatch(inputs)
    text = "\n".join(caught.value.explanation)
    assert "must-run power 2.4 MW" in text
    assert "'hosted'" in text
    assert "grid connection limit 2 MW" in text
    assert "conflicting constraint" in text


def test_solver_statuses_are_normalised() -> None:
    solver = HighsSolver()
    empty = sp.csc_array((0, 1))
    # min -x, x ≥ 0 unbounded
    unbounded = LinearProgram(
        c=np.array([-1.0]),
        a=empty,
        row_lower=np.zeros(0),
        row_upper=np.zeros(0),
        col_lower=np.zeros(1),
        col_upper=np.array([np.inf]),
    )
    assert solver.solve(unbounded).status is SolveStatus.UNBOUNDED
    # x ≥ 2 and x ≤ 1
    infeasible = LinearProgram(
        c=np.array([1.0]),
        a=sp.csc_array(np.array([[1.0]])),
        row_lower=np.array([2.0]),
        row_upper=np.array([np.inf]),
        col_lower=np.zeros(1),
        col_upper=np.ones(1),
        row_name=lambda i: f"demand row {i}",
    )
    result = solver.solve(infeasible)
    assert result.status is SolveStatus.INFEASIBLE
    assert result.x is None
    assert result.iis_rows == [0]
    feasible = LinearProgram(
        c=np.array([1.0]),
        a=sp.csc_array(np.array([[1.0]])),
        row_lower=np.array([0.5]),
        row_upper=np.array([np.inf]),
        col_lower=np.zeros(1),
        col_upper=np.ones(1),
        offset=10.0,
    )
    solved = solver.solve(feasible)
    assert solved.status is SolveStatus.OPTIMAL
    assert solved.objective == pytest.approx(10.5)

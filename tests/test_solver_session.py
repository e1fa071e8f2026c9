"""Solver sessions: a model kept between re-solves gives the plans a fresh build gives.

The rolling policy re-solves one site every hour; :class:`~powerfirst.solver.HighsSession` keeps
the HiGHS model and changes only costs and bounds when the structure is unchanged. These tests
check that this changes nothing but the time: on a hand-made LP, on a day of real rolling
horizons, and on a few days of rolling decisions.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import powerfirst.policies.rolling as rolling_module
from powerfirst.accounting.ledger import account
from powerfirst.backtest.engine import run_policy
from powerfirst.backtest.runner import Backtest, prepare_backtest
from powerfirst.dispatch.optimize import DispatchPlan, optimize_dispatch
from powerfirst.policies import RollingPolicy, make_policy
from powerfirst.policies.registry import load_site
from powerfirst.solver import HighsSession, HighsSolver, LinearProgram, SolveStatus

ROOT = Path(__file__).resolve().parents[1]
HYBRID = ROOT / "examples" / "west-texas-hybrid.yaml"
MINING = ROOT / "examples" / "west-texas-fixed-block.yaml"


def _lp(cost: list[float], upper: list[float], limit: float, integer: bool = False) -> LinearProgram:
    """max Σ −cost·x  s.t.  Σ x ≤ limit, 0 ≤ x ≤ upper (as a minimisation)."""
    n = len(cost)
    return LinearProgram(
        c=np.asarray(cost, dtype=np.float64),
        a=sp.csc_array(np.ones((1, n))),
        row_lower=np.array([-np.inf]),
        row_upper=np.array([limit]),
        col_lower=np.zeros(n),
        col_upper=np.asarray(upper, dtype=np.float64),
        integer=np.full(n, integer) if integer else None,
        offset=1.0,
    )


def test_session_changes_costs_and_bounds_in_place_and_passes_a_new_structure() -> None:
    session = HighsSession(HighsSolver())
    fresh = HighsSolver()
    programs = [
        _lp([-3.0, -2.0, -1.0], [1.0, 1.0, 1.0], 2.0),
        _lp([-1.0, -2.0, -3.0], [1.0, 1.0, 1.0], 2.0),  # same structure: reused
        _lp([-1.0, -2.0, -3.0], [1.0, 0.5, 1.0], 1.2),  # bounds only: reused
        _lp([-1.0, -2.0, -3.0, -4.0], [1.0] * 4, 2.0),  # a column more: passed again
        _lp([-1.5, -2.0, -3.0], [1.0, 1.0, 1.0], 2.0),  # the first structure again: kept, reused
        _lp([-1.5, -2.5, -3.0], [1.0, 1.0, 1.0], 2.0, integer=True),  # integers: another structure
    ]
    for lp in programs:
        kept, scratch = session.solve(lp), fresh.solve(lp)
        assert kept.status is SolveStatus.OPTIMAL and scratch.status is SolveStatus.OPTIMAL
        assert kept.objective == pytest.approx(scratch.objective, abs=1e-9)
        np.testing.assert_allclose(kept.x, scratch.x, atol=1e-9)  # type: ignore[arg-type]
    # the MILP's LP relaxation has the first structure's matrix: that kept model is reused for it,
    # and its rounding (x = 1, 1, 0) is the integer optimum, so no branch and bound
    assert session.reused == 4
    assert (session.fixed, session.branched) == (1, 0)


def _knapsack(values: list[float], weights: list[float], capacity: float) -> LinearProgram:
    """max Σ value·x  s.t.  Σ weight·x ≤ capacity, x binary (as a minimisation)."""
    n = len(values)
    return LinearProgram(
        c=-np.asarray(values, dtype=np.float64),
        a=sp.csc_array(np.asarray([weights], dtype=np.float64)),
        row_lower=np.array([-np.inf]),
        row_upper=np.array([capacity]),
        col_lower=np.zeros(n),
        col_upper=np.ones(n),
        integer=np.ones(n, dtype=bool),
    )


def test_relax_and_fix_answers_within_the_gap_or_leaves_the_milp_to_branch_and_bound() -> None:
    """A rounding within the gap of the relaxation is the answer, with the relaxation as its bound;
    one that is not goes to HiGHS's branch and bound, which finds the same optimum as a fresh MILP."""
    session = HighsSession(HighsSolver())
    # the relaxation takes items 1 and 2 whole and 0.001 of item 3: rounded down it is optimal,
    # 0.1 % of value short of the bound, within a gap of 1 %
    easy = _knapsack([100.0, 100.0, 100.0], [1.0, 1.0, 1000.0], 3.0)
    result = session.solve(easy, mip_rel_gap=1e-2)
    assert (session.fixed, session.branched) == (1, 0)
    assert result.status is SolveStatus.OPTIMAL and result.objective == pytest.approx(-200.0)
    assert result.dual_bound == pytest.approx(-200.1) and result.mip_gap == pytest.approx(0.1 / 200.0)
    # asked for a gap of 1e-4 the same rounding is not good enough: branch and bound decides
    result = session.solve(easy, mip_rel_gap=1e-4)
    assert (session.fixed, session.branched) == (1, 1)
    assert result.objective == pytest.approx(-200.0)
    # the relaxation takes one item and a third of another (53.3): rounded up it is infeasible,
    # to the nearest it is worth 40, a third short of the bound
    hard = _knapsack([40.0, 40.0, 30.0], [3.0, 3.0, 3.0], 4.0)
    fresh = HighsSolver().solve(hard, mip_rel_gap=1e-6)
    kept = session.solve(hard, mip_rel_gap=1e-6)
    assert session.branched == 2 and kept.objective == pytest.approx(fresh.objective) == -40.0


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.0, 50.0), st.floats(0.5, 10.0)),
        min_size=2,
        max_size=12,
    ),
    st.floats(1.0, 40.0),
    st.sampled_from([1e-4, 1e-3, 1e-2]),
)
def test_relax_and_fix_is_always_within_the_gap_of_the_true_optimum(
    items: list[tuple[float, float]], capacity: float, gap: float
) -> None:
    """Whatever answers, the objective is feasible and within the relative gap asked for of the
    optimum that HiGHS proves (to 1e-9) on the same knapsack."""
    lp = _knapsack([v for v, _ in items], [w for _, w in items], capacity)
    optimum = HighsSolver().solve(lp, mip_rel_gap=1e-9)
    result = HighsSession(HighsSolver()).solve(lp, mip_rel_gap=gap)
    assert result.status is SolveStatus.OPTIMAL and optimum.objective is not None and result.x is not None
    assert result.objective is not None and result.dual_bound is not None
    assert np.all(np.isclose(result.x, np.round(result.x), atol=1e-9))
    assert float(np.dot([w for _, w in items], result.x)) <= capacity + 1e-9
    assert result.dual_bound <= optimum.objective + 1e-6 <= result.objective + 2e-6
    assert result.objective - optimum.objective <= gap * max(1.0, abs(result.objective)) + 1e-6


def test_session_confirms_an_infeasible_update_from_scratch() -> None:
    session = HighsSession(HighsSolver())
    assert session.solve(_lp([-1.0, -1.0], [1.0, 1.0], 1.0)).status is SolveStatus.OPTIMAL
    infeasible = _lp([-1.0, -1.0], [1.0, 1.0], 1.0)
    infeasible.col_lower = np.array([1.0, 1.0])  # x ≥ 1 each, Σ x ≤ 1
    result = session.solve(infeasible)
    assert result.status is SolveStatus.INFEASIBLE
    assert result.iis_rows or result.iis_cols
    assert session.solve(_lp([-1.0, -2.0], [1.0, 1.0], 1.0)).objective == pytest.approx(-1.0)


@pytest.fixture(scope="module")
def hybrid_days() -> Backtest:
    return prepare_backtest(load_site(HYBRID), "2023-08-08", "2023-08-10")


def _rolling(bt: Backtest, forecast: str) -> RollingPolicy:
    site = bt.site
    settings = site.strategies.rolling.model_copy(update={"forecast": forecast})
    site = site.model_copy(update={"strategies": site.strategies.model_copy(update={"rolling": settings})})
    policy = make_policy("rolling", site, bt.window.timezone)
    assert isinstance(policy, RollingPolicy)
    policy.fourcp = None
    return policy


_UNIQUE = ("power_mw", "inference_gpus", "training_gpus", "rental_gpus", "heat_mwth")
"""Decisions with a unique optimum on these horizons; ancillary offers are not: products and hours
at the same price tie, and which of them gets the offer depends on the solver's path."""


def test_reused_model_gives_the_plans_of_a_fresh_build_over_a_day_of_horizons(hybrid_days: Backtest) -> None:
    """The horizons a rolling run solves (hourly, 48 h, hybrid site), solved again one after the
    other through one session and each from scratch: same net margin, same decisions where the
    optimum is unique (:data:`_UNIQUE`)."""
    horizons: list[dict[str, Any]] = []
    solve = rolling_module.optimize_dispatch

    def record(inputs: Any, **kwargs: Any) -> DispatchPlan:
        if len(horizons) < 12:
            horizons.append({"inputs": inputs, **{k: v for k, v in kwargs.items() if k != "session"}})
        return solve(inputs, **kwargs)

    bt = hybrid_days
    policy = _rolling(bt, "persistence")
    rolling_module.optimize_dispatch = record  # type: ignore[assignment]
    try:
        run_policy(
            policy,
            bt.inputs,
            bt.known_hashprice_usd_per_th_day,
            market=bt.market,
            demand_before_gpus=bt.demand_before_gpus,
        )
    finally:
        rolling_module.optimize_dispatch = solve
    assert len(horizons) == 12
    session = HighsSolver().session()
    for horizon in horizons:
        fresh = optimize_dispatch(**horizon)
        kept = optimize_dispatch(**horizon, session=session)
        assert kept.net_margin_usd == pytest.approx(fresh.net_margin_usd, rel=1e-9)
        for name in _UNIQUE:
            np.testing.assert_allclose(
                getattr(kept.schedule, name),
                getattr(fresh.schedule, name),
                rtol=1e-7,
                atol=1e-6,
                err_msg=name,
            )
    assert session.reused >= 6  # rental slices of 4 h: the structure comes back every 4 hours


@pytest.mark.parametrize("path", [HYBRID, MINING], ids=["hybrid", "mining"])
def test_rolling_decides_the_same_with_and_without_reusing_the_model(path: Path) -> None:
    """Two days of hourly re-solves: the same decisions (ancillary offers up to ties, see
    :data:`_UNIQUE`) and the same booked net margin."""
    bt = prepare_backtest(load_site(path), "2023-08-08", "2023-08-09")
    runs = []
    for reuse in (True, False):
        policy = _rolling(bt, "persistence")
        policy.reuse_model = reuse
        runs.append(
            run_policy(
                policy,
                bt.inputs,
                bt.known_hashprice_usd_per_th_day,
                market=bt.market,
                demand_before_gpus=bt.demand_before_gpus,
            )
        )
        if reuse:
            assert policy.session is not None and policy.session.reused > policy.solves // 2
        else:
            assert policy.session is None
    kept, fresh = (r.schedule for r in runs)
    for name in _UNIQUE:
        np.testing.assert_allclose(
            getattr(kept, name), getattr(fresh, name), rtol=1e-7, atol=1e-6, err_msg=name
        )
    margins = [account(bt.inputs, r.schedule, r.initial_power_mw).net_margin_usd for r in runs]
    assert margins[0] == pytest.approx(margins[1], rel=1e-4)  # ancillary offers that tie: same value


def test_a_backtest_prints_no_highs_banner(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """HiGHS prints "Running HiGHS … Copyright" from C++ when a process makes its first instance;
    a fresh process (the banner is printed once per process) runs a short backtest, its output
    captured at the file-descriptor level."""
    out = tmp_path / "out"
    command = [sys.executable, "-m", "powerfirst.cli", "backtest", str(MINING), "--start", "2023-08-08"]
    completed = subprocess.run(
        [*command, "--end", "2023-08-08", "--strategy", "perfect", "--out", str(out)],
        check=False,
        timeout=300,
    )
    captured = capfd.readouterr()
    assert completed.returncode == 0, captured.err
    text = captured.out + captured.err
    assert "net margin" in text.lower() or "perfect" in text  # the run printed its report
    assert "HiGHS" not in text and "Copyright" not in text

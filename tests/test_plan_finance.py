"""NPV, IRR, payback, DSCR, loans, depreciation and tax of the planning layer, against hand arithmetic."""

from __future__ import annotations

import math

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from powerfirst.planning.depreciation import MACRS_HALF_YEAR_PCT, depreciation_fractions, depreciation_usd
from powerfirst.planning.finance import (
    dscr,
    irr_paths,
    irr_pct_per_year,
    irr_roots_pct_per_year,
    loan_schedule,
    min_dscr,
    monthly_discount_rate,
    npv_usd,
    payback_month,
    tax_with_loss_carryforward,
)

ONE_PCT_MONTHLY_ANNUAL_PCT = (1.01**12 - 1) * 100  # 12.6825 %/year: 1 % a month, compounded


def test_monthly_rate_is_the_twelfth_root_of_the_annual() -> None:
    assert monthly_discount_rate(ONE_PCT_MONTHLY_ANNUAL_PCT) == pytest.approx(0.01, rel=1e-12)
    assert monthly_discount_rate(0.0) == 0.0


def test_npv_by_hand_and_as_numpy_financial() -> None:
    flows = np.array([-100.0, 60.0, 60.0])
    # month 0 undiscounted: -100 + 60/1.01 + 60/1.01^2 = -100 + 59.405940 + 58.817763 = 18.223704
    assert float(npv_usd(ONE_PCT_MONTHLY_ANNUAL_PCT, flows)) == pytest.approx(18.223704, abs=1e-6)
    assert float(npv_usd(ONE_PCT_MONTHLY_ANNUAL_PCT, flows)) == pytest.approx(npf.npv(0.01, flows), rel=1e-12)
    paths = np.array([[-100.0, 60.0, 60.0], [-100.0, 0.0, 121.0]])
    # second path: -100 + 121/1.0201 = 18.615822
    assert npv_usd(ONE_PCT_MONTHLY_ANNUAL_PCT, paths) == pytest.approx([18.223704, 18.615822], abs=1e-6)


def test_irr_by_hand() -> None:
    # [-100, 110]: 10 %/month → (1.1^12 − 1) = 213.8428 %/year; [-100, 0, 121]: 1.1^2 = 1.21, also 10 %/month
    irr = irr_pct_per_year(np.array([[-100.0, 110.0, 0.0], [-100.0, 0.0, 121.0]]))
    assert irr == pytest.approx([213.842838, 213.842838], rel=1e-6)


def test_irr_is_nan_without_a_sign_change() -> None:
    irr = irr_pct_per_year(np.array([[100.0, 10.0, 10.0], [-1.0, -2.0, 0.0], [0.0, 0.0, 0.0]]))
    assert np.isnan(irr).all()


def test_irr_of_a_loss_that_never_comes_back_is_negative_not_invented() -> None:
    # -100 then 50, 40: the money is not all returned; 100 = 50 v + 40 v^2 → v = 1.0728..., r_m = -6.79 %
    irr = irr_pct_per_year(np.array([[-100.0, 50.0, 40.0]]))
    v = (-50 + math.sqrt(50**2 + 4 * 40 * 100)) / (2 * 40)
    assert irr[0] == pytest.approx(((1 / v) ** 12 - 1) * 100, rel=1e-9)
    assert irr[0] < 0


def test_payback_by_hand() -> None:
    flows = np.array(
        [
            [-100.0, 30.0, 30.0, 30.0, 30.0],  # cumulative -100, -70, -40, -10, 20 → month 4
            [10.0, -5.0, 3.0, 0.0, 0.0],  # cumulative 10, 5, 8, 8, 8: never negative → 0
            [-100.0, 50.0, 0.0, 0.0, 0.0],  # cumulative -100, -50, ... → never back: NaN
            [0.0, 0.0, -100.0, 60.0, 40.0],  # cumulative 0, 0, -100, -40, 0 → month 4 (exactly zero)
        ]
    )
    out = payback_month(flows)
    assert out[0] == 4 and out[1] == 0 and np.isnan(out[2]) and out[3] == 4


def test_dscr_per_year_and_minimum() -> None:
    cfads = np.full((1, 36), 10.0)
    service = np.zeros((1, 36))
    service[0, :12] = 8.0  # year 1: 120 / 96 = 1.25
    service[0, 24:] = 12.0  # year 3: 120 / 144 = 0.8333; year 2: no debt service
    ratios = dscr(cfads, service)
    assert (
        ratios[0, 0] == pytest.approx(1.25)
        and np.isnan(ratios[0, 1])
        and ratios[0, 2] == pytest.approx(120 / 144)
    )
    assert min_dscr(cfads, service)[0] == pytest.approx(120 / 144)
    assert np.isnan(min_dscr(cfads, np.zeros((1, 36))))[0]


def test_annuity_loan_by_hand() -> None:
    loan = loan_schedule(1000.0, 12.0, 3, "annuity")  # 1 %/month, 3 payments
    payment = 1000 * 0.01 / (1 - 1.01**-3)  # 340.022115
    assert loan.debt_service_usd == pytest.approx([payment] * 3, rel=1e-12)
    # interest on the balance: 10.000, (1000 - 330.022) × 1 % = 6.699779, then 3.366556
    assert loan.interest_usd == pytest.approx([10.0, 6.699779, 3.366556], abs=1e-6)
    assert loan.principal_usd.sum() == pytest.approx(1000.0, rel=1e-12)
    assert loan.balance_usd[-1] == 0.0


def test_straight_and_bullet_loans_and_grace_by_hand() -> None:
    straight = loan_schedule(1000.0, 12.0, 4, "straight")
    assert straight.principal_usd == pytest.approx([250.0] * 4)
    assert straight.interest_usd == pytest.approx([10.0, 7.5, 5.0, 2.5])
    bullet = loan_schedule(1000.0, 12.0, 3, "bullet", grace_months=2)
    assert bullet.interest_usd == pytest.approx([10.0] * 5)
    assert bullet.principal_usd == pytest.approx([0, 0, 0, 0, 1000.0])
    assert bullet.balance_usd == pytest.approx([1000, 1000, 1000, 1000, 0.0])
    free = loan_schedule(1200.0, 0.0, 12, "annuity")
    assert free.principal_usd == pytest.approx([100.0] * 12) and free.interest_usd.sum() == 0.0


def test_macrs_tables_sum_to_100_and_spread_by_month() -> None:
    for row in MACRS_HALF_YEAR_PCT.values():
        assert sum(row) == pytest.approx(100.0, abs=1e-9)
    five = depreciation_fractions("macrs", 5)
    assert (
        five.size == 72
        and five[:12] == pytest.approx([0.20 / 12] * 12)
        and five[12] == pytest.approx(0.32 / 12)
    )
    # 39-year: mid-month straight line: half a month's 1/468 first and last, 467 full months between
    real = depreciation_fractions("macrs", 39) * 936.0
    assert (
        real[0] == pytest.approx(1.0)
        and real[1:468] == pytest.approx([2.0] * 467)
        and real[468] == pytest.approx(1.0)
    )
    assert depreciation_fractions("straight_line", 2) * 2400 == pytest.approx([100.0] * 24)


def test_depreciation_of_an_asset_sold_writes_off_its_basis() -> None:
    # 1,200 USD of 5-year MACRS in service at month 2, sold at month 20 (18 months held):
    # months 2–13 deduct 20 %/12 = 20 each (240), months 14–19 32 %/12 = 32 each (192), month 20 the rest: 768
    out = depreciation_usd(1200.0, 2, 30, depreciation_fractions("macrs", 5), sold_month=20)
    assert (
        out[:2].sum() == 0
        and out[2:14] == pytest.approx([20.0] * 12)
        and out[14:20] == pytest.approx([32.0] * 6)
    )
    assert out[20] == pytest.approx(768.0) and out[21:].sum() == 0 and out.sum() == pytest.approx(1200.0)
    cut = depreciation_usd(2400.0, 20, 30, depreciation_fractions("straight_line", 2))
    assert cut[20:] == pytest.approx([100.0] * 10)  # the horizon cuts the schedule


def test_tax_with_loss_carryforward_by_hand() -> None:
    income = np.array([[-100.0, 50.0, 80.0]])
    tax, carried = tax_with_loss_carryforward(income, 20.0)
    # month 0 loss carried (100); month 1 uses 50 of it, no tax; month 2 uses the last 50: (80 − 50) × 20 % = 6
    assert tax[0] == pytest.approx([0.0, 0.0, 6.0]) and carried[0] == pytest.approx([100.0, 50.0, 0.0])
    tax80, carried80 = tax_with_loss_carryforward(income, 20.0, offset_limit_pct=80.0)
    # month 1 may offset 80 % of 50 = 40: tax (50 − 40) × 20 % = 2; month 2 uses the last 60 (≤ 64): tax 4
    assert tax80[0] == pytest.approx([0.0, 2.0, 4.0]) and carried80[0] == pytest.approx([100.0, 60.0, 0.0])


flow = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(st.lists(flow, min_size=1, max_size=40))
def test_npv_at_zero_is_the_sum(flows: list[float]) -> None:
    values = np.asarray(flows)
    assert float(npv_usd(0.0, values)) == pytest.approx(values.sum(), abs=1e-6)


@settings(max_examples=50, deadline=None)
@given(
    st.floats(min_value=1.0, max_value=1e6),
    st.lists(st.floats(min_value=0.0, max_value=1e6), min_size=1, max_size=60),
)
def test_irr_makes_the_npv_zero(investment: float, returns: list[float]) -> None:
    # at least half the money back: an annualised rate near −100 %/year cannot be turned back into a
    # monthly one precisely enough to test
    assume(sum(returns) >= investment / 2)
    flows = np.asarray([-investment, *returns])
    irr = irr_pct_per_year(flows[None, :])[0]
    if np.isnan(irr):  # numpy-financial found no rate it trusts: never a made-up number
        return
    assert float(npv_usd(irr, flows)) == pytest.approx(0.0, abs=1e-5 * np.abs(flows).sum())


@settings(max_examples=30, deadline=None)
@given(
    st.floats(min_value=1.0, max_value=1e9),
    st.floats(min_value=0.0, max_value=30.0),
    st.integers(min_value=1, max_value=360),
    st.sampled_from(["annuity", "straight", "bullet"]),
)
def test_a_loan_repays_its_principal_at_its_rate(
    principal: float, rate: float, months: int, kind: str
) -> None:
    loan = loan_schedule(principal, rate, months, kind, grace_months=2)  # type: ignore[arg-type]
    assert loan.principal_usd.sum() == pytest.approx(principal, rel=1e-9)
    assert loan.balance_usd[-1] == pytest.approx(0.0, abs=1e-6 * principal)
    # the payments discounted at the loan's own monthly rate are worth the principal
    discount = (1 + rate / 1200) ** -np.arange(1, loan.interest_usd.size + 1)
    assert float(loan.debt_service_usd @ discount) == pytest.approx(principal, rel=1e-9)


@settings(max_examples=50, deadline=None)
@given(
    st.floats(min_value=1.0, max_value=1e6),
    st.lists(st.floats(min_value=1.0, max_value=1e6), min_size=1, max_size=60),
)
def test_irr_agrees_with_numpy_financial(investment: float, returns: list[float]) -> None:
    # one sign change: one rate makes the NPV zero; numpy_financial.irr finds it from polynomial roots
    # (within the grid's +100,000 %/month: at most 100 times the money back)
    assume(investment / 2 <= sum(returns) <= 100 * investment)
    flows = np.asarray([-investment, *returns])
    expected = (1 + npf.irr(flows)) ** 12 - 1
    assert irr_pct_per_year(flows[None, :])[0] == pytest.approx(expected * 100, rel=1e-7, abs=1e-7)


def test_irr_refuses_a_rate_numpy_financial_would_give() -> None:
    # -5, 10.5, 1, -8, 1 (numpy-financial's own example: 8.86 % a period) changes sign three times
    # and has several rates: the one closest to zero, as numpy-financial. -100, 10, -100 changes sign
    # but -100 + 10 v - 100 v^2 has no real root (discriminant 100 - 40,000 < 0): NaN
    assert irr_pct_per_year(np.array([[-5.0, 10.5, 1.0, -8.0, 1.0]]))[0] == pytest.approx(
        ((1 + npf.irr([-5, 10.5, 1, -8, 1])) ** 12 - 1) * 100, rel=1e-9
    )
    assert np.isnan(irr_pct_per_year(np.array([[-100.0, 10.0, -100.0]])))[0]


def test_flows_with_two_irrs_are_counted_and_listed() -> None:
    # −100, +230, −132 a year apart: NPV = −100 + 230 v − 132 v² = 0 at v = 1/1.1 and v = 1/1.2, so
    # 10 % and 20 % a year; as consecutive months, 10 % and 20 % a month (213.84 and 791.61 %/year)
    yearly = np.zeros(25)
    yearly[[0, 12, 24]] = [-100.0, 230.0, -132.0]
    monthly = np.zeros(25)
    monthly[:3] = [-100.0, 230.0, -132.0]
    found = irr_paths(np.stack([yearly, monthly, np.r_[-100.0, 110.0, np.zeros(23)]]))
    assert found.roots.tolist() == [2, 2, 1] and found.sign_changes.tolist() == [2, 2, 1]
    # the root closest to zero is still the one shown
    assert found.irr_pct_per_year == pytest.approx([10.0, (1.1**12 - 1) * 100, (1.1**12 - 1) * 100], rel=1e-9)
    assert irr_roots_pct_per_year(yearly) == pytest.approx([10.0, 20.0], rel=1e-9)
    assert irr_roots_pct_per_year(monthly) == pytest.approx(
        [(1.1**12 - 1) * 100, (1.2**12 - 1) * 100], rel=1e-9
    )
    # a root exactly on the grid (0 %: the flows sum to 0) is one root, not two
    assert irr_paths(np.array([[-100.0, 50.0, 50.0]])).roots.tolist() == [1]


def test_the_summary_says_when_the_irr_is_one_of_several() -> None:
    from plan_builders import margin_table, scenario
    from powerfirst.planning.results import irr_root_notes, path_metrics, summarise

    yearly = np.zeros(25)
    yearly[[0, 12, 24]] = [-100.0, 230.0, -132.0]
    difference = np.stack([yearly, np.r_[-100.0, 110.0, np.zeros(23)], yearly])
    zeros = np.zeros_like(difference)
    metrics = path_metrics(10.0, difference, zeros, zeros, zeros, np.zeros(3), np.zeros(3))
    assert metrics.irr_roots_difference.tolist() == [2, 1, 2]
    summary = summarise(scenario(horizon_months=25), margin_table(), metrics, seed=None)
    assert summary.irr_multiple_roots_paths == 2
    assert any(
        n.startswith("IRR: on 2 of the 3 paths (66.7%) the conversion's flows have more than one IRR")
        and "the IRR shown is the root closest to zero" in n
        for n in summary.notes
    )
    assert irr_root_notes(["deterministic base", "deterministic low"], difference[:2]) == [
        "IRR of the deterministic base path: its flows have 2 IRRs, 10.00, 20.00 %/year; shown: 10.00 %/year "
        "(the root closest to zero)"
    ]
    single = path_metrics(10.0, difference[1:2], zeros[1:2], zeros[1:2], zeros[1:2], np.zeros(1), np.zeros(1))
    assert (
        summarise(scenario(horizon_months=25), margin_table(), single, seed=None).irr_multiple_roots_paths
        == 0
    )

"""A plan's cash flows against hand arithmetic: a lease deal's yield, a GPU cloud, plan vs baseline."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from plan_builders import driver_paths, gpu_cloud, lease, margin_table, phase, scenario
from powerfirst.errors import DataError
from powerfirst.planning.cashflows import plan_cashflows
from powerfirst.planning.finance import npv_usd
from powerfirst.planning.scenario import load_scenario


def _lease_pv_per_mw(v: float, rent_usd_per_mw_year: float, escalator: float, years: int) -> float:
    """Closed form: rent a = rate/12 paid at months 0..12·years−1, stepped by (1 + g) each year:
    Σ_y a (1+g)^y v^(12y) Σ_k v^k = a · (1 − v^12)/(1 − v) · (1 − ((1+g) v^12)^years)/(1 − (1+g) v^12)."""
    a, q = rent_usd_per_mw_year / 12.0, (1.0 + escalator) * v**12
    return a * (1 - v**12) / (1 - v) * (1 - q**years) / (1 - q)


def test_lease_deal_yield_checked_by_hand() -> None:
    # 1 MW leased: capex 10 M USD, 1.6 M USD/MW-year of IT (IT = utility MW), 10 years, 2 % escalator,
    # no build, no tax, no mining margin: the conversion's flows are −10 M + the rents.
    plan = scenario(phases=[phase()])
    flows = plan_cashflows(plan, driver_paths(1, 120), margin_table())
    difference = flows.difference_usd[0]
    assert difference[0] == pytest.approx(-10e6 + 1.6e6 / 12)
    assert difference[12] == pytest.approx(1.6e6 / 12 * 1.02)  # second lease year, escalated once
    assert difference[119] == pytest.approx(1.6e6 / 12 * 1.02**9)
    # the rate v = 1/(1 + r_m) at which the rents are worth the capex, from the closed form
    v = brentq(lambda v: _lease_pv_per_mw(v, 1.6e6, 0.02, 10) - 10e6, 0.5, 0.99999999, xtol=1e-15)
    monthly = 1 / v - 1
    expected_pct = ((1 + monthly) ** 12 - 1) * 100  # ≈ 12.9 %/year on a 16 % first-year yield
    assert 12.8 < expected_pct < 13.0
    assert flows.metrics.irr_difference_pct_per_year[0] == pytest.approx(expected_pct, rel=1e-9)
    # NPV at 10 %/year: the closed form at v = 1.1^(−1/12), less the capex
    v10 = 1.1 ** (-1 / 12)
    assert flows.metrics.npv_difference_usd[0] == pytest.approx(
        _lease_pv_per_mw(v10, 1.6e6, 0.02, 10) - 10e6, rel=1e-9
    )
    # payback: six years of rent (months 0–71) are 1.6 M × (1 + 1.02 + … + 1.02^5) = 1.6 M × 6.30812 =
    # 10.093 M ≥ 10 M; after month 70 they are 93,000 − 1.6 M/12 × 1.02^5 (147,210) short: month 71
    assert flows.metrics.payback_month_difference[0] == 71
    assert flows.summary.probability_plan_beats_baseline == 1.0  # 12.9 % > 10 %: the NPV is positive


def test_gross_lease_pays_the_power_and_prepaid_rent_is_credited() -> None:
    # 2 MW, IT = utility / PUE 1.25 = 1.6 MW; rent 1.2 M USD/MW-year → 160,000 USD/month; build 2 months;
    # prepaid 400,000 at the start, credited against months 2, 3 (160 k each) and 80 k of month 4
    business = lease(
        rate_usd_per_mw_year=1.2e6,
        it_mw_per_utility_mw=None,
        pue=1.25,
        term_years=1,
        escalator_pct_per_year=0.0,
        structure="gross",
        prepayment_usd=400_000.0,
    )
    plan = scenario(
        phases=[phase(convert_mw=2.0, build_months=2, capex_usd_per_mw=0.0, business=business)],
        horizon_months=24,
    )
    flows = plan_cashflows(plan, driver_paths(1, 24), margin_table(ai_cost_usd_per_mw_month=30_000.0))
    revenue = flows.plan.ai_revenue_usd[0]
    assert revenue[:6] == pytest.approx([400_000.0, 0.0, 0.0, 0.0, 80_000.0, 160_000.0])
    assert revenue[13] == pytest.approx(160_000.0) and revenue[14] == 0.0  # 12 months of rent: months 2–13
    power = flows.plan.ai_power_usd[0]
    assert power[2:14] == pytest.approx([-60_000.0] * 12)  # 2 MW × 30,000 USD/MW-month, during the lease
    assert power[:2].sum() == 0.0 and power[14:].sum() == 0.0


def test_gpu_cloud_by_hand() -> None:
    # 1,000 GPUs × 1,000 W × PUE 1.25 = 1.25 MW at the meter on 2 converted MW; bought at 30,000 USD at
    # the end of a 2-month build (month 2, 2027-03), refreshed each year (month 14) at 25 % resale
    cloud = gpu_cloud(price_premium_factor=1.2, opex_usd_per_gpu_month=100.0)
    plan = scenario(
        phases=[phase(convert_mw=2.0, build_months=2, capex_usd_per_mw=1e6, business=cloud)],
        depreciation={
            "facility": {"method": "straight_line", "years": 10},
            "gpus": {"method": "straight_line", "years": 3},
        },
        horizon_months=24,
    )
    prices = np.array([[2.0], [3.0]])  # USD/GPU-hour on paths 0 and 1
    flows = plan_cashflows(
        plan,
        driver_paths(2, 24, gpu_usd_per_gpu_hour=prices),
        margin_table(ai_cost_usd_per_mw_month=50_000.0),
    )
    p = flows.plan
    assert p.capex_usd[0, 0] == -2e6 and p.capex_usd[0, 2] == -30e6 and p.capex_usd[0, 14] == -30e6
    assert p.resale_usd[0, 14] == pytest.approx(7.5e6) and p.resale_usd[0].sum() == pytest.approx(7.5e6)
    # March 2027 (31 days): 1,000 × 24 h × 31 × 50 % × 1.2 × 2.0 = 892,800; April (30 days) at 3.0: 1,296,000
    assert p.ai_revenue_usd[0, 2] == pytest.approx(892_800.0)
    assert p.ai_revenue_usd[1, 3] == pytest.approx(1_296_000.0)
    assert p.ai_revenue_usd[:, :2].sum() == 0.0
    assert p.ai_power_usd[0, 2] == pytest.approx(-1.25 * 50_000.0) and p.ai_opex_usd[0, 2] == pytest.approx(
        -100_000.0
    )
    # depreciation: facility 2 M / 120 months, GPUs 30 M / 36 months from month 2; at the refresh (month 14)
    # the first GPUs' basis left, 30 M − 12 × 833,333.33 = 20 M, is written off, and the new ones start
    facility, gpus = 2e6 / 120, 30e6 / 36
    assert p.depreciation_usd[0, 2] == pytest.approx(facility + gpus)
    assert p.depreciation_usd[0, 14] == pytest.approx(facility + 20e6 + gpus)
    net = p.net_usd[0]
    assert net[2] == pytest.approx(-30e6 + 892_800.0 - 62_500.0 - 100_000.0)


def _margins_two_years() -> np.ndarray:
    """(2, 2, 12): margin = 1e6 × (hashprice − 0.03) USD/MW-month in year 0; year 1 adds 1,000 × calendar month."""
    grid = np.array([0.02, 0.10])
    year0 = np.repeat((1e6 * (grid - 0.03))[:, None], 12, axis=1)
    year1 = year0 + 1000.0 * np.arange(12)[None, :]
    return np.stack([year0, year1])


def test_plan_against_baseline_on_two_paths_by_hand() -> None:
    # 10 MW site; 4 MW leased from month 6 (2027-07), built 3 months, 1 M USD/MW; rent 1.2 M USD/MW-year
    # for 1 year (months 9–20); mining opex 2,000 USD/MW-month; no tax.
    # Hashprice = BTC × 3.125 × 144 / 7e8: path 0 at 50 k USD: 0.0321429; path 1 at 100 k: 0.0642857.
    # Path 0 runs market year 2023 (index 0); path 1 runs 2024 (index 1) in months 0–11, 2023 after.
    plan = scenario(
        mining_mw=10.0,
        horizon_months=24,
        mining={"opex_usd_per_mw_month": 2000.0},
        phases=[
            phase(
                convert_mw=4.0,
                start_month="2027-07",
                build_months=3,
                capex_usd_per_mw=1e6,
                business=lease(rate_usd_per_mw_year=1.2e6, term_years=1, escalator_pct_per_year=0.0),
            )
        ],
    )
    years = np.zeros((2, 24))
    years[1, :12] = 1
    paths = driver_paths(
        2,
        24,
        btc_usd=np.array([[50_000.0], [100_000.0]]),
        hashrate_ths=7e8,
        market_year=years,
        market_years=(2023, 2024),
    )
    margins = margin_table(
        market_years=(2024, 2023), grid=(0.02, 0.10), margins=_margins_two_years()[::-1].copy()
    )
    flows = plan_cashflows(plan, paths, margins)
    hashprice = np.array([50_000.0, 100_000.0]) * 3.125 * 144 / 7e8
    base_margin = 1e6 * (hashprice - 0.03)  # per MW-month, market year 2023 (the table's index 1)
    # path 1, month 3 (April, calendar index 3) in 2024: + 1,000 × 3
    per_mw = np.array(
        [[base_margin[0]] * 24, [base_margin[1] + 1000.0 * (t % 12) * (t < 12) for t in range(24)]]
    )
    assert flows.baseline.net_usd == pytest.approx(10.0 * (per_mw - 2000.0))
    expected = np.zeros((2, 24))
    expected[:, 6:] -= 4.0 * (per_mw[:, 6:] - 2000.0)  # the 4 MW stop mining at month 6
    expected[:, 6] -= 4e6  # capex
    expected[:, 9:21] += 4.0 * 1.2e6 / 12  # rent
    assert flows.difference_usd == pytest.approx(expected)
    npv_plan, npv_base = flows.metrics.npv_plan_usd, flows.metrics.npv_baseline_usd
    assert flows.metrics.npv_difference_usd == pytest.approx(npv_plan - npv_base)
    assert flows.metrics.npv_difference_usd == pytest.approx(npv_usd(10.0, expected))
    beats = float(np.mean(npv_plan > npv_base))
    assert flows.summary.probability_plan_beats_baseline == beats
    # the lease (4.8 M over a year, less 4 M capex) beats mining at 0.032 USD/TH/day (2,143 − 2,000 per MW)
    # on path 0 but not the ~32,000 USD/MW-month of path 1
    assert beats == 0.5 and npv_plan[0] > npv_base[0] and npv_plan[1] < npv_base[1]


def test_debt_draws_with_the_capex_and_is_repaid_by_hand() -> None:
    # 50 % loan-to-cost of a 10 M USD conversion built in 2 months: 5 M drawn at month 0, interest only
    # in months 1–2 (1 %/month: 50,000 each), then a 12-month annuity of 5 M at 1 %/month
    plan = scenario(
        phases=[phase(build_months=2)],
        financing={"loan_to_cost_pct": 50.0, "rate_pct_per_year": 12.0, "tenor_years": 1},
        horizon_months=24,
    )
    flows = plan_cashflows(plan, driver_paths(1, 24), margin_table()).plan
    payment = 5e6 * 0.01 / (1 - 1.01**-12)
    assert flows.debt_draw_usd[0, 0] == 5e6
    assert flows.interest_usd[0, 1:3] == pytest.approx([-50_000.0, -50_000.0])
    assert flows.debt_service_usd[0, 3:15] == pytest.approx([payment] * 12)
    assert flows.principal_usd[0].sum() == pytest.approx(-5e6)
    assert flows.debt_service_usd[0, 15:].sum() == 0.0


def test_debt_still_owed_at_the_horizon_is_repaid_in_its_last_month() -> None:
    plan = scenario(
        phases=[phase()],
        financing={"debt_usd": 6e6, "rate_pct_per_year": 6.0, "tenor_years": 10, "amortisation": "bullet"},
        horizon_months=12,
    )
    flows = plan_cashflows(plan, driver_paths(1, 12), margin_table()).plan
    assert flows.interest_usd[0, 1:] == pytest.approx([-30_000.0] * 11)  # 6 M × 0.5 %
    assert flows.principal_usd[0, :11].sum() == 0.0 and flows.principal_usd[0, 11] == pytest.approx(-6e6)


def test_taxes_with_depreciation_by_hand() -> None:
    # 1 MW lease, 21 % tax, facility straight line over 10 years: 10 M / 120 = 83,333.33 a month
    # deducted from the 133,333.33 rent of year 1: tax (133,333.33 − 83,333.33) × 21 % = 10,500 a month
    plan = scenario(
        phases=[phase(business=lease(escalator_pct_per_year=0.0))],
        tax_rate_pct=21.0,
        depreciation={"facility": {"method": "straight_line", "years": 10}},
    )
    flows = plan_cashflows(plan, driver_paths(1, 120), margin_table()).plan
    assert flows.tax_usd[0] == pytest.approx([-10_500.0] * 120)


def test_paths_that_do_not_cover_the_horizon_are_refused() -> None:
    with pytest.raises(DataError, match="needs 120 months"):
        plan_cashflows(scenario(), driver_paths(1, 60), margin_table())
    with pytest.raises(DataError, match=r"market years \[2022\]"):
        plan_cashflows(scenario(), driver_paths(1, 120, market_years=(2022,)), margin_table())


def test_the_bundled_example_runs_on_hand_made_drivers() -> None:
    example = load_scenario("examples/plan-west-texas-conversion.yaml")
    paths = driver_paths(
        3, 120, btc_usd=np.array([[60_000.0], [100_000.0], [150_000.0]]), gpu_usd_per_gpu_hour=2.0
    )
    grid = np.array([0.0, 0.1])
    margins = np.repeat((np.array([-20_000.0, 60_000.0]))[None, :, None], 12, axis=2)
    flows = plan_cashflows(
        example, paths, margin_table(grid=tuple(grid), margins=margins, ai_cost_usd_per_mw_month=35_000.0)
    )
    summary = flows.summary
    assert summary.num_paths == 3 and summary.converted_mw == 20.0
    assert summary.min_dscr is not None  # the example borrows 60 % of its capex
    assert summary.npv_difference_usd.p10 <= summary.npv_difference_usd.p50 <= summary.npv_difference_usd.p90
    # the higher the BTC price, the more the baseline is worth against the plan
    assert np.all(np.diff(flows.metrics.npv_difference_usd) < 0)
    dumped = summary.model_dump(mode="json")
    assert "seed" not in dumped and dumped["site"].startswith("West Texas")


def test_equipment_lease_is_paid_and_deducted_for_tax() -> None:
    # 10,000 USD/month for 6 months from 2027-03 (months 2–7); 1 MW lease, no escalator, facility
    # straight line 10 years (83,333.33/month), 20 % tax: taxable 133,333.33 − 83,333.33 − 10,000
    plan = scenario(
        phases=[phase(business=lease(escalator_pct_per_year=0.0))],
        tax_rate_pct=20.0,
        depreciation={"facility": {"method": "straight_line", "years": 10}},
        financing={"equipment_lease": {"usd_per_month": 10_000.0, "months": 6, "start_month": "2027-03"}},
        horizon_months=24,
    )
    flows = plan_cashflows(plan, driver_paths(1, 24), margin_table()).plan
    lease_line = flows.equipment_lease_usd[0]
    assert (
        lease_line[2:8] == pytest.approx([-10_000.0] * 6)
        and lease_line[:2].sum() == lease_line[8:].sum() == 0.0
    )
    assert flows.tax_usd[0, 2] == pytest.approx(-(1.6e6 / 12 - 10e6 / 120 - 10_000.0) * 0.2)
    assert flows.tax_usd[0, 8] == pytest.approx(-(1.6e6 / 12 - 10e6 / 120) * 0.2)
    assert flows.debt_draw_usd.sum() == 0.0  # an equipment lease alone is no debt


def test_a_lowest_dscr_below_one_is_said_in_the_notes() -> None:
    """Paths whose lowest annual DSCR is under 1 are counted in a note; none, no note."""
    from powerfirst.planning.results import PathMetrics, summarise

    spec = scenario()
    table = margin_table()
    npv = np.array([1.0, 2.0, 3.0, 4.0])

    def metrics(dscr: list[float]) -> PathMetrics:
        nan = np.full(4, np.nan)
        return PathMetrics(
            npv,
            npv - 1.0,
            np.ones(4),
            nan,
            np.ones(4),
            np.ones(4),
            nan,
            np.array(dscr),
            np.zeros(4),
            np.zeros(4),
        )

    notes = summarise(spec, table, metrics([0.8, 1.2, np.nan, 0.95]), seed=None).notes
    assert any("below 1.0 on 2 of the 3 paths with debt service (66.7%)" in n for n in notes), notes
    notes = summarise(spec, table, metrics([1.1, 1.2, np.nan, 1.0]), seed=None).notes
    assert not any("DSCR is below 1.0" in n for n in notes)

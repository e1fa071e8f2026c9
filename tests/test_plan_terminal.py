"""The terminal value at the horizon against hand arithmetic: a lease's remaining rent, GPUs held, the
mining fleet, the tax of a deemed sale, ``method: none`` and bad values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plan_builders import driver_paths, gpu_cloud, lease, margin_table, phase, scenario, scenario_dict
from powerfirst.errors import ConfigError
from powerfirst.planning.cashflows import plan_cashflows
from powerfirst.planning.scenario import parse_scenario

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NONE = {"method": "none"}


def _lease_pv(v: float, rent_usd_per_year: float, escalator: float, years: int) -> float:
    """Rent rent/12 at months 0 … 12·years − 1, stepped by (1 + g) each year, at v = 1/(1 + r_m)."""
    a, q = rent_usd_per_year / 12.0, (1.0 + escalator) * v**12
    return a * (1 - v**12) / (1 - v) * (1 - q**years) / (1 - q)


def test_a_lease_cut_by_the_horizon_counts_its_remaining_rent() -> None:
    # 1 MW leased for 10 years from month 0 at 1.6 M USD/MW-year, 2 % escalator; a 5-year horizon, no
    # tax: the rent of years 6–10 discounted to month 59 and booked there gives the NPV of all ten
    # years, the closed form of the whole lease less the 10 M capex.
    v = 1.1 ** (-1 / 12)
    whole = _lease_pv(v, 1.6e6, 0.02, 10) - 10e6
    first_five = _lease_pv(v, 1.6e6, 0.02, 5) - 10e6
    salvage = plan_cashflows(scenario(horizon_months=60), driver_paths(1, 60), margin_table())
    assert salvage.metrics.npv_difference_usd[0] == pytest.approx(whole, rel=1e-12)
    terminal = salvage.plan.terminal_value_usd[0]
    assert terminal[:59].sum() == 0.0
    # at month 59: years 6–10 are the first five years' rent × 1.02^5, one month to six years out
    expected = 1.02**5 * _lease_pv(v, 1.6e6, 0.02, 5) * v
    assert terminal[59] == pytest.approx(expected, rel=1e-12)
    assert salvage.summary.terminal_value_plan_usd is not None
    assert salvage.summary.terminal_value_plan_usd.p50 == pytest.approx(expected, rel=1e-12)
    assert salvage.summary.terminal_value_method == "salvage"
    # method none: today's figures, the first five years only
    none = plan_cashflows(
        scenario(horizon_months=60, terminal_value=NONE), driver_paths(1, 60), margin_table()
    )
    assert none.metrics.npv_difference_usd[0] == pytest.approx(first_five, rel=1e-12)
    assert none.plan.terminal_value_usd.sum() == 0.0
    assert none.summary.terminal_value_plan_usd is None
    assert any(n.startswith("No terminal value (terminal_value.method = none)") for n in none.summary.notes)


def test_a_gross_lease_nets_opex_and_the_recent_power_cost() -> None:
    # 2 MW, 1 year of rent from month 0 (200,000 USD/month at 1.2 M USD/MW-year), horizon 6 months, 0 %
    # discount: 6 months remain: rent − 2 MW × (opex 5,000 + power 30,000) = 130,000 a month → 780,000
    business = lease(
        rate_usd_per_mw_year=1.2e6,
        term_years=1,
        escalator_pct_per_year=0.0,
        structure="gross",
        opex_usd_per_mw_month=5_000.0,
    )
    plan = scenario(
        phases=[phase(convert_mw=2.0, capex_usd_per_mw=0.0, business=business)],
        horizon_months=6,
        discount_rate_pct_per_year=0.0,
    )
    flows = plan_cashflows(plan, driver_paths(1, 6), margin_table(ai_cost_usd_per_mw_month=30_000.0))
    assert flows.plan.terminal_value_usd[0, 5] == pytest.approx(6 * 130_000.0)


def test_gpus_held_at_the_horizon_are_sold_on_the_resale_line_and_taxed_as_a_sale() -> None:
    # GPUs (30 M USD) bought at month 2 and month 14 (a 1-year refresh, 25 % resale at 12 months); the
    # horizon ends at month 24: the second GPUs are 10 months old, worth 1 − 0.75 × 10/12 = 37.5 % =
    # 11.25 M USD, booked in month 23. Straight-line 3-year GPU depreciation (833,333.33 a month):
    # the basis left at month 23, 30 M − 9 × 833,333.33 = 22.5 M, is deducted there.
    spec: dict[str, Any] = {
        "phases": [phase(convert_mw=2.0, build_months=2, capex_usd_per_mw=1e6, business=gpu_cloud())],
        "depreciation": {
            "facility": {"method": "straight_line", "years": 10},
            "gpus": {"method": "straight_line", "years": 3},
        },
        "horizon_months": 24,
        "tax_rate_pct": 20.0,
    }
    paths, margins = driver_paths(1, 24), margin_table(ai_cost_usd_per_mw_month=50_000.0)
    salvage = plan_cashflows(scenario(**spec), paths, margins).plan
    none = plan_cashflows(scenario(**spec, terminal_value=NONE), paths, margins).plan
    assert salvage.terminal_value_usd[0, 23] == pytest.approx(11.25e6)
    assert salvage.terminal_value_usd[0, :23].sum() == 0.0
    assert salvage.resale_usd[0].sum() == pytest.approx(7.5e6)  # the refresh's sale, as before
    facility = 2e6 / 120  # the hall has no terminal value: not sold, its basis not written off
    assert salvage.depreciation_usd[0, 23] == pytest.approx(facility + 22.5e6)
    assert none.depreciation_usd[0, 23] == pytest.approx(facility + 30e6 / 36)
    assert none.terminal_value_usd.sum() == 0.0
    # the taxable income of month 23 gains the proceeds less the basis left: 11.25 M − 22.5 M
    change = salvage.taxable_income_usd[0, 23] - none.taxable_income_usd[0, 23]
    assert change == pytest.approx(11.25e6 - (22.5e6 - 30e6 / 36))
    assert salvage.net_usd[0, :23] == pytest.approx(none.net_usd[0, :23])


def test_gpus_without_a_refresh_cycle_sell_at_their_resale_share() -> None:
    cloud = gpu_cloud(refresh_years=None, resale_pct_of_cost=40.0)
    plan = scenario(phases=[phase(convert_mw=2.0, capex_usd_per_mw=0.0, business=cloud)], horizon_months=24)
    flows = plan_cashflows(plan, driver_paths(1, 24), margin_table())
    assert flows.plan.terminal_value_usd[0, 23] == pytest.approx(0.4 * 30e6)
    assert any(
        "deemed sold at the horizon for 40.0% of their cost, 12.00 M USD" in n for n in flows.summary.notes
    )


def test_the_hall_and_the_mining_fleet_count_only_when_the_scenario_values_them() -> None:
    # 10 MW site, 1 MW converted: the plan mines 9 MW at the horizon, the baseline 10; the hall of a
    # lease ending at the horizon is worth 2 M USD/MW, the miners 100,000 USD/MW (all of it taxable)
    terminal = {"method": "salvage", "facility_usd_per_mw": 2e6, "mining_usd_per_mw": 100_000.0}
    plan = scenario(phases=[phase(business=lease(term_years=1))], horizon_months=12, terminal_value=terminal)
    flows = plan_cashflows(plan, driver_paths(1, 12), margin_table())
    assert flows.plan.terminal_value_usd[0, 11] == pytest.approx(2e6 + 9 * 100_000.0)
    assert flows.baseline.terminal_value_usd[0, 11] == pytest.approx(10 * 100_000.0)
    assert flows.summary.terminal_value_baseline_usd is not None
    assert flows.summary.terminal_value_baseline_usd.p50 == pytest.approx(1e6)


def test_bad_terminal_values_are_refused_naming_field_value_unit_and_limit() -> None:
    site = str(EXAMPLES / "west-texas-fixed-block.yaml")

    def error(terminal: dict[str, Any]) -> str:
        with pytest.raises(ConfigError) as caught:
            parse_scenario(scenario_dict(site=site, terminal_value=terminal), source="plan.yaml")
        return str(caught.value)

    message = error({"method": "salvage", "facility_usd_per_mw": -5.0})
    assert "terminal_value.facility_usd_per_mw = -5" in message and "USD/MW" in message
    assert "greater than or equal to 0" in message
    message = error({"method": "none", "mining_usd_per_mw": 50_000.0})
    assert "mining_usd_per_mw = 50000 USD/MW is given but method = 'none'" in message
    assert "terminal_value.method" in error({"method": "resale"})

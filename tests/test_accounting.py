"""Cash flows and energy of a dispatch, on tiny cases computed by hand.

The reference fleet (conftest) is 3 MW at the meter and 100,000 TH/s: at 0.1 USD/TH/day it earns
10,000 USD/day = 416.67 USD per hour at full power.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from powerfirst.accounting.ledger import account, started_mw
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.site.schema import Site

HOURLY_USD = 10_000 / 24  # reference fleet at full power, hashprice 0.1 USD/TH/day

SiteFactory = Callable[..., Site]
InputsFactory = Callable[..., DispatchInputs]
Spec = Callable[..., dict[str, Any]]


def test_fixed_block_with_load_below_and_above_the_block(
    site_factory: SiteFactory, inputs_factory: InputsFactory, fixed_block: Spec
) -> None:
    # block 2 MW at 30 USD/MWh; loads 1.5 then 3.0 MW at prices 50 then 100; 1 h intervals
    site = site_factory(contract=fixed_block(2.0, 30.0))
    inputs = inputs_factory(site, [50.0, 100.0], 0.0)
    frame = account(inputs, np.array([[1.5, 3.0]]), initial_power_mw=np.array([1.5])).intervals
    # t0: pay the block 60, sell 0.5 MWh at 50 = 25; t1: pay the block 60, buy 1 MWh at 100
    assert frame["energy_cost_usd"].tolist() == pytest.approx([60.0, 160.0])
    assert frame["power_sellback_usd"].tolist() == pytest.approx([25.0, 0.0])
    assert frame["block_mwh"].tolist() == pytest.approx([2.0, 2.0])
    assert frame["sold_back_mwh"].tolist() == pytest.approx([0.5, 0.0])
    assert frame["bought_realtime_mwh"].tolist() == pytest.approx([0.0, 1.0])
    assert frame["consumed_mwh"].tolist() == pytest.approx([1.5, 3.0])
    # DOMAIN: energy cost net of credits = (K·Q + p·(L − Q))·Δt
    net_cost = frame["energy_cost_usd"] - frame["power_sellback_usd"]
    assert net_cost.tolist() == pytest.approx([30 * 2 + 50 * (1.5 - 2), 30 * 2 + 100 * (3 - 2)])
    assert frame["net_margin_usd"].tolist() == pytest.approx([-35.0, -160.0])


def test_load_exactly_at_the_block_neither_buys_nor_sells(
    site_factory: SiteFactory, inputs_factory: InputsFactory, fixed_block: Spec
) -> None:
    site = site_factory(contract=fixed_block(3.0, 25.0))
    inputs = inputs_factory(site, [400.0], 0.0)
    frame = account(inputs, np.array([[3.0]])).intervals
    assert frame["bought_realtime_mwh"].tolist() == [0.0]
    assert frame["sold_back_mwh"].tolist() == [0.0]
    assert frame["energy_cost_usd"].tolist() == pytest.approx([75.0])  # the price of 400 does not matter


def test_sellback_at_a_negative_price_costs_money(
    site_factory: SiteFactory, inputs_factory: InputsFactory, fixed_block: Spec
) -> None:
    site = site_factory(contract=fixed_block(2.0, 30.0))
    inputs = inputs_factory(site, [-20.0], 0.0)
    ledger = account(inputs, np.array([[0.0]]), initial_power_mw=np.array([0.0]))
    # pay the block 60 and pay 20 per MWh to get rid of 2 MWh
    assert ledger.total("power_sellback_usd") == pytest.approx(-40.0)
    assert ledger.net_margin_usd == pytest.approx(-100.0)


def test_buying_above_the_block_at_a_negative_price_earns_money(
    site_factory: SiteFactory, inputs_factory: InputsFactory, fixed_block: Spec
) -> None:
    site = site_factory(contract=fixed_block(2.0, 30.0))
    inputs = inputs_factory(site, [-20.0], 0.0)
    ledger = account(inputs, np.array([[3.0]]))
    # block 60, plus 1 MWh bought at −20
    assert ledger.total("energy_cost_usd") == pytest.approx(40.0)
    assert ledger.net_margin_usd == pytest.approx(-40.0)


def test_index_contract_with_adders_and_pool_fee(
    site_factory: SiteFactory, inputs_factory: InputsFactory
) -> None:
    site = site_factory(
        [{"name": "a", "units": 1000, "hashrate_ths": 100.0, "power_w": 3000.0, "pool_fee_fraction": 0.02}],
        contract={
            "kind": "index",
            "price_series": "p.csv:P",
            "adders_usd_per_mwh": {"tdsp": 3.0, "fee": 1.0},
        },
    )
    inputs = inputs_factory(site, [40.0, 40.0], 0.1)
    ledger = account(inputs, np.array([[3.0, 1.5]]))
    frame = ledger.intervals
    assert frame["mining_revenue_usd"].tolist() == pytest.approx([HOURLY_USD, HOURLY_USD / 2])
    assert frame["pool_fees_usd"].tolist() == pytest.approx([0.02 * HOURLY_USD, 0.01 * HOURLY_USD])
    assert frame["energy_cost_usd"].tolist() == pytest.approx([120.0, 60.0])
    assert frame["adders_usd"].tolist() == pytest.approx([12.0, 6.0])
    assert frame["power_sellback_usd"].tolist() == [0.0, 0.0]
    assert frame["block_mwh"].tolist() == [0.0, 0.0]
    assert frame["bought_realtime_mwh"].tolist() == pytest.approx([3.0, 1.5])
    assert ledger.net_margin_usd == pytest.approx(1.5 * HOURLY_USD * 0.98 - 180.0 - 18.0)
    assert ledger.uptime() == {"a": pytest.approx(0.75)}


def test_adders_are_charged_on_consumption_not_on_the_block(
    site_factory: SiteFactory, inputs_factory: InputsFactory, fixed_block: Spec
) -> None:
    site = site_factory(contract=fixed_block(2.0, 30.0, tdsp=4.0))
    inputs = inputs_factory(site, [50.0], 0.0)
    ledger = account(inputs, np.array([[1.5]]))
    assert ledger.total("adders_usd") == pytest.approx(6.0)  # 1.5 MWh × 4, not 2 MWh
    assert ledger.net_margin_usd == pytest.approx(-60.0 + 25.0 - 6.0)


def test_interval_length_scales_energy_and_money(
    site_factory: SiteFactory, inputs_factory: InputsFactory, fixed_block: Spec
) -> None:
    site = site_factory(contract=fixed_block(2.0, 30.0))
    inputs = inputs_factory(site, [50.0], 0.1, interval_minutes=15)
    frame = account(inputs, np.array([[3.0]])).intervals
    assert frame["consumed_mwh"].tolist() == pytest.approx([0.75])
    assert frame["block_mwh"].tolist() == pytest.approx([0.5])
    assert frame["bought_realtime_mwh"].tolist() == pytest.approx([0.25])
    assert frame["energy_cost_usd"].tolist() == pytest.approx([15.0 + 12.5])
    assert frame["mining_revenue_usd"].tolist() == pytest.approx([HOURLY_USD / 4])


def test_pue_reduces_hashing_per_meter_mw(
    site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory
) -> None:
    site = site_factory([fleet_spec(pue=1.2)])
    # 3.6 MW at the meter runs the whole 3 MW of machines: 100,000 TH/s
    assert site.fleets[0].max_power_mw == pytest.approx(3.6)
    inputs = inputs_factory(site, [0.0], 0.1)
    assert account(inputs, np.array([[3.6]])).total("mining_revenue_usd") == pytest.approx(HOURLY_USD)
    assert account(inputs, np.array([[1.8]])).total("mining_revenue_usd") == pytest.approx(HOURLY_USD / 2)


def test_restart_loses_hashing_when_a_fleet_starts(
    site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory
) -> None:
    site = site_factory([fleet_spec(restart_time_min=15)])
    inputs = inputs_factory(site, [10.0, 10.0, 10.0, 10.0], 0.1)
    ledger = account(inputs, np.array([[3.0, 0.0, 3.0, 3.0]]))
    # the start at t=2 draws 3 MW for 0.25 h without hashing; energy is paid in full
    assert ledger.intervals["mining_revenue_usd"].tolist() == pytest.approx(
        [HOURLY_USD, 0.0, 0.75 * HOURLY_USD, HOURLY_USD]
    )
    assert ledger.intervals["started_mw__a"].tolist() == pytest.approx([0.0, 0.0, 3.0, 0.0])
    assert ledger.intervals["energy_cost_usd"].tolist() == pytest.approx([30.0, 0.0, 30.0, 30.0])


def test_restart_from_an_initial_state_that_was_off(
    site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory
) -> None:
    # 15-min intervals, 5-min restart, 2 % pool fee: starting 1.5 MW at t=0 from off
    site = site_factory([fleet_spec(restart_time_min=5, pool_fee_fraction=0.02)])
    inputs = inputs_factory(site, [0.0, 0.0], 0.1, interval_minutes=15)
    ledger = account(inputs, np.array([[1.5, 1.5]]), initial_power_mw=np.array([0.0]))
    # hashing MWh at t0 = 1.5 × 0.25 − 1.5 × 5/60 = 0.25; at 138.89 USD/MWh gross
    rate = HOURLY_USD / 3.0
    assert ledger.intervals["mining_revenue_usd"].tolist() == pytest.approx([0.25 * rate, 0.375 * rate])
    assert ledger.net_margin_usd == pytest.approx(0.625 * rate * 0.98)
    # the default initial state is full power: no start is booked
    assert account(inputs, np.array([[1.5, 1.5]])).total("started_mw__a") == 0.0


def test_started_mw_counts_only_increases() -> None:
    power = np.array([[1.0, 0.5, 2.0, 2.0], [0.0, 1.0, 1.0, 0.0]])
    assert started_mw(power, np.array([2.0, 0.0])).tolist() == [[0.0, 0.0, 1.5, 0.0], [0.0, 1.0, 0.0, 0.0]]


def test_two_fleets_are_booked_per_fleet_and_summed(
    site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory
) -> None:
    # 'new' hashes twice as much per MW (15 J/TH)
    site = site_factory([fleet_spec("old"), fleet_spec("new", hashrate_ths=200.0)])
    inputs = inputs_factory(site, [20.0], 0.1)
    ledger = account(inputs, np.array([[1.5], [3.0]]))
    frame = ledger.intervals
    assert frame["mining_revenue_usd__old"].tolist() == pytest.approx([HOURLY_USD / 2])
    assert frame["mining_revenue_usd__new"].tolist() == pytest.approx([2 * HOURLY_USD])
    assert frame["mining_revenue_usd"].tolist() == pytest.approx([2.5 * HOURLY_USD])
    assert frame["load_mw"].tolist() == pytest.approx([4.5])
    assert ledger.uptime() == {"old": pytest.approx(0.5), "new": pytest.approx(1.0)}
    assert ledger.fleet_names == ("old", "new")


def test_all_in_cost_is_net_of_sellback(
    site_factory: SiteFactory, inputs_factory: InputsFactory, fixed_block: Spec
) -> None:
    site = site_factory(contract=fixed_block(2.0, 30.0, tdsp=2.0))
    inputs = inputs_factory(site, [50.0, 10.0], 0.0)
    ledger = account(inputs, np.array([[1.0, 3.0]]), initial_power_mw=np.array([1.0]))
    net_cost = (
        ledger.total("energy_cost_usd") + ledger.total("adders_usd") - ledger.total("power_sellback_usd")
    )
    # t0: 60 − 1 MWh sold at 50 + 2 adders = 12; t1: 60 + 1 MWh at 10 + 6 adders = 76 → 88 for 4 MWh
    assert net_cost == pytest.approx(88.0)
    assert net_cost / ledger.total("consumed_mwh") == pytest.approx(22.0)
    assert ledger.net_margin_usd == pytest.approx(-88.0)


@pytest.mark.parametrize("seed", range(5))
def test_energy_balance_and_the_domain_formula_for_a_fixed_block(
    seed: int, site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory, fixed_block: Spec
) -> None:
    rng = np.random.default_rng(seed)
    site = site_factory([fleet_spec("a"), fleet_spec("b", units=500)], contract=fixed_block(2.5, 42.0))
    prices = rng.uniform(-100.0, 300.0, 24)
    inputs = inputs_factory(site, prices, 0.0, interval_minutes=15)
    power = rng.uniform(0.0, 1.0, (2, 24)) * inputs.max_power_mw[:, None]
    frame = account(inputs, power).intervals
    load = power.sum(axis=0)
    # consumed = block + bought − sold
    balance = frame["block_mwh"] + frame["bought_realtime_mwh"] - frame["sold_back_mwh"]
    assert np.allclose(balance, frame["consumed_mwh"])
    assert np.allclose(frame["consumed_mwh"], load * 0.25)
    # buy and sell never both happen
    assert not np.any((frame["bought_realtime_mwh"] > 0) & (frame["sold_back_mwh"] > 0))
    # (K·Q + p·(L − Q))·Δt
    expected = (42.0 * 2.5 + prices * (load - 2.5)) * 0.25
    assert np.allclose(frame["energy_cost_usd"] - frame["power_sellback_usd"], expected)
    # the block's value at the real-time price less its cost is the part no decision changes
    assert inputs.constant_margin_usd() == pytest.approx(float(np.sum((prices - 42.0) * 2.5 * 0.25)))

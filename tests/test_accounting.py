"""Cash flows and energy on tiny cases computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from powerfirst.accounting import account, started_mw
from sitekit import fleet, make_inputs, make_site

BLOCK = {
    "kind": "fixed_block",
    "price_series": "ercot-rt:HB_WEST",
    "block_mw": 2.0,
    "block_price_usd_per_mwh": 30.0,
}


def test_fixed_block_below_and_above_the_block() -> None:
    # one 3 MW fleet; block 2 MW at 30; prices 50 then 100; 1 h intervals
    site = make_site([fleet()], contract=BLOCK)
    inputs = make_inputs(site, [50.0, 100.0], hashprice_usd_per_th_day=0.0)
    power = np.array([[1.5, 3.0]])
    ledger = account(inputs, power, initial_power_mw=np.array([1.5]))
    frame = ledger.intervals
    # interval 0: load 1.5 < block 2 → pay block 60, sell 0.5 MWh at 50 = 25
    # interval 1: load 3.0 > block 2 → pay block 60 + buy 1 MWh at 100 = 160, sell nothing
    assert frame["energy_cost_usd"].tolist() == pytest.approx([60.0, 160.0])
    assert frame["power_sellback_usd"].tolist() == pytest.approx([25.0, 0.0])
    assert frame["sold_back_mwh"].tolist() == pytest.approx([0.5, 0.0])
    assert frame["bought_realtime_mwh"].tolist() == pytest.approx([0.0, 1.0])
    # energy balance: consumed = block + bought − sold
    balance = frame["block_mwh"] + frame["bought_realtime_mwh"] - frame["sold_back_mwh"]
    assert np.allclose(balance, frame["consumed_mwh"])
    # the DOMAIN formula: (K·Q + p·(L − Q))·Δt
    assert (frame["energy_cost_usd"] - frame["power_sellback_usd"]).tolist() == pytest.approx(
        [30 * 2 + 50 * (1.5 - 2), 30 * 2 + 100 * (3 - 2)]
    )


def test_sellback_at_a_negative_price_costs_money() -> None:
    site = make_site([fleet()], contract=BLOCK)
    inputs = make_inputs(site, [-20.0], hashprice_usd_per_th_day=0.0)
    ledger = account(inputs, np.array([[0.0]]), initial_power_mw=np.array([0.0]))
    assert ledger.total("power_sellback_usd") == pytest.approx(-40.0)
    assert ledger.net_margin_usd == pytest.approx(-60.0 - 40.0)


def test_index_contract_with_adders_and_pool_fee() -> None:
    site = make_site(
        [fleet(pool_fee_fraction=0.02)],
        contract={"kind": "index", "price_series": "ercot-rt:HB_WEST", "adders_usd_per_mwh": {"tdsp": 4.0}},
    )
    # hashprice 0.1 USD/TH/day; fleet 100,000 TH/s → 10,000 USD/day = 416.67 USD/h at full power
    inputs = make_inputs(site, [40.0, 40.0], hashprice_usd_per_th_day=0.1)
    ledger = account(inputs, np.array([[3.0, 1.5]]))
    frame = ledger.intervals
    assert frame["mining_revenue_usd"].tolist() == pytest.approx([10_000 / 24, 10_000 / 48])
    assert frame["pool_fees_usd"].tolist() == pytest.approx([0.02 * 10_000 / 24, 0.02 * 10_000 / 48])
    assert frame["energy_cost_usd"].tolist() == pytest.approx([120.0, 60.0])
    assert frame["adders_usd"].tolist() == pytest.approx([12.0, 6.0])
    assert frame["power_sellback_usd"].tolist() == [0.0, 0.0]
    expected = 10_000 / 24 * 1.5 * 0.98 - 180.0 - 18.0
    assert ledger.net_margin_usd == pytest.approx(expected)
    assert ledger.uptime() == {"a": pytest.approx(0.75)}


def test_pue_reduces_hashing_per_meter_mw() -> None:
    site = make_site([fleet(pue=1.2)])
    # the fleet draws 3.6 MW at the meter at full power; 3.6 MW at the meter hashes 100,000 TH/s
    inputs = make_inputs(site, [0.0], hashprice_usd_per_th_day=0.1)
    ledger = account(inputs, np.array([[3.6]]))
    assert ledger.total("mining_revenue_usd") == pytest.approx(10_000 / 24)


def test_restart_loses_hashing_for_the_restart_time() -> None:
    site = make_site([fleet(restart_time_min=15)])
    inputs = make_inputs(site, [0.0, 0.0, 0.0], hashprice_usd_per_th_day=0.1)
    power = np.array([[3.0, 0.0, 3.0]])
    ledger = account(inputs, power)
    revenue = ledger.intervals["mining_revenue_usd"].tolist()
    hourly = 10_000 / 24
    # the restart in interval 2 costs 3 MW × 0.25 h of hashing
    assert revenue == pytest.approx([hourly, 0.0, hourly * 0.75])
    assert ledger.intervals["started_mw__a"].tolist() == pytest.approx([0.0, 0.0, 3.0])


def test_started_mw_counts_only_increases() -> None:
    power = np.array([[1.0, 0.5, 2.0, 2.0], [0.0, 1.0, 1.0, 0.0]])
    starts = started_mw(power, np.array([2.0, 0.0]))
    assert starts.tolist() == [[0.0, 0.0, 1.5, 0.0], [0.0, 1.0, 0.0, 0.0]]


def test_all_in_cost_is_net_of_sellback() -> None:
    site = make_site([fleet()], contract=BLOCK)
    inputs = make_inputs(site, [50.0, 10.0], hashprice_usd_per_th_day=0.0)
    ledger = account(inputs, np.array([[1.0, 3.0]]), initial_power_mw=np.array([1.0]))
    net_cost = (
        ledger.total("energy_cost_usd") + ledger.total("adders_usd") - ledger.total("power_sellback_usd")
    )
    # (60 − 50) + (60 + 10) = 80 USD for 4 MWh → 20 USD/MWh
    assert net_cost == pytest.approx(80.0)
    assert net_cost / ledger.total("consumed_mwh") == pytest.approx(20.0)

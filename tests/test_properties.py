"""Properties that hold for every site and price path (hypothesis)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.site import Site
from sitekit import fleet, make_inputs, make_site, run

STRATEGIES = ("perfect", "breakeven", "always-on")


@st.composite
def sites_and_inputs(draw: st.DrawFn) -> tuple[Site, DispatchInputs]:
    fleets: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 2))):
        fleets.append(
            fleet(
                f"f{i}",
                units=draw(st.integers(100, 2000)),
                hashrate_ths=draw(st.floats(50.0, 250.0)),
                power_w=draw(st.floats(2500.0, 3600.0)),
                pue=draw(st.floats(1.0, 1.3)),
                pool_fee_fraction=draw(st.floats(0.0, 0.03)),
                min_off_time_min=draw(st.sampled_from([0.0, 15.0, 45.0, 120.0])),
                restart_time_min=draw(st.sampled_from([0.0, 5.0, 10.0])),
                min_power_fraction=draw(st.sampled_from([0.0, 0.0, 0.2])),
            )
        )
    contract: dict[str, Any] = {"kind": "index", "price_series": "x.csv:P"}
    if draw(st.booleans()):
        contract = {
            "kind": "fixed_block",
            "price_series": "x.csv:P",
            "block_mw": draw(st.floats(0.5, 8.0)),
            "block_price_usd_per_mwh": draw(st.floats(0.0, 80.0)),
        }
    contract["adders_usd_per_mwh"] = {"a": draw(st.floats(0.0, 10.0))}
    site_draft = make_site(fleets, contract=contract)
    must_run = site_draft.must_run_mw
    grid = draw(st.floats(max(must_run, 0.1) * 1.01, max(site_draft.max_load_mw * 1.2, 0.2)))
    site = make_site(fleets, contract=contract, grid_mw=grid)
    count = draw(st.integers(2, 48))
    prices = draw(st.lists(st.floats(-50.0, 400.0), min_size=count, max_size=count))
    hashprice = draw(st.floats(0.03, 0.15))
    return site, make_inputs(site, prices, hashprice, interval_minutes=15)


def _held_off_respected(power: np.ndarray, site: Site, inputs: DispatchInputs) -> bool:
    for f, params in enumerate(inputs.fleets):
        lags = params.min_off_intervals
        previous = np.concatenate([[params.max_power_mw], power[f, :-1]])
        stopped = np.clip(previous - power[f], 0.0, None)
        for t in range(power.shape[1]):
            held = stopped[max(0, t - lags + 1) : t + 1].sum() if lags > 0 else 0.0
            if power[f, t] + held > params.max_power_mw + 1e-6:
                return False
    return True


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sites_and_inputs())
def test_every_strategy_respects_the_site(case: tuple[Site, DispatchInputs]) -> None:
    site, inputs = case
    margins = {}
    for name in STRATEGIES:
        power, ledger = run(site, inputs, name)
        # grid limit never exceeded; each fleet within [must-run, max]
        assert np.all(power.sum(axis=0) <= site.grid.connection_limit_mw + 1e-6)
        assert np.all(power >= inputs.min_power_mw[:, None] - 1e-6)
        assert np.all(power <= inputs.max_power_mw[:, None] + 1e-6)
        # anti-cycling: power switched off in the last L intervals does not run
        assert _held_off_respected(power, site, inputs)
        # energy balance closes: consumed = block + bought − sold, and equals Σ fleet power × Δt
        frame = ledger.intervals
        assert np.allclose(
            frame["block_mwh"] + frame["bought_realtime_mwh"] - frame["sold_back_mwh"], frame["consumed_mwh"]
        )
        assert np.allclose(frame["consumed_mwh"], power.sum(axis=0) * inputs.interval_hours)
        # the margin is revenues minus costs
        assert np.isclose(
            ledger.net_margin_usd,
            ledger.total("mining_revenue_usd")
            + ledger.total("power_sellback_usd")
            - ledger.total("energy_cost_usd")
            - ledger.total("adders_usd")
            - ledger.total("pool_fees_usd"),
        )
        margins[name] = ledger.net_margin_usd
    scale = 1e-7 * max(abs(v) for v in margins.values()) + 1e-6
    assert margins["perfect"] >= margins["breakeven"] - scale
    assert margins["perfect"] >= margins["always-on"] - scale

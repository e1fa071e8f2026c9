"""Properties that hold for every small site and price path (hypothesis).

Each example is small (at most 2 fleets and 48 intervals) so the file runs in seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from powerfirst.accounting.ledger import Ledger, account
from powerfirst.backtest.engine import PolicyRun
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.dispatch.optimize import optimize_dispatch
from powerfirst.policies import fill_merit_order
from powerfirst.site.compile import site_params
from powerfirst.site.schema import Site
from site_strategies import block_within, contract_specs, fleet_specs

Array = npt.NDArray[np.float64]
SiteFactory = Callable[..., Site]
InputsFactory = Callable[..., DispatchInputs]
Runner = Callable[..., tuple[PolicyRun, Ledger]]

STRATEGIES = ("perfect", "breakeven", "always-on")
TOLERANCE_MW = 1e-6

PROPERTY_SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def cases(draw: st.DrawFn, blocks: bool = False) -> dict[str, Any]:
    """A site as plain data (fleets, contract, grid as a share of the feasible range) and its arrays."""
    interval_minutes = draw(st.sampled_from([5, 15, 60]))
    fleets = [
        draw(fleet_specs(f"f{i}", interval_minutes, blocks and i == 0))
        for i in range(draw(st.integers(1, 2)))
    ]
    contract = draw(contract_specs())
    count = draw(st.integers(2, 48))
    prices = draw(st.lists(st.floats(-100.0, 600.0), min_size=count, max_size=count))
    # a daily hashprice that may change once inside the window, and a published (known) one that lags
    first, second = draw(st.floats(0.03, 0.15)), draw(st.floats(0.03, 0.15))
    change = draw(st.integers(0, count))
    realised = np.where(np.arange(count) < change, first, second)
    known = realised * draw(st.floats(0.7, 1.3))
    return {
        "fleets": fleets,
        "contract": contract,
        "grid_share": draw(st.floats(0.0, 1.0)),
        "interval_minutes": interval_minutes,
        "prices": prices,
        "realised": realised,
        "known": known,
    }


def _site_and_inputs(
    case: dict[str, Any], site_factory: SiteFactory, inputs_factory: InputsFactory
) -> tuple[Site, DispatchInputs]:
    draft = site_factory(case["fleets"], contract=case["contract"])
    low = max(draft.must_run_mw, 0.1) * 1.001
    high = max(draft.max_load_mw * 1.2, low)
    grid_mw = low + case["grid_share"] * (high - low)
    site = site_factory(case["fleets"], contract=block_within(case["contract"], grid_mw), grid_mw=grid_mw)
    inputs = inputs_factory(site, case["prices"], case["realised"], interval_minutes=case["interval_minutes"])
    return site, inputs


def _anti_cycling_violation(power: Array, inputs: DispatchInputs, initial: Array) -> float:
    """Largest excess of x[t] + (power switched off in the last L intervals) over the fleet's maximum."""
    worst = 0.0
    for f, params in enumerate(inputs.fleets):
        lags = params.min_off_intervals
        if lags == 0:
            continue
        previous = np.concatenate([[initial[f]], power[f, :-1]])
        stopped = np.clip(previous - power[f], 0.0, None)
        for t in range(power.shape[1]):
            held = stopped[max(0, t - lags + 1) : t + 1].sum()
            worst = max(worst, power[f, t] + held - params.max_power_mw)
    return worst


def _check_physics(power: Array, ledger: Ledger, inputs: DispatchInputs, initial: Array) -> None:
    grid = inputs.grid_limit_mw
    # the grid limit is never exceeded; each fleet stays within [must-run, max]
    assert np.all(power.sum(axis=0) <= grid + TOLERANCE_MW)
    assert np.all(power >= inputs.min_power_mw[:, None] - TOLERANCE_MW)
    assert np.all(power <= inputs.max_power_mw[:, None] + TOLERANCE_MW)
    # anti-cycling: power switched off within the last L intervals does not run
    assert _anti_cycling_violation(power, inputs, initial) <= TOLERANCE_MW
    # the energy balance closes: consumed = block + bought − sold = Σ fleet power × Δt
    frame = ledger.intervals
    balance = frame["block_mwh"] + frame["bought_realtime_mwh"] - frame["sold_back_mwh"]
    assert np.allclose(balance, frame["consumed_mwh"], rtol=1e-9, atol=1e-9)
    assert np.allclose(frame["consumed_mwh"], power.sum(axis=0) * inputs.interval_hours, rtol=1e-9, atol=1e-9)
    # the margin is revenues minus costs
    parts = (
        ledger.total("mining_revenue_usd")
        + ledger.total("power_sellback_usd")
        - ledger.total("energy_cost_usd")
        - ledger.total("adders_usd")
        - ledger.total("pool_fees_usd")
    )
    assert np.isclose(ledger.net_margin_usd, parts, rtol=1e-9, atol=1e-6)


def _scale(*values: float) -> float:
    return 1e-6 * max(abs(v) for v in values) + 1e-6


@PROPERTY_SETTINGS
@given(case=cases())
def test_every_strategy_respects_the_site_and_perfect_is_an_upper_bound(
    case: dict[str, Any], site_factory: SiteFactory, inputs_factory: InputsFactory, run_and_account: Runner
) -> None:
    site, inputs = _site_and_inputs(case, site_factory, inputs_factory)
    margins: dict[str, float] = {}
    runs: dict[str, PolicyRun] = {}
    for name in STRATEGIES:
        run, ledger = run_and_account(site, inputs, name, case["known"])
        _check_physics(run.power_mw, ledger, inputs, run.initial_power_mw)
        margins[name] = ledger.net_margin_usd
        runs[name] = run
    tolerance = _scale(*margins.values())
    assert margins["perfect"] >= margins["breakeven"] - tolerance
    assert margins["perfect"] >= margins["always-on"] - tolerance
    # the hindsight plan is feasible as it stands: the engine does not have to change it,
    # and its objective is what the accounting books for it
    assert runs["perfect"].adjusted_intervals == 0
    plan = optimize_dispatch(inputs)
    assert np.isclose(plan.net_margin_usd, margins["perfect"], rtol=1e-7, atol=1e-5)
    assert np.isclose(
        account(inputs, plan.power_mw).net_margin_usd, plan.net_margin_usd, rtol=1e-7, atol=1e-5
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(blocks=True))
def test_switch_blocks_run_whole_blocks_under_every_strategy(
    case: dict[str, Any], site_factory: SiteFactory, inputs_factory: InputsFactory, run_and_account: Runner
) -> None:
    site, inputs = _site_and_inputs(case, site_factory, inputs_factory)
    block = inputs.fleets[0].switch_block_mw
    assert block > 0
    bound = optimize_dispatch(inputs).upper_bound_usd
    for name in STRATEGIES:
        run, ledger = run_and_account(site, inputs, name, case["known"])
        _check_physics(run.power_mw, ledger, inputs, run.initial_power_mw)
        blocks_on = run.power_mw[0] / block
        assert np.allclose(blocks_on, np.round(blocks_on), atol=1e-6)
        if name == "perfect":
            assert run.adjusted_intervals == 0
        # no strategy beats the proven bound of the hindsight MILP
        assert ledger.net_margin_usd <= bound + _scale(bound, ledger.net_margin_usd)


@settings(max_examples=60, deadline=None)
@given(
    fleets=st.lists(
        st.tuples(
            st.integers(100, 2000), st.floats(50.0, 250.0), st.floats(1.0, 1.3), st.sampled_from([0.0, 0.3])
        ),
        min_size=1,
        max_size=2,
    ),
    grid_share=st.floats(0.0, 1.0),
    wanted_share=st.lists(st.floats(-0.5, 1.5), min_size=2, max_size=2),
    held_share=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=2),
)
def test_fill_merit_order_is_feasible_and_keeps_the_efficient_fleet_first(
    fleets: list[tuple[int, float, float, float]],
    grid_share: float,
    wanted_share: list[float],
    held_share: list[float],
    site_factory: SiteFactory,
) -> None:
    specs = [
        {
            "name": f"f{i}",
            "units": units,
            "hashrate_ths": hashrate,
            "power_w": 3000.0,
            "pue": pue,
            "min_power_fraction": must_run,
        }
        for i, (units, hashrate, pue, must_run) in enumerate(fleets)
    ]
    draft = site_factory(specs)
    low = max(draft.must_run_mw, 0.1) * 1.001
    params = site_params(
        site_factory(specs, grid_mw=low + grid_share * (draft.max_load_mw - low + 1.0)), 0.25
    )
    count = len(fleets)
    maximum, minimum = params.max_power_mw, params.min_power_mw
    wanted = np.array(wanted_share[:count]) * maximum
    available = np.maximum(maximum * (1.0 - np.array(held_share[:count])), minimum)
    result = fill_merit_order(wanted, params, available)
    assert np.all(result >= minimum - 1e-9)
    assert np.all(result <= np.maximum(np.minimum(available, maximum), minimum) + 1e-9)
    assert result.sum() <= params.grid_limit_mw + 1e-9
    target = np.clip(wanted, minimum, available)
    if target.sum() <= params.grid_limit_mw:
        assert np.allclose(result, target)  # nothing to cut: the wish is granted
    else:
        assert np.isclose(result.sum(), params.grid_limit_mw)
        # a less efficient fleet above its must-run means every better fleet got all it asked for
        order = list(params.merit_order)
        for rank, f in enumerate(order):
            if result[f] > minimum[f] + 1e-9:
                for better in order[:rank]:
                    assert np.isclose(result[better], target[better])

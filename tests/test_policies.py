"""Policies: what they may see, and the strike-price rule on hand-made price paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from powerfirst.backtest.engine import run_policy
from powerfirst.dispatch.inputs import site_params
from powerfirst.errors import ConfigError, PolicyError
from powerfirst.policies import (
    AlwaysOnPolicy,
    BreakevenPolicy,
    Observation,
    PerfectHindsightPolicy,
    Policy,
    make_policy,
)
from sitekit import fleet, make_inputs, make_site

# fleet(): 3 MW, 30 J/TH. At 0.1 USD/TH/day its breakeven is 138.89 USD/MWh.
BREAKEVEN = 10_000 / 24 / 3


def _decisions(policy: Policy, prices: list[float] | np.ndarray, **fleet_kw: object) -> np.ndarray:
    site = make_site([fleet(**fleet_kw)])  # type: ignore[arg-type]
    inputs = make_inputs(site, prices)
    return run_policy(policy, inputs, inputs.hashprice_usd_per_th_day).power_mw[0]


@pytest.mark.parametrize("name", ["breakeven", "always-on"])
def test_decisions_do_not_depend_on_the_future(name: str) -> None:
    rng = np.random.default_rng(3)
    site = make_site([fleet("a", min_off_time_min=120), fleet("b", hashrate_ths=140.0)], grid_mw=5.0)
    prices = rng.normal(120.0, 80.0, 200)
    base = make_inputs(site, prices)
    reference = run_policy(make_policy(name, site), base, base.hashprice_usd_per_th_day).power_mw
    for cut in (0, 17, 100, 199):
        future = prices.copy()
        future[cut:] = rng.normal(500.0, 400.0, 200 - cut)  # a different future from interval `cut` on
        changed = make_inputs(site, future)
        power = run_policy(make_policy(name, site), changed, changed.hashprice_usd_per_th_day).power_mw
        # decisions up to and including `cut` were taken before the price of `cut` settled
        assert np.array_equal(power[:, : cut + 1], reference[:, : cut + 1])


def test_the_spy_policy_sees_only_settled_prices() -> None:
    seen: list[tuple[int, int, float | None]] = []

    class Spy(AlwaysOnPolicy):
        def decide(self, obs: Observation) -> np.ndarray:
            seen.append((obs.step, obs.settled_prices_usd_per_mwh.size, obs.last_price_usd_per_mwh))
            with pytest.raises(ValueError, match="read-only"):
                obs.settled_prices_usd_per_mwh[...] = 0.0
            with pytest.raises(ValueError, match="read-only"):
                obs.available_mw[0] = 99.0
            return super().decide(obs)

    prices = [10.0, 20.0, 30.0, 40.0]
    _decisions(Spy(), prices)
    assert seen == [(0, 0, None), (1, 1, 10.0), (2, 2, 20.0), (3, 3, 30.0)]


def test_known_hashprice_is_what_the_policy_sees() -> None:
    site = make_site([fleet()])
    inputs = make_inputs(site, [50.0, 50.0], hashprice_usd_per_th_day=0.1)
    seen: list[float] = []

    class Spy(AlwaysOnPolicy):
        def decide(self, obs: Observation) -> np.ndarray:
            seen.append(obs.hashprice_usd_per_th_day)
            return super().decide(obs)

    run_policy(Spy(), inputs, np.array([0.07, 0.08]))
    assert seen == [0.07, 0.08]


def test_breakeven_switches_on_the_last_settled_price() -> None:
    high, low = BREAKEVEN + 50.0, BREAKEVEN - 50.0
    power = _decisions(BreakevenPolicy(hysteresis_usd_per_mwh=0.0), [low, high, high, low, low])
    # reacts one interval late: it sees the price of t-1
    assert power.tolist() == pytest.approx([3.0, 3.0, 0.0, 0.0, 3.0])


def test_breakeven_hysteresis_keeps_a_fleet_off_near_the_strike() -> None:
    just_below = BREAKEVEN - 3.0
    prices = [BREAKEVEN + 20.0, just_below, just_below, BREAKEVEN - 20.0, 0.0]
    with_band = _decisions(BreakevenPolicy(hysteresis_usd_per_mwh=5.0), prices)
    without = _decisions(BreakevenPolicy(hysteresis_usd_per_mwh=0.0), prices)
    assert with_band.tolist() == pytest.approx([3.0, 0.0, 0.0, 0.0, 3.0])
    assert without.tolist() == pytest.approx([3.0, 0.0, 3.0, 3.0, 3.0])


def test_breakeven_confirmation_ignores_one_interval_spikes() -> None:
    spike = BREAKEVEN + 100.0
    prices = [50.0, spike, 50.0, spike, spike, 50.0, 50.0, 50.0]
    confirmed = _decisions(BreakevenPolicy(hysteresis_usd_per_mwh=0.0, confirm_intervals=2), prices)
    # off only after two consecutive prices above the strike (seen at t=5), back after two below
    assert confirmed.tolist() == pytest.approx([3.0, 3.0, 3.0, 3.0, 3.0, 0.0, 0.0, 3.0])


def test_breakeven_strike_includes_adders_and_pool_fee() -> None:
    site = make_site(
        [fleet(pool_fee_fraction=0.02)],
        contract={"kind": "index", "price_series": "x.csv:P", "adders_usd_per_mwh": {"t": 4.0}},
    )
    policy = BreakevenPolicy()
    policy.reset(site_params(site, 1.0))
    assert policy.strikes_usd_per_mwh(0.1).tolist() == pytest.approx([BREAKEVEN * 0.98 - 4.0])


def test_anti_cycling_overrides_a_policy_and_is_counted() -> None:
    class Flapper(AlwaysOnPolicy):
        def decide(self, obs: Observation) -> np.ndarray:
            return np.array([0.0 if obs.step % 2 == 0 else 3.0])

    site = make_site([fleet(min_off_time_min=120)])
    inputs = make_inputs(site, [50.0] * 6)
    run = run_policy(Flapper(), inputs, inputs.hashprice_usd_per_th_day)
    assert run.power_mw[0].tolist() == pytest.approx([0.0, 0.0, 0.0, 3.0, 0.0, 0.0])
    assert run.adjusted_intervals == 2  # t=1 and t=5 asked for units still held off


def test_a_wrong_decision_shape_is_a_policy_error() -> None:
    class Broken(AlwaysOnPolicy):
        def decide(self, obs: Observation) -> np.ndarray:
            return np.array([1.0, 2.0])

    with pytest.raises(PolicyError, match="must return 1 finite fleet powers"):
        _decisions(Broken(), [10.0])


def test_perfect_needs_hindsight_from_the_backtest() -> None:
    policy = PerfectHindsightPolicy()
    site = make_site([fleet()])
    policy.reset(site_params(site, 1.0))
    obs = Observation(0, pd.Timestamp("2023-01-01", tz="UTC"), np.zeros(0), 0.1, np.ones(1), np.ones(1))
    with pytest.raises(PolicyError, match="prepare"):
        policy.decide(obs)
    assert PerfectHindsightPolicy.uses_hindsight
    assert "upper bound" in PerfectHindsightPolicy.label
    assert not BreakevenPolicy.uses_hindsight and not AlwaysOnPolicy.uses_hindsight


def test_unknown_strategy_names_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"'rolling'.*perfect, breakeven, always-on"):
        make_policy("rolling", make_site([fleet()]))

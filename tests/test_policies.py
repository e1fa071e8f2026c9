"""Policies: what they may see (no look-ahead, read-only views) and the strike-price rule by hand.

Reference fleet (conftest): 3 MW, 30 J/TH; at 0.1 USD/TH/day its breakeven is 138.89 USD/MWh.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from powerfirst.backtest.engine import run_policy
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.errors import ConfigError, PolicyError
from powerfirst.policies import (
    STRATEGIES,
    AlwaysOnPolicy,
    BreakevenPolicy,
    Observation,
    PerfectHindsightPolicy,
    Policy,
    make_policy,
)
from powerfirst.site.compile import site_params
from powerfirst.site.schema import Site

Array = npt.NDArray[np.float64]
SiteFactory = Callable[..., Site]
InputsFactory = Callable[..., DispatchInputs]
Spec = Callable[..., dict[str, Any]]

BREAKEVEN = 10_000 / 24 / 3
HIGH, LOW = BREAKEVEN + 50.0, BREAKEVEN - 50.0


@pytest.fixture
def decisions(
    site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory
) -> Callable[..., Array]:
    """``decisions(policy, prices, **fleet overrides)``: the applied power of the one reference fleet."""

    def run(policy: Policy, prices: Sequence[float], **fleet: Any) -> Array:
        inputs = inputs_factory(site_factory([fleet_spec(**fleet)]), prices)
        power: Array = run_policy(policy, inputs, inputs.hashprice_usd_per_th_day).power_mw[0]
        return power

    return run


# --- no look-ahead ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["breakeven", "always-on"])
@pytest.mark.parametrize("cut", [0, 1, 17, 60, 119])
def test_a_different_future_does_not_change_past_decisions(
    name: str, cut: int, site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory
) -> None:
    rng = np.random.default_rng(cut)
    # grid below the load so always-on has something to decide; min off time so state matters
    site = site_factory(
        [fleet_spec("a", min_off_time_min=120), fleet_spec("b", hashrate_ths=140.0, min_power_fraction=0.2)],
        grid_mw=5.0,
    )
    prices = rng.normal(BREAKEVEN, 80.0, 120)
    hashprice = rng.uniform(0.08, 0.12, 120)
    base = inputs_factory(site, prices, hashprice)
    reference = run_policy(make_policy(name, site), base, hashprice).power_mw
    future = prices.copy()
    future[cut:] = rng.normal(600.0, 400.0, 120 - cut)  # a different future from interval `cut` on
    realised_hashprice = hashprice.copy()
    realised_hashprice[cut:] *= 3.0  # the realised hashprice is not what a policy may read either
    changed = inputs_factory(site, future, realised_hashprice)
    power = run_policy(make_policy(name, site), changed, hashprice).power_mw
    # the decision for interval `cut` is taken before its price settles
    assert np.array_equal(power[:, : cut + 1], reference[:, : cut + 1])
    if name == "breakeven" and cut < 100:
        assert not np.array_equal(power, reference)  # the new future did reach later decisions


def test_the_same_experiment_catches_a_policy_that_looks_ahead(
    site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory
) -> None:
    # perfect hindsight does read the future: a spike at t=2 moves its decision at t=1. With a 3 h
    # minimum off time, switching off at t=1 (margin −8.9 USD/MWh) frees the units for t=4 (+108.9)
    site = site_factory([fleet_spec(min_off_time_min=180)])
    calm = inputs_factory(site, [30.0, 130.0, 30.0, 130.0, 30.0])
    spiky = inputs_factory(site, [30.0, 130.0, 5000.0, 130.0, 30.0])
    before = run_policy(make_policy("perfect", site), calm, calm.hashprice_usd_per_th_day).power_mw
    after = run_policy(make_policy("perfect", site), spiky, spiky.hashprice_usd_per_th_day).power_mw
    assert before[0] == pytest.approx([3.0] * 5, abs=1e-7)
    assert after[0] == pytest.approx([3.0, 0.0, 0.0, 0.0, 3.0], abs=1e-7)
    assert not np.array_equal(after[:, :2], before[:, :2])


def test_observations_show_only_settled_prices_and_are_read_only(decisions: Callable[..., Array]) -> None:
    seen: list[tuple[int, list[float], float | None]] = []
    checked: list[int] = []

    class Spy(AlwaysOnPolicy):
        def decide(self, obs: Observation) -> Array:
            seen.append((obs.step, obs.settled_prices_usd_per_mwh.tolist(), obs.last_price_usd_per_mwh))
            for array in (obs.settled_prices_usd_per_mwh, obs.power_mw, obs.available_mw):
                with pytest.raises(ValueError, match="read-only"):
                    array[...] = 0.0
            # nor can a policy change the site it runs on
            with pytest.raises(ValueError, match="read-only"):
                self.site.max_power_mw[0] = 99.0
            with pytest.raises(dataclasses.FrozenInstanceError):
                obs.step = 99  # type: ignore[misc]
            checked.append(obs.step)
            return super().decide(obs)

    decisions(Spy(), [10.0, 20.0, 30.0, 40.0])
    assert seen == [(0, [], None), (1, [10.0], 10.0), (2, [10.0, 20.0], 20.0), (3, [10.0, 20.0, 30.0], 30.0)]
    assert checked == [0, 1, 2, 3]


def test_the_policy_sees_the_known_hashprice_not_the_realised_one(
    site_factory: SiteFactory, inputs_factory: InputsFactory
) -> None:
    inputs = inputs_factory(site_factory(), [50.0, 50.0], 0.1)
    seen: list[float] = []

    class Spy(AlwaysOnPolicy):
        def decide(self, obs: Observation) -> Array:
            seen.append(obs.hashprice_usd_per_th_day)
            return super().decide(obs)

    run_policy(Spy(), inputs, np.array([0.07, 0.08]))
    assert seen == [0.07, 0.08]


def test_the_breakeven_rule_strikes_on_the_known_hashprice(
    site_factory: SiteFactory, inputs_factory: InputsFactory
) -> None:
    # a price of 150 is above the strike at 0.1 USD/TH/day (138.9) and below it at 0.2 (277.8)
    inputs = inputs_factory(site_factory(), [150.0, 150.0, 150.0], 0.1)
    realised = run_policy(BreakevenPolicy(0.0), inputs, np.full(3, 0.1)).power_mw[0]
    assert realised.tolist() == pytest.approx([3.0, 0.0, 0.0])
    richer = run_policy(BreakevenPolicy(0.0), inputs, np.full(3, 0.2)).power_mw[0]
    assert richer.tolist() == pytest.approx([3.0, 3.0, 3.0])


# --- the strike-price rule on hand-made paths ---------------------------------------------------


def test_breakeven_reacts_to_the_last_settled_price(decisions: Callable[..., Array]) -> None:
    power = decisions(BreakevenPolicy(hysteresis_usd_per_mwh=0.0), [LOW, HIGH, HIGH, LOW, LOW])
    # one interval late: the decision for t uses the price of t−1
    assert power.tolist() == pytest.approx([3.0, 3.0, 0.0, 0.0, 3.0])


def test_breakeven_hysteresis_keeps_a_fleet_off_near_the_strike(decisions: Callable[..., Array]) -> None:
    near = BREAKEVEN - 3.0  # below the strike, but inside a 5 USD/MWh band
    prices = [BREAKEVEN + 20.0, near, near, BREAKEVEN - 20.0, 0.0]
    assert decisions(BreakevenPolicy(5.0), prices).tolist() == pytest.approx([3.0, 0.0, 0.0, 0.0, 3.0])
    assert decisions(BreakevenPolicy(0.0), prices).tolist() == pytest.approx([3.0, 0.0, 3.0, 3.0, 3.0])
    # the band only delays the return: a running fleet stays on inside it
    assert decisions(BreakevenPolicy(5.0), [near, near, near]).tolist() == pytest.approx([3.0, 3.0, 3.0])


def test_breakeven_confirmation_ignores_short_spikes(decisions: Callable[..., Array]) -> None:
    spike = BREAKEVEN + 100.0
    prices = [50.0, spike, 50.0, spike, spike, 50.0, 50.0, 50.0]
    confirmed = decisions(BreakevenPolicy(0.0, confirm_intervals=2), prices)
    # off only after two consecutive settled prices above the strike (known at t=5), back after two below
    assert confirmed.tolist() == pytest.approx([3.0, 3.0, 3.0, 3.0, 3.0, 0.0, 0.0, 3.0])
    eager = decisions(BreakevenPolicy(0.0, confirm_intervals=1), prices)
    assert eager.tolist() == pytest.approx([3.0, 3.0, 0.0, 3.0, 0.0, 0.0, 3.0, 3.0])


def test_breakeven_with_a_minimum_off_time_waits_for_the_units(decisions: Callable[..., Array]) -> None:
    # off after seeing HIGH at t=0; min off 3 h holds the units off through t=3 although LOW is seen at t=2
    power = decisions(BreakevenPolicy(0.0), [HIGH, LOW, LOW, LOW, LOW, LOW], min_off_time_min=180)
    assert power.tolist() == pytest.approx([3.0, 0.0, 0.0, 0.0, 3.0, 3.0])


def test_breakeven_keeps_must_run_power_on(decisions: Callable[..., Array]) -> None:
    power = decisions(BreakevenPolicy(0.0), [HIGH, HIGH, HIGH], min_power_fraction=0.25)
    assert power.tolist() == pytest.approx([3.0, 0.75, 0.75])


def test_breakeven_strike_includes_adders_pue_and_pool_fee(
    site_factory: SiteFactory, fleet_spec: Spec
) -> None:
    site = site_factory(
        [fleet_spec(pool_fee_fraction=0.02, pue=1.25)],
        contract={"kind": "index", "price_series": "p.csv:P", "adders_usd_per_mwh": {"t": 4.0}},
    )
    policy = BreakevenPolicy()
    policy.reset(site_params(site, 1.0))
    assert policy.strikes_usd_per_mwh(0.1).tolist() == pytest.approx([BREAKEVEN / 1.25 * 0.98 - 4.0])
    assert policy.strikes_usd_per_mwh(0.2).tolist() == pytest.approx([2 * BREAKEVEN / 1.25 * 0.98 - 4.0])


def test_make_policy_reads_the_site_strategy_settings(site_factory: SiteFactory) -> None:
    site = site_factory(strategies={"breakeven": {"hysteresis_usd_per_mwh": 12.5, "confirm_intervals": 3}})
    policy = make_policy("breakeven", site)
    assert isinstance(policy, BreakevenPolicy)
    assert (policy.hysteresis_usd_per_mwh, policy.confirm_intervals) == (12.5, 3)
    default = make_policy("breakeven", site_factory())
    assert isinstance(default, BreakevenPolicy)
    assert (default.hysteresis_usd_per_mwh, default.confirm_intervals) == (5.0, 1)
    assert isinstance(make_policy("always-on", site), AlwaysOnPolicy)
    assert isinstance(make_policy("perfect", site), PerfectHindsightPolicy)


# --- the engine's guard rails -------------------------------------------------------------------


def test_anti_cycling_overrides_a_policy_and_is_counted(
    site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory
) -> None:
    class Flapper(AlwaysOnPolicy):
        def decide(self, obs: Observation) -> Array:
            return np.array([0.0 if obs.step % 2 == 0 else 3.0])

    inputs = inputs_factory(site_factory([fleet_spec(min_off_time_min=120)]), [50.0] * 6)
    run = run_policy(Flapper(), inputs, inputs.hashprice_usd_per_th_day)
    assert run.power_mw[0].tolist() == pytest.approx([0.0, 0.0, 0.0, 3.0, 0.0, 0.0])
    assert run.adjusted_intervals == 2  # t=1 and t=5 asked for units still held off
    assert run.adjustments["anti_cycling"] == 2
    assert sum(run.adjustments.values()) == 2


def test_a_decision_above_the_grid_limit_is_clipped_in_merit_order(
    site_factory: SiteFactory, fleet_spec: Spec, inputs_factory: InputsFactory
) -> None:
    class Greedy(AlwaysOnPolicy):
        def decide(self, obs: Observation) -> Array:
            return np.array([10.0, 10.0])

    site = site_factory([fleet_spec("old"), fleet_spec("new", hashrate_ths=200.0)], grid_mw=4.0)
    inputs = inputs_factory(site, [50.0, 50.0])
    run = run_policy(Greedy(), inputs, inputs.hashprice_usd_per_th_day)
    assert run.power_mw.tolist() == [pytest.approx([1.0, 1.0]), pytest.approx([3.0, 3.0])]
    assert run.adjusted_intervals == 2
    assert run.adjustments["grid_limit"] == 2


@pytest.mark.parametrize("bad", [[1.0, 2.0], [np.nan], [np.inf]])
def test_a_malformed_decision_is_a_policy_error(decisions: Callable[..., Array], bad: list[float]) -> None:
    class Broken(AlwaysOnPolicy):
        def decide(self, obs: Observation) -> Array:
            return np.array(bad)

    with pytest.raises(PolicyError, match="must return 1 finite fleet powers"):
        decisions(Broken(), [10.0])


def test_perfect_without_prepare_is_a_policy_error(site_factory: SiteFactory) -> None:
    policy = PerfectHindsightPolicy()
    policy.reset(site_params(site_factory(), 1.0))
    obs = Observation(0, pd.Timestamp("2023-01-01", tz="UTC"), np.zeros(0), 0.1, np.ones(1), np.ones(1))
    with pytest.raises(PolicyError, match=r"prepare\(\) must run before decide\(\)"):
        policy.decide(obs)
    assert PerfectHindsightPolicy.uses_hindsight and "upper bound" in PerfectHindsightPolicy.label
    assert not BreakevenPolicy.uses_hindsight and not AlwaysOnPolicy.uses_hindsight


def test_a_policy_object_can_be_reused_across_runs(
    site_factory: SiteFactory, inputs_factory: InputsFactory
) -> None:
    # reset() forgets the strike-price state of the previous run
    policy = BreakevenPolicy(0.0)
    site = site_factory()
    first = inputs_factory(site, [HIGH, HIGH, HIGH])
    second = inputs_factory(site, [LOW, LOW, LOW])
    run_policy(policy, first, first.hashprice_usd_per_th_day)
    again = run_policy(policy, second, second.hashprice_usd_per_th_day).power_mw[0]
    fresh = run_policy(BreakevenPolicy(0.0), second, second.hashprice_usd_per_th_day).power_mw[0]
    assert again.tolist() == fresh.tolist() == pytest.approx([3.0, 3.0, 3.0])


def test_perfect_forgets_its_plan_on_reset(site_factory: SiteFactory, inputs_factory: InputsFactory) -> None:
    site = site_factory()
    inputs = inputs_factory(site, [30.0, 500.0, 30.0])
    policy = PerfectHindsightPolicy()
    run_policy(policy, inputs, inputs.hashprice_usd_per_th_day)
    policy.reset(inputs.site)  # "forget all state": a later decide() without prepare() must not replay
    obs = Observation(1, inputs.times_utc[1], np.array([30.0]), 0.1, np.ones(1), np.ones(1))
    with pytest.raises(PolicyError, match="prepare"):
        policy.decide(obs)


def test_an_unknown_strategy_names_the_choices(site_factory: SiteFactory) -> None:
    with pytest.raises(
        ConfigError,
        match=r"'clairvoyant': unknown strategy; choose from perfect, breakeven, always-on, rule-based, rolling",
    ):
        make_policy("clairvoyant", site_factory())
    assert list(STRATEGIES) == ["perfect", "breakeven", "always-on", "rule-based", "rolling"]

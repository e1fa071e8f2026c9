"""The plant on its own: the site's physics applied interval by interval, each adjustment counted.

No backtest, no solver: small sites built from their parameters, decisions handed in directly.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from powerfirst.control.decision import Decision
from powerfirst.control.plant import ADJUSTMENT_KINDS, IntervalInput, Plant
from powerfirst.errors import InfeasibleError, PolicyError
from powerfirst.site.params import (
    AncillaryParams,
    FleetParams,
    HallParams,
    HeatParams,
    SiteParams,
    TrainingParams,
)


def _fleet(name: str = "a", **overrides: Any) -> FleetParams:
    values: dict[str, Any] = {
        "name": name,
        "max_power_mw": 3.0,
        "min_power_mw": 0.0,
        "pue": 1.0,
        "efficiency_j_per_th": 30.0,
        "pool_fee_fraction": 0.0,
        "hashrate_ths": 100_000.0,
        "min_off_intervals": 1,
        "restart_hours": 0.0,
    }
    return FleetParams(**(values | overrides))


def _site(*fleets: FleetParams, grid_limit_mw: float = 10.0, **extra: Any) -> SiteParams:
    return SiteParams(
        fleets=fleets or (_fleet(),),
        grid_limit_mw=grid_limit_mw,
        adder_usd_per_mwh=0.0,
        block_mw=0.0,
        block_price_usd_per_mwh=0.0,
        interval_hours=0.25,
        **extra,
    )


def _hall(gpus: float = 100.0) -> HallParams:
    return HallParams(
        name="hall",
        gpus=gpus,
        gpu_mw=0.001,
        idle_gpu_mw=0.0002,
        has_inference=True,
        inference_price_usd_per_gpu_hour=2.0,
        sla_fraction=0.0,
        penalty_usd_per_gpu_hour=0.0,
        jobs=(),
        has_rental=False,
        rental_slice_hours=0.25,
        rental_max_gpus=0.0,
    )


def _counts(applied: list[tuple[str, ...]]) -> dict[str, int]:
    counts = dict.fromkeys(ADJUSTMENT_KINDS, 0)
    for kinds in applied:
        for kind in kinds:
            counts[kind] += 1
    return counts


def test_anti_cycling_holds_a_switched_off_fleet_off_for_its_minimum_off_time() -> None:
    plant = Plant(_site(_fleet(min_off_intervals=2)))
    wanted = [0.0, 3.0, 3.0, 0.0, 2.0]
    powers, kinds, available, held = [], [], [], []
    for t, power in enumerate(wanted):
        interval = IntervalInput(hour_id=t)
        state = plant.state(interval)
        available.append(float(state.available_mw[0]))
        held.append(state.held_off_mw[0].tolist())
        applied = plant.apply(Decision(power_mw=np.array([power])), interval)
        powers.append(float(applied.power_mw[0]))
        kinds.append(applied.adjustments)
    assert powers == [0.0, 0.0, 3.0, 0.0, 0.0]
    assert available == [3.0, 0.0, 3.0, 3.0, 0.0]
    assert held == [[0.0, 0.0], [3.0, 0.0], [0.0, 0.0], [0.0, 0.0], [3.0, 0.0]]
    assert kinds == [(), ("anti_cycling",), (), (), ("anti_cycling",)]
    assert _counts(kinds)["anti_cycling"] == 2
    assert sum(_counts(kinds).values()) == 2


def test_the_grid_limit_clamps_fleets_in_merit_order_and_is_counted() -> None:
    # "new" makes more per MWh (lower J/TH): it keeps its power, "old" gets what is left
    site = _site(
        _fleet("old", efficiency_j_per_th=35.0), _fleet("new", efficiency_j_per_th=20.0), grid_limit_mw=4.0
    )
    plant = Plant(site)
    interval = IntervalInput(hour_id=0)
    applied = plant.apply(Decision(power_mw=np.array([3.0, 3.0])), interval)
    assert applied.power_mw.tolist() == [1.0, 3.0]
    assert applied.adjustments == ("grid_limit",)
    # above a fleet's max too: both kinds, once each
    applied = plant.apply(Decision(power_mw=np.array([10.0, 10.0])), IntervalInput(hour_id=0))
    assert applied.power_mw.tolist() == [1.0, 3.0]
    assert applied.adjustments == ("fleet_limits", "grid_limit")


def test_switch_blocks_round_down_and_are_counted() -> None:
    plant = Plant(_site(_fleet(switch_block_mw=1.0)))
    applied = plant.apply(Decision(power_mw=np.array([2.5])), IntervalInput(hour_id=0))
    assert applied.power_mw.tolist() == [2.0]
    assert applied.adjustments == ("switch_blocks",)


def test_an_as_offer_above_the_curtailable_load_is_scaled_and_counted() -> None:
    site = _site(
        _fleet(min_power_mw=1.0),
        ancillary=AncillaryParams(products=("regup", "rrs"), max_offer_mw=10.0),
    )
    plant = Plant(site)
    both = np.array([True, True])
    offer = np.array([1.5, 0.5])
    # 2 MW awarded for the hour; at 2 MW of fleet power only 1 MW is above must-run: halved
    first = plant.apply(
        Decision(power_mw=np.array([2.0]), as_offer_mw=offer), IntervalInput(hour_id=0, as_available=both)
    )
    assert first.as_offer_mw.tolist() == [0.75, 0.25]
    assert first.adjustments == ("as_curtailable",)
    # the award holds for the hour (a new offer is ignored); at full power it is delivered whole
    second = plant.apply(
        Decision(power_mw=np.array([3.0]), as_offer_mw=np.array([9.0, 9.0])),
        IntervalInput(hour_id=0, as_available=both),
    )
    assert second.as_offer_mw.tolist() == [1.5, 0.5]
    assert second.adjustments == ()
    # a new hour: a product without a price gets no award
    third = plant.apply(
        Decision(power_mw=np.array([3.0]), as_offer_mw=np.array([1.0, 0.5])),
        IntervalInput(hour_id=1, as_available=np.array([True, False])),
    )
    assert third.as_offer_mw.tolist() == [1.0, 0.0]
    assert third.adjustments == ("as_award_cap",)
    # the award is capped at the site's max offer (10 MW), then scaled to the 2 MW curtailable
    fourth = plant.apply(
        Decision(power_mw=np.array([3.0]), as_offer_mw=np.array([12.0, 0.0])),
        IntervalInput(hour_id=2, as_available=both),
    )
    assert fourth.as_offer_mw.tolist() == pytest.approx([2.0, 0.0], abs=1e-12)
    assert fourth.adjustments == ("as_award_cap", "as_curtailable")


def test_a_gpu_decision_above_the_hall_is_cut_and_counted() -> None:
    plant = Plant(_site(hall=_hall(gpus=100.0)))
    interval = IntervalInput(hour_id=0, inference_demand_gpus=150.0)
    applied = plant.apply(Decision(power_mw=np.array([3.0]), inference_gpus=150.0), interval)
    assert applied.inference_gpus == 100.0
    assert applied.rental_gpus == 0.0
    assert applied.power_mw.tolist() == [3.0]
    assert applied.adjustments == ("gpu_hall",)
    # the default rule serves what the hall can: not an adjustment
    applied = plant.apply(
        Decision(power_mw=np.array([3.0])), IntervalInput(hour_id=0, inference_demand_gpus=40.0)
    )
    assert applied.inference_gpus == 40.0
    assert applied.adjustments == ()


def test_the_grid_left_by_the_gpu_hall_limits_the_fleets() -> None:
    # hall: 100 GPUs × 0.0002 MW idle + 80 working × 0.0008 MW = 0.084 MW; the fleet gets the rest
    plant = Plant(_site(grid_limit_mw=3.0, hall=_hall(gpus=100.0)))
    interval = IntervalInput(hour_id=0, inference_demand_gpus=80.0)
    applied = plant.apply(Decision(power_mw=np.array([3.0])), interval)
    assert applied.inference_gpus == 80.0
    assert applied.power_mw[0] == pytest.approx(3.0 - 0.084, abs=1e-12)
    assert applied.adjustments == ("grid_limit",)


def test_heat_above_what_the_fleets_recover_is_capped_and_counted() -> None:
    site = _site(heat=HeatParams(max_mwth=5.0, price_usd_per_mwh_thermal=10.0, recovery_mwth_per_mw=0.5))
    plant = Plant(site)
    applied = plant.apply(Decision(power_mw=np.array([2.0]), heat_mwth=4.0), IntervalInput(hour_id=0))
    assert applied.heat_mwth == 1.0
    assert applied.adjustments == ("heat_cap",)
    applied = plant.apply(Decision(power_mw=np.array([2.0])), IntervalInput(hour_id=0))
    assert applied.heat_mwth == 1.0  # default: all the fleets recover
    assert applied.adjustments == ()


def test_must_run_above_the_grid_limit_cannot_be_a_plant() -> None:
    with pytest.raises(InfeasibleError, match="its constraints conflict"):
        Plant(_site(_fleet(min_power_mw=5.0), grid_limit_mw=4.0))


def test_a_malformed_decision_is_refused() -> None:
    plant = Plant(_site())
    with pytest.raises(PolicyError, match="must give 1 finite fleet powers"):
        plant.apply(Decision(power_mw=np.array([np.nan])), IntervalInput(hour_id=0))


def test_the_grid_limit_gives_a_fleet_with_switch_blocks_whole_blocks_only() -> None:
    # "new" (first in merit order) keeps its 3 MW; 1.5 MW is left, "old" switches 1 MW blocks: 1 MW
    site = _site(
        _fleet("old", efficiency_j_per_th=35.0, switch_block_mw=1.0),
        _fleet("new", efficiency_j_per_th=20.0),
        grid_limit_mw=4.5,
    )
    applied = Plant(site).apply(Decision(power_mw=np.array([3.0, 3.0])), IntervalInput(hour_id=0))
    assert applied.power_mw.tolist() == [1.0, 3.0]
    assert applied.adjustments == ("grid_limit",)


def test_small_changes_adding_up_are_counted_as_the_step_that_changed_most() -> None:
    # each step changes the fleet by less than the tolerance (1e-6 MW), both together by more:
    # 0.4e-6 MW above max (fleet_limits), 0.8e-6 MW still held off (anti_cycling, the larger)
    plant = Plant(_site(_fleet(min_off_intervals=2)))
    first = plant.apply(Decision(power_mw=np.array([3.0 - 0.8e-6])), IntervalInput(hour_id=0))
    assert first.adjustments == ()
    second = plant.apply(Decision(power_mw=np.array([3.0 + 0.4e-6])), IntervalInput(hour_id=0))
    assert second.power_mw[0] == pytest.approx(3.0 - 0.8e-6, abs=1e-12)
    assert second.adjustments == ("anti_cycling",)


def test_the_as_award_is_scaled_to_the_max_offer_by_what_is_awarded() -> None:
    # a product without a price and a negative offer get nothing; the 6 MW awarded (not the 11 MW
    # offered in all) is scaled to the site's 4 MW max offer
    site = _site(
        _fleet(max_power_mw=10.0),
        ancillary=AncillaryParams(products=("regup", "rrs", "nonspin"), max_offer_mw=4.0),
    )
    applied = Plant(site).apply(
        Decision(power_mw=np.array([10.0]), as_offer_mw=np.array([6.0, -2.0, 5.0])),
        IntervalInput(hour_id=0, as_available=np.array([True, True, False])),
    )
    assert applied.as_offer_mw.tolist() == pytest.approx([4.0, 0.0, 0.0], abs=1e-12)
    assert applied.adjustments == ("as_award_cap",)


def _job(name: str, deadline: str) -> TrainingParams:
    return TrainingParams(
        name=name,
        gpu_hours=1000.0,
        value_usd=1.0,
        min_gpus=10.0,
        max_gpus=50.0,
        checkpoint_hours=0.0,
        restart_hours=0.0,
        release_utc=pd.Timestamp("2023-01-01", tz="UTC"),
        deadline_utc=pd.Timestamp(deadline, tz="UTC"),
    )


def test_training_above_the_hall_is_cut_from_the_last_deadline_first() -> None:
    # 30 inference + 2 × 50 training on 100 GPUs: 30 too many, cut from the job due last
    hall = replace(_hall(gpus=100.0), jobs=(_job("late", "2023-03-01"), _job("early", "2023-02-01")))
    plant = Plant(_site(grid_limit_mw=100.0, hall=hall))
    interval = IntervalInput(hour_id=0, inference_demand_gpus=30.0, job_active=np.array([True, True]))
    applied = plant.apply(
        Decision(power_mw=np.array([3.0]), inference_gpus=30.0, training_gpus=np.array([50.0, 50.0])),
        interval,
    )
    assert applied.inference_gpus == 30.0
    assert applied.training_gpus.tolist() == [20.0, 50.0]
    assert applied.adjustments == ("gpu_hall",)


def test_a_rental_above_the_hall_s_rental_limit_is_cut_and_counted() -> None:
    hall = replace(_hall(gpus=100.0), has_rental=True, rental_max_gpus=20.0)
    plant = Plant(_site(grid_limit_mw=100.0, hall=hall))
    applied = plant.apply(Decision(power_mw=np.array([3.0]), rental_gpus=50.0), IntervalInput(hour_id=0))
    assert applied.rental_gpus == 20.0
    assert applied.adjustments == ("gpu_hall",)

"""Drive a policy through a window, one interval at a time, with only what it may know.

For interval t the engine builds an :class:`~powerfirst.policies.Observation` from read-only views
that end before t, asks the policy, and applies the site's physics to the answer: each fleet
within [must-run, available] (anti-cycling holds units off for their minimum off time) and the sum
within the grid limit. Adjusted decisions are counted, never hidden.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from powerfirst._types import Array
from powerfirst.control.contract import Observation, Policy
from powerfirst.control.decision import Decision, Schedule
from powerfirst.control.hall import HallState
from powerfirst.control.plant import fill_merit_order
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.errors import InfeasibleError, PolicyError
from powerfirst.market.information import MarketData
from powerfirst.policies.hindsight import HindsightPolicy

__all__ = ["PolicyRun", "run_policy"]

_TOLERANCE_MW = 1e-6


@dataclass(frozen=True)
class PolicyRun:
    """Applied decisions of one policy over a window."""

    schedule: Schedule
    """Every applied decision: fleet power, the GPU hall's split, heat, ancillary offers."""
    initial_power_mw: Array
    prepare_seconds: float
    """Time the policy spent before the run (the hindsight solve for ``perfect``) [s]."""
    decide_seconds: float
    """Time spent in ``decide`` over the whole window [s]."""
    adjusted_intervals: int
    """Intervals where the site had to change the policy's decision to make it feasible [count]."""

    @property
    def power_mw(self) -> Array:
        """Fleet power, (F, T) [MW at the meter]."""
        return self.schedule.power_mw


def _check_must_run(inputs: DispatchInputs) -> None:
    conflict = inputs.site.must_run_conflict()
    if conflict:
        raise InfeasibleError(
            "the site cannot be dispatched: its constraints conflict", explanation=[conflict]
        )


def _frozen(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    view = values.copy()
    view.flags.writeable = False
    return view


def run_policy(
    policy: Policy,
    inputs: DispatchInputs,
    known_hashprice_usd_per_th_day: Array,
    *,
    initial_power_mw: Array | None = None,
    progress: Callable[[int], None] | None = None,
    market: MarketData | None = None,
    demand_before_gpus: pd.Series | None = None,
) -> PolicyRun:
    """Run ``policy`` over ``inputs``.

    ``known_hashprice_usd_per_th_day`` (T,) is the hashprice published by the start of each
    interval (the previous UTC day's). ``progress`` is called with the number of intervals done.
    ``market`` is the realised market data that a :class:`~powerfirst.market.information.MarketClock`
    reveals to the policy as time passes (day-ahead prices once published, system load once
    metered). ``demand_before_gpus`` is the inference demand of the intervals before the window,
    indexed by their UTC start (history the policy may see from the start) [GPUs].
    """
    _check_must_run(inputs)
    site = inputs.site
    t_count = inputs.num_intervals
    fleets = site.fleets
    max_mw, min_mw = site.max_power_mw, site.min_power_mw
    initial = max_mw.copy() if initial_power_mw is None else np.asarray(initial_power_mw, dtype=np.float64)
    lags = np.array([f.min_off_intervals for f in fleets], dtype=np.int64)

    # settled prices are copied in one interval at a time, so nothing after t-1 is reachable
    # from an observation, not even through the view's base array
    settled = np.full(t_count, np.nan)
    known = np.asarray(known_hashprice_usd_per_th_day, dtype=np.float64)

    policy.reset(site)
    prepare_started = time.perf_counter()
    if isinstance(policy, HindsightPolicy):
        policy.prepare(inputs, initial)
    prepare_seconds = time.perf_counter() - prepare_started

    power = np.zeros((len(fleets), t_count))
    j_count, p_count = site.num_jobs, site.num_products
    inference = np.zeros(t_count)
    training = np.zeros((j_count, t_count))
    rental = np.zeros(t_count)
    heat = np.zeros(t_count)
    offers = np.zeros((p_count, t_count))
    hall = HallState(site.hall, inputs) if site.hall is not None else None
    stream = inputs.stream
    must_run_total = float(min_mw.sum())
    award = np.zeros(p_count)
    # stopped_before[:, t] = power switched off in intervals before t; units switched off at k stay off
    # through k + L − 1, so at t the held power is stopped_before[t] − stopped_before[t − L + 1]
    stopped_before = np.zeros((len(fleets), t_count + 1))
    fleet_index = np.arange(len(fleets))
    ahead = np.arange(int(lags.max(initial=0)))
    times = list(inputs.times_utc)
    clock = market.clock() if market is not None else None
    # inference demand is revealed one interval at a time, like the prices
    before = pd.Series(dtype=np.float64) if demand_before_gpus is None else demand_before_gpus
    demand_seen = np.concatenate([before.to_numpy(dtype=np.float64), np.full(t_count, np.nan)])
    known_before = len(before)
    demand_seen_ns = np.concatenate(
        [
            pd.DatetimeIndex(before.index).as_unit("ns").asi8
            if known_before
            else np.zeros(0, dtype=np.int64),
            np.full(t_count, np.iinfo(np.int64).min),
        ]
    )
    times_ns = inputs.times_utc.as_unit("ns").asi8
    job_in_window = (
        _frozen(np.array(stream.jobs_in_window, dtype=bool)) if j_count else np.zeros(0, dtype=bool)
    )
    previous = initial.copy()
    adjusted = 0
    decide_seconds = 0.0
    report_every = max(t_count // 200, 1)
    for t in range(t_count):
        if t > 0:
            settled[t - 1] = inputs.price_usd_per_mwh[t - 1]
        settled_view = settled[:t]
        settled_view.flags.writeable = False
        window_start = np.clip(t - lags + 1, 0, t)
        held = stopped_before[:, t] - stopped_before[fleet_index, window_start]
        available = np.maximum(max_mw - held, min_mw)
        # power switched off before t that is still held off at t + j (j = 0 .. L − 1)
        later_start = np.clip(t + ahead[None, :] - lags[:, None] + 1, 0, t)
        held_ahead = stopped_before[:, t][:, None] - stopped_before[fleet_index[:, None], later_start]
        if clock is not None:
            clock.advance(times[t])
        demand_seen[known_before + t] = stream.inference_demand_gpus[t]
        demand_seen_ns[known_before + t] = times_ns[t]
        demand_view = demand_seen[: known_before + t + 1]
        demand_view.flags.writeable = False
        demand_times_view = demand_seen_ns[: known_before + t + 1]
        demand_times_view.flags.writeable = False
        obs = Observation(
            step=t,
            interval_start_utc=times[t],
            settled_prices_usd_per_mwh=settled_view,
            hashprice_usd_per_th_day=float(known[t]),
            power_mw=_frozen(previous),
            available_mw=_frozen(available),
            held_off_mw=_frozen(held_ahead),
            inference_demand_gpus=float(stream.inference_demand_gpus[t]),
            training_remaining_gpu_hours=_frozen(hall.remaining_gpu_hours() if hall else np.zeros(0)),
            rental_slice_starts=hall.slice_starts(t) if hall else True,
            as_price_usd_per_mw_hour=_frozen(stream.as_price_usd_per_mw_hour[:, t]),
            inference_demand_history_gpus=demand_view,
            inference_demand_history_utc_ns=demand_times_view,
            rental_price_usd_per_gpu_hour=float(stream.rental_price_usd_per_gpu_hour[t]),
            rental_held_gpus=hall.rental_held if hall else 0.0,
            training_previous_gpus=_frozen(hall.previous_gpus if hall else np.zeros(0)),
            training_has_run=_frozen(hall.has_run if hall else np.zeros(0, dtype=bool)),
            training_in_window=job_in_window,
            market_view=None if clock is None else clock.view.history,
        )
        started = time.perf_counter()
        raw = policy.decide(obs)
        decide_seconds += time.perf_counter() - started
        decision = raw if isinstance(raw, Decision) else Decision(power_mw=np.asarray(raw, dtype=np.float64))
        wanted = np.asarray(decision.power_mw, dtype=np.float64)
        if wanted.shape != (len(fleets),) or not np.all(np.isfinite(wanted)):
            raise PolicyError(
                f"{policy.name}: decide() must return {len(fleets)} finite fleet powers [MW], got {wanted!r}"
            )
        was_adjusted = False
        grid_for_fleets = site.grid_limit_mw
        if hall is not None:
            a_gpu = hall.hall.active_mw_per_gpu
            room_mw = site.grid_limit_mw - site.hall_idle_mw - must_run_total
            max_working = room_mw / a_gpu if a_gpu > 0 else float("inf")
            split = hall.apply(decision, t, max_working, _TOLERANCE_MW / a_gpu if a_gpu > 0 else 0.0)
            hall.book(split)
            inference[t], training[:, t], rental[t] = (
                split.inference_gpus,
                split.training_gpus,
                split.rental_gpus,
            )
            was_adjusted |= split.adjusted
            grid_for_fleets -= site.hall_idle_mw + a_gpu * (
                split.inference_gpus + float(split.training_gpus.sum()) + split.rental_gpus
            )
        applied = fill_merit_order(wanted, site, available, grid_limit_mw=grid_for_fleets)
        was_adjusted |= bool(np.any(np.abs(applied - wanted) > _TOLERANCE_MW))
        power[:, t] = applied
        if site.heat is not None:
            most = min(site.heat.max_mwth, site.heat.recovery_mwth_per_mw * float(applied.sum()))
            heat_wanted = most if decision.heat_mwth is None else decision.heat_mwth
            heat[t] = float(np.clip(heat_wanted, 0.0, most))
            was_adjusted |= decision.heat_mwth is not None and abs(heat[t] - decision.heat_mwth) > 1e-6
        if p_count:
            anc = site.ancillary
            assert anc is not None
            if t == 0 or stream.hour_id[t] != stream.hour_id[t - 1]:
                offer = (
                    np.zeros(p_count)
                    if decision.as_offer_mw is None
                    else np.asarray(decision.as_offer_mw, dtype=np.float64)
                )
                award = np.where(stream.as_available[:, t], np.clip(offer, 0.0, None), 0.0)
                if award.sum() > anc.max_offer_mw:
                    award *= anc.max_offer_mw / award.sum()
                was_adjusted |= bool(np.any(np.abs(award - offer) > 1e-6))
            curtailable = float(applied.sum()) - must_run_total
            scale = min(1.0, curtailable / award.sum()) if award.sum() > 1e-12 else 1.0
            offers[:, t] = award * max(scale, 0.0)
            was_adjusted |= float(award.sum()) * (1.0 - max(scale, 0.0)) > _TOLERANCE_MW
        adjusted += int(was_adjusted)
        stopped_before[:, t + 1] = stopped_before[:, t] + np.clip(previous - applied, 0.0, None)
        previous = applied
        if progress is not None and (t + 1) % report_every == 0:
            progress(t + 1)
    if progress is not None:
        progress(t_count)
    return PolicyRun(
        schedule=Schedule(power, inference, training, rental, heat, offers),
        initial_power_mw=initial,
        prepare_seconds=prepare_seconds,
        decide_seconds=decide_seconds,
        adjusted_intervals=adjusted,
    )

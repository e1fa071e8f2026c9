"""The replay clock: drive a policy and the plant through a window, one interval at a time.

For interval t the engine reveals what is known by then (prices settled before t, the market data
published by then, inference demand through t), builds an :class:`~powerfirst.control.contract.Observation`
from that and the plant's state, asks the policy, and lets the
:class:`~powerfirst.control.plant.Plant` apply the site's physics to the answer. Adjusted decisions
are counted, by kind, never hidden.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from powerfirst._types import Array
from powerfirst.backtest.reveal import WindowReveal
from powerfirst.control.contract import Policy
from powerfirst.control.decision import Decision, Schedule
from powerfirst.control.plant import ADJUSTMENT_KINDS, Plant
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.errors import PolicyError
from powerfirst.market.information import MarketData
from powerfirst.policies.hindsight import HindsightPolicy

__all__ = ["PolicyRun", "run_policy"]


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
    adjustments: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ADJUSTMENT_KINDS, 0))
    """Intervals with each kind of adjustment (:data:`~powerfirst.control.plant.ADJUSTMENT_KINDS`)
    [count]; an adjusted interval counts once under each kind it took, so the counts add up to at
    least ``adjusted_intervals`` and are all 0 when it is."""

    @property
    def power_mw(self) -> Array:
        """Fleet power, (F, T) [MW at the meter]."""
        return self.schedule.power_mw


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
    site = inputs.site
    plant = Plant(site, initial_power_mw)
    t_count = inputs.num_intervals
    fleets = site.fleets
    initial = plant.initial_power_mw

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
    times = list(inputs.times_utc)
    clock = market.clock() if market is not None else None
    reveal = WindowReveal(inputs, demand_before_gpus)
    adjusted = 0
    adjustments = dict.fromkeys(ADJUSTMENT_KINDS, 0)
    decide_seconds = 0.0
    report_every = max(t_count // 200, 1)
    for t in range(t_count):
        if t > 0:
            settled[t - 1] = inputs.price_usd_per_mwh[t - 1]
        settled_view = settled[:t]
        settled_view.flags.writeable = False
        interval = reveal.interval(t)
        state = plant.state(interval)
        if clock is not None:
            clock.advance(times[t])
        obs = reveal.observe(
            t,
            interval_start_utc=times[t],
            settled_prices_usd_per_mwh=settled_view,
            hashprice_usd_per_th_day=float(known[t]),
            state=state,
            interval=interval,
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
        applied = plant.apply(decision, interval)
        power[:, t] = applied.power_mw
        inference[t], training[:, t], rental[t] = (
            applied.inference_gpus,
            applied.training_gpus,
            applied.rental_gpus,
        )
        heat[t] = applied.heat_mwth
        offers[:, t] = applied.as_offer_mw
        adjusted += int(applied.adjusted)
        for kind in applied.adjustments:
            adjustments[kind] += 1
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
        adjustments=adjustments,
    )

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

import numpy as np
import numpy.typing as npt

from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.errors import InfeasibleError, PolicyError
from powerfirst.policies.base import HindsightPolicy, Observation, Policy, fill_merit_order

__all__ = ["PolicyRun", "run_policy"]

Array = npt.NDArray[np.float64]
_TOLERANCE_MW = 1e-6


@dataclass(frozen=True)
class PolicyRun:
    """Applied fleet power of one policy over a window."""

    power_mw: Array
    """(F, T) [MW at the meter]."""
    initial_power_mw: Array
    prepare_seconds: float
    """Time the policy spent before the run (the hindsight solve for ``perfect``) [s]."""
    decide_seconds: float
    """Time spent in ``decide`` over the whole window [s]."""
    adjusted_intervals: int
    """Intervals where the site had to change the policy's decision to make it feasible [count]."""


def _check_must_run(inputs: DispatchInputs) -> None:
    conflict = inputs.site.must_run_conflict()
    if conflict:
        raise InfeasibleError(
            "the site cannot be dispatched: its constraints conflict", explanation=[conflict]
        )


def run_policy(
    policy: Policy,
    inputs: DispatchInputs,
    known_hashprice_usd_per_th_day: Array,
    *,
    initial_power_mw: Array | None = None,
    progress: Callable[[int], None] | None = None,
) -> PolicyRun:
    """Run ``policy`` over ``inputs``.

    ``known_hashprice_usd_per_th_day`` (T,) is the hashprice published by the start of each
    interval (the previous UTC day's). ``progress`` is called with the number of intervals done.
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
    # stopped_before[:, t] = power switched off in intervals before t; units switched off at k stay off
    # through k + L − 1, so at t the held power is stopped_before[t] − stopped_before[t − L + 1]
    stopped_before = np.zeros((len(fleets), t_count + 1))
    fleet_index = np.arange(len(fleets))
    times = list(inputs.times_utc)
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
        previous_view = previous.copy()
        previous_view.flags.writeable = False
        available_view = available.copy()
        available_view.flags.writeable = False
        obs = Observation(
            step=t,
            interval_start_utc=times[t],
            settled_prices_usd_per_mwh=settled_view,
            hashprice_usd_per_th_day=float(known[t]),
            power_mw=previous_view,
            available_mw=available_view,
        )
        started = time.perf_counter()
        decision = np.asarray(policy.decide(obs), dtype=np.float64)
        decide_seconds += time.perf_counter() - started
        if decision.shape != (len(fleets),) or not np.all(np.isfinite(decision)):
            raise PolicyError(
                f"{policy.name}: decide() must return {len(fleets)} finite fleet powers [MW], got {decision!r}"
            )
        applied = fill_merit_order(decision, site, available)
        if np.any(np.abs(applied - decision) > _TOLERANCE_MW):
            adjusted += 1
        power[:, t] = applied
        stopped_before[:, t + 1] = stopped_before[:, t] + np.clip(previous - applied, 0.0, None)
        previous = applied
        if progress is not None and (t + 1) % report_every == 0:
            progress(t + 1)
    if progress is not None:
        progress(t_count)
    return PolicyRun(
        power_mw=power,
        initial_power_mw=initial,
        prepare_seconds=prepare_seconds,
        decide_seconds=decide_seconds,
        adjusted_intervals=adjusted,
    )

"""The co-optimization model, built directly as sparse matrices with numpy.

One model decides, per interval t (Δt hours), the ASIC fleets' power, the GPU hall's split
between inference, training jobs and rentals, heat sold, and hourly ancillary-service offers,
under the grid limit. Columns (MW at the meter unless stated):

* ``x[f,t]`` fleet power in [must-run, max]; ``s[f,t]`` power started, ``d[f,t]`` power stopped
  (only for fleets with a restart or minimum off time); ``n[f,t]`` integer switch blocks on (only
  for fleets with ``switch_block_units``);
* ``i[t]`` inference GPUs in [0, demand]; ``q[k]`` rented GPUs in rental slice k (slices of the
  minimum rental block, aligned to market-local midnight: a rental holds for its whole slice);
* per training job j, over its [release, deadline) and per clock hour h: ``g[j,h]`` GPUs;
  ``on[j,h]`` binary (the job runs, on min..max GPUs, or not); ``u[j,h]`` starts (≥ on[h] −
  on[h−1], integral at the optimum);
* ``heat[t]`` MW thermal sold; ``a[p,h]`` MW offered of ancillary product p in clock hour h.

Constraints:

* grid:          Σ_f x + a_GPU·(i + q + Σ_j g) ≤ limit − hall idle MW           (a_GPU: MW per working GPU)
* GPUs:          i + q + Σ_j g ≤ hall GPUs
* SLA:           Σ_{t∈month} i ≥ SLA fraction · Σ_{t∈month} demand             (per market-local month)
* training:      min·on ≤ g ≤ max·on;  u[h] ≥ on[h] − on[h−1];
                 Σ_h g·Δt·(intervals in h) − (restart h + checkpoint h)·max·(Σ_h u − 1)
                   − restart h·max ≥ GPU-hours                                 (MILP: on is binary)
                 (each start loses restart time, each resume also the work since the last
                 checkpoint, both booked at the job's max GPUs: the worst case)
* heat:          heat ≤ recovery · Σ_f x
* ancillary:     Σ_p a[p,h(t)] ≤ Σ_f (x[f,t] − must-run_f) for every t;  Σ_p a[p,h] ≤ max offer
* ASIC fleets:   start/stop bookkeeping, minimum off time, switch blocks (as documented in the
  fleet section of :func:`build_dispatch_model`).

Objective (maximised; built as minimisation of its negative), with c[t] = (price + adders)·Δt +
4CP charge per MW in t (:meth:`DispatchInputs.load_cost_usd_per_mw`):

    Σ_t [ Σ_f (mining rate·Δt − c)·x − Σ_f mining rate·restart h·s
          + (inference price + penalty)·Δt·i + rental price·Δt·q − c·a_GPU·(i + q + Σ_j g)
          + heat price·Δt·heat ] + Σ_{p,h} Σ_{t∈h} AS price·Δt·a[p,h] + constant,

where the constant (:meth:`DispatchInputs.constant_margin_usd`) is the block's value at the
real-time price less its cost, minus the hall's idle power and the SLA penalty on all demand, plus
the value of the training jobs that must finish in the window. The objective equals the net margin
that :mod:`powerfirst.accounting.ledger` books for the same schedule; a test checks it. (A MILP stopped
within its gap may leave a start column above the power actually started; its objective is then
below the booked margin, which stays within the proven bound.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from powerfirst._types import Array, IntArray
from powerfirst.control.decision import Schedule
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.dispatch.lp_builder import LpBuilder
from powerfirst.dispatch.state import StartState
from powerfirst.site.params import TrainingParams
from powerfirst.solver import INF, LinearProgram

__all__ = ["DispatchModel", "build_dispatch_model"]

_MARGIN = 1e-7
"""Relative margin on the SLA and job-completion rows, so that a solution within the solver's
feasibility tolerance still meets them when booked."""


@dataclass(frozen=True)
class JobSwitch:
    """A training job's hourly columns: ``on`` (binary) and ``gpus``, with its GPU range."""

    on_cols: IntArray
    gpu_cols: IntArray
    min_gpus: float
    max_gpus: float
    lost_gpu_hours_per_resume: float
    gpu_hours_first_run: float
    """GPU-hours the job needs if it runs without a preemption (work + one restart)."""
    hour_of_active: IntArray
    """For each interval of the job's window, its hour's index into ``on_cols``."""


@dataclass
class DispatchModel:
    """The LP/MILP and the map from its columns back to a :class:`Schedule`."""

    lp: LinearProgram
    num_intervals: int
    x_cols: list[IntArray]
    inference_cols: IntArray | None = None
    rental_cols: IntArray | None = None
    job_cols: list[tuple[IntArray, IntArray]] = field(default_factory=list)
    """Per training job: (interval indices, GPU columns)."""
    heat_cols: IntArray | None = None
    as_cols: list[IntArray] = field(default_factory=list)
    """Per ancillary product: one column per clock hour (indexed by hour id)."""
    hour_id: IntArray | None = None
    num_jobs: int = 0
    job_switches: list[JobSwitch] = field(default_factory=list)
    switch_job: list[int] = field(default_factory=list)
    """The job index of each entry of ``job_switches``."""
    """The binary on/off columns of each training job (the model's only integers unless a fleet has
    switch blocks)."""

    @property
    def x_offset(self) -> list[int]:
        """Column of x[f, 0] for each fleet."""
        return [int(c[0]) for c in self.x_cols]

    def power_mw(self, solution: Array) -> Array:
        """Fleet power (F, T) [MW] from a solution vector."""
        return np.vstack([solution[c] for c in self.x_cols])

    def schedule(self, solution: Array) -> Schedule:
        t_count = self.num_intervals
        training = np.zeros((self.num_jobs, t_count))
        for j, (ts, cols) in enumerate(self.job_cols):
            training[j, ts] = solution[cols]
        for j, switch in zip(self.switch_job, self.job_switches, strict=True):
            # solver noise: a job runs on [min, max] GPUs in the hours its switch is on, else on none
            ts, _ = self.job_cols[j]
            on = np.round(solution[switch.on_cols])[switch.hour_of_active]
            training[j, ts] = np.where(
                on > 0.5, np.clip(training[j, ts], switch.min_gpus, switch.max_gpus), 0.0
            )
        offers = np.zeros((len(self.as_cols), t_count))
        if self.as_cols and self.hour_id is not None:
            for p, cols in enumerate(self.as_cols):
                offers[p] = solution[cols][self.hour_id]

        def pick(cols: IntArray | None) -> Array:
            return solution[cols].copy() if cols is not None else np.zeros(t_count)

        return Schedule(
            power_mw=self.power_mw(solution),
            inference_gpus=np.maximum(pick(self.inference_cols), 0.0),  # ≤ demand: the engine clips
            training_gpus=np.maximum(training, 0.0),
            rental_gpus=np.maximum(pick(self.rental_cols), 0.0),
            heat_mwth=np.maximum(pick(self.heat_cols), 0.0),
            as_offer_mw=np.maximum(offers, 0.0),
        )


def _lagged_sum_entries(
    rows: IntArray, cols: IntArray, lags: int, sign: float
) -> list[tuple[IntArray, IntArray, Array]]:
    """Entries of Σ_{k=t−lags+1..t} col[k] in row t, each with coefficient ``sign``."""
    t_count = rows.shape[0]
    return [
        (rows[lag:], cols[: t_count - lag], np.full(t_count - lag, sign)) for lag in range(min(lags, t_count))
    ]


def _training_job(
    b: LpBuilder,
    job: TrainingParams,
    active: IntArray,
    hour_of_t: IntArray,
    gpu_cost: Array,
    dt: float,
    resumed: tuple[float, bool, bool] | None = None,
) -> tuple[IntArray, JobSwitch]:
    """Add one training job's columns and rows; returns the GPU column of each active interval.

    GPUs are decided per clock hour (``g[h]``, with ``on[h]`` binary and ``u[h]`` ≥ on[h] − on[h−1]
    counting starts). Every start loses restart h × max GPUs GPU-hours of progress; every start
    after the first (a resume after a preemption) also loses checkpoint h × max GPUs.

    ``resumed`` = (GPU-hours of progress required in the window, has run before, runs in the
    interval before the window) for a re-solve mid-job; None: the job starts fresh and must finish.
    """
    jl = f"training job {job.name!r}"
    codes, _ = pd.factorize(hour_of_t)
    hours = np.asarray(codes, dtype=np.int64)
    n_h = int(hours.max()) + 1
    first_t = active[np.searchsorted(hours, np.arange(n_h))]
    intervals_in_hour = np.bincount(hours, minlength=n_h).astype(np.float64)
    kh = np.arange(n_h, dtype=np.int64)
    zeros, ones = np.zeros(n_h), np.ones(n_h)
    g = b.add_cols(
        f"{jl} GPUs within [0, {job.max_gpus:g}] in the hour from",
        np.bincount(hours, weights=gpu_cost[active], minlength=n_h),
        zeros,
        np.full(n_h, job.max_gpus),
        first_t,
    )
    on = b.add_cols(f"{jl} runs in the hour from", zeros, zeros, ones, first_t, integer=True)
    b.add_rows(
        f"{jl} at most {job.max_gpus:g} GPUs while it runs, in the hour from",
        np.full(n_h, -INF),
        zeros,
        [(kh, g, ones), (kh, on, np.full(n_h, -job.max_gpus))],
        first_t,
    )
    b.add_rows(
        f"{jl} at least {job.min_gpus:g} GPUs while it runs, in the hour from",
        zeros,
        np.full(n_h, INF),
        [(kh, g, ones), (kh, on, np.full(n_h, -job.min_gpus))],
        first_t,
    )
    per_start = (job.restart_hours + job.checkpoint_hours) * job.max_gpus
    # progress / GPU-hours needed ≥ 1 (scaled); the first start repeats no checkpoint
    entries: list[tuple[IntArray, IntArray, Array]] = [
        (np.zeros(n_h, dtype=np.int64), g, intervals_in_hour * dt / job.gpu_hours)
    ]
    running_before = resumed is not None and resumed[2]
    # a job that has not run yet and must make progress starts in the window: its first start
    # repeats no checkpoint (a job that has run resumes on every start)
    first_start_ahead = resumed is None or (not resumed[1] and not resumed[2] and resumed[0] > 0)
    if per_start > 0:
        u = b.add_cols(f"{jl} starts in the hour from", zeros, zeros, ones, first_t)
        start_low = zeros.copy()
        start_low[0] = -1.0 if running_before else 0.0  # continuing a run is not a start
        b.add_rows(
            f"{jl} start bookkeeping in the hour from",
            start_low,
            np.full(n_h, INF),
            [(kh, u, ones), (kh, on, -ones), (kh[1:], on[:-1], ones[1:])],
            first_t,
        )
        entries.append((np.zeros(n_h, dtype=np.int64), u, np.full(n_h, -per_start / job.gpu_hours)))
        if first_start_ahead:
            # the job starts at least once (it must finish, or make progress, and has not run):
            # this is what makes the first start's checkpoint refund below valid
            b.add_rows(
                f"{jl} starts at least once in its window",
                np.ones(1),
                np.full(1, INF),
                [(np.zeros(n_h, dtype=np.int64), u, ones)],
                active[:1],
            )
    if resumed is None:
        need = 1.0 - job.checkpoint_hours * job.max_gpus / job.gpu_hours
        what = f"finishes {job.gpu_hours:g} GPU-hours by its deadline {job.deadline_utc.isoformat()}"
    else:
        refund = job.checkpoint_hours * job.max_gpus if first_start_ahead and per_start > 0 else 0.0
        need = (resumed[0] - refund) / job.gpu_hours
        what = f"makes {resumed[0]:g} GPU-hours of progress by its deadline {job.deadline_utc.isoformat()}"
    b.add_rows(
        f"{jl} {what}, counting work from its first interval",
        np.array([need + _MARGIN]),
        np.array([INF]),
        entries,
        active[:1],
    )
    return g[hours], JobSwitch(
        on, g, job.min_gpus, job.max_gpus, per_start, job.gpu_hours + job.restart_hours * job.max_gpus, hours
    )


def build_dispatch_model(
    inputs: DispatchInputs, initial_power_mw: Array | None = None, start: StartState | None = None
) -> DispatchModel:
    """Build the co-optimization model for ``inputs``.

    ``initial_power_mw`` (F,) is each fleet's power in the interval before the first one [MW];
    default: every fleet at full power. ``start`` is the rest of the site's state for a re-solve
    mid-run; default: the hall starts with no rentals and no job started.
    """
    t_count = inputs.num_intervals
    site = inputs.site
    fleets = site.fleets
    initial = (
        site.max_power_mw if initial_power_mw is None else np.asarray(initial_power_mw, dtype=np.float64)
    )
    dt = site.interval_hours
    ts = np.arange(t_count, dtype=np.int64)
    zeros, ones = np.zeros(t_count), np.ones(t_count)
    mining = inputs.mining_rate_usd_per_mwh()
    margin = inputs.margin_rate_usd_per_mwh()
    b = LpBuilder(inputs.times_utc)

    # --- ASIC fleets: power, starts, stops, switch blocks
    x_cols: list[IntArray] = []
    for f, fleet in enumerate(fleets):
        name = fleet.name
        x_up = np.full(t_count, fleet.max_power_mw)
        x = b.add_cols(
            f"fleet {name!r} power within [{fleet.min_power_mw:g}, {fleet.max_power_mw:g}] MW "
            "(minimum is its must-run share)",
            -(margin[f] * dt - inputs.stream.fourcp_usd_per_mw),
            np.full(t_count, fleet.min_power_mw),
            x_up,
            ts,
        )
        x_cols.append(x)
        if fleet.switch_block_mw > 0:
            blocks = round(fleet.max_power_mw / fleet.switch_block_mw)
            least = round(fleet.min_power_mw / fleet.switch_block_mw)
            n = b.add_cols(
                f"fleet {name!r} number of switch blocks on",
                zeros,
                np.full(t_count, float(least)),
                np.full(t_count, float(blocks)),
                ts,
                integer=True,
            )
            b.add_rows(
                f"fleet {name!r} runs whole switch blocks of {fleet.switch_block_mw:g} MW,",
                zeros,
                zeros,
                [(ts, x, ones), (ts, n, np.full(t_count, -fleet.switch_block_mw))],
                ts,
            )
        if fleet.restart_hours <= 0 and fleet.min_off_intervals <= 0:
            continue
        s = b.add_cols(
            f"fleet {name!r} start",
            mining[f] * fleet.restart_hours,
            zeros,
            np.full(t_count, fleet.max_power_mw),
            ts,
        )
        # x[t] - x[t-1] - s[t] (+ d[t]); x[-1] = initial moves to the right-hand side
        entries = [(ts, x, ones), (ts[1:], x[:-1], -ones[1:]), (ts, s, -ones)]
        rhs = np.zeros(t_count)
        rhs[0] = initial[f]
        if fleet.min_off_intervals > 0:
            d = b.add_cols(f"fleet {name!r} stop", zeros, zeros, np.full(t_count, fleet.max_power_mw), ts)
            entries.append((ts, d, ones))
            b.add_rows(f"fleet {name!r}: power change bookkeeping", rhs, rhs.copy(), entries, ts)
            room = np.full(t_count, fleet.max_power_mw)
            if start is not None:  # units switched off before the horizon stay off too
                before = np.asarray(start.held_off_mw[f], dtype=np.float64)[
                    : min(fleet.min_off_intervals, t_count)
                ]
                room[: before.size] -= np.clip(before, 0.0, fleet.max_power_mw - fleet.min_power_mw)
            b.add_rows(
                f"fleet {name!r}: units switched off in the last {fleet.min_off_intervals} intervals stay off",
                np.full(t_count, -INF),
                room,
                [(ts, x, ones), *_lagged_sum_entries(ts, d, fleet.min_off_intervals, 1.0)],
                ts,
            )
        else:
            b.add_rows(f"fleet {name!r}: power change bookkeeping", np.full(t_count, -INF), rhs, entries, ts)

    model = DispatchModel(lp=LinearProgram.empty(), num_intervals=t_count, x_cols=x_cols)
    # --- GPU hall
    hall = site.hall
    stream = inputs.stream
    gpu_terms: list[tuple[IntArray, IntArray]] = []  # (interval index, column) of working GPUs
    max_working = np.zeros(t_count)
    if hall is not None:
        gpu_cost = inputs.gpu_load_cost_usd_per_mw() * hall.active_mw_per_gpu
        hall_label = f"GPU hall {hall.name!r}"
        if hall.has_inference:
            demand = stream.inference_demand_gpus
            i = b.add_cols(
                f"{hall_label} inference GPUs within [0, demand]",
                -(hall.inference_price_usd_per_gpu_hour + hall.penalty_usd_per_gpu_hour) * dt + gpu_cost,
                zeros,
                demand,
                ts,
            )
            model.inference_cols = i
            gpu_terms.append((ts, i))
            max_working += demand
            if hall.sla_fraction > 0:
                months = stream.month_id
                month_count = int(months.max()) + 1 if t_count else 0
                demanded = np.bincount(months, weights=demand, minlength=month_count)
                wanted = np.minimum(demanded * hall.sla_fraction * (1 + _MARGIN), demanded)
                first_t = np.array(
                    [int(np.flatnonzero(months == m)[0]) for m in range(month_count)], dtype=np.int64
                )
                b.add_rows(
                    f"{hall_label} inference SLA: GPU-hours served ≥ {hall.sla_fraction:g} of demand in the month from",
                    wanted,
                    np.full(month_count, INF),
                    [(months, i, ones)],
                    first_t,
                )
        if hall.has_rental:
            slices = stream.rental_slice_id
            n_s = int(slices.max()) + 1 if t_count else 0
            slice_first = np.searchsorted(slices, np.arange(n_s))
            q_low, q_up = np.zeros(n_s), np.full(n_s, hall.rental_max_gpus)
            if start is not None and start.rental_held_gpus is not None and n_s:
                q_low[0] = q_up[0] = start.rental_held_gpus  # held to the end of its slice
            q = b.add_cols(
                f"{hall_label} rented GPUs within [0, {hall.rental_max_gpus:g}] in the rental slice from",
                np.bincount(
                    slices, weights=-stream.rental_price_usd_per_gpu_hour * dt + gpu_cost, minlength=n_s
                ),
                q_low,
                q_up,
                slice_first,
            )
            model.rental_cols = q[slices]
            gpu_terms.append((ts, q[slices]))
            max_working += hall.rental_max_gpus
        for j, job in enumerate(hall.jobs):
            active = np.flatnonzero(stream.job_active[j]).astype(np.int64)
            if active.size == 0:
                model.job_cols.append((active, active))
                continue
            resumed = (
                None
                if start is None
                else (
                    float(start.job_min_progress_gpu_hours[j]),
                    bool(start.job_has_run[j]),
                    bool(start.job_running[j]),
                )
            )
            g_of_t, switch = _training_job(b, job, active, stream.hour_id[active], gpu_cost, dt, resumed)
            model.job_switches.append(switch)
            model.switch_job.append(j)
            model.job_cols.append((active, g_of_t))
            gpu_terms.append((active, g_of_t))
            max_working[active] += job.max_gpus
        if gpu_terms and float(max_working.max()) > hall.gpus + 1e-9:
            b.add_rows(
                f"{hall_label} has {hall.gpus:g} GPUs",
                np.full(t_count, -INF),
                np.full(t_count, hall.gpus),
                [(t_idx, cols, np.ones(t_idx.shape[0])) for t_idx, cols in gpu_terms],
                ts,
            )

    # --- grid connection limit
    hall_idle = site.hall_idle_mw
    max_load = float(site.max_power_mw.sum()) + hall_idle
    if hall is not None:
        max_load += float(np.minimum(max_working, hall.gpus).max(initial=0.0)) * hall.active_mw_per_gpu
    if site.grid_limit_mw < max_load - 1e-9:
        entries = [(ts, x, ones) for x in x_cols]
        if hall is not None:
            entries += [
                (t_idx, cols, np.full(t_idx.shape[0], hall.active_mw_per_gpu)) for t_idx, cols in gpu_terms
            ]
        b.add_rows(
            f"grid connection limit {site.grid_limit_mw:g} MW"
            + (f" (GPU hall idle {hall_idle:g} MW included)" if hall_idle > 0 else ""),
            np.full(t_count, -INF),
            np.full(t_count, site.grid_limit_mw - hall_idle),
            entries,
            ts,
        )

    # --- heat offtake
    heat = site.heat
    if heat is not None:
        h = b.add_cols(
            f"heat sold within [0, {heat.max_mwth:g}] MW thermal",
            np.full(t_count, -heat.price_usd_per_mwh_thermal * dt),
            zeros,
            np.full(t_count, heat.max_mwth),
            ts,
        )
        model.heat_cols = h
        b.add_rows(
            f"heat sold ≤ {heat.recovery_mwth_per_mw:g} MW thermal per MW of ASIC power",
            np.full(t_count, -INF),
            zeros,
            [(ts, h, ones), *[(ts, x, np.full(t_count, -heat.recovery_mwth_per_mw)) for x in x_cols]],
            ts,
        )

    # --- ancillary services, hourly offers
    anc = site.ancillary
    if anc is not None:
        hour_id = stream.hour_id
        n_h = int(hour_id.max()) + 1 if t_count else 0
        first_t = np.searchsorted(hour_id, np.arange(n_h))
        curtailable = float((site.max_power_mw - site.min_power_mw).sum())
        cap = min(curtailable, anc.max_offer_mw)
        offer_entries: list[tuple[IntArray, IntArray, Array]] = []
        for p, product in enumerate(anc.products):
            revenue = np.bincount(hour_id, weights=stream.as_price_usd_per_mw_hour[p] * dt, minlength=n_h)
            offered_hours = (
                np.bincount(hour_id, weights=(~stream.as_available[p]).astype(float), minlength=n_h) == 0
            )
            a = b.add_cols(
                f"{product} offer [MW] in the hour from",
                -revenue,
                np.zeros(n_h),
                np.where(offered_hours, cap, 0.0),
                first_t,
            )
            model.as_cols.append(a)
            offer_entries.append((ts, a[hour_id], ones))
        b.add_rows(
            "ancillary offers ≤ running ASIC power above must-run",
            np.full(t_count, -INF),
            np.full(t_count, -float(site.min_power_mw.sum())),
            [*offer_entries, *[(ts, x, -ones) for x in x_cols]],
            ts,
        )
        if len(anc.products) > 1 and np.isfinite(anc.max_offer_mw) and anc.max_offer_mw < curtailable:
            kh = np.arange(n_h, dtype=np.int64)
            b.add_rows(
                f"ancillary offers ≤ {anc.max_offer_mw:g} MW in the hour from",
                np.full(n_h, -INF),
                np.full(n_h, anc.max_offer_mw),
                [(kh, a, np.ones(n_h)) for a in model.as_cols],
                first_t,
            )
        model.hour_id = hour_id

    model.num_jobs = site.num_jobs
    model.lp = b.build(offset=-inputs.constant_margin_usd())
    return model

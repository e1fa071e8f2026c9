"""Cash flows and energy of a dispatch, per interval and in total.

Sign convention: every ``*_usd`` column is a positive amount of its kind — revenue columns are
money in, cost columns are money out — except ``power_sellback_usd``, which is negative when a
negative real-time price makes selling back cost money. ``net_margin_usd`` = revenues − costs.

Per interval (Δt hours, load L = Σ fleet power at the meter, real-time price p):

* mining revenue (gross)  = Σ_f gross rate_f × (x_f·Δt − started_f × restart hours_f)
  — a unit that starts draws power for its restart time before it hashes;
* pool fees               = pool fee fraction × mining revenue;
* energy, index contract  = p·L·Δt;
* energy, fixed block Q@K = K·Q·Δt + p·max(L − Q, 0)·Δt;   sell-back = p·max(Q − L, 0)·Δt;
* adders                  = adders·L·Δt;
* GPU hall (a: MW per working GPU over idle; L includes the hall's idle + a × working GPUs):
  inference = price × served GPUs·Δt; SLA penalty = penalty × (demand − served)·Δt;
  rental = rental price × rented GPUs·Δt; training value = a job's value, booked in the interval
  it finishes (by its deadline; a job cut by the window earns nothing);
* heat = heat price × MW thermal·Δt;  ancillary = Σ_p capacity price × MW offered·Δt;
* 4CP charge = Σ_t 4CP charge per MW in t × L (a quarter of the yearly rate per monthly peak,
  spread over the peak's intervals).

This is the same arithmetic as the objective of :mod:`powerfirst.dispatch.model`; a test checks
that they agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from powerfirst._types import Array
from powerfirst.bitcoin.economics import mining_revenue_usd_per_mwh
from powerfirst.control.decision import Schedule
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.site.params import FINISH_TOLERANCE

__all__ = ["FINISH_TOLERANCE", "JobOutcome", "Ledger", "account", "started_mw"]

RUNNING_GPUS = 1e-6
"""A training job with more GPUs than this in an interval is running."""


def started_mw(power_mw: Array, initial_power_mw: Array) -> Array:
    """Power switched on in each interval, (F, T) [MW]: max(x[t] − x[t−1], 0)."""
    previous = np.concatenate([initial_power_mw[:, None], power_mw[:, :-1]], axis=1)
    started: Array = np.clip(power_mw - previous, 0.0, None)
    return started


@dataclass(frozen=True)
class JobOutcome:
    """What happened to a training job in a run."""

    name: str
    finished: bool
    finish_utc: pd.Timestamp | None
    deadline_utc: pd.Timestamp
    preemptions: int
    """Stops before the job finished [count]."""
    starts: int
    gpu_hours_used: float
    """GPU-hours the job held, including work lost to restarts and preemptions [GPU-hours]."""
    gpu_hours_lost: float
    value_usd: float
    in_window: bool


@dataclass(frozen=True)
class Ledger:
    """The accounted result of a dispatch: one row per interval, and totals."""

    intervals: pd.DataFrame
    fleet_names: tuple[str, ...]
    max_power_mw: Array
    jobs: tuple[JobOutcome, ...] = ()

    def total(self, column: str) -> float:
        return float(self.intervals[column].sum())

    @property
    def net_margin_usd(self) -> float:
        return self.total("net_margin_usd")

    def uptime(self) -> dict[str, float]:
        """Mean share of each fleet's capacity that ran [0–1]."""
        return {
            name: float(np.clip(self.intervals[f"power_mw__{name}"].mean() / cap, 0.0, 1.0))
            if cap > 0
            else 0.0
            for name, cap in zip(self.fleet_names, self.max_power_mw, strict=True)
        }


def _training(
    inputs: DispatchInputs, training_gpus: Array
) -> tuple[Array, tuple[JobOutcome, ...], dict[str, Array]]:
    """Training value per interval (T,), each job's outcome, and per-job columns."""
    site = inputs.site
    dt = site.interval_hours
    value = np.zeros(inputs.num_intervals)
    outcomes: list[JobOutcome] = []
    columns: dict[str, Array] = {}
    if site.hall is None:
        return value, (), columns
    for j, job in enumerate(site.hall.jobs):
        g = training_gpus[j]
        previous = np.concatenate([[0.0], g[:-1]])
        starts = (g > RUNNING_GPUS) & (previous <= RUNNING_GPUS)
        resumes = starts & (np.cumsum(starts) > 1)
        lost = starts * job.restart_hours * job.max_gpus + resumes * job.checkpoint_hours * job.max_gpus
        progress = np.cumsum(g * dt - lost)
        done = np.flatnonzero(progress >= job.gpu_hours * (1 - FINISH_TOLERANCE))
        in_window = bool(inputs.stream.jobs_in_window[j]) if inputs.stream.jobs_in_window else False
        finish = int(done[0]) if done.size and in_window else None
        if finish is not None:
            value[finish] += job.value_usd
        stops = (g <= RUNNING_GPUS) & (previous > RUNNING_GPUS)
        preemptions = int(stops[: finish if finish is not None else len(g)].sum())
        outcomes.append(
            JobOutcome(
                name=job.name,
                finished=finish is not None,
                finish_utc=inputs.times_utc[finish] + pd.Timedelta(hours=dt) if finish is not None else None,
                deadline_utc=job.deadline_utc,
                preemptions=preemptions,
                starts=int(starts.sum()),
                gpu_hours_used=float(g.sum() * dt),
                gpu_hours_lost=float(lost.sum()),
                value_usd=job.value_usd if finish is not None else 0.0,
                in_window=in_window,
            )
        )
        columns[f"training_gpus__{job.name}"] = g
    return value, tuple(outcomes), columns


def account(
    inputs: DispatchInputs, schedule: Schedule | Array, initial_power_mw: Array | None = None
) -> Ledger:
    """Book the cash flows and energy of a schedule (or of fleet power alone, (F, T) [MW at the meter])."""
    site = inputs.site
    if not isinstance(schedule, Schedule):
        schedule = Schedule.mining_only(
            np.asarray(schedule, dtype=np.float64), site.num_jobs, site.num_products
        )
    power_mw = schedule.power_mw
    hall = site.hall
    working = schedule.working_gpus
    hall_mw = (
        (hall.idle_power_mw + hall.active_mw_per_gpu * working) if hall else np.zeros(inputs.num_intervals)
    )
    training_value, jobs, job_columns = _training(inputs, schedule.training_gpus)
    extra = _hall_and_programs(inputs, schedule, hall_mw)
    extra.update(job_columns)
    extra["training_value_usd"] = training_value
    ledger = _mining_and_energy(inputs, power_mw, initial_power_mw, hall_mw, extra)
    return Ledger(ledger.intervals, ledger.fleet_names, ledger.max_power_mw, jobs)


def _hall_and_programs(inputs: DispatchInputs, schedule: Schedule, hall_mw: Array) -> dict[str, Array]:
    site = inputs.site
    dt = site.interval_hours
    t_count = inputs.num_intervals
    stream = inputs.stream
    hall = site.hall
    cols: dict[str, Array] = {}
    zeros = np.zeros(t_count)
    demand = stream.inference_demand_gpus if hall is not None and hall.has_inference else zeros
    served = schedule.inference_gpus
    cols["hall_power_mw"] = hall_mw
    cols["inference_demand_gpus"] = demand
    cols["inference_gpus"] = served
    cols["rental_gpus"] = schedule.rental_gpus
    cols["idle_gpus"] = np.clip((hall.gpus if hall else 0.0) - schedule.working_gpus, 0.0, None)
    if hall is not None:
        cols["inference_revenue_usd"] = hall.inference_price_usd_per_gpu_hour * served * dt
        cols["sla_penalty_usd"] = hall.penalty_usd_per_gpu_hour * np.clip(demand - served, 0.0, None) * dt
        cols["rental_revenue_usd"] = stream.rental_price_usd_per_gpu_hour * schedule.rental_gpus * dt
        cols["inference_mwh"] = served * hall.gpu_mw * dt
        cols["training_mwh"] = schedule.training_gpus.sum(axis=0) * hall.gpu_mw * dt
        cols["rental_mwh"] = schedule.rental_gpus * hall.gpu_mw * dt
        cols["gpu_idle_mwh"] = cols["idle_gpus"] * hall.idle_gpu_mw * dt
    else:
        for name in (
            "inference_revenue_usd",
            "sla_penalty_usd",
            "rental_revenue_usd",
            "inference_mwh",
            "training_mwh",
            "rental_mwh",
            "gpu_idle_mwh",
        ):
            cols[name] = zeros
    heat_price = site.heat.price_usd_per_mwh_thermal if site.heat else 0.0
    cols["heat_mwth"] = schedule.heat_mwth
    cols["heat_revenue_usd"] = heat_price * schedule.heat_mwth * dt
    anc_revenue = np.zeros(t_count)
    if site.ancillary is not None:
        for p, product in enumerate(site.ancillary.products):
            cols[f"as_offer_mw__{product}"] = schedule.as_offer_mw[p]
            revenue = stream.as_price_usd_per_mw_hour[p] * schedule.as_offer_mw[p] * dt
            cols[f"ancillary_revenue_usd__{product}"] = revenue
            anc_revenue = anc_revenue + revenue
    cols["ancillary_revenue_usd"] = anc_revenue
    cols["fourcp_usd_per_mw"] = stream.fourcp_usd_per_mw
    return cols


def _mining_and_energy(
    inputs: DispatchInputs,
    power_mw: Array,
    initial_power_mw: Array | None,
    hall_mw: Array,
    extra: dict[str, Array],
) -> Ledger:
    site = inputs.site
    dt = site.interval_hours
    price = inputs.price_usd_per_mwh
    initial = site.max_power_mw if initial_power_mw is None else initial_power_mw
    starts = started_mw(power_mw, initial)
    asic_mw = power_mw.sum(axis=0)
    load = asic_mw + hall_mw

    gross_mining = np.zeros(inputs.num_intervals)
    pool_fees = np.zeros(inputs.num_intervals)
    columns: dict[str, Array] = {}
    for f, fleet in enumerate(site.fleets):
        gross_rate = np.asarray(
            mining_revenue_usd_per_mwh(
                inputs.hashprice_usd_per_th_day, fleet.efficiency_j_per_th, pue=fleet.pue
            )
        )
        hashing_mwh = power_mw[f] * dt - starts[f] * fleet.restart_hours
        revenue = gross_rate * hashing_mwh
        gross_mining += revenue
        pool_fees += revenue * fleet.pool_fee_fraction
        columns[f"power_mw__{fleet.name}"] = power_mw[f]
        columns[f"started_mw__{fleet.name}"] = starts[f]
        columns[f"mining_revenue_usd__{fleet.name}"] = revenue

    if site.block_mw > 0:
        bought_mwh = np.clip(load - site.block_mw, 0.0, None) * dt
        sold_mwh = np.clip(site.block_mw - load, 0.0, None) * dt
        block_mwh = np.full(inputs.num_intervals, site.block_mw * dt)
        energy_cost = site.block_price_usd_per_mwh * block_mwh + price * bought_mwh
    else:
        bought_mwh = load * dt
        sold_mwh = np.zeros(inputs.num_intervals)
        block_mwh = np.zeros(inputs.num_intervals)
        energy_cost = price * bought_mwh
    sellback = price * sold_mwh
    adders = site.adder_usd_per_mwh * load * dt
    fourcp = inputs.stream.fourcp_usd_per_mw * load
    revenue = (
        extra["inference_revenue_usd"]
        + extra["training_value_usd"]
        + extra["rental_revenue_usd"]
        + extra["heat_revenue_usd"]
        + extra["ancillary_revenue_usd"]
    )
    net = (
        gross_mining
        - pool_fees
        - energy_cost
        - adders
        + sellback
        + revenue
        - extra["sla_penalty_usd"]
        - fourcp
    )

    frame = pd.DataFrame(
        {
            "price_usd_per_mwh": price,
            "hashprice_usd_per_ph_day": inputs.hashprice_usd_per_th_day * 1000.0,
            "load_mw": load,
            "asic_power_mw": asic_mw,
            **columns,
            **extra,
            "consumed_mwh": load * dt,
            "mining_mwh": asic_mw * dt,
            "block_mwh": block_mwh,
            "bought_realtime_mwh": bought_mwh,
            "sold_back_mwh": sold_mwh,
            "mining_revenue_usd": gross_mining,
            "pool_fees_usd": pool_fees,
            "energy_cost_usd": energy_cost,
            "adders_usd": adders,
            "power_sellback_usd": sellback,
            "fourcp_charge_usd": fourcp,
            "net_margin_usd": net,
        },
        index=pd.DatetimeIndex(inputs.times_utc, name="interval_start_utc"),
    )
    return Ledger(
        intervals=frame,
        fleet_names=tuple(f.name for f in site.fleets),
        max_power_mw=site.max_power_mw,
    )

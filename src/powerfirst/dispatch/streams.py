"""The GPU hall, heat offtake, 4CP and ancillary services reduced to what dispatch needs.

Static parameters (:class:`HallParams`, :class:`TrainingParams`, :class:`HeatParams`,
:class:`AncillaryParams`) live in :class:`~powerfirst.dispatch.inputs.SiteParams`; the arrays over
the window (:class:`StreamArrays`) live in :class:`~powerfirst.dispatch.inputs.DispatchInputs`.

Conventions: GPU counts are continuous; hall power at the meter is
``idle MW + active MW per GPU × working GPUs``; a training job's window is [release, deadline).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from powerfirst.csv_input import split_path_column
from powerfirst.errors import ConfigError, DataError
from powerfirst.market.grid_programs import (
    ERCOT_TIMEZONE,
    ancillary_prices,
    check_fourcp_months,
    fourcp_peaks,
    fourcp_weights,
)
from powerfirst.market.window import parse_window
from powerfirst.site import Site
from powerfirst.site_streams import ConstantDemand, CsvDemand, GpuHall, TrainingJob
from powerfirst.workloads.demand import (
    alibaba_lora_weekly_profile,
    constant_demand,
    demand_from_csv,
    demand_from_profile,
)

__all__ = [
    "AncillaryParams",
    "HallParams",
    "HeatParams",
    "StreamArrays",
    "TrainingParams",
    "build_stream_arrays",
    "calendar_ids",
    "hall_params",
    "inference_demand_gpus",
]

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class TrainingParams:
    name: str
    gpu_hours: float
    value_usd: float
    min_gpus: float
    max_gpus: float
    checkpoint_hours: float
    """Work repeated on each resume after a preemption, per GPU [h]."""
    restart_hours: float
    """No-progress time on every start, per GPU [h]."""
    release_utc: pd.Timestamp
    deadline_utc: pd.Timestamp


@dataclass(frozen=True)
class HallParams:
    name: str
    gpus: float
    gpu_mw: float
    """Meter power of one working GPU [MW/GPU]."""
    idle_gpu_mw: float
    """Meter power of one idle GPU [MW/GPU]."""
    has_inference: bool
    inference_price_usd_per_gpu_hour: float
    sla_fraction: float
    penalty_usd_per_gpu_hour: float
    jobs: tuple[TrainingParams, ...]
    has_rental: bool
    rental_slice_hours: float
    rental_max_gpus: float

    @property
    def idle_power_mw(self) -> float:
        """The whole hall with no work, at the meter [MW]."""
        return self.gpus * self.idle_gpu_mw

    @property
    def active_mw_per_gpu(self) -> float:
        """Extra meter power of a working GPU over an idle one [MW/GPU]."""
        return self.gpu_mw - self.idle_gpu_mw

    @property
    def max_power_mw(self) -> float:
        return self.idle_power_mw + self.active_mw_per_gpu * self.gpus


@dataclass(frozen=True)
class HeatParams:
    max_mwth: float
    price_usd_per_mwh_thermal: float
    recovery_mwth_per_mw: float


@dataclass(frozen=True)
class AncillaryParams:
    products: tuple[str, ...]
    max_offer_mw: float


def _job_params(job: TrainingJob, timezone: str) -> TrainingParams:
    window = parse_window(job.release, job.deadline, timezone)
    return TrainingParams(
        name=job.name,
        gpu_hours=job.gpu_hours,
        value_usd=job.value_usd,
        min_gpus=job.min_gpus,
        max_gpus=job.max_gpus,
        checkpoint_hours=job.checkpoint_interval_min / 60.0,
        restart_hours=job.restart_time_min / 60.0,
        release_utc=window.start_utc,
        deadline_utc=window.end_utc,
    )


def hall_params(hall: GpuHall, timezone: str, interval_hours: float) -> HallParams:
    """The static part of a GPU hall; job dates are read in ``timezone`` (market-local)."""
    jobs = []
    for i, job in enumerate(hall.training_jobs):
        try:
            jobs.append(_job_params(job, timezone))
        except ConfigError as exc:
            message = str(exc).replace("--start", "release").replace("--end", "deadline")
            raise ConfigError(f"gpu_hall.training_jobs[{i}] (job {job.name!r}): {message}") from None
    rental = hall.rental
    if rental is not None and rental.min_block_hours < interval_hours - 1e-9:
        raise ConfigError(
            f"gpu_hall.rental.min_block_hours = {rental.min_block_hours:g} hours is shorter than the price "
            f"interval of {interval_hours * 60:g} min: a rental slice is at least one interval; give at least "
            f"{interval_hours:g} hours"
        )
    if rental is not None:
        intervals = rental.min_block_hours / interval_hours
        if abs(intervals - round(intervals)) > 1e-6:
            lower = max(1, math.floor(intervals)) * interval_hours
            upper = math.ceil(intervals) * interval_hours
            raise ConfigError(
                f"gpu_hall.rental.min_block_hours = {rental.min_block_hours:g} hours is not a whole number of "
                f"price intervals of {interval_hours * 60:g} min ({intervals:.4g} intervals): a rental slice "
                f"is made of whole intervals; give {lower:g} or {upper:g} hours"
            )
    pue = hall.pue
    return HallParams(
        name=hall.name,
        gpus=hall.gpus,
        gpu_mw=hall.gpu_power_w * pue / 1e6,
        idle_gpu_mw=hall.idle_power_w * pue / 1e6,
        has_inference=hall.inference is not None,
        inference_price_usd_per_gpu_hour=hall.inference.price_usd_per_gpu_hour if hall.inference else 0.0,
        sla_fraction=hall.inference.sla_availability_fraction if hall.inference else 0.0,
        penalty_usd_per_gpu_hour=hall.inference.penalty_usd_per_gpu_hour if hall.inference else 0.0,
        jobs=tuple(jobs),
        has_rental=rental is not None,
        rental_slice_hours=rental.min_block_hours if rental else interval_hours,
        rental_max_gpus=(
            min(hall.gpus, rental.max_gpus if rental.max_gpus is not None else hall.gpus) if rental else 0.0
        ),
    )


@dataclass(frozen=True)
class StreamArrays:
    """Per-interval data of the non-mining streams over a window (T intervals)."""

    inference_demand_gpus: Array
    """GPUs the inference service asks for, (T,) [GPUs]."""
    rental_price_usd_per_gpu_hour: Array
    """(T,) [USD/GPU-hour]."""
    as_price_usd_per_mw_hour: Array
    """Day-ahead capacity price per product, (P, T) [USD/MW per hour]; 0 where the product has none."""
    as_available: BoolArray
    """(P, T): False where a product has no price (not offered)."""
    fourcp_usd_per_mw: Array
    """4CP charge per MW of site load in each interval, (T,) [USD/MW]."""
    month_id: IntArray
    """SLA period (market-local calendar month) of each interval, numbered from 0, (T,)."""
    hour_id: IntArray
    """Clock hour (UTC) of each interval, numbered from 0, (T,): ancillary offers and training
    on/off decisions are hourly."""
    rental_slice_id: IntArray
    """Rental slice of each interval, numbered from 0, (T,): slices of the minimum rental block,
    aligned to market-local midnight (a day that is not a whole number of slices ends with a
    shorter one)."""
    job_active: BoolArray
    """(J, T): True inside each training job's [release, deadline)."""
    jobs_in_window: tuple[bool, ...]
    """Per job: its whole [release, deadline) lies inside the window (others are not scheduled)."""
    fourcp_peaks: list[dict[str, object]] = field(default_factory=list)
    month_labels: tuple[str, ...] = ()


def inference_demand_gpus(hall: GpuHall, times_utc: pd.DatetimeIndex, timezone: str) -> Array:
    """The inference service's demand in each interval [GPUs] (the hall must have ``inference``).

    Raises DataError when the demand is above the hall's GPUs or a CSV does not cover the times.
    """
    assert hall.inference is not None
    spec = hall.inference.demand
    if isinstance(spec, ConstantDemand):
        demand = constant_demand(times_utc, spec.gpus)
    elif isinstance(spec, CsvDemand):
        demand = demand_from_csv(spec.path, spec.column, times_utc)
    else:
        demand = demand_from_profile(alibaba_lora_weekly_profile(), times_utc, timezone, spec.peak_gpus)
    too_many = demand > hall.gpus + 1e-9
    if too_many.any():
        first = int(np.flatnonzero(too_many)[0])
        raise DataError(
            f"gpu_hall.inference.demand: {demand[first]:g} GPUs required at {times_utc[first].isoformat()} "
            f"is above the hall's {hall.gpus:g} GPUs"
        )
    return demand


_NS_PER_HOUR = 3_600_000_000_000


def calendar_ids(
    times_utc: pd.DatetimeIndex, timezone: str, slice_hours: float
) -> tuple[IntArray, tuple[str, ...], IntArray, IntArray]:
    """Numbered periods of each interval, from 0: (SLA month, its labels, clock hour, rental slice).

    Months are market-local calendar months; clock hours are UTC hours; rental slices are blocks of
    ``slice_hours`` from market-local midnight.
    """
    local = times_utc.tz_convert(timezone)
    utc_ns = times_utc.as_unit("ns").asi8
    # integer keys, factorized in order of appearance (no strings: a rolling controller calls
    # this for every re-solve)
    month_key = np.asarray(local.year, dtype=np.int64) * 12 + np.asarray(local.month, dtype=np.int64) - 1
    month_codes, month_keys = pd.factorize(month_key)
    hour_codes, _ = pd.factorize(utc_ns // _NS_PER_HOUR)
    since_midnight = (utc_ns - local.normalize().as_unit("ns").asi8) / _NS_PER_HOUR
    slice_in_day = np.floor(since_midnight / slice_hours + 1e-9).astype(np.int64)
    local_day = local.tz_localize(None).as_unit("ns").asi8 // (24 * _NS_PER_HOUR)
    slice_codes, _ = pd.factorize(local_day * 100_000 + slice_in_day)
    return (
        np.asarray(month_codes, dtype=np.int64),
        tuple(f"{int(k) // 12:04d}-{int(k) % 12 + 1:02d}" for k in month_keys),
        np.asarray(hour_codes, dtype=np.int64),
        np.asarray(slice_codes, dtype=np.int64),
    )


def build_stream_arrays(
    site: Site,
    times_utc: pd.DatetimeIndex,
    timezone: str,
    interval_hours: float,
    hall: HallParams | None,
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> StreamArrays:
    """Load every per-interval series the site's streams need over ``times_utc``.

    ``window`` is the backtest's [start, end) in UTC (default: the first interval's start to the
    last one's end); a training job is scheduled when its [release, deadline) lies inside it.
    """
    t_count = len(times_utc)
    slice_hours = hall.rental_slice_hours if hall else interval_hours
    month_codes, month_labels, hour_codes, slice_codes = calendar_ids(times_utc, timezone, slice_hours)

    demand = np.zeros(t_count)
    rental_price = np.zeros(t_count)
    if window is not None:
        bounds = window
    elif t_count:
        bounds = (times_utc[0], times_utc[-1] + pd.Timedelta(hours=interval_hours))
    else:
        bounds = (pd.Timestamp(0, tz="UTC"), pd.Timestamp(0, tz="UTC"))
    jobs = hall.jobs if hall else ()
    job_active = np.zeros((len(jobs), t_count), dtype=bool)
    in_window = []
    if site.gpu_hall is not None and hall is not None:
        cfg = site.gpu_hall
        if cfg.inference is not None:
            demand = inference_demand_gpus(cfg, times_utc, timezone)
        if cfg.rental is not None:
            if cfg.rental.price_series is not None:
                path, column = split_path_column(cfg.rental.price_series) or ("", cfg.rental.price_series)
                rental_price = demand_from_csv(path, column, times_utc, "rental price", "USD/GPU-hour")
            else:
                rental_price = np.full(t_count, float(cfg.rental.price_usd_per_gpu_hour or 0.0))
        for j, job in enumerate(jobs):
            job_active[j] = (times_utc >= job.release_utc) & (times_utc < job.deadline_utc)
            inside = t_count > 0 and job.release_utc >= bounds[0] and job.deadline_utc <= bounds[1]
            in_window.append(bool(inside))
            if not inside:
                job_active[j] = False

    products: tuple[str, ...] = tuple(site.ancillary.products) if site.ancillary else ()
    as_price = np.zeros((len(products), t_count))
    as_available = np.zeros((len(products), t_count), dtype=bool)
    if products:
        raw = ancillary_prices(products, times_utc, site.market_data.ancillary_prices)
        as_available = np.isfinite(raw)
        as_price = np.where(as_available, raw, 0.0)

    fourcp = np.zeros(t_count)
    peaks_listed: list[dict[str, object]] = []
    if site.fourcp is not None and t_count:
        interval = pd.Timedelta(hours=interval_hours)
        peaks_path = site.fourcp_peaks_path
        peaks_zone = timezone if peaks_path else ERCOT_TIMEZONE
        peaks = fourcp_peaks(peaks_path, interval, peaks_zone)
        fourcp, peaks_listed = fourcp_weights(
            peaks, times_utc, site.fourcp.rate_usd_per_mw_year, window=bounds, interval=interval
        )
        check_fourcp_months(peaks, times_utc, peaks_zone, peaks_path)

    return StreamArrays(
        inference_demand_gpus=demand,
        rental_price_usd_per_gpu_hour=rental_price,
        as_price_usd_per_mw_hour=as_price,
        as_available=as_available,
        fourcp_usd_per_mw=fourcp,
        month_id=month_codes,
        hour_id=hour_codes,
        rental_slice_id=slice_codes,
        job_active=job_active,
        jobs_in_window=tuple(in_window),
        fourcp_peaks=peaks_listed,
        month_labels=month_labels,
    )

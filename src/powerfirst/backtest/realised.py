"""The realised data of a backtest window as dispatch arrays: prices, hashprice, inference demand,
rental prices, ancillary-service prices, 4CP charges and the calendar of each interval.

This is where the window's market data and workloads are read (through :mod:`powerfirst.market` and
:mod:`powerfirst.workloads`) and turned into :class:`~powerfirst.dispatch.inputs.DispatchInputs`;
the optimizer itself never reads a file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from powerfirst._types import Array
from powerfirst.calendar import calendar_ids
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.dispatch.streams import StreamArrays
from powerfirst.errors import DataError
from powerfirst.market.grid_programs import (
    ERCOT_TIMEZONE,
    ancillary_prices,
    check_fourcp_months,
    fourcp_peaks,
    fourcp_weights,
)
from powerfirst.market.series import PriceSeries
from powerfirst.market.source_spec import split_spec
from powerfirst.site.compile import site_params
from powerfirst.site.params import HallParams
from powerfirst.site.schema import Site
from powerfirst.site.streams import ConstantDemand, CsvDemand, GpuHall
from powerfirst.workloads.demand import (
    alibaba_lora_weekly_profile,
    constant_demand,
    demand_from_csv,
    demand_from_profile,
)

__all__ = ["build_inputs", "build_stream_arrays", "inference_demand_gpus"]


def build_inputs(
    site: Site,
    prices: PriceSeries,
    hashprice_daily: pd.Series,
    timezone: str = "UTC",
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> DispatchInputs:
    """Arrays for ``site`` over the intervals of ``prices`` that have a price (gaps excluded).

    ``timezone`` is the market-local zone: training job dates and SLA months are read in it.
    ``window`` is the [start, end) asked for in UTC (default: the span of the priced intervals).
    """
    series = prices.prices.dropna()
    if series.empty:
        raise DataError(f"{prices.name}: no prices in the window")
    times = pd.DatetimeIndex(series.index)
    days = times.tz_convert("UTC").floor("D")
    hashprice = hashprice_daily.reindex(days)
    if hashprice.isna().any():
        first = days[hashprice.isna().to_numpy()][0]
        raise DataError(f"hashprice missing for UTC day {first.date()}")
    params = site_params(site, prices.interval_hours, timezone)
    return DispatchInputs(
        site=params,
        times_utc=times,
        price_usd_per_mwh=series.to_numpy(dtype=np.float64),
        hashprice_usd_per_th_day=hashprice.to_numpy(dtype=np.float64),
        streams=build_stream_arrays(site, times, timezone, prices.interval_hours, params.hall, window),
    )


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
                path, column = split_spec(cfg.rental.price_series) or ("", cfg.rental.price_series)
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

"""Compile a validated site file into the static parameters that dispatch, the plant and the
policies read (:mod:`powerfirst.site.params`), at a given interval length and market-local zone."""

from __future__ import annotations

import math

from powerfirst.bitcoin.hashprice import (
    BundledHashprice,
    ConstantHashprice,
    CsvHashprice,
    HashpriceSource,
    NetworkCsvHashprice,
)
from powerfirst.errors import ConfigError
from powerfirst.market.window import parse_window
from powerfirst.site.params import (
    AncillaryParams,
    FleetParams,
    HallParams,
    HeatParams,
    SiteParams,
    TrainingParams,
)
from powerfirst.site.schema import BitcoinConfig, FixedBlockContract, Fleet, Site
from powerfirst.site.streams import GpuHall, TrainingJob

__all__ = ["fleet_params", "hall_params", "hashprice_source", "site_params"]


def fleet_params(fleet: Fleet, interval_hours: float) -> FleetParams:
    """A fleet reduced to what dispatch needs at a given interval length."""
    interval_min = interval_hours * 60.0
    return FleetParams(
        name=fleet.name,
        max_power_mw=fleet.max_power_mw,
        min_power_mw=fleet.min_power_mw,
        pue=fleet.effective_pue,
        efficiency_j_per_th=fleet.efficiency_j_per_th,
        pool_fee_fraction=fleet.pool_fee_fraction,
        hashrate_ths=fleet.hashrate_ths_total,
        min_off_intervals=math.ceil(fleet.min_off_time_min / interval_min - 1e-9),
        restart_hours=fleet.restart_time_min / 60.0,
        switch_block_mw=fleet.block_power_mw,
    )


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


def site_params(site: Site, interval_hours: float, timezone: str = "UTC") -> SiteParams:
    """The static part of a site at a given interval length.

    Raises ConfigError when a fleet's restart time is longer than one interval: a start is booked
    in the interval it happens, so a longer restart cannot be represented.
    """
    interval_min = interval_hours * 60.0
    for i, fleet in enumerate(site.fleets):
        if fleet.restart_time_min > interval_min + 1e-9:
            raise ConfigError(
                f"fleets[{i}].restart_time_min (fleet {fleet.name!r}) = {fleet.restart_time_min:g} minutes: "
                f"must be at most the price interval, {interval_min:g} minutes"
            )
    contract = site.contract
    block_mw, block_price = 0.0, 0.0
    if isinstance(contract, FixedBlockContract):
        block_mw, block_price = contract.block_mw, contract.block_price_usd_per_mwh
    return SiteParams(
        fleets=tuple(fleet_params(f, interval_hours) for f in site.fleets),
        grid_limit_mw=site.grid.connection_limit_mw,
        adder_usd_per_mwh=contract.total_adder_usd_per_mwh,
        block_mw=block_mw,
        block_price_usd_per_mwh=block_price,
        interval_hours=interval_hours,
        hall=hall_params(site.gpu_hall, timezone, interval_hours) if site.gpu_hall else None,
        heat=(
            HeatParams(h.max_mwth, h.price_usd_per_mwh_thermal, h.recovery_mwth_per_mw)
            if (h := site.heat_offtake)
            else None
        ),
        ancillary=(
            AncillaryParams(tuple(a.products), a.max_offer_mw if a.max_offer_mw is not None else float("inf"))
            if (a := site.ancillary)
            else None
        ),
        fourcp_rate_usd_per_mw_year=site.fourcp.rate_usd_per_mw_year if site.fourcp else 0.0,
    )


def hashprice_source(config: BitcoinConfig) -> HashpriceSource:
    """The source a site's ``bitcoin`` section asks for."""
    if config.source == "constant":
        assert config.constant_usd_per_ph_day is not None  # validated by BitcoinConfig
        return ConstantHashprice(config.constant_usd_per_ph_day)
    if config.source == "csv":
        assert config.csv_path is not None
        return CsvHashprice(config.csv_path)
    if config.source == "network_csv":
        assert config.csv_path is not None
        return NetworkCsvHashprice(config.csv_path)
    return BundledHashprice(config.tx_fees_btc_per_block)

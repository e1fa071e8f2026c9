"""Site file sections for the streams beyond mining: the GPU hall and its workloads, heat offtake,
ERCOT 4CP and ancillary-service offers.

Units follow :mod:`powerfirst.site.schema`: every field name carries its unit. GPU counts are treated as
continuous in the optimizer (a hall has thousands of GPUs; the rounding is below one GPU).
Times (``release``, ``deadline``) are read like ``--start``/``--end``: a plain date is a
market-local day (a deadline date includes that day), an ISO time with an offset is that instant.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from annotated_types import Interval
from pydantic import Field, field_validator, model_validator

from powerfirst.market.isos.ercot import ERCOT
from powerfirst.site import limits
from powerfirst.site.strict import Strict

__all__ = [
    "AncillaryConfig",
    "ConstantDemand",
    "CsvDemand",
    "FourCPConfig",
    "GpuHall",
    "HeatOfftake",
    "InferenceDemand",
    "InferenceService",
    "MarketDataConfig",
    "RentalPool",
    "TraceDemand",
    "TrainingJob",
]

AS_PRODUCTS = ERCOT.as_products
"""ERCOT ancillary services a controllable load resource can be paid for (day-ahead clearing price)."""


class ConstantDemand(Strict):
    """The same number of GPUs required in every interval."""

    kind: Literal["constant"]
    gpus: Annotated[float, Interval(ge=0.0, le=limits.GPU_COUNT.le)]
    """GPUs demanded [GPUs]: at most the hall's."""


class TraceDemand(Strict):
    """A weekly demand shape from a bundled real trace, scaled to ``peak_gpus``.

    ``alibaba-lora``: Stable-Diffusion/LoRA inference requests from Alibaba's production cluster
    (``data/workloads``), as GPU concurrency per hour of week.
    """

    kind: Literal["trace"]
    trace: Literal["alibaba-lora"] = "alibaba-lora"
    peak_gpus: Annotated[float, Interval(gt=0.0, le=limits.GPU_COUNT.le)]
    """Demand at the trace's peak [GPUs]: at most the hall's."""


class CsvDemand(Strict):
    """GPUs required per interval from a CSV with ``interval_start_utc`` and ``column``."""

    kind: Literal["csv"]
    path: str = Field(min_length=1)
    column: str = Field(default="gpus", min_length=1)


InferenceDemand = Annotated[ConstantDemand | TraceDemand | CsvDemand, Field(discriminator="kind")]


class InferenceService(Strict):
    """Inference sold under an availability SLA.

    Every GPU-hour served earns ``price_usd_per_gpu_hour``; every GPU-hour demanded and not served
    costs ``penalty_usd_per_gpu_hour``. In each calendar month (market-local) the GPU-hours served
    must be at least ``sla_availability_fraction`` of those demanded.
    """

    demand: InferenceDemand
    price_usd_per_gpu_hour: Annotated[float, limits.GPU_PRICE_USD_PER_GPU_HOUR]
    sla_availability_fraction: float = Field(default=0.999, ge=0.0, le=1.0)
    penalty_usd_per_gpu_hour: Annotated[float, limits.SLA_PENALTY_USD_PER_GPU_HOUR] = 0.0


class TrainingJob(Strict):
    """A training job that must finish between ``release`` and ``deadline``.

    It needs ``gpu_hours`` of work and runs on ``min_gpus``..``max_gpus`` GPUs while it runs. It can
    be preempted: every start costs ``restart_time_min`` × GPUs of no progress, and every resume
    after a preemption also repeats the work since the last checkpoint, booked at the worst case of
    one full ``checkpoint_interval_min`` × the GPUs it resumes with. ``value_usd`` is paid when it
    finishes by the deadline.
    """

    name: str = Field(min_length=1, max_length=64)
    gpu_hours: Annotated[float, limits.JOB_GPU_HOURS]
    release: str = Field(min_length=1)
    deadline: str = Field(min_length=1)
    value_usd: Annotated[float, limits.JOB_VALUE_USD]
    min_gpus: Annotated[float, Interval(gt=0.0, le=limits.GPU_COUNT.le)]
    max_gpus: Annotated[float, Interval(gt=0.0, le=limits.GPU_COUNT.le)]
    checkpoint_interval_min: Annotated[float, limits.CHECKPOINT_MIN] = 60.0
    restart_time_min: Annotated[float, limits.JOB_RESTART_MIN] = 10.0

    @field_validator("release", "deadline", mode="before")
    @classmethod
    def _date_as_text(cls, value: object) -> object:
        # YAML reads an unquoted 2023-06-01 as a date: it means the same market-local day
        if isinstance(value, dt.datetime):
            return value.isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    @model_validator(mode="after")
    def _check_gpus(self) -> TrainingJob:
        if self.min_gpus > self.max_gpus:
            raise ValueError(f"min_gpus {self.min_gpus:g} is above max_gpus {self.max_gpus:g} [GPUs]")
        return self


class RentalPool(Strict):
    """GPUs rented out in interruptible time slices.

    The price is ``price_usd_per_gpu_hour`` or, per interval, ``price_series`` (``path.csv:COLUMN``
    with ``interval_start_utc``). Rentals are sold in time slices of ``min_block_hours`` aligned to
    market-local midnight: a GPU rented in a slice stays rented for the whole slice.
    """

    price_usd_per_gpu_hour: Annotated[float, limits.GPU_PRICE_USD_PER_GPU_HOUR] | None = None
    price_series: str | None = Field(default=None, min_length=1)
    min_block_hours: Annotated[float, limits.RENTAL_BLOCK_HOURS] = 1.0
    max_gpus: Annotated[float, Interval(ge=0.0, le=limits.GPU_COUNT.le)] | None = None
    """Most GPUs the rental market takes [GPUs]; unset: the whole hall."""

    @model_validator(mode="after")
    def _one_price(self) -> RentalPool:
        if (self.price_usd_per_gpu_hour is None) == (self.price_series is None):
            raise ValueError("give exactly one of 'price_usd_per_gpu_hour' or 'price_series'")
        return self


class GpuHall(Strict):
    """A hall of GPUs shared by inference, training jobs and rentals.

    Every GPU draws ``idle_power_w`` when it has no work and ``gpu_power_w`` when it works (both
    per GPU including its share of the host); the hall's meter power is that × ``pue``.
    """

    name: str = Field(default="gpu-hall", min_length=1, max_length=64)
    gpus: Annotated[float, limits.GPU_COUNT]
    gpu_power_w: Annotated[float, limits.GPU_POWER_W]
    idle_power_w: Annotated[float, Interval(ge=0.0, le=limits.GPU_POWER_W.le)]
    pue: Annotated[float, limits.PUE] = 1.3
    inference: InferenceService | None = None
    training_jobs: list[TrainingJob] = Field(default_factory=list, max_length=50)
    rental: RentalPool | None = None

    @model_validator(mode="after")
    def _check(self) -> GpuHall:
        if self.idle_power_w > self.gpu_power_w:
            raise ValueError(
                f"idle_power_w {self.idle_power_w:g} W is above gpu_power_w {self.gpu_power_w:g} W"
            )
        names = [j.name for j in self.training_jobs]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"training job names must be unique; repeated: {', '.join(repeated)}")
        over = [(f"training job {job.name!r} min_gpus", job.min_gpus) for job in self.training_jobs]
        over += [(f"training job {job.name!r} max_gpus", job.max_gpus) for job in self.training_jobs]
        if self.rental is not None and self.rental.max_gpus is not None:
            over.append(("rental.max_gpus", self.rental.max_gpus))
        demand = self.inference.demand if self.inference is not None else None
        if isinstance(demand, ConstantDemand):
            over.append(("inference.demand.gpus", demand.gpus))
        if isinstance(demand, TraceDemand):
            over.append(("inference.demand.peak_gpus", demand.peak_gpus))
        for what, gpus in over:
            if gpus > self.gpus:
                raise ValueError(f"{what} = {gpus:g} GPUs is above the hall's gpus = {self.gpus:g} GPUs")
        if self.max_power_mw > limits.MAX_LOAD_MW:
            raise ValueError(
                f"the hall draws {self.max_power_mw:,.0f} MW with every GPU working (gpus × gpu_power_w × pue); "
                f"the limit is {limits.MAX_LOAD_MW:,.0f} MW"
            )
        return self

    @property
    def idle_power_mw(self) -> float:
        """The whole hall with no work, at the meter [MW]."""
        return self.gpus * self.idle_power_w * self.pue / 1e6

    @property
    def max_power_mw(self) -> float:
        """Every GPU working, at the meter [MW]."""
        return self.gpus * self.gpu_power_w * self.pue / 1e6

    @property
    def active_power_mw_per_gpu(self) -> float:
        """Extra meter power of one working GPU over an idle one [MW/GPU]."""
        return (self.gpu_power_w - self.idle_power_w) * self.pue / 1e6


class HeatOfftake(Strict):
    """Waste heat from the ASIC fleets sold to a heat customer.

    Up to ``recovery_mwth_per_mw`` MW thermal per MW of ASIC power at the meter can be sold, at most
    ``max_mwth`` (the customer's demand), at ``price_usd_per_mwh_thermal``.
    """

    max_mwth: Annotated[float, limits.HEAT_MWTH]
    price_usd_per_mwh_thermal: Annotated[float, limits.HEAT_PRICE_USD_PER_MWH_THERMAL]
    recovery_mwth_per_mw: float = Field(gt=0, le=1.0)


class FourCPConfig(Strict):
    """ERCOT four-coincident-peak transmission charge.

    A year's charge is ``rate_usd_per_mw_year`` × the site's average load in the four monthly system
    peak intervals of June–September; each month's peak carries a quarter. The peaks come from
    ERCOT's bundled hourly native load (the hour of highest system load in each month; the site's
    load over that hour's intervals is averaged), or from the user's file
    (``market_data.fourcp_peaks`` or ``--fourcp-peaks``; ``peaks_csv`` is the older name of the
    same file). See :func:`powerfirst.market.grid_programs.fourcp_peaks_csv` for the formats and
    the one-peak-per-month rule.
    """

    rate_usd_per_mw_year: Annotated[float, limits.FOURCP_RATE_USD_PER_MW_YEAR]
    peaks_csv: str | None = Field(default=None, min_length=1)


class MarketDataConfig(Strict):
    """The user's own market files, each overriding a bundled series (the ``--day-ahead``,
    ``--load``, ``--ancillary-prices`` and ``--fourcp-peaks`` options override these in turn).
    Relative paths are relative to the site file.

    Formats are those of the bundled ERCOT files (``interval_start_utc`` in ISO-8601 UTC):

    * ``day_ahead``: day-ahead prices [USD/MWh] as a price SOURCE (``path.csv:COLUMN`` or a bundled
      source such as ``ercot-da:HB_WEST``), revealed to ``rolling`` at the market's publication
      time (default: the bundled ERCOT day-ahead series of the real-time point, else none);

    * ``load``: system load [MW] as ``path.csv:COLUMN``, hourly or finer (for the forecaster and
      the 4CP predictor; default: ERCOT native load for ERCOT price sources, else none);
    * ``ancillary_prices``: ``path.csv`` with hourly capacity prices per product (REGDN, REGUP,
      RRS, NSPIN, ECRS) [USD/MW per hour];
    * ``fourcp_peaks``: ``path.csv`` with one peak hour per month (``year``, ``month``,
      ``peak_hour_start_utc``, …) or peak intervals (``peak_interval_start_utc``).
    """

    day_ahead: str | None = Field(default=None, min_length=1)
    load: str | None = Field(default=None, min_length=1)
    ancillary_prices: str | None = Field(default=None, min_length=1)
    fourcp_peaks: str | None = Field(default=None, min_length=1)


class AncillaryConfig(Strict):
    """Ancillary-service capacity offered by curtailable load (ERCOT controllable load resource).

    Offers are hourly (the day-ahead market's unit) and paid the day-ahead market clearing price
    for capacity (bundled ERCOT DAM MCPC, 2022–2023). The MW offered over all products in an hour
    cannot exceed the ASIC power above must-run that is running in any interval of that hour.
    Deployments are not modelled (there is no deployment data): an award is assumed not called.
    """

    products: list[Literal["RRS", "ECRS", "NSPIN"]] = Field(min_length=1, max_length=3)
    max_offer_mw: Annotated[float, limits.GRID_MW] | None = None
    """Most MW offered over all products in an hour [MW]; unset: all curtailable load."""

    @model_validator(mode="after")
    def _unique(self) -> AncillaryConfig:
        if len(set(self.products)) != len(self.products):
            raise ValueError("products must not repeat")
        return self

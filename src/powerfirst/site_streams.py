"""Site file sections for the streams beyond mining: the GPU hall and its workloads, heat offtake,
ERCOT 4CP and ancillary-service offers.

Units follow :mod:`powerfirst.site`: every field name carries its unit. GPU counts are treated as
continuous in the optimizer (a hall has thousands of GPUs; the rounding is below one GPU).
Times (``release``, ``deadline``) are read like ``--start``/``--end``: a plain date is a
market-local day (a deadline date includes that day), an ISO time with an offset is that instant.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
    "RuleBasedStrategyConfig",
    "TraceDemand",
    "TrainingJob",
]

AS_PRODUCTS = ("RRS", "ECRS", "NSPIN")
"""ERCOT ancillary services a controllable load resource can be paid for (day-ahead clearing price)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class ConstantDemand(_Strict):
    """The same number of GPUs required in every interval."""

    kind: Literal["constant"]
    gpus: float = Field(ge=0, le=10_000_000)


class TraceDemand(_Strict):
    """A weekly demand shape from a bundled real trace, scaled to ``peak_gpus``.

    ``alibaba-lora``: Stable-Diffusion/LoRA inference requests from Alibaba's production cluster
    (``data/workloads``), as GPU concurrency per hour of week.
    """

    kind: Literal["trace"]
    trace: Literal["alibaba-lora"] = "alibaba-lora"
    peak_gpus: float = Field(gt=0, le=10_000_000)


class CsvDemand(_Strict):
    """GPUs required per interval from a CSV with ``interval_start_utc`` and ``column``."""

    kind: Literal["csv"]
    path: str = Field(min_length=1)
    column: str = Field(default="gpus", min_length=1)


InferenceDemand = Annotated[ConstantDemand | TraceDemand | CsvDemand, Field(discriminator="kind")]


class InferenceService(_Strict):
    """Inference sold under an availability SLA.

    Every GPU-hour served earns ``price_usd_per_gpu_hour``; every GPU-hour demanded and not served
    costs ``penalty_usd_per_gpu_hour``. In each calendar month (market-local) the GPU-hours served
    must be at least ``sla_availability_fraction`` of those demanded.
    """

    demand: InferenceDemand
    price_usd_per_gpu_hour: float = Field(ge=0, le=1_000)
    sla_availability_fraction: float = Field(default=0.999, ge=0.0, le=1.0)
    penalty_usd_per_gpu_hour: float = Field(default=0.0, ge=0, le=10_000)


class TrainingJob(_Strict):
    """A training job that must finish between ``release`` and ``deadline``.

    It needs ``gpu_hours`` of work and runs on ``min_gpus``..``max_gpus`` GPUs while it runs. It can
    be preempted: every start costs ``restart_time_min`` × GPUs of no progress, and every resume
    after a preemption also repeats the work since the last checkpoint, booked at the worst case of
    one full ``checkpoint_interval_min`` × the GPUs it resumes with. ``value_usd`` is paid when it
    finishes by the deadline.
    """

    name: str = Field(min_length=1, max_length=64)
    gpu_hours: float = Field(gt=0, le=1e9)
    release: str = Field(min_length=1)
    deadline: str = Field(min_length=1)
    value_usd: float = Field(ge=0, le=1e11)
    min_gpus: float = Field(gt=0, le=10_000_000)
    max_gpus: float = Field(gt=0, le=10_000_000)
    checkpoint_interval_min: float = Field(default=60.0, ge=0, le=10_080)
    restart_time_min: float = Field(default=10.0, ge=0, le=1_440)

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


class RentalPool(_Strict):
    """GPUs rented out in interruptible time slices.

    The price is ``price_usd_per_gpu_hour`` or, per interval, ``price_series`` (``path.csv:COLUMN``
    with ``interval_start_utc``). Rentals are sold in time slices of ``min_block_hours`` aligned to
    market-local midnight: a GPU rented in a slice stays rented for the whole slice.
    """

    price_usd_per_gpu_hour: float | None = Field(default=None, ge=0, le=1_000)
    price_series: str | None = Field(default=None, min_length=1)
    min_block_hours: float = Field(default=1.0, ge=0, le=720)
    max_gpus: float | None = Field(default=None, ge=0, le=10_000_000)
    """Most GPUs the rental market takes [GPUs]; unset: the whole hall."""

    @model_validator(mode="after")
    def _one_price(self) -> RentalPool:
        if (self.price_usd_per_gpu_hour is None) == (self.price_series is None):
            raise ValueError("give exactly one of 'price_usd_per_gpu_hour' or 'price_series'")
        return self


class GpuHall(_Strict):
    """A hall of GPUs shared by inference, training jobs and rentals.

    Every GPU draws ``idle_power_w`` when it has no work and ``gpu_power_w`` when it works (both
    per GPU including its share of the host); the hall's meter power is that × ``pue``.
    """

    name: str = Field(default="gpu-hall", min_length=1, max_length=64)
    gpus: float = Field(gt=0, le=10_000_000)
    gpu_power_w: float = Field(gt=0, le=20_000)
    idle_power_w: float = Field(ge=0, le=20_000)
    pue: float = Field(default=1.3, ge=1.0, le=3.0)
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
        for job in self.training_jobs:
            if job.min_gpus > self.gpus:
                raise ValueError(
                    f"training job {job.name!r} min_gpus {job.min_gpus:g} is above the hall's {self.gpus:g} GPUs"
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


class HeatOfftake(_Strict):
    """Waste heat from the ASIC fleets sold to a heat customer.

    Up to ``recovery_mwth_per_mw`` MW thermal per MW of ASIC power at the meter can be sold, at most
    ``max_mwth`` (the customer's demand), at ``price_usd_per_mwh_thermal``.
    """

    max_mwth: float = Field(gt=0, le=10_000)
    price_usd_per_mwh_thermal: float = Field(ge=0, le=10_000)
    recovery_mwth_per_mw: float = Field(gt=0, le=1.0)


class FourCPConfig(_Strict):
    """ERCOT four-coincident-peak transmission charge.

    A year's charge is ``rate_usd_per_mw_year`` × the site's average load in the four monthly system
    peak intervals of June–September; each month's peak carries a quarter. The peaks come from
    ERCOT's bundled hourly native load (the hour of highest system load in each month; the site's
    load over that hour's intervals is averaged), or from the user's file
    (``market_data.fourcp_peaks`` or ``--fourcp-peaks``; ``peaks_csv`` is the older name of the
    same file). See :func:`powerfirst.market.grid_programs.fourcp_peaks_csv` for the formats and
    the one-peak-per-month rule.
    """

    rate_usd_per_mw_year: float = Field(ge=0, le=1_000_000)
    peaks_csv: str | None = Field(default=None, min_length=1)


class MarketDataConfig(_Strict):
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


class AncillaryConfig(_Strict):
    """Ancillary-service capacity offered by curtailable load (ERCOT controllable load resource).

    Offers are hourly (the day-ahead market's unit) and paid the day-ahead market clearing price
    for capacity (bundled ERCOT DAM MCPC, 2022–2023). The MW offered over all products in an hour
    cannot exceed the ASIC power above must-run that is running in any interval of that hour.
    Deployments are not modelled (there is no deployment data): an award is assumed not called.
    """

    products: list[Literal["RRS", "ECRS", "NSPIN"]] = Field(min_length=1, max_length=3)
    max_offer_mw: float | None = Field(default=None, gt=0, le=10_000)
    """Most MW offered over all products in an hour [MW]; unset: all curtailable load."""

    @model_validator(mode="after")
    def _unique(self) -> AncillaryConfig:
        if len(set(self.products)) != len(self.products):
            raise ValueError("products must not repeat")
        return self


class RuleBasedStrategyConfig(_Strict):
    """Parameters of the ``rule-based`` strategy (hybrid sites as run today).

    ASICs follow the strike-price rule; in the 4CP window (``fourcp_start_hour`` to
    ``fourcp_end_hour``, market-local, on weekdays of ``fourcp_months``) they are curtailed to
    must-run. GPUs always serve at full load; no ancillary services are offered.
    """

    fourcp_months: list[int] = Field(default_factory=lambda: [6, 7, 8, 9], max_length=12)
    fourcp_start_hour: int = Field(default=15, ge=0, le=23)
    fourcp_end_hour: int = Field(default=19, ge=1, le=24)
    weekdays_only: bool = True

    @model_validator(mode="after")
    def _check(self) -> RuleBasedStrategyConfig:
        if self.fourcp_end_hour <= self.fourcp_start_hour:
            raise ValueError(
                f"fourcp_end_hour {self.fourcp_end_hour} must be after fourcp_start_hour {self.fourcp_start_hour}"
            )
        bad = [m for m in self.fourcp_months if not 1 <= m <= 12]
        if bad:
            raise ValueError(f"fourcp_months must be month numbers 1-12; got {bad}")
        return self

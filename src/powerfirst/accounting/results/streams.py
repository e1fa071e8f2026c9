"""Result models of the GPU hall and the grid programs: GPU-hours per workload, training jobs, the
inference SLA per month, 4CP peaks and ancillary-service offers."""

from __future__ import annotations

from typing import ClassVar

from powerfirst.accounting.results.base import ResultModel

__all__ = ["AncillaryProduct", "FourcpPeak", "FourcpSummary", "GpuHours", "SlaMonth", "TrainingJob"]


class GpuHours(ResultModel):
    """GPU-hours of the hall per workload over the window [GPU-h]."""

    inference_demanded: float
    """Inference GPU-hours demanded [GPU-h]."""
    inference_served: float
    """Inference GPU-hours served [GPU-h]."""
    training: dict[str, float]
    """GPU-hours per training job, by job name [GPU-h]."""
    rental: float
    """GPU-hours rented out [GPU-h]."""
    idle: float
    """GPU-hours idle [GPU-h]."""


class TrainingJob(ResultModel):
    """One training job of the hall: whether and when it finished, and what it cost and earned."""

    omitted_when_none: ClassVar[frozenset[str]] = frozenset({"note"})

    name: str
    """Job name."""
    in_window: bool
    """Whether release..deadline lies inside the window (else the job is not scheduled)."""
    finished: bool
    """Whether the job's work was done."""
    finish_utc: str | None
    """When it finished, ISO-8601 UTC (None: not finished)."""
    deadline_utc: str
    """Its deadline (end of its last day), ISO-8601 UTC."""
    met_deadline: bool
    """Whether it finished by the deadline."""
    preemptions: int
    """Times it was stopped before finishing [count]."""
    starts: int
    """Times it was started [count]."""
    gpu_hours_used: float
    """GPU-hours it ran [GPU-h]."""
    gpu_hours_lost_to_restarts_and_checkpoints: float
    """GPU-hours lost to restarts and work repeated after preemptions [GPU-h]."""
    value_usd: float
    """Value earned [USD]."""
    note: str | None = None
    """Why the job was not scheduled (None, left out of the JSON: it was in the window)."""


class SlaMonth(ResultModel):
    """The inference SLA of one market-local month."""

    month: str
    """The month, ``YYYY-MM`` (market-local)."""
    demanded_gpu_hours: float
    """Inference GPU-hours demanded [GPU-h]."""
    served_gpu_hours: float
    """Inference GPU-hours served [GPU-h]."""
    availability: float
    """Served over demanded (1 without demand) [0–1]."""
    target: float
    """The SLA's availability target [0–1]."""
    met: bool
    """Whether availability reached the target."""


class FourcpPeak(ResultModel):
    """One month's 4CP peak inside the window and what it charged the site."""

    year: int
    """Year of the peak's month."""
    month: int
    """Month of the peak (1–12)."""
    peak_start_utc: str
    """Start of the peak, ISO-8601 UTC."""
    peak_end_utc: str
    """End of the peak (exclusive), ISO-8601 UTC."""
    intervals_in_window: int
    """Priced intervals of the peak inside the window [count]."""
    intervals_missing: int
    """Intervals of the peak without a price [count]."""
    charged: bool
    """Whether the peak was charged (some interval has a price)."""
    charge_unknown: bool
    """Whether the peak falls wholly in a price gap (its charge is unknown)."""
    site_load_mw: float | None
    """Mean site load over the peak's priced intervals [MW] (None: none priced)."""
    charge_usd: float | None
    """The 4CP charge of this peak [USD] (None: none priced)."""


class FourcpSummary(ResultModel):
    """The 4CP transmission charge over the window."""

    rate_usd_per_mw_year: float
    """The yearly 4CP rate [USD/MW-year]; each monthly peak weighs a quarter of it."""
    charge_usd: float
    """4CP charge booked in the window [USD] (a cost)."""
    peaks_charge_unknown: int
    """Peaks in a price gap, whose charge is unknown [count]."""
    peaks: list[FourcpPeak]
    """The peaks inside the window."""
    basis: str
    """How the peaks are chosen and weighed."""


class AncillaryProduct(ResultModel):
    """One ancillary-service product's capacity offers over the window."""

    mwh_offered: float
    """Capacity offered [MW·h]."""
    revenue_usd: float
    """Capacity payments [USD]."""
    hours_without_price: int
    """Clock hours with no price for the product (not offered then) [count]."""

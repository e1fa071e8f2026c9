"""The per-interval arrays of the GPU hall, heat offtake, 4CP and ancillary services over a window.

Static parameters (:class:`~powerfirst.site.params.HallParams` and the rest) live in
:class:`~powerfirst.site.params.SiteParams`; the arrays over the window (:class:`StreamArrays`)
live in :class:`~powerfirst.dispatch.inputs.DispatchInputs`. Built by
:mod:`powerfirst.backtest.realised` from market data and workloads; nothing here reads files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from powerfirst._types import Array, BoolArray, IntArray

__all__ = ["StreamArrays"]


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

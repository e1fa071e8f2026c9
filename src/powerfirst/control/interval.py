"""What the plant is told about each interval as it starts: :class:`IntervalInput`.

The backtest reads it from the window's arrays; a live controller from the wall clock, the site's
calendar and the market. Nothing in it is about the future beyond the interval's own calendar
(the rental slice it belongs to ends when the calendar says).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from powerfirst._types import BoolArray

__all__ = ["IntervalInput"]


@dataclass(frozen=True)
class IntervalInput:
    """One interval's calendar and demand, as the plant needs them."""

    hour_id: int
    """Clock hour (UTC) of the interval, any numbering that changes at each hour: training GPUs and
    ancillary awards are held for the hour."""
    rental_slice_id: int = 0
    """Rental slice of the interval, any numbering that changes at each slice: rentals are held for
    the slice."""
    rental_slice_intervals_left: int = 1
    """Intervals from this one to the end of its rental slice, this one included [count]."""
    inference_demand_gpus: float = 0.0
    """GPUs the inference service asks for in this interval [GPUs]."""
    job_active: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    """(J,): True inside each training job's [release, deadline)."""
    as_available: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    """(P,): False where an ancillary product is not offered this hour (no price)."""

"""The site's state at the start of a horizon, for re-solves in the middle of a run.

A hindsight solve starts fresh: every fleet at its initial power, no rentals, no training job
started. A rolling controller re-solves every hour from where the site is: fleets at their last
power (units held off by anti-cycling cannot return yet), rentals held to the end of their slice,
training jobs part-done. :class:`StartState` carries that into
:func:`~powerfirst.dispatch.model.build_dispatch_model`.
"""

from __future__ import annotations

from dataclasses import dataclass

from powerfirst._types import Array, BoolArray

__all__ = ["StartState"]


@dataclass(frozen=True)
class StartState:
    """State before the horizon's first interval (J: training jobs, F: fleets)."""

    held_off_mw: Array
    """Power of each fleet switched off before the horizon that anti-cycling still holds off in
    the horizon's first intervals, (F, L) [MW]."""
    rental_held_gpus: float | None
    """GPUs rented through the end of the slice the horizon starts in; None when a slice starts."""
    job_min_progress_gpu_hours: Array
    """Work each job must get done inside the horizon, (J,) [GPU-hours] (its remaining work when
    the deadline is inside the horizon; 0: no requirement, the job is not scheduled)."""
    job_has_run: BoolArray
    """(J,): the job has run before, so every start is a resume (restart + checkpoint lost)."""
    job_running: BoolArray
    """(J,): the job runs in the interval before the horizon (continuing is not a start)."""

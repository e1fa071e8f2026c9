"""The GPU hall's physics, and the default rule for GPUs a policy leaves open.

:class:`HallState` carries what persists from interval to interval (rentals held for their slice,
each training job's progress and whether it has run), applies a policy's GPU decision within the
hall's limits, and books progress. Work lost on a start is booked as in the optimizer: restart
time × max GPUs on every start, plus checkpoint interval × max GPUs on every resume after a
preemption. GPUs given to a job that has finished draw power and do no work. Training GPUs are allocated
per clock hour, as in the optimizer: the decision in an hour's first interval holds for the hour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from powerfirst._types import Array
from powerfirst.control.clip import clip_float
from powerfirst.control.decision import Decision
from powerfirst.control.interval import IntervalInput
from powerfirst.site.params import FINISH_TOLERANCE, HallParams

__all__ = ["HallDecision", "HallState"]

_RESERVE_DAYS = 7
"""The default rule keeps room for inference at the highest demand seen in the same clock hours
(the rental slice ahead) on each of the last seven days."""


_RUNNING_GPUS = 1e-6
"""A job with more GPUs than this is running (below: solver noise)."""


@dataclass(frozen=True)
class HallDecision:
    inference_gpus: float
    training_gpus: Array
    rental_gpus: float
    adjusted: bool


class HallState:
    """State of the GPU hall over a run (one instance per run).

    Interval by interval: :meth:`apply` the decision for the interval now starting (its
    :class:`~powerfirst.control.interval.IntervalInput`), then :meth:`book` what was applied.
    """

    def __init__(self, hall: HallParams, interval_hours: float) -> None:
        self.hall = hall
        self.interval_hours = interval_hours
        jobs = hall.jobs
        self.step = 0
        """Intervals booked so far (the index of the interval now starting)."""
        # inference demand of every interval so far, this one included (0 without inference)
        self._demand = np.zeros(64)
        self._previous: IntervalInput | None = None
        self.done_gpu_hours = np.zeros(len(jobs))
        self.has_run = np.zeros(len(jobs), dtype=bool)
        self.previous_gpus = np.zeros(len(jobs))
        self.rental_held = 0.0
        self.deadline_order = np.argsort([j.deadline_utc.value for j in jobs], kind="stable")
        self.intervals_per_day = max(round(24.0 / interval_hours), 1)
        self._gpu_hours = np.array([j.gpu_hours for j in jobs], dtype=np.float64)
        self._min_gpus = np.array([j.min_gpus for j in jobs], dtype=np.float64)
        self._max_gpus = np.array([j.max_gpus for j in jobs], dtype=np.float64)

    def _demand_through(self, interval: IntervalInput) -> Array:
        """Inference demand of every interval so far, the one now starting last, (t + 1,) [GPUs]."""
        t = self.step
        if t >= self._demand.size:
            self._demand = np.concatenate([self._demand, np.zeros(self._demand.size)])
        self._demand[t] = interval.inference_demand_gpus if self.hall.has_inference else 0.0
        return self._demand[: t + 1]

    def remaining_gpu_hours(self) -> Array:
        """Work each job still needs, (J,) [GPU-hours]; 0 once finished."""
        need = self._gpu_hours - self.done_gpu_hours
        clipped: Array = np.clip(need, 0.0, None)
        return clipped

    def _reserve(self, interval: IntervalInput) -> float:
        """Inference GPUs to keep free for the rest of the interval's rental slice, from past demand only."""
        t = self.step
        demand = self._demand_through(interval)
        length = interval.rental_slice_intervals_left
        day = self.intervals_per_day
        seen = [
            demand[max(t - k * day, 0) : max(t - k * day + length, 0)] for k in range(1, _RESERVE_DAYS + 1)
        ]
        past = [float(x.max()) for x in seen if x.size and t - day >= 0]
        if not past:  # less than a day of history: the highest demand so far
            return float(demand[: t + 1].max())
        return max(max(past), float(demand[t]))

    def _held_training(self, interval: IntervalInput) -> Array:
        """Training GPUs held from earlier in the interval's clock hour, (J,); NaN where the job is free to
        change (an hour's first interval, or the job's release within the hour).

        Training GPUs are allocated per clock hour, as in the optimizer: the hour's first decision
        holds (GPUs of a job that finished in the hour keep drawing power to its end).
        """
        jobs = len(self.hall.jobs)
        previous = self._previous
        if previous is None or self.hour_starts(interval):
            return np.full(jobs, np.nan)
        active = interval.job_active
        released_now = active & ~previous.job_active
        held = np.where(active, self.previous_gpus, 0.0)
        return np.where(released_now, np.nan, held)

    def hour_starts(self, interval: IntervalInput) -> bool:
        """The interval is the first of a clock hour (or of the run)."""
        return self._previous is None or interval.hour_id != self._previous.hour_id

    def slice_starts(self, interval: IntervalInput) -> bool:
        """The interval is the first of a rental slice (or of the run)."""
        return self._previous is None or interval.rental_slice_id != self._previous.rental_slice_id

    def _runnable(self, interval: IntervalInput) -> npt.NDArray[np.bool_]:
        need = self._gpu_hours * FINISH_TOLERANCE
        return interval.job_active & (self.remaining_gpu_hours() > need)

    def default_split(self, interval: IntervalInput) -> tuple[float, Array, float]:
        """Full load, the way halls are run today: serve inference demand, then training jobs by
        earliest deadline at their most GPUs, then rent out the rest (rentals are decided at the
        start of each slice, keeping room for the last week's highest inference demand)."""
        hall = self.hall
        inference = float(self._demand_through(interval)[self.step])
        reserve = self._reserve(interval)
        held = self._held_training(interval)
        training = np.where(np.isnan(held), 0.0, held)
        runnable = self._runnable(interval) & np.isnan(held)
        rental = self.rental_held
        slice_starts = self.slice_starts(interval)
        free = hall.gpus - max(reserve, inference) - (0.0 if slice_starts else rental) - training.sum()
        for j in self.deadline_order:
            job = hall.jobs[j]
            if runnable[j] and min(free, job.max_gpus) >= job.min_gpus:
                training[j] = min(free, job.max_gpus)
                free -= training[j]
        if slice_starts and hall.has_rental:
            rental = max(min(free, hall.rental_max_gpus), 0.0)
        return inference, training, rental

    def apply(
        self,
        decision: Decision,
        interval: IntervalInput,
        max_working_gpus: float,
        grid_tolerance_gpus: float = 0.0,
    ) -> HallDecision:
        """The GPU split applied in the interval now starting: the decision within the hall's limits.

        ``max_working_gpus`` is the most GPUs that may work given the grid limit;
        ``grid_tolerance_gpus`` the engine's grid tolerance in GPUs (a plan over the grid limit by
        less is cut to fit but not counted as adjusted).
        """
        hall = self.hall
        inference, training, rental = self.default_split(interval)
        active = interval.job_active
        slice_starts = self.slice_starts(interval)
        wanted = (
            decision.inference_gpus if decision.inference_gpus is not None else inference,
            np.asarray(decision.training_gpus, dtype=np.float64)
            if decision.training_gpus is not None
            else training,
            decision.rental_gpus if decision.rental_gpus is not None else rental,
        )
        inf = clip_float(wanted[0], 0.0, self._demand_through(interval)[self.step])
        train = np.where(active, np.clip(wanted[1], 0.0, self._max_gpus), 0.0)
        mins = self._min_gpus
        # a job below its minimum does not run (solver tolerance allowed for)
        train = np.where(train + 1e-6 * np.maximum(mins, 1.0) >= mins, train, 0.0)
        if slice_starts:
            rent = clip_float(wanted[2], 0.0, hall.rental_max_gpus) if hall.has_rental else 0.0
        else:
            rent = self.rental_held
        held = self._held_training(interval)
        train = np.where(np.isnan(held), train, held)
        # capacity: the hall's GPUs, and what the grid leaves, never exceeded. Commitments made
        # earlier are cut last: a rental starting now first, then training above its minimum
        # (last deadline first), then inference, then whole jobs (last deadline first)
        room = max(min(hall.gpus, max_working_gpus), 0.0)
        excess = inf + float(train.sum()) + rent - room
        if slice_starts and excess > 0:
            rent = max(rent - excess, 0.0)
        rent = min(rent, room)
        excess = inf + float(train.sum()) + rent - room
        for j in self.deadline_order[::-1]:
            cut = min(max(train[j] - mins[j], 0.0), max(excess, 0.0))
            train[j] -= cut
            excess -= cut
        cut = min(inf, max(excess, 0.0))
        inf -= cut
        excess -= cut
        # a plan within the solver's tolerance (1e-6 relative on GPU counts, the engine's MW
        # tolerance on the grid) stops no job and is not counted as adjusted
        tolerance = max(1e-6 * max(room, 1.0), grid_tolerance_gpus if room < hall.gpus else 0.0)
        for j in self.deadline_order[::-1]:
            if excess > tolerance and train[j] > 0:
                excess -= train[j]
                train[j] = 0.0  # too few GPUs left to run: the job stops
        # only what the policy asked for can be adjusted (the default rule's holds are not)
        adjusted = (
            (decision.inference_gpus is not None and abs(inf - wanted[0]) > tolerance)
            or (decision.training_gpus is not None and bool(np.any(np.abs(train - wanted[1]) > tolerance)))
            or (decision.rental_gpus is not None and abs(rent - wanted[2]) > tolerance)
        )
        return HallDecision(inf, train, rent, adjusted)

    def book(self, applied: HallDecision, interval: IntervalInput) -> None:
        """Advance rentals and training progress by the applied interval (the one now ending)."""
        hall = self.hall
        dt = self.interval_hours
        self.rental_held = applied.rental_gpus
        g = applied.training_gpus
        starts = (g > _RUNNING_GPUS) & (self.previous_gpus <= _RUNNING_GPUS)
        for j, job in enumerate(hall.jobs):
            work = g[j] * dt
            if starts[j]:
                work -= job.restart_hours * job.max_gpus
                if self.has_run[j]:
                    work -= job.checkpoint_hours * job.max_gpus
            self.done_gpu_hours[j] += work
        self.has_run |= g > _RUNNING_GPUS
        self.previous_gpus = g.copy()
        self._demand_through(interval)
        self._previous = interval
        self.step += 1

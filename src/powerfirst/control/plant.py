"""The site's physics: what a decision may physically do, interval by interval.

:func:`fill_merit_order`: fleet power within [must-run, available] in whole switch blocks, and all
fleets together within the grid limit, the most profitable fleets first (policies use it too).

:class:`Plant`: the site itself, driven one interval at a time by the backtest's replay clock or
by a live controller. It carries the physical state from interval to interval (fleet power,
anti-cycling, the GPU hall, the hour's ancillary award), says what a policy may observe of it
(:meth:`Plant.state`) and applies a decision (:meth:`Plant.apply`): the GPU hall within its limits
and what the grid leaves, each fleet within [must-run, available] (anti-cycling holds units off for
their minimum off time), the fleets within the rest of the grid limit in merit order, heat within
what the fleets' power recovers, ancillary offers within the hour's award and the curtailable load.
Each change to the decision is reported by kind (:data:`ADJUSTMENT_KINDS`), never hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from powerfirst._types import Array, BoolArray
from powerfirst.control.ancillary import AncillaryAward
from powerfirst.control.clip import clip_float
from powerfirst.control.cycling import AntiCycling
from powerfirst.control.decision import Decision
from powerfirst.control.hall import HallState
from powerfirst.control.interval import IntervalInput
from powerfirst.errors import InfeasibleError, PolicyError
from powerfirst.site.params import SiteParams

__all__ = [
    "ADJUSTMENT_KINDS",
    "AppliedInterval",
    "IntervalInput",
    "Plant",
    "PlantState",
    "check_must_run",
    "fill_merit_order",
]

TOLERANCE_MW = 1e-6
"""A fleet's power (or the AS offers' total) changed by less than this is not an adjustment [MW]."""

_HEAT_TOLERANCE_MWTH = 1e-6

_T = TypeVar("_T", bound=np.generic)

ADJUSTMENT_KINDS = (
    "fleet_limits",
    "anti_cycling",
    "switch_blocks",
    "grid_limit",
    "gpu_hall",
    "heat_cap",
    "as_award_cap",
    "as_curtailable",
)
"""What the plant may change in a decision, in the order it reports them:

* ``fleet_limits``: a fleet's power outside [must-run, max];
* ``anti_cycling``: power of units still held off by their minimum off time;
* ``switch_blocks``: a fleet that switches in blocks rounded down to whole blocks;
* ``grid_limit``: fleets cut in merit order to what the grid limit leaves them;
* ``gpu_hall``: the GPU split cut to the hall's limits, its holds and what the grid leaves;
* ``heat_cap``: heat outside [0, what the fleets' power recovers, capped by the customer's max];
* ``as_award_cap``: the hour's AS award below the offer (product not offered, negative offer, the
  site's max offer);
* ``as_curtailable``: the AS award scaled to the fleets' curtailable load in the interval."""


def _whole_blocks(power_mw: Array, block_mw: Array) -> Array:
    """Round power down to whole switch blocks where a fleet has them (block 0: unchanged)."""
    blocked = block_mw > 0
    if not blocked.any():
        return power_mw
    rounded = power_mw.copy()
    rounded[blocked] = np.floor(power_mw[blocked] / block_mw[blocked] + 1e-6) * block_mw[blocked]
    return rounded


def fill_merit_order(
    wanted_mw: Array, site: SiteParams, available_mw: Array, *, grid_limit_mw: float | None = None
) -> Array:
    """Clip wanted fleet power to [min, available] and to the grid limit, keeping the most
    profitable fleets (highest mining revenue per MWh, i.e. lowest J/TH × PUE) first.

    Must-run power is placed first; the rest of the grid limit goes down the merit order. A fleet
    that switches in blocks gets whole blocks only (rounded down). ``grid_limit_mw`` is what the
    fleets may draw together (default: the site's limit; less when a GPU hall takes its share).
    """
    limit = site.grid_limit_mw if grid_limit_mw is None else grid_limit_mw
    low = site.min_power_mw
    blocks = site.switch_block_mw
    high = np.maximum(np.minimum(available_mw, site.max_power_mw), low)
    target = np.maximum(_whole_blocks(np.clip(wanted_mw, low, high), blocks), low)
    if target.sum() <= limit + 1e-9:
        return target
    result = low.copy()
    headroom = limit - result.sum()
    for f in site.merit_order:
        extra = min(target[f] - low[f], max(headroom, 0.0))
        if blocks[f] > 0:
            extra = float(np.floor(extra / blocks[f] + 1e-6) * blocks[f])
        result[f] += extra
        headroom -= extra
    return result


def _fleet_adjustments(
    wanted_mw: Array, applied_mw: Array, site: SiteParams, available_mw: Array
) -> tuple[str, ...]:
    """Which of :func:`fill_merit_order`'s steps changed ``wanted_mw`` into ``applied_mw``.

    Empty when no fleet changed by more than :data:`TOLERANCE_MW`; otherwise every step that
    changed a fleet by more than that, or (several small changes adding up) the step that changed
    one the most.
    """
    if not np.any(np.abs(applied_mw - wanted_mw) > TOLERANCE_MW):
        return ()
    low = site.min_power_mw
    limited = np.clip(wanted_mw, low, np.maximum(site.max_power_mw, low))
    cycled = np.clip(wanted_mw, low, np.maximum(np.minimum(available_mw, site.max_power_mw), low))
    blocked = np.maximum(_whole_blocks(cycled, site.switch_block_mw), low)
    steps = (
        ("fleet_limits", wanted_mw, limited),
        ("anti_cycling", limited, cycled),
        ("switch_blocks", cycled, blocked),
        ("grid_limit", blocked, applied_mw),
    )
    changes = [float(np.max(np.abs(after - before), initial=0.0)) for _, before, after in steps]
    kinds = tuple(kind for (kind, _, _), change in zip(steps, changes, strict=True) if change > TOLERANCE_MW)
    return kinds or (steps[int(np.argmax(changes))][0],)


def check_must_run(site: SiteParams) -> None:
    """Raise :class:`~powerfirst.errors.InfeasibleError` when the site's must-run power exceeds
    its grid limit (no decision could ever be applied)."""
    conflict = site.must_run_conflict()
    if conflict:
        raise InfeasibleError(
            "the site cannot be dispatched: its constraints conflict", explanation=[conflict]
        )


def _read_only(values: npt.NDArray[_T]) -> npt.NDArray[_T]:
    view = values.copy()
    view.flags.writeable = False
    return view


@dataclass(frozen=True)
class PlantState:
    """What a policy may observe of the site when an interval starts (read-only copies)."""

    power_mw: Array
    """Each fleet's power in the previous interval, (F,) [MW at the meter]."""
    available_mw: Array
    """Most each fleet may run now (units held off by anti-cycling excluded), (F,) [MW]."""
    held_off_mw: Array
    """Power switched off before now still held off now and in each following interval, (F, L) [MW]."""
    training_remaining_gpu_hours: Array
    """Work each training job still needs, (J,) [GPU-hours]."""
    training_previous_gpus: Array
    """GPUs each training job had in the previous interval, (J,)."""
    training_has_run: BoolArray
    """(J,): the job has run before (a new start is a resume)."""
    rental_held_gpus: float
    """GPUs rented in the previous interval (held to the end of their slice) [GPUs]."""
    rental_slice_starts: bool
    """A new rental slice starts now (True without a GPU hall)."""


@dataclass(frozen=True)
class AppliedInterval:
    """What the plant physically did in one interval, and which adjustments that took."""

    power_mw: Array
    """Each fleet's power, (F,) [MW at the meter]."""
    inference_gpus: float
    training_gpus: Array
    """(J,) [GPUs]."""
    rental_gpus: float
    heat_mwth: float
    """[MW thermal]."""
    as_offer_mw: Array
    """(P,) [MW]."""
    adjustments: tuple[str, ...]
    """Kinds of change made to the decision (see :data:`ADJUSTMENT_KINDS`), in that order; empty
    when the decision was applied as it was."""

    @property
    def adjusted(self) -> bool:
        """The decision had to be changed to be feasible."""
        return bool(self.adjustments)


class Plant:
    """The site's physical state over a run, one interval at a time (one instance per run).

    Per interval: :meth:`state` (what a policy observes), then :meth:`apply` (the decision made
    physical), with the same :class:`~powerfirst.control.interval.IntervalInput`.
    ``initial_power_mw`` is each fleet's power before the first interval (default: full power).
    Raises :class:`~powerfirst.errors.InfeasibleError` when must-run power exceeds the grid limit.
    """

    def __init__(self, site: SiteParams, initial_power_mw: Array | None = None) -> None:
        check_must_run(site)
        self.site = site
        self.initial_power_mw: Array = (
            site.max_power_mw.copy()
            if initial_power_mw is None
            else np.asarray(initial_power_mw, dtype=np.float64)
        )
        self.previous_mw: Array = self.initial_power_mw.copy()
        """Each fleet's power in the previous interval, (F,) [MW]."""
        self.cycling = AntiCycling(site)
        self.hall = HallState(site.hall, site.interval_hours) if site.hall is not None else None
        self.ancillary = AncillaryAward(site) if site.num_products else None
        self._must_run_mw = float(site.min_power_mw.sum())
        self._available: tuple[int, Array] | None = None
        """:meth:`available_mw` of the interval it was computed for (read by state and apply)."""

    def available_mw(self) -> Array:
        """Most each fleet may run in the interval now starting, (F,) [MW] (read-only)."""
        step = self.cycling.step
        if self._available is None or self._available[0] != step:
            site = self.site
            available: Array = np.maximum(site.max_power_mw - self.cycling.held_mw(), site.min_power_mw)
            available.flags.writeable = False
            self._available = (step, available)
        return self._available[1]

    def state(self, interval: IntervalInput) -> PlantState:
        """What a policy may observe when ``interval`` starts."""
        hall = self.hall
        return PlantState(
            power_mw=_read_only(self.previous_mw),
            available_mw=_read_only(self.available_mw()),
            held_off_mw=_read_only(self.cycling.held_ahead_mw()),
            training_remaining_gpu_hours=_read_only(hall.remaining_gpu_hours() if hall else np.zeros(0)),
            training_previous_gpus=_read_only(hall.previous_gpus if hall else np.zeros(0)),
            training_has_run=_read_only(hall.has_run if hall else np.zeros(0, dtype=bool)),
            rental_held_gpus=hall.rental_held if hall else 0.0,
            rental_slice_starts=hall.slice_starts(interval) if hall else True,
        )

    def apply(self, decision: Decision, interval: IntervalInput) -> AppliedInterval:
        """Apply ``decision`` in ``interval`` and advance to the next one.

        Raises :class:`~powerfirst.errors.PolicyError` unless the decision gives each fleet a
        finite power, (F,) [MW].
        """
        site = self.site
        wanted = np.asarray(decision.power_mw, dtype=np.float64)
        if wanted.shape != (len(site.fleets),) or not np.all(np.isfinite(wanted)):
            raise PolicyError(
                f"a decision must give {len(site.fleets)} finite fleet powers [MW], got {wanted!r}"
            )
        available = self.available_mw()
        kinds: set[str] = set()
        grid_for_fleets = site.grid_limit_mw
        inference, training, rental = 0.0, np.zeros(site.num_jobs), 0.0
        hall = self.hall
        if hall is not None:
            a_gpu = hall.hall.active_mw_per_gpu
            room_mw = site.grid_limit_mw - site.hall_idle_mw - self._must_run_mw
            max_working = room_mw / a_gpu if a_gpu > 0 else float("inf")
            split = hall.apply(decision, interval, max_working, TOLERANCE_MW / a_gpu if a_gpu > 0 else 0.0)
            hall.book(split, interval)
            inference, training, rental = split.inference_gpus, split.training_gpus, split.rental_gpus
            if split.adjusted:
                kinds.add("gpu_hall")
            grid_for_fleets -= site.hall_idle_mw + a_gpu * (
                split.inference_gpus + float(split.training_gpus.sum()) + split.rental_gpus
            )
        applied = fill_merit_order(wanted, site, available, grid_limit_mw=grid_for_fleets)
        kinds.update(_fleet_adjustments(wanted, applied, site, available))
        heat = 0.0
        if site.heat is not None:
            most = min(site.heat.max_mwth, site.heat.recovery_mwth_per_mw * float(applied.sum()))
            heat_wanted = most if decision.heat_mwth is None else decision.heat_mwth
            heat = clip_float(heat_wanted, 0.0, most)
            if decision.heat_mwth is not None and abs(heat - decision.heat_mwth) > _HEAT_TOLERANCE_MWTH:
                kinds.add("heat_cap")
        offers = np.zeros(site.num_products)
        if self.ancillary is not None:
            offers, award_cut, scaled = self.ancillary.apply(
                decision.as_offer_mw, interval, float(applied.sum()), TOLERANCE_MW
            )
            if award_cut:
                kinds.add("as_award_cap")
            if scaled:
                kinds.add("as_curtailable")
        self.cycling.record(self.previous_mw, applied)
        self.previous_mw = applied
        return AppliedInterval(
            power_mw=applied,
            inference_gpus=inference,
            training_gpus=training,
            rental_gpus=rental,
            heat_mwth=heat,
            as_offer_mw=offers,
            adjustments=tuple(kind for kind in ADJUSTMENT_KINDS if kind in kinds),
        )

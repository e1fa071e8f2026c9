"""A site compiled for dispatch: the static parameters that do not change from interval to interval.

:class:`SiteParams` (fleets, grid limit, contract terms, GPU hall, heat, ancillary offers, 4CP rate)
is compiled once from a validated :class:`~powerfirst.site.schema.Site` at a given interval
length (:func:`powerfirst.site.compile.site_params`).
The optimizer, the plant and the policies read it; nothing here reads files.

Conventions: fleet power is MW at the meter (machines × PUE); GPU counts are continuous; hall power
at the meter is ``idle MW + active MW per GPU × working GPUs``; a training job's window is
[release, deadline).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd

from powerfirst._types import Array
from powerfirst.bitcoin.economics import mining_revenue_usd_per_mwh

__all__ = [
    "FINISH_TOLERANCE",
    "AncillaryParams",
    "FleetParams",
    "HallParams",
    "HeatParams",
    "SiteParams",
    "TrainingParams",
]


FINISH_TOLERANCE = 1e-6
"""A job counts as finished when its progress reaches its GPU-hours within this relative tolerance
(above the solver's primal feasibility tolerance of 1e-7, at which a plan that needs every GPU-hour
of the job's window may fall short by a few 1e-8 of the job). The plant and the ledger share it."""


@dataclass(frozen=True)
class TrainingParams:
    name: str
    gpu_hours: float
    value_usd: float
    min_gpus: float
    max_gpus: float
    checkpoint_hours: float
    """Work repeated on each resume after a preemption, per GPU [h]."""
    restart_hours: float
    """No-progress time on every start, per GPU [h]."""
    release_utc: pd.Timestamp
    deadline_utc: pd.Timestamp


@dataclass(frozen=True)
class HallParams:
    name: str
    gpus: float
    gpu_mw: float
    """Meter power of one working GPU [MW/GPU]."""
    idle_gpu_mw: float
    """Meter power of one idle GPU [MW/GPU]."""
    has_inference: bool
    inference_price_usd_per_gpu_hour: float
    sla_fraction: float
    penalty_usd_per_gpu_hour: float
    jobs: tuple[TrainingParams, ...]
    has_rental: bool
    rental_slice_hours: float
    rental_max_gpus: float

    @property
    def idle_power_mw(self) -> float:
        """The whole hall with no work, at the meter [MW]."""
        return self.gpus * self.idle_gpu_mw

    @property
    def active_mw_per_gpu(self) -> float:
        """Extra meter power of a working GPU over an idle one [MW/GPU]."""
        return self.gpu_mw - self.idle_gpu_mw

    @property
    def max_power_mw(self) -> float:
        return self.idle_power_mw + self.active_mw_per_gpu * self.gpus


@dataclass(frozen=True)
class HeatParams:
    max_mwth: float
    price_usd_per_mwh_thermal: float
    recovery_mwth_per_mw: float


@dataclass(frozen=True)
class AncillaryParams:
    products: tuple[str, ...]
    max_offer_mw: float


@dataclass(frozen=True)
class FleetParams:
    """A fleet reduced to what dispatch needs."""

    name: str
    max_power_mw: float
    """All units at full power, at the meter [MW]."""
    min_power_mw: float
    """Must-run power at the meter [MW]."""
    pue: float
    efficiency_j_per_th: float
    pool_fee_fraction: float
    hashrate_ths: float
    """All units [TH/s]."""
    min_off_intervals: int
    """Intervals a unit stays off once switched off (ceil of min off time / interval) [count]."""
    restart_hours: float
    """Hours a started unit draws power before it hashes [h]."""
    switch_block_mw: float = 0.0
    """Power of one switch block [MW]; 0 when the fleet switches unit by unit (continuous)."""


def _frozen(values: list[float]) -> Array:
    array = np.array(values, dtype=np.float64)
    array.flags.writeable = False
    return array


@dataclass(frozen=True)
class SiteParams:
    """What does not change from interval to interval: fleets, grid limit, contract terms."""

    fleets: tuple[FleetParams, ...]
    grid_limit_mw: float
    adder_usd_per_mwh: float
    """Sum of the contract's adders, charged on every MWh consumed [USD/MWh]."""
    block_mw: float
    """Fixed-price block (0 for an index contract) [MW]."""
    block_price_usd_per_mwh: float
    interval_hours: float
    hall: HallParams | None = None
    heat: HeatParams | None = None
    ancillary: AncillaryParams | None = None
    fourcp_rate_usd_per_mw_year: float = 0.0

    @property
    def num_jobs(self) -> int:
        return len(self.hall.jobs) if self.hall else 0

    @property
    def num_products(self) -> int:
        return len(self.ancillary.products) if self.ancillary else 0

    @property
    def hall_idle_mw(self) -> float:
        """The GPU hall's power with no work (drawn in every interval) [MW at the meter]."""
        return self.hall.idle_power_mw if self.hall else 0.0

    # Per-fleet arrays, computed once: policies call these every interval. Treat them as read-only.

    @cached_property
    def max_power_mw(self) -> Array:
        """(F,) [MW at the meter]."""
        return _frozen([f.max_power_mw for f in self.fleets])

    @cached_property
    def min_power_mw(self) -> Array:
        """(F,) must-run [MW at the meter]."""
        return _frozen([f.min_power_mw for f in self.fleets])

    @cached_property
    def switch_block_mw(self) -> Array:
        """(F,) [MW]; 0 for fleets that switch unit by unit."""
        return _frozen([f.switch_block_mw for f in self.fleets])

    @cached_property
    def merit_order(self) -> npt.NDArray[np.intp]:
        """Fleet indices from the most to the least mining revenue per MWh (lowest J/TH × PUE first)."""
        return np.argsort([f.efficiency_j_per_th * f.pue for f in self.fleets], kind="stable")

    @cached_property
    def _revenue_per_hashprice(self) -> Array:
        """(F,) mining revenue net of pool fee per MWh at the meter per unit of hashprice (USD/TH/day)."""
        return np.array(
            [
                float(
                    mining_revenue_usd_per_mwh(
                        1.0, f.efficiency_j_per_th, pue=f.pue, pool_fee_fraction=f.pool_fee_fraction
                    )
                )
                for f in self.fleets
            ]
        )

    def must_run_conflict(self) -> str | None:
        """Why the site can never be dispatched (must-run power above the grid limit), or None.

        Must-run power is the fleets' must-run share plus the GPU hall's idle power.
        """
        must_run = float(self.min_power_mw.sum()) + self.hall_idle_mw
        # tighter than the solver's feasibility tolerance, so a site the LP rejects never passes here
        if must_run <= self.grid_limit_mw * (1 + 1e-12) + 1e-9:
            return None
        parts = ", ".join(f"{f.name!r} {f.min_power_mw:.10g} MW" for f in self.fleets if f.min_power_mw > 0)
        if self.hall is not None and self.hall_idle_mw > 0:
            parts += (", " if parts else "") + f"GPU hall {self.hall.name!r} idle {self.hall_idle_mw:.10g} MW"
        return (
            f"must-run power {must_run:.10g} MW ({parts}) exceeds the grid connection limit "
            f"{self.grid_limit_mw:.10g} MW: lower min_power_fraction or raise grid.connection_limit_mw"
        )

    def mining_rate_usd_per_mwh(self, hashprice_usd_per_th_day: Array | float) -> Array:
        """Mining revenue net of pool fee per MWh at the meter, (F, T) or (F,) [USD/MWh].

        Linear in the hashprice: see :func:`powerfirst.bitcoin.economics.mining_revenue_usd_per_mwh`.
        """
        rate: Array = np.multiply.outer(self._revenue_per_hashprice, np.asarray(hashprice_usd_per_th_day))
        return rate

    def breakeven_usd_per_mwh(self, hashprice_usd_per_th_day: float) -> Array:
        """Real-time price at which each fleet's margin is zero, (F,) [USD/MWh].

        Mining revenue per MWh at the meter (net of pool fee) less the contract's adders.
        """
        return self.mining_rate_usd_per_mwh(hashprice_usd_per_th_day) - self.adder_usd_per_mwh

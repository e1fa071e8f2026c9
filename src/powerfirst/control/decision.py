"""What is decided: one interval's :class:`Decision` and a window's :class:`Schedule`.

A policy returns a Decision each interval; the backtest engine applies the site's physics and
stacks the applied decisions into a Schedule; the optimizer's plan is a Schedule too, and the
accounting books any Schedule. Units: fleet power MW at the meter, GPUs (continuous), heat MW
thermal, ancillary offers MW.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from powerfirst._types import Array

__all__ = ["Decision", "Schedule"]


@dataclass(frozen=True)
class Decision:
    """One interval's decision.

    Fields left ``None`` take the site's default rule, the way sites are run today: the GPU hall
    serves inference demand in full, then training jobs by earliest deadline at their most GPUs,
    then rents out the rest; heat is sold up to what the customer takes; no ancillary offers.
    """

    power_mw: Array
    """Each ASIC fleet's power, (F,) [MW at the meter]."""
    inference_gpus: float | None = None
    training_gpus: Array | None = None
    """GPUs per training job, (J,)."""
    rental_gpus: float | None = None
    heat_mwth: float | None = None
    as_offer_mw: Array | None = None
    """MW offered per ancillary product, (P,); the offer made in an hour's first interval holds for the hour."""


@dataclass(frozen=True)
class Schedule:
    """Decisions over a window of T intervals."""

    power_mw: Array
    """(F, T) [MW at the meter]."""
    inference_gpus: Array
    """(T,) [GPUs]."""
    training_gpus: Array
    """(J, T) [GPUs]."""
    rental_gpus: Array
    """(T,) [GPUs]."""
    heat_mwth: Array
    """(T,) [MW thermal]."""
    as_offer_mw: Array
    """(P, T) [MW]."""

    @classmethod
    def mining_only(cls, power_mw: Array, jobs: int = 0, products: int = 0) -> Schedule:
        t_count = power_mw.shape[1]
        return cls(
            power_mw=power_mw,
            inference_gpus=np.zeros(t_count),
            training_gpus=np.zeros((jobs, t_count)),
            rental_gpus=np.zeros(t_count),
            heat_mwth=np.zeros(t_count),
            as_offer_mw=np.zeros((products, t_count)),
        )

    @property
    def working_gpus(self) -> Array:
        """GPUs with work in each interval, (T,)."""
        total: Array = self.inference_gpus + self.rental_gpus + self.training_gpus.sum(axis=0)
        return total

    def decision(self, t: int) -> Decision:
        return Decision(
            power_mw=self.power_mw[:, t],
            inference_gpus=float(self.inference_gpus[t]),
            training_gpus=self.training_gpus[:, t],
            rental_gpus=float(self.rental_gpus[t]),
            heat_mwth=float(self.heat_mwth[t]),
            as_offer_mw=self.as_offer_mw[:, t],
        )

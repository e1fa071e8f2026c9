"""The Policy interface: what a strategy may see at decision time, and what it returns.

The backtest and a live controller drive the same policy objects through :meth:`Policy.decide`.
An :class:`Observation` holds only what is known when interval t starts: real-time prices of
intervals that have already settled (a read-only view that ends before t), the latest daily
hashprice published (the previous UTC day's), the site's own state, and through
:meth:`Observation.market` the day-ahead prices published so far and the system load metered so
far (:mod:`powerfirst.market.information`). A policy therefore cannot read the future, even by
mistake.

The one exception is a :class:`~powerfirst.policies.hindsight.HindsightPolicy` (``perfect``): the backtest hands it the realised
data of the whole window before the run. Its results are an upper bound, never a strategy, and
every output labels them so.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from powerfirst._types import Array
from powerfirst.control.decision import Decision
from powerfirst.errors import PolicyError
from powerfirst.market.information import MarketData, MarketHistory
from powerfirst.site.params import SiteParams

__all__ = ["Decision", "Observation", "Policy"]


@dataclass(frozen=True, slots=True)
class Observation:
    """What a policy may know when it decides interval ``step`` (starting at ``interval_start_utc``)."""

    step: int
    interval_start_utc: pd.Timestamp
    settled_prices_usd_per_mwh: Array
    """Real-time prices of the intervals before this one, oldest first (read-only) [USD/MWh]."""
    hashprice_usd_per_th_day: float
    """Latest published daily hashprice: the previous UTC day's [USD/(TH/s)/day]."""
    power_mw: Array
    """Each fleet's power in the previous interval, (F,) [MW at the meter]."""
    available_mw: Array
    """Most each fleet may run now: units still held off by anti-cycling are excluded, (F,) [MW]."""
    held_off_mw: Array = field(default_factory=lambda: np.zeros((0, 0)))
    """Power of each fleet switched off before this interval that anti-cycling still holds off in
    this and each following interval, (F, L) [MW] (column 0 is max − available)."""
    inference_demand_gpus: float = 0.0
    """GPUs the inference service asks for in this interval [GPUs]."""
    training_remaining_gpu_hours: Array = field(default_factory=lambda: np.zeros(0))
    """Work each training job still needs, (J,) [GPU-hours]."""
    rental_slice_starts: bool = True
    """A new rental slice starts now (otherwise rentals are held at the slice's amount)."""
    as_price_usd_per_mw_hour: Array = field(default_factory=lambda: np.zeros(0))
    """Day-ahead capacity price of each ancillary product for this hour, published the day before,
    (P,) [USD/MW per hour]."""
    inference_demand_history_gpus: Array = field(default_factory=lambda: np.zeros(0))
    """Inference demand of every interval so far (with up to four weeks before the window), this one
    included, oldest first (read-only) [GPUs]."""
    inference_demand_history_utc_ns: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64)
    )
    """Start of each interval of ``inference_demand_history_gpus``, UTC ns since the epoch (read-only)."""
    rental_price_usd_per_gpu_hour: float = 0.0
    """Price of a rented GPU-hour now [USD/GPU-hour]."""
    rental_held_gpus: float = 0.0
    """GPUs rented in the previous interval (held to the end of their slice) [GPUs]."""
    training_previous_gpus: Array = field(default_factory=lambda: np.zeros(0))
    """GPUs each training job had in the previous interval, (J,)."""
    training_has_run: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    """(J,): the job has run before (a new start is a resume)."""
    training_in_window: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    """(J,): the job's release..deadline lies inside the run's window (other jobs are not run)."""
    market_view: Callable[[], MarketHistory] | None = None
    """What the market has published by now (see :meth:`market`); None without market data."""

    def market(self) -> MarketHistory:
        """Real-time prices settled, day-ahead prices published and system load metered by now
        (:class:`~powerfirst.market.information.MarketHistory`)."""
        if self.market_view is None:
            raise PolicyError("this run has no market data: day-ahead prices and system load are not known")
        return self.market_view()

    @property
    def last_price_usd_per_mwh(self) -> float | None:
        """The last settled real-time price, None before the first settlement."""
        prices = self.settled_prices_usd_per_mwh
        return float(prices[-1]) if prices.size else None


class Policy(ABC):
    """A dispatch strategy. ``decide`` returns each fleet's power for one interval, (F,) [MW at the meter]."""

    name: ClassVar[str]
    label: ClassVar[str]
    """One line for reports."""
    uses_hindsight: ClassVar[bool] = False
    learns: ClassVar[bool] = False
    """The policy learns from market data before the window (see :meth:`learn`)."""

    @property
    def needs_history(self) -> str | None:
        """The option that cannot run without market data before the window (e.g. ``--forecast
        gbm``), or None when the policy can start from nothing."""
        return None

    def learn(self, past: MarketData, fourcp_peaks: pd.DataFrame | None = None) -> None:  # noqa: B027
        """Learn from market data strictly before the window (walk-forward: nothing of the scored
        period) and the 4CP peaks of those years. Default: nothing to learn."""

    def details(self) -> dict[str, Any]:
        """What a run's summary should say about how the policy decided (default: nothing)."""
        return {}

    def reset(self, site: SiteParams) -> None:
        """Forget all state; called before a run with the site's static parameters."""
        self.site = site

    @abstractmethod
    def decide(self, obs: Observation) -> Decision | Array:
        """The decision for the interval of ``obs``: a :class:`Decision`, or just each fleet's power
        (F,) [MW], leaving the GPU hall, heat and ancillary offers to the site's default rule. The
        site clips it to what is feasible."""

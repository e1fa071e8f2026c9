"""Everything a dispatch decision over a horizon depends on, as numpy arrays.

:class:`DispatchInputs` is built once from a site, a price series and a daily hashprice; the
optimizer, the policies' hindsight view and the accounting all read the same arrays, so a plan
and its accounting cannot disagree.

Conventions: fleet power is MW at the meter (machines × PUE); intervals are the ones that have a
price (gaps are excluded, see :class:`~powerfirst.market.series.GapReport`); index ``t`` runs over
those intervals in time order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from powerfirst._types import Array
from powerfirst.dispatch.streams import StreamArrays
from powerfirst.site.params import FleetParams, SiteParams

__all__ = ["DispatchInputs"]


@dataclass(frozen=True)
class DispatchInputs:
    """Realised arrays over the intervals of a window (T) for a site's fleets (F)."""

    site: SiteParams
    times_utc: pd.DatetimeIndex
    price_usd_per_mwh: Array
    """Real-time price per interval, (T,) [USD/MWh]."""
    hashprice_usd_per_th_day: Array
    """Realised daily hashprice mapped to each interval, (T,) [USD/(TH/s)/day]."""
    streams: StreamArrays | None = None
    """Per-interval data of the GPU hall, ancillary services and 4CP (None: a mining-only site)."""
    gpu_price_usd_per_mwh: Array | None = None
    """Price at which the GPU hall's working power is costed, (T,) [USD/MWh]; None: the real-time
    price. A rolling controller sets a high forecast quantile here, so that GPU commitments it
    cannot undo quickly (rental slices, training runs) are priced for the risk, not the median."""

    @cached_property
    def stream(self) -> StreamArrays:
        """The stream arrays, empty ones for a mining-only site."""
        if self.streams is not None:
            return self.streams
        t = self.num_intervals
        return StreamArrays(
            inference_demand_gpus=np.zeros(t),
            rental_price_usd_per_gpu_hour=np.zeros(t),
            as_price_usd_per_mw_hour=np.zeros((0, t)),
            as_available=np.zeros((0, t), dtype=bool),
            fourcp_usd_per_mw=np.zeros(t),
            month_id=np.zeros(t, dtype=np.int64),
            hour_id=np.arange(t, dtype=np.int64),
            rental_slice_id=np.arange(t, dtype=np.int64),
            job_active=np.zeros((0, t), dtype=bool),
            jobs_in_window=(),
        )

    def load_cost_usd_per_mw(self) -> Array:
        """What one MW of site load costs in each interval, (T,) [USD/MW]: (price + adders) × Δt plus
        the interval's share of the 4CP charge."""
        return self._cost_at(self.price_usd_per_mwh)

    def gpu_load_cost_usd_per_mw(self) -> Array:
        """What one MW of GPU working power costs in each interval, (T,) [USD/MW]: as
        :meth:`load_cost_usd_per_mw`, at ``gpu_price_usd_per_mwh`` where it is set."""
        price = self.price_usd_per_mwh if self.gpu_price_usd_per_mwh is None else self.gpu_price_usd_per_mwh
        return self._cost_at(price)

    def _cost_at(self, price_usd_per_mwh: Array) -> Array:
        cost: Array = (price_usd_per_mwh + self.site.adder_usd_per_mwh) * self.site.interval_hours
        return cost + self.stream.fourcp_usd_per_mw

    @property
    def num_intervals(self) -> int:
        return int(self.price_usd_per_mwh.shape[0])

    @property
    def fleets(self) -> tuple[FleetParams, ...]:
        return self.site.fleets

    @property
    def interval_hours(self) -> float:
        return self.site.interval_hours

    @property
    def grid_limit_mw(self) -> float:
        return self.site.grid_limit_mw

    @property
    def max_power_mw(self) -> Array:
        return self.site.max_power_mw

    @property
    def min_power_mw(self) -> Array:
        return self.site.min_power_mw

    def mining_rate_usd_per_mwh(self) -> Array:
        """Mining revenue net of pool fee per MWh at the meter, (F, T) [USD/MWh]."""
        return self.site.mining_rate_usd_per_mwh(self.hashprice_usd_per_th_day)

    def margin_rate_usd_per_mwh(self) -> Array:
        """Mining revenue minus marginal energy cost per MWh at the meter, (F, T) [USD/MWh].

        The marginal cost of running is the real-time price plus adders under both contracts
        (under a fixed block, each MWh used is a MWh not sold back).
        """
        return (
            self.mining_rate_usd_per_mwh() - (self.price_usd_per_mwh + self.site.adder_usd_per_mwh)[None, :]
        )

    def constant_margin_usd(self) -> float:
        """Margin that no decision changes [USD]: the block valued at the real-time price less its
        cost, less the GPU hall's idle power and the inference SLA penalty on all demand (serving
        earns it back), plus the value of the training jobs the window must finish."""
        site = self.site
        total = 0.0
        if site.block_mw > 0:
            value = (self.price_usd_per_mwh - site.block_price_usd_per_mwh) * site.block_mw
            total += float(np.sum(value) * site.interval_hours)
        hall = site.hall
        if hall is not None:
            total -= float(np.sum(self.load_cost_usd_per_mw()) * hall.idle_power_mw)
            total -= (
                float(np.sum(self.stream.inference_demand_gpus))
                * hall.penalty_usd_per_gpu_hour
                * site.interval_hours
            )
            total += sum(
                job.value_usd
                for job, inside in zip(hall.jobs, self.stream.jobs_in_window, strict=True)
                if inside
            )
        return total

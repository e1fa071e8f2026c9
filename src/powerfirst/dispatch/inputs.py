"""Everything a dispatch decision over a horizon depends on, as numpy arrays.

:class:`DispatchInputs` is built once from a site, a price series and a daily hashprice; the
optimizer, the policies' hindsight view and the accounting all read the same arrays, so a plan
and its accounting cannot disagree.

Conventions: fleet power is MW at the meter (machines × PUE); intervals are the ones that have a
price (gaps are excluded, see :class:`~powerfirst.market.series.GapReport`); index ``t`` runs over
those intervals in time order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd

from powerfirst.bitcoin.economics import mining_revenue_usd_per_mwh
from powerfirst.dispatch.streams import (
    AncillaryParams,
    HallParams,
    HeatParams,
    StreamArrays,
    build_stream_arrays,
    hall_params,
)
from powerfirst.errors import ConfigError, DataError
from powerfirst.market.series import PriceSeries
from powerfirst.site import FixedBlockContract, Fleet, Site

__all__ = ["DispatchInputs", "FleetParams", "SiteParams", "build_inputs", "site_params"]

Array = npt.NDArray[np.float64]


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

    @classmethod
    def from_fleet(cls, fleet: Fleet, interval_hours: float) -> FleetParams:
        interval_min = interval_hours * 60.0
        return cls(
            name=fleet.name,
            max_power_mw=fleet.max_power_mw,
            min_power_mw=fleet.min_power_mw,
            pue=fleet.effective_pue,
            efficiency_j_per_th=fleet.efficiency_j_per_th,
            pool_fee_fraction=fleet.pool_fee_fraction,
            hashrate_ths=fleet.hashrate_ths_total,
            min_off_intervals=math.ceil(fleet.min_off_time_min / interval_min - 1e-9),
            restart_hours=fleet.restart_time_min / 60.0,
            switch_block_mw=fleet.block_power_mw,
        )


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


def build_inputs(
    site: Site,
    prices: PriceSeries,
    hashprice_daily: pd.Series,
    timezone: str = "UTC",
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> DispatchInputs:
    """Arrays for ``site`` over the intervals of ``prices`` that have a price (gaps excluded).

    ``timezone`` is the market-local zone: training job dates and SLA months are read in it.
    ``window`` is the [start, end) asked for in UTC (default: the span of the priced intervals).
    """
    series = prices.prices.dropna()
    if series.empty:
        raise DataError(f"{prices.name}: no prices in the window")
    times = pd.DatetimeIndex(series.index)
    days = times.tz_convert("UTC").floor("D")
    hashprice = hashprice_daily.reindex(days)
    if hashprice.isna().any():
        first = days[hashprice.isna().to_numpy()][0]
        raise DataError(f"hashprice missing for UTC day {first.date()}")
    params = site_params(site, prices.interval_hours, timezone)
    return DispatchInputs(
        site=params,
        times_utc=times,
        price_usd_per_mwh=series.to_numpy(dtype=np.float64),
        hashprice_usd_per_th_day=hashprice.to_numpy(dtype=np.float64),
        streams=build_stream_arrays(site, times, timezone, prices.interval_hours, params.hall, window),
    )


def site_params(site: Site, interval_hours: float, timezone: str = "UTC") -> SiteParams:
    """The static part of a site at a given interval length.

    Raises ConfigError when a fleet's restart time is longer than one interval: a start is booked
    in the interval it happens, so a longer restart cannot be represented.
    """
    interval_min = interval_hours * 60.0
    for i, fleet in enumerate(site.fleets):
        if fleet.restart_time_min > interval_min + 1e-9:
            raise ConfigError(
                f"fleets[{i}].restart_time_min (fleet {fleet.name!r}) = {fleet.restart_time_min:g} minutes: "
                f"must be at most the price interval, {interval_min:g} minutes"
            )
    contract = site.contract
    block_mw, block_price = 0.0, 0.0
    if isinstance(contract, FixedBlockContract):
        block_mw, block_price = contract.block_mw, contract.block_price_usd_per_mwh
    return SiteParams(
        fleets=tuple(FleetParams.from_fleet(f, interval_hours) for f in site.fleets),
        grid_limit_mw=site.grid.connection_limit_mw,
        adder_usd_per_mwh=contract.total_adder_usd_per_mwh,
        block_mw=block_mw,
        block_price_usd_per_mwh=block_price,
        interval_hours=interval_hours,
        hall=hall_params(site.gpu_hall, timezone, interval_hours) if site.gpu_hall else None,
        heat=(
            HeatParams(h.max_mwth, h.price_usd_per_mwh_thermal, h.recovery_mwth_per_mw)
            if (h := site.heat_offtake)
            else None
        ),
        ancillary=(
            AncillaryParams(tuple(a.products), a.max_offer_mw if a.max_offer_mw is not None else float("inf"))
            if (a := site.ancillary)
            else None
        ),
        fourcp_rate_usd_per_mw_year=site.fourcp.rate_usd_per_mw_year if site.fourcp else 0.0,
    )

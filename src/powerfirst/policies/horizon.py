"""The inputs of one rolling re-solve, from what is known when it is made.

:class:`HorizonBuilder` turns an :class:`~powerfirst.control.contract.Observation` into the
:class:`~powerfirst.dispatch.inputs.DispatchInputs` and :class:`~powerfirst.dispatch.state.StartState`
of the next ``horizon_hours``:

* real-time price: the forecaster's median for each hour (fleets), and its ``risk_quantile``
  (interpolated between the 0.5 and 0.9 quantiles) for the GPU hall's working power; the rest of
  the current clock hour at the last settled price (a nowcast);
* hashprice: the latest published (the previous UTC day's), held flat;
* inference demand: the demand of this interval, then the highest demand at the same
  market-local time of week over the last ``demand_weeks`` weeks (GPUs are kept free for it);
* rental price: today's, held flat;
* ancillary prices: the day-ahead prices published so far; hours not yet published are not offered;
* 4CP: the predictor's probability that each hour is its month's peak × a quarter of the yearly
  rate, per MW of site load (the expected charge);
* training jobs: each job's remaining work; a job whose deadline is beyond the horizon must make
  the progress that the GPU-hours left to it after the horizon cannot cover (earliest deadline
  first, shared with the jobs due before it, less ``training_reserve_fraction`` and one resume).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Generic, Protocol, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from powerfirst._types import Array, IntArray
from powerfirst.calendar import NS_PER_HOUR, calendar_ids
from powerfirst.control.contract import Observation
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.dispatch.state import StartState
from powerfirst.dispatch.streams import StreamArrays
from powerfirst.forecast.base import QUANTILES, PriceForecaster
from powerfirst.fourcp.predictor import FourCpPredictor
from powerfirst.market.information import MarketHistory
from powerfirst.site.params import SiteParams

__all__ = [
    "ForecastSource",
    "Horizon",
    "HorizonBuilder",
    "HorizonSettings",
    "PrefetchedForecast",
    "horizon_hours_ns",
]

_MEDIAN = QUANTILES.index(0.5)
_UPPER = QUANTILES.index(0.9)


class HorizonSettings(Protocol):
    """The settings a horizon is built with (``rolling``'s, see
    :class:`~powerfirst.policies.rolling.RollingStrategyConfig`)."""

    @property
    def horizon_hours(self) -> int:
        """Hours each re-solve looks ahead [h]."""

    @property
    def risk_quantile(self) -> float:
        """Forecast quantile GPU power is costed at [-]."""

    @property
    def training_reserve_fraction(self) -> float:
        """Share of a job's GPU-hours after the horizon that is not counted on [-]."""

    @property
    def demand_weeks(self) -> int:
        """Weeks of inference demand history looked at [weeks]."""


def horizon_hours_ns(start_ns: int, step_ns: int, length: int) -> IntArray:
    """The clock hours (UTC hour starts [ns]) that a horizon of ``length`` intervals of ``step_ns``
    from ``start_ns`` touches: the hours its forecasts are asked for."""
    hour_ns = (start_ns + step_ns * np.arange(length, dtype=np.int64)) // NS_PER_HOUR * NS_PER_HOUR
    return hour_ns[_first_of_run(hour_ns)]


def _first_of_run(values: IntArray) -> npt.NDArray[np.bool_]:
    """True where a sorted array's value differs from the one before (and at its start)."""
    first = np.empty(values.shape, dtype=bool)
    first[:1] = True
    np.greater(values[1:], values[:-1], out=first[1:])
    return first


@dataclass(frozen=True)
class PrefetchedForecast:
    """A re-solve's forecasts, computed ahead from what was known at its issue time (by a backtest,
    see :mod:`powerfirst.backtest.prefetch`): the same numbers the policy would compute."""

    quantiles: Array
    """The forecaster's quantiles per hour, (hours, len(QUANTILES)) [USD/MWh]."""
    last_day_ahead_ns: int | None
    """Start of the latest day-ahead hour known at issue time [UTC ns] (None: none), for the
    forecaster's count of forecasts issued without a current day-ahead price."""
    fourcp_probability: Array | None
    """The 4CP predictor's probability per hour (None: computed by the policy)."""


class ForecastSource(Protocol):
    """Forecasts of scheduled re-solves computed ahead (a backtest's worker process)."""

    def take(self, issued_ns: int, hours_ns: IntArray) -> PrefetchedForecast | None:
        """The forecasts issued at ``issued_ns`` for the clock hours ``hours_ns``; None: none ready."""


@dataclass(frozen=True)
class Horizon:
    inputs: DispatchInputs
    start: StartState


class HorizonBuilder:
    """Builds each re-solve's inputs for one site (see the module docstring)."""

    def __init__(
        self,
        site: SiteParams,
        config: HorizonSettings,
        forecaster: PriceForecaster,
        timezone: str,
        fourcp: FourCpPredictor | None,
        prefetch: ForecastSource | None = None,
    ) -> None:
        self.site = site
        self.prefetch = prefetch
        """Forecasts of scheduled re-solves computed ahead (None: each is computed here)."""
        self.config = config
        self.forecaster = forecaster
        self.timezone = timezone
        self.fourcp = fourcp
        dt = site.interval_hours
        self.length = max(round(config.horizon_hours / dt), 1)
        self.step = pd.Timedelta(hours=dt)
        self.slice_hours = site.hall.rental_slice_hours if site.hall is not None else dt
        self._step_ns = int(self.step / pd.Timedelta(1))
        self._calendar: _Chunks[npt.NDArray[np.int64]] = _Chunks(self._step_ns, self._calendar_chunk)
        self._weeks_back: _Chunks[npt.NDArray[np.int64]] = _Chunks(self._step_ns, self._weeks_back_chunk)
        self._times: _Chunks[pd.DatetimeIndex] = _Chunks(
            self._step_ns, lambda utc_ns: [pd.DatetimeIndex(utc_ns, tz="UTC")]
        )

    def _calendar_chunk(self, utc_ns: npt.NDArray[np.int64]) -> list[npt.NDArray[np.int64]]:
        """(SLA month, UTC clock hour, rental slice) codes of each time, and its month's key
        (12 × year + month − 1, market-local)."""
        times = pd.DatetimeIndex(utc_ns, tz="UTC")
        month_id, _, hour_id, slice_id = calendar_ids(times, self.timezone, self.slice_hours)
        local = times.tz_convert(self.timezone)
        month_key = np.asarray(local.year, dtype=np.int64) * 12 + np.asarray(local.month, dtype=np.int64) - 1
        return [month_id, hour_id, slice_id, month_key]

    def _weeks_back_chunk(self, utc_ns: npt.NDArray[np.int64]) -> list[npt.NDArray[np.int64]]:
        """For each time, the UTC ns of the same market-local wall-clock time 1..``demand_weeks``
        weeks earlier (a time a clock change skipped moves forward, a repeated one is read as
        standard time), one array per week."""
        wall = pd.DatetimeIndex(utc_ns, tz="UTC").tz_convert(self.timezone).tz_localize(None).as_unit("ns")
        weeks = self.config.demand_weeks
        earlier = pd.DatetimeIndex(
            np.concatenate([(wall - pd.Timedelta(weeks=w)).asi8 for w in range(1, weeks + 1)])
        )
        local = earlier.as_unit("ns").tz_localize(
            self.timezone, ambiguous=np.zeros(len(earlier), dtype=bool), nonexistent="shift_forward"
        )
        return list(local.tz_convert("UTC").as_unit("ns").asi8.reshape(weeks, len(utc_ns)))

    def prices(
        self,
        history: MarketHistory,
        hours_ns: IntArray,
        hours: pd.DatetimeIndex | None,
        hour_index: npt.NDArray[np.int64],
        prefetched: PrefetchedForecast | None = None,
    ) -> tuple[Array, Array]:
        """(median, risk price) per interval [USD/MWh] from the forecast of the clock hours
        ``hours_ns`` [UTC ns] (``hours``: the same as an index, None: made here when needed;
        ``prefetched``: computed ahead from the same history); ``hour_index`` maps each interval
        to its hour."""
        if prefetched is None:
            quantiles = self.forecaster.predict(
                history, pd.DatetimeIndex(hours_ns, tz="UTC") if hours is None else hours
            )
        else:
            quantiles = prefetched.quantiles
            if self.forecaster.day_ahead_gaps is not None:  # counted as predict() counts it
                self.forecaster.day_ahead_gaps.note(
                    int(history.issued_utc.value), prefetched.last_day_ahead_ns
                )
        median = quantiles[hour_index, _MEDIAN]
        weight = (self.config.risk_quantile - 0.5) / (QUANTILES[_UPPER] - 0.5)
        risk = median + weight * (quantiles[hour_index, _UPPER] - median)
        return median, risk

    def demand(self, obs: Observation, times: pd.DatetimeIndex) -> Array:
        """Inference GPUs to plan for in each interval of the horizon [GPUs]: the demand now, then
        the highest demand seen at the same market-local time of week in the last weeks."""
        seen = np.asarray(obs.inference_demand_history_gpus)
        seen_ns = np.asarray(obs.inference_demand_history_utc_ns)
        if seen.size == 0:
            return np.zeros(self.length)
        wanted = np.vstack(self._weeks_back.get(times.as_unit("ns").asi8))
        index = np.clip(np.searchsorted(seen_ns, wanted), 0, seen.size - 1)
        found = seen_ns[index] == wanted
        best = np.where(found, seen[index], -np.inf).max(axis=0)
        best = np.where(np.isfinite(best), best, float(seen.max()))
        best[0] = seen[-1]
        return best

    def build(self, obs: Observation) -> Horizon:
        site = self.site
        start_ns = int(obs.interval_start_utc.as_unit("ns").value)
        times_ns = start_ns + self._step_ns * np.arange(self.length, dtype=np.int64)
        (times,) = self._times.get(times_ns)
        history = obs.market()
        # codes of the cached chunk, numbered from 0 again (they grow with time)
        month_id, hour_index, slice_id, month_key = self._calendar.get(times_ns)
        month_id, hour_index, slice_id = (
            month_id - month_id[0],
            hour_index - hour_index[0],
            slice_id - slice_id[0],
        )
        # the horizon's times are contiguous: its months are the keys from the first to the last
        month_labels = _month_labels(int(month_key[0]), int(month_key[-1]))
        hour_ns = times_ns // NS_PER_HOUR * NS_PER_HOUR
        hours_ns = hour_ns[_first_of_run(hour_index)]
        prefetched = self.prefetch.take(start_ns, hours_ns) if self.prefetch is not None else None
        hours = pd.DatetimeIndex(hours_ns, tz="UTC") if prefetched is None else None
        median, risk = self.prices(history, hours_ns, hours, hour_index, prefetched)
        # nowcast: the rest of this clock hour at the last settled price (at the market's own
        # interval the last price is a better guess for the next few than any hourly forecast)
        last = obs.last_price_usd_per_mwh
        if last is not None:
            this_hour = hour_index == hour_index[0]
            median = np.where(this_hour, last, median)
            risk = np.where(this_hour, np.maximum(risk, last), risk)
        hour_id = hour_index
        n = self.length
        hall = site.hall
        demand = self.demand(obs, times) if hall is not None and hall.has_inference else np.zeros(n)
        if hall is not None:
            demand = np.minimum(demand, hall.gpus)
            if not obs.rental_slice_starts:
                # rentals held to the end of their slice come first: inference gets what is left
                first_slice = slice_id == slice_id[0]
                demand[first_slice] = np.minimum(
                    demand[first_slice], max(hall.gpus - obs.rental_held_gpus, 0.0)
                )

        fourcp = np.zeros(n)
        if site.fourcp_rate_usd_per_mw_year > 0 and self.fourcp is not None:
            probability = (
                prefetched.fourcp_probability
                if prefetched is not None and prefetched.fourcp_probability is not None
                else self.fourcp.probability(
                    history, pd.DatetimeIndex(hours_ns, tz="UTC") if hours is None else hours
                )
            )
            # a peak's charge is on the site's mean load over the whole hour: each interval carries
            # its share of a full hour, also in the horizon's partial first and last hours
            per_hour = max(round(1.0 / site.interval_hours), 1)
            fourcp = (probability * site.fourcp_rate_usd_per_mw_year / 4.0 / per_hour)[hour_index]

        products = site.ancillary.products if site.ancillary is not None else ()
        as_price = np.zeros((len(products), n))
        if products:
            for p, product in enumerate(products):
                as_price[p] = history.ancillary_at(product, hours_ns)[hour_index]
        as_available = np.isfinite(as_price)

        jobs = hall.jobs if hall is not None else ()
        job_active = np.zeros((len(jobs), n), dtype=bool)
        need = np.zeros(len(jobs))
        running = np.asarray(obs.training_previous_gpus) > 1e-6 if jobs else np.zeros(0, dtype=bool)
        end = pd.Timestamp(int(times_ns[-1]) + self._step_ns, tz="UTC")
        peak_demand = float(demand.max(initial=0.0))
        free_gpus = max(hall.gpus - peak_demand, 0.0) if hall is not None else 0.0
        keep = 1.0 - self.config.training_reserve_fraction
        booked_after = 0.0  # GPU-hours after the horizon counted on by jobs due earlier
        for j in sorted(range(len(jobs)), key=lambda i: jobs[i].deadline_utc):
            job = jobs[j]
            remaining = float(obs.training_remaining_gpu_hours[j])
            if not obs.training_in_window[j] or remaining <= 1e-6 * job.gpu_hours:
                continue
            inside = (times_ns >= job.release_utc.value) & (times_ns < job.deadline_utc.value)
            if job.deadline_utc <= end:
                need[j] = remaining
            else:
                # earliest deadline first: what this job can count on after the horizon, at its
                # most GPUs, beside the jobs due before it, less the reserve and one resume
                hour = pd.Timedelta(hours=1)
                lost = (job.restart_hours + job.checkpoint_hours) * job.max_gpus
                own = min(job.max_gpus, free_gpus) * ((job.deadline_utc - max(end, job.release_utc)) / hour)
                shared = free_gpus * ((job.deadline_utc - end) / hour)
                after = max(min(remaining, keep * (own - lost), keep * (shared - lost) - booked_after), 0.0)
                booked_after += after
                need[j] = remaining - after
            if need[j] > 0 or running[j]:
                job_active[j] = inside

        streams = StreamArrays(
            inference_demand_gpus=demand,
            rental_price_usd_per_gpu_hour=np.full(n, obs.rental_price_usd_per_gpu_hour),
            as_price_usd_per_mw_hour=np.where(as_available, as_price, 0.0),
            as_available=as_available,
            fourcp_usd_per_mw=fourcp,
            month_id=month_id,
            hour_id=hour_id,
            rental_slice_id=slice_id,
            job_active=job_active,
            jobs_in_window=tuple(False for _ in jobs),  # job values are not the horizon's to earn
            month_labels=month_labels,
        )
        inputs = DispatchInputs(
            site=site,
            times_utc=times,
            price_usd_per_mwh=median,
            hashprice_usd_per_th_day=np.full(n, obs.hashprice_usd_per_th_day),
            streams=streams,
            gpu_price_usd_per_mwh=risk,
        )
        start = StartState(
            held_off_mw=np.asarray(obs.held_off_mw),
            rental_held_gpus=None if obs.rental_slice_starts else obs.rental_held_gpus,
            job_min_progress_gpu_hours=need,
            job_has_run=np.asarray(obs.training_has_run, dtype=bool),
            job_running=running,
        )
        return Horizon(inputs, start)


@cache
def _month_labels(first_key: int, last_key: int) -> tuple[str, ...]:
    """``YYYY-MM`` of each month from ``first_key`` to ``last_key`` (keys 12 × year + month − 1)."""
    return tuple(f"{k // 12:04d}-{k % 12 + 1:02d}" for k in range(first_key, last_key + 1))


_Sliceable = TypeVar("_Sliceable", npt.NDArray[np.int64], pd.DatetimeIndex)


class _Chunks(Generic[_Sliceable]):
    """Per-interval arrays computed for a run of intervals at a time and sliced for each horizon.

    A rolling controller asks for overlapping horizons, an hour apart: ``compute`` is called for
    a chunk of ``chunk`` intervals from the first time asked for, and each request inside it is a
    slice (a request outside it starts a new chunk).
    """

    def __init__(
        self,
        step_ns: int,
        compute: Callable[[npt.NDArray[np.int64]], list[_Sliceable]],
        chunk: int = 2048,
    ) -> None:
        self.step_ns = step_ns
        self.compute: Callable[[npt.NDArray[np.int64]], list[_Sliceable]] = compute
        self.chunk = chunk
        self._first_ns = 0
        self._arrays: list[_Sliceable] = []

    def get(self, times_ns: npt.NDArray[np.int64]) -> list[_Sliceable]:
        """The arrays at ``times_ns`` (evenly spaced by the step)."""
        n = times_ns.size
        offset, misaligned = divmod(int(times_ns[0]) - self._first_ns, self.step_ns) if n else (0, 0)
        if not self._arrays or misaligned or offset < 0 or offset + n > self._arrays[0].shape[-1]:
            first = int(times_ns[0]) if n else 0
            self._first_ns, offset = first, 0
            self._arrays = self.compute(first + self.step_ns * np.arange(max(self.chunk, n), dtype=np.int64))
        return [a[offset : offset + n] for a in self._arrays]

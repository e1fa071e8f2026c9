"""What a window reveals at each interval besides prices: the calendar the plant needs and the
demand, ancillary and rental prices a policy may see.

:class:`WindowReveal` is shared by the backtest's replay clock (:mod:`powerfirst.backtest.engine`)
and an agent replaying the same window (:mod:`powerfirst.live.agent`), so both build the same
:class:`~powerfirst.control.interval.IntervalInput` and the same
:class:`~powerfirst.control.contract.Observation` for interval t. Inference demand is revealed one
interval at a time (through t, with up to four weeks before the window), like the prices.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from powerfirst._types import Array
from powerfirst.control.contract import Observation
from powerfirst.control.interval import IntervalInput
from powerfirst.control.plant import PlantState
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.market.information import MarketHistory

__all__ = ["WindowReveal"]


def _frozen(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    view = values.copy()
    view.flags.writeable = False
    return view


class WindowReveal:
    """The window's calendar and demand, revealed interval by interval (see the module docstring).

    ``demand_before_gpus`` is the inference demand of the intervals before the window, indexed by
    their UTC start (history the policy may see from the start) [GPUs].
    """

    def __init__(self, inputs: DispatchInputs, demand_before_gpus: pd.Series | None = None) -> None:
        stream = inputs.stream
        t_count = inputs.num_intervals
        self.stream = stream
        self.slice_end = np.searchsorted(stream.rental_slice_id, stream.rental_slice_id, side="right")
        before = pd.Series(dtype=np.float64) if demand_before_gpus is None else demand_before_gpus
        self.known_before = len(before)
        self.demand_seen = np.concatenate([before.to_numpy(dtype=np.float64), np.full(t_count, np.nan)])
        self.demand_seen_ns = np.concatenate(
            [
                pd.DatetimeIndex(before.index).as_unit("ns").asi8
                if self.known_before
                else np.zeros(0, dtype=np.int64),
                np.full(t_count, np.iinfo(np.int64).min),
            ]
        )
        self.times_ns = inputs.times_utc.as_unit("ns").asi8
        j_count = inputs.site.num_jobs
        self.job_in_window = (
            _frozen(np.array(stream.jobs_in_window, dtype=bool)) if j_count else np.zeros(0, dtype=bool)
        )

    def interval(self, t: int) -> IntervalInput:
        """What the plant is told about interval t of the window."""
        stream = self.stream
        return IntervalInput(
            hour_id=int(stream.hour_id[t]),
            rental_slice_id=int(stream.rental_slice_id[t]),
            rental_slice_intervals_left=int(self.slice_end[t]) - t,
            inference_demand_gpus=float(stream.inference_demand_gpus[t]),
            job_active=stream.job_active[:, t],
            as_available=stream.as_available[:, t],
        )

    def observe(
        self,
        t: int,
        *,
        interval_start_utc: pd.Timestamp,
        settled_prices_usd_per_mwh: Array,
        hashprice_usd_per_th_day: float,
        state: PlantState,
        interval: IntervalInput,
        market_view: Callable[[], MarketHistory] | None,
    ) -> Observation:
        """The observation of interval t: reveals its inference demand, then builds what a policy sees."""
        stream = self.stream
        at = self.known_before + t
        self.demand_seen[at] = stream.inference_demand_gpus[t]
        self.demand_seen_ns[at] = self.times_ns[t]
        demand_view = self.demand_seen[: at + 1]
        demand_view.flags.writeable = False
        demand_times_view = self.demand_seen_ns[: at + 1]
        demand_times_view.flags.writeable = False
        return Observation(
            step=t,
            interval_start_utc=interval_start_utc,
            settled_prices_usd_per_mwh=settled_prices_usd_per_mwh,
            hashprice_usd_per_th_day=hashprice_usd_per_th_day,
            power_mw=state.power_mw,
            available_mw=state.available_mw,
            held_off_mw=state.held_off_mw,
            inference_demand_gpus=interval.inference_demand_gpus,
            training_remaining_gpu_hours=state.training_remaining_gpu_hours,
            rental_slice_starts=state.rental_slice_starts,
            as_price_usd_per_mw_hour=_frozen(stream.as_price_usd_per_mw_hour[:, t]),
            inference_demand_history_gpus=demand_view,
            inference_demand_history_utc_ns=demand_times_view,
            rental_price_usd_per_gpu_hour=float(stream.rental_price_usd_per_gpu_hour[t]),
            rental_held_gpus=state.rental_held_gpus,
            training_previous_gpus=state.training_previous_gpus,
            training_has_run=state.training_has_run,
            training_in_window=self.job_in_window,
            market_view=market_view,
        )

"""What the agent knows at the start of each interval, as the same :class:`Observation` a
backtest builds: the settled prices its signal source has delivered, the hashprice published by
then (the previous UTC day's), the plant's state and — in a replay — the window's calendar and
demand (:class:`~powerfirst.backtest.reveal.WindowReveal`) and the market data a
:class:`~powerfirst.market.information.MarketClock` has revealed.

Only prices of intervals that have ended reach a policy; the feed's age (since the end of the
newest settled interval) is what the agent's watchdog watches. Prices in USD/MWh, times in seconds
since the epoch (UTC).
"""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pandas as pd

from powerfirst.backtest.reveal import WindowReveal
from powerfirst.bitcoin.hashprice import published_hashprice
from powerfirst.control.contract import Observation
from powerfirst.control.interval import IntervalInput
from powerfirst.control.plant import PlantState
from powerfirst.errors import DataError
from powerfirst.live.clock import AgentClock
from powerfirst.live.journal import Journal
from powerfirst.live.signals import SignalSource
from powerfirst.market.information import MarketData

__all__ = ["Observer"]


class Observer:
    """The agent's signals and the observations built from them."""

    def __init__(
        self,
        source: SignalSource,
        hashprice_daily: pd.Series,
        clock: AgentClock,
        journal: Journal,
        interval_s: float,
        market: MarketData | None = None,
        window: WindowReveal | None = None,
    ) -> None:
        self.source = source
        self.hashprice_daily = hashprice_daily
        self.clock = clock
        self.journal = journal
        self.interval_s = interval_s
        self.window = window
        """A replayed window's calendar and demand (None: live, the clock's hour only)."""
        self.window_start_s: float | None = None
        """The first interval of the run: settled prices before it are not observed (as in a backtest)."""
        self.starts_s = np.zeros(0)
        self.prices = np.zeros(0)
        self.failures = 0
        """Polls of the source that failed [count]."""
        self._market_clock = market.clock() if market is not None else None

    async def poll(self, at_s: float) -> None:
        """Read the source (bounded by an interval of real time); a failure is logged and counted,
        and what was known before stays."""
        try:
            settled = await asyncio.wait_for(
                self.source.poll(at_s), timeout=max(self.clock.real_seconds(self.interval_s), 1.0)
            )
        except (DataError, TimeoutError) as exc:
            self.failures += 1
            self.journal.audit(at_s, "feed_failed", message=str(exc) or "timed out")
            return
        self.starts_s, self.prices = settled.starts_s, settled.prices_usd_per_mwh

    def feed_age(self, at_s: float) -> float:
        """Time since the end of the newest settled interval [s] (inf: none yet)."""
        return at_s - (float(self.starts_s[-1]) + self.interval_s) if self.starts_s.size else math.inf

    def interval(self, step: int, at_s: float) -> IntervalInput:
        """What the plant is told about the interval: the window's, or the clock hour's."""
        return (
            self.window.interval(step)
            if self.window is not None
            else IntervalInput(hour_id=int(at_s // 3600))
        )

    def observation(self, step: int, at_s: float, interval: IntervalInput, state: PlantState) -> Observation:
        """What the policy may know when the interval starting at ``at_s`` starts."""
        start = self.window_start_s if self.window_start_s is not None else at_s
        keep = (self.starts_s >= start - 1e-6) & (self.starts_s < at_s - 1e-6)
        settled = self.prices[keep].copy()
        settled.flags.writeable = False
        when = pd.Timestamp(round(at_s * 1e9), tz="UTC")
        view = None
        if self._market_clock is not None:
            self._market_clock.advance(when)
            view = self._market_clock.view.history
        if self.window is not None:
            return self.window.observe(
                step,
                interval_start_utc=when,
                settled_prices_usd_per_mwh=settled,
                hashprice_usd_per_th_day=self.hashprice(when),
                state=state,
                interval=interval,
                market_view=view,
            )
        return Observation(
            step=step,
            interval_start_utc=when,
            settled_prices_usd_per_mwh=settled,
            hashprice_usd_per_th_day=self.hashprice(when),
            power_mw=state.power_mw,
            available_mw=state.available_mw,
            held_off_mw=state.held_off_mw,
            market_view=view,
        )

    def hashprice(self, when: pd.Timestamp) -> float:
        """The hashprice published by ``when``: the previous UTC day's [USD/(TH/s)/day]."""
        value = float(published_hashprice(self.hashprice_daily, pd.DatetimeIndex([when]))[0])
        if not np.isfinite(value):
            day = when.floor("D") - pd.Timedelta(days=1)
            raise DataError(f"no hashprice published for {day.date()} (the day before {when.isoformat()})")
        return value

"""The arrays the planning modules hand each other: driver paths and per-MW margin tables.

Months are calendar months, month 0 being the scenario's first month; paths are rows. Every
money figure is nominal USD (no inflation adjustment unless a scenario's escalator adds one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from powerfirst._types import Array, IntArray

__all__ = ["DriverPaths", "MarginTable"]


@dataclass(frozen=True)
class DriverPaths:
    """Monthly paths of the drivers of a plan: P paths × M months.

    ``market_year`` picks, for each path and month, which real market year's power prices (an
    index into ``market_years``) that month is operated under; the margins of that year's same
    calendar month apply (:class:`MarginTable`).
    """

    start_month: str
    """First month, ``YYYY-MM``."""
    btc_usd: Array
    """(P, M) monthly mean Bitcoin price [USD/BTC]."""
    hashrate_ths: Array
    """(P, M) monthly mean network hashrate [TH/s]."""
    fees_btc_per_block: Array
    """(P, M) mean transaction fees per block [BTC/block]."""
    subsidy_btc_per_block: Array
    """(M,) block subsidy from the real halving schedule [BTC/block]."""
    gpu_usd_per_gpu_hour: Array
    """(P, M) GPU rental price [USD per GPU-hour]."""
    market_year: IntArray
    """(P, M) index into ``market_years``."""
    market_years: tuple[int, ...]
    """The real market years the power prices are resampled from."""
    seed: int | None = None
    """The random seed of a Monte Carlo draw; None for a deterministic scenario."""

    @property
    def num_paths(self) -> int:
        return int(self.btc_usd.shape[0])

    @property
    def num_months(self) -> int:
        return int(self.btc_usd.shape[1])

    @property
    def hashprice_usd_per_th_day(self) -> Array:
        """(P, M) hashprice [USD/(TH/s)/day]: price × (subsidy + fees) × 144 / hashrate."""
        revenue_btc_per_day = (self.subsidy_btc_per_block[None, :] + self.fees_btc_per_block) * 144.0
        return np.asarray(self.btc_usd * revenue_btc_per_day / self.hashrate_ths, dtype=np.float64)

    @property
    def calendar_month(self) -> IntArray:
        """(M,) calendar month of each month, 0 = January."""
        first = int(self.start_month[5:7]) - 1
        return np.asarray((first + np.arange(self.num_months)) % 12, dtype=np.int64)


@dataclass(frozen=True)
class MarginTable:
    """Per-MW monthly operating figures of one site under each real market year, from backtests.

    Sign convention: a margin is revenue minus cost (positive = the site earns); a cost is
    positive. Per MW means per MW of the capacity named (mining fleet MW at the meter; AI MW of
    utility power at the meter).
    """

    site_name: str
    market_years: tuple[int, ...]
    """(Y,) the market years backtested."""
    hashprice_grid_usd_per_th_day: Array
    """(H,) increasing hashprices the mining margin was backtested at [USD/(TH/s)/day]."""
    mining_margin_usd_per_mw_month: Array
    """(Y, H, 12) operating margin of one MW of mining capacity per calendar month, with the
    site's curtailment strategy and grid programs, at each hashprice of the grid [USD/MW/month]."""
    ai_power_cost_usd_per_mw_month: Array
    """(Y, 12) cost of one MW drawn flat all month (energy, adders and grid charges) [USD/MW/month]."""
    strategy: str
    """The backtest strategy the mining margins come from."""
    notes: tuple[str, ...] = ()
    """Assumptions and fallbacks, to be printed with the plan."""
    contract_fixed_margin_usd_per_month: Array | None = None
    """(Y, 12) a site-level margin that does not scale with the MW mining or converted [USD/month]:
    a fixed block's ``(p − K)·Q`` (positive when the block was cheaper than the market). The same
    in a plan and its baseline; None: none (an index contract, or left inside the mining margin)."""

    def mining_margin(self, year_index: IntArray, calendar_month: IntArray, hashprice: Array) -> Array:
        """Margin [USD/MW/month] at each (year, month, hashprice), interpolated linearly in hashprice
        between the grid's points (and extrapolated linearly beyond its ends)."""
        grid = self.hashprice_grid_usd_per_th_day
        h = np.asarray(hashprice, dtype=np.float64)
        k = np.clip(np.searchsorted(grid, h) - 1, 0, grid.size - 2)
        lo, hi = grid[k], grid[k + 1]
        weight = (h - lo) / (hi - lo)
        low = self.mining_margin_usd_per_mw_month[year_index, k, calendar_month]
        high = self.mining_margin_usd_per_mw_month[year_index, k + 1, calendar_month]
        return np.asarray(low + weight * (high - low), dtype=np.float64)

"""What the report renders: the result models plus the per-interval data it charts.

Built by the backtest (:func:`powerfirst.backtest.outputs.report_input`); the report never reads the
backtest itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from powerfirst._types import Array
from powerfirst.accounting.results import Comparison, HashpriceSummary, StrategySummary

__all__ = ["ReportHall", "ReportInput", "ReportStreams", "ReportWindow", "StrategyRun"]


@dataclass(frozen=True)
class ReportWindow:
    """The backtest window [start, end) and how it is described."""

    start_utc: pd.Timestamp
    """First interval start (UTC)."""
    end_utc: pd.Timestamp
    """End of the window, exclusive (UTC)."""
    timezone: str
    """Market-local zone the charts and tables show times in (IANA name)."""
    text: str
    """The window described in words (local dates)."""
    zone_line: str
    """Which zone the dates were read in, and why."""


@dataclass(frozen=True)
class ReportHall:
    """The GPU hall as the charts stack it (as dispatched)."""

    name: str
    """Hall name."""
    gpus: float
    """GPUs in the hall [count]."""
    has_inference: bool
    """Whether the hall serves inference."""
    has_rental: bool
    """Whether the hall rents GPUs out."""
    job_names: tuple[str, ...]
    """Training jobs, in the site file's order."""


@dataclass(frozen=True)
class ReportStreams:
    """Which streams the site file gives (a column of the summary table, a section of the report)."""

    gpu_hall: bool
    inference: bool
    training: bool
    rental: bool
    heat: bool
    ancillary: bool
    fourcp: bool

    @property
    def any(self) -> bool:
        """The site has a GPU hall or a grid program (heat, 4CP, ancillary services)."""
        return self.gpu_hall or self.heat or self.fourcp or self.ancillary


@dataclass(frozen=True)
class StrategyRun:
    """One strategy's results and its per-interval ledger."""

    summary: StrategySummary
    """The strategy's summary."""
    intervals: pd.DataFrame
    """The ledger's intervals (UTC index; ``power_mw__<fleet>``, ``net_margin_usd``, GPU columns …)."""
    fleet_names: tuple[str, ...]
    """ASIC fleets, in the ledger's order."""

    @property
    def name(self) -> str:
        return self.summary.strategy

    @property
    def label(self) -> str:
        return self.summary.label

    @property
    def uses_hindsight(self) -> bool:
        return self.summary.is_upper_bound


@dataclass(frozen=True)
class ReportInput:
    """Everything the report renders."""

    site_name: str
    """Site name."""
    price_name: str
    """Price SOURCE string."""
    window: ReportWindow
    """The window."""
    comparison: Comparison
    """The comparison of the strategies."""
    strategies: list[StrategyRun]
    """Each strategy run, in order."""
    hashprice: HashpriceSummary
    """The hashprice."""
    prices_usd_per_mwh: pd.Series
    """The price source's real-time prices over the window by UTC interval start, NaN where missing [USD/MWh]."""
    price_interval_hours: float
    """The price interval [h]."""
    expected_utc: pd.DatetimeIndex
    """Every interval start the window should have (UTC)."""
    times_utc: pd.DatetimeIndex
    """The intervals dispatched (those with a price; UTC)."""
    price_usd_per_mwh: Array
    """The price of each dispatched interval, (T,) [USD/MWh]."""
    interval_hours: float
    """Length of a dispatched interval [h]."""
    num_intervals: int
    """Intervals dispatched [count]."""
    hall: ReportHall | None
    """The GPU hall as dispatched (None: none)."""
    streams: ReportStreams
    """Which streams the site has."""

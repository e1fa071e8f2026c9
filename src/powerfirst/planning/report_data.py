"""What a plan's report shows, as one result model (``powerfirst plan`` fills it; the reporting
layer renders it into ``report.html`` and never computes figures of its own).

Money is nominal USD; an NPV is discounted at the scenario's rate to the first month. "Difference"
is plan − baseline: what converting adds to staying with mining (positive: the conversion pays).
"""

from __future__ import annotations

from powerfirst.accounting.results.base import ResultModel
from powerfirst.planning.results import PlanSummary

__all__ = ["Breakeven", "FanChart", "PlanReportData", "TornadoRow", "WaterfallStep"]


class WaterfallStep(ResultModel):
    """One bar of the cash-flow waterfall: a line item's NPV of the difference [USD] on the
    deterministic base path (inflows positive); the bars add up to the difference's NPV."""

    label: str
    npv_usd: float


class TornadoRow(ResultModel):
    """The NPV of the difference when one driver or input is moved to its low and high value,
    everything else on the deterministic base path."""

    driver: str
    low_label: str
    """The low setting, in words with its unit (e.g. ``BTC price −30 %``)."""
    high_label: str
    npv_difference_low_usd: float
    npv_difference_high_usd: float


class Breakeven(ResultModel):
    """The value of a driver at which the conversion's NPV is zero (plan = baseline)."""

    name: str
    """e.g. ``hashprice`` or ``GPU price``."""
    value: float | None
    """None: no value in the searched range makes the NPV zero (see ``note``)."""
    unit: str
    base_value: float
    """The deterministic base path's value, in the same unit (a mean over the months ``note`` says)."""
    note: str


class FanChart(ResultModel):
    """Percentiles over the paths, per month, of the cumulative difference cash flow [USD]."""

    months: list[str]
    """``YYYY-MM`` of each month."""
    p10_usd: list[float]
    p50_usd: list[float]
    p90_usd: list[float]


class PlanReportData(ResultModel):
    """Everything ``report.html`` shows (``summary`` is also written as ``summary.json``)."""

    title: str
    summary: PlanSummary
    """Monte Carlo (or, without Monte Carlo, the deterministic paths') decision figures."""
    deterministic_npv_difference_usd: float
    """NPV of the difference on the deterministic base path [USD]."""
    npv_difference_samples_usd: list[float]
    """NPV of the difference on each Monte Carlo path (the distribution chart) [USD]."""
    waterfall: list[WaterfallStep]
    tornado: list[TornadoRow]
    breakevens: list[Breakeven]
    fan: FanChart
    executor: str
    """Where the sweep ran (this process, or which Dask cluster)."""
    notes: list[str]
    """Every assumption and fallback of drivers, margins and cash flows, in words."""

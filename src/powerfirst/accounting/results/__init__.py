"""Typed results of a backtest: each strategy's summary and the comparison of strategies.

Built by the backtest, rendered by the JSON writer, the report and the console; dumped in field
order, they are ``summary.json`` and ``comparison.json``.
"""

from powerfirst.accounting.results.comparison import Comparison, StrategyComparison
from powerfirst.accounting.results.context import (
    DataGaps,
    GapSpan,
    HashpriceSummary,
    MarketFacts,
    OutsideCoverage,
    WindowSummary,
)
from powerfirst.accounting.results.streams import (
    AncillaryProduct,
    FourcpPeak,
    FourcpSummary,
    GpuHours,
    SlaMonth,
    TrainingJob,
)
from powerfirst.accounting.results.summary import (
    CostUsd,
    EnergyMwh,
    FleetSummary,
    Optimum,
    RevenueUsd,
    StrategySummary,
)

__all__ = [
    "AncillaryProduct",
    "Comparison",
    "CostUsd",
    "DataGaps",
    "EnergyMwh",
    "FleetSummary",
    "FourcpPeak",
    "FourcpSummary",
    "GapSpan",
    "GpuHours",
    "HashpriceSummary",
    "MarketFacts",
    "Optimum",
    "OutsideCoverage",
    "RevenueUsd",
    "SlaMonth",
    "StrategyComparison",
    "StrategySummary",
    "TrainingJob",
    "WindowSummary",
]

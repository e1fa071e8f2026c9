"""The comparison of a backtest's strategies (``comparison.json``)."""

from __future__ import annotations

from powerfirst.accounting.results.base import ResultModel
from powerfirst.accounting.results.context import DataGaps, WindowSummary

__all__ = ["Comparison", "StrategyComparison"]


class StrategyComparison(ResultModel):
    """One strategy's net margin and the share of the hindsight bound it captures."""

    label: str
    """Strategy description."""
    is_upper_bound: bool
    """Whether the strategy knows the future."""
    net_margin_usd: float
    """Revenue minus costs [USD]."""
    value_captured_pct: float | None
    """Net margin over the hindsight bound's [%] (None: no bound, or a bound not positive)."""
    value_captured_pct_of_proven_bound: float | None
    """Net margin over the optimum's proven upper bound [%] (None: no positive proven bound)."""


class Comparison(ResultModel):
    """Net margin per strategy against the hindsight bound, with the notes of the run."""

    site: str
    """Site name."""
    price_source: str
    """Price SOURCE string."""
    window: WindowSummary
    """The window."""
    reference: str | None
    """The hindsight strategy the others are measured against (None: not run)."""
    strategies: dict[str, StrategyComparison]
    """Per strategy, in the order run."""
    data_gaps: DataGaps
    """Intervals without a price."""
    market_inputs: dict[str, str | None]
    """Where each market input came from (None: not used, or none)."""
    warnings: list[str]
    """What the results could not account for."""
    notes: list[str]
    """Caveats of the comparison."""

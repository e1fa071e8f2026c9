"""The plan report's numbers as text: its formatters (a NaN or a missing figure is "—", never "nan";
negative numbers carry a true minus sign "−"), the key-figures table and the break-even table.

Money arrives in USD and is shown in millions (``M USD``); an IRR in %/yr, a payback in months.
Nothing here computes a figure of its own: every value is one the result model holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # typing only: reporting reads the plan's result model and never imports the planning layer
    # (planning runs backtests, whose outputs import reporting; see pyproject's import-linter)
    from powerfirst.planning.report_data import Breakeven, PlanReportData
    from powerfirst.planning.results import Distribution, PlanSummary

__all__ = [
    "BreakevenRow",
    "KeyFigures",
    "KeyRow",
    "breakeven_rows",
    "key_figures",
    "m_usd",
    "number",
    "paths_text",
]

MISSING = "—"
_MINUS = "\N{MINUS SIGN}"


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _signed(text: str) -> str:
    """``text`` (a formatted number) with a true minus sign; "-0.0" reads "0.0"."""
    if text.startswith("-"):
        body = text[1:]
        return body if body.strip("0.,") == "" else _MINUS + body
    return text


def number(value: float | None, decimals: int | None = None) -> str:
    """A number with thousands separators: ``decimals`` places, or by size (≥ 1,000: none; ≥ 10: one;
    ≥ 0.01: two; smaller: three significant digits); "—" when None or not finite."""
    if value is None or not math.isfinite(value):
        return MISSING
    if decimals is None:
        size = abs(value)
        if size >= 1000:
            decimals = 0
        elif size >= 10:
            decimals = 1
        elif size >= 0.01 or size == 0:
            decimals = 2
        else:
            return _signed(f"{value:.3g}")
    return _signed(f"{value:,.{decimals}f}")


def m_usd(value_usd: float | None) -> str:
    """USD as millions with one decimal: ``−12.3 M USD`` ("—" when None or not finite)."""
    if value_usd is None or not math.isfinite(value_usd):
        return MISSING
    return f"{number(value_usd / 1e6, 1)} M USD"


def _pct(value: float | None, unit: str = "%") -> str:
    text = number(value, 1)
    return text if text == MISSING else f"{text} {unit}"


def _months(value: float | None) -> str:
    if not _finite(value):
        return MISSING
    assert value is not None
    return f"{number(value, 0 if float(value).is_integer() else 1)} months"


def _ratio(value: float | None) -> str:
    return number(value, 2)


def paths_text(summary: PlanSummary) -> str:
    """How many paths and which seed, in words."""
    if summary.seed is None:
        return f"{summary.num_paths:,} deterministic path{'s' if summary.num_paths != 1 else ''} (no seed)"
    return f"{summary.num_paths:,} Monte Carlo paths, seed {summary.seed}"


@dataclass(frozen=True)
class KeyRow:
    """One metric's row: P10, P50, P90, mean and the paths it exists on; or, when it exists on no
    path, ``reason`` in their place."""

    label: str
    cells: list[str]
    reason: str | None = None


@dataclass(frozen=True)
class KeyFigures:
    """The distributions' rows and the single figures (label, value)."""

    header: list[str]
    rows: list[KeyRow]
    singles: list[tuple[str, str]]


def _row(
    label: str, found: Distribution | None, show: Callable[[float], str], num_paths: int, reason: str = ""
) -> KeyRow:
    if found is None:
        return KeyRow(label=label, cells=[], reason=f"{MISSING} ({reason})")
    cells = [show(found.p10), show(found.p50), show(found.p90), show(found.mean)]
    return KeyRow(label=label, cells=[*cells, f"{found.paths:,} of {num_paths:,}"])


def key_figures(data: PlanReportData) -> KeyFigures:
    """The key-figures table: the decision metrics' distributions and the single figures."""
    s = data.summary
    n = s.num_paths
    rows = [
        _row("NPV of the difference (plan − baseline)", s.npv_difference_usd, m_usd, n),
        _row("NPV of the plan", s.npv_plan_usd, m_usd, n),
        _row("NPV of the baseline (staying with mining)", s.npv_baseline_usd, m_usd, n),
        _row(
            "IRR of the difference",
            s.irr_difference_pct_per_year,
            lambda v: _pct(v, "%/yr"),
            n,
            "no path has an IRR: the difference's flows never change sign, or no rate solves them",
        ),
        _row(
            "payback of the difference",
            s.payback_month_difference,
            _months,
            n,
            "the conversion pays back within the horizon on no path",
        ),
        _row("lowest annual DSCR of the plan", s.min_dscr, _ratio, n, "the plan has no debt service"),
        _row(
            "terminal value of the plan, at the horizon (before tax)",
            s.terminal_value_plan_usd,
            m_usd,
            n,
            "terminal_value.method = none: nothing held at the horizon is counted",
        ),
    ]
    converted = f"{number(s.converted_mw, 1)} MW of {number(s.mining_mw, 1)} MW mining"
    if _finite(s.mining_mw) and s.mining_mw > 0:
        converted += f" ({number(100.0 * s.converted_mw / s.mining_mw, 1)} %)"
    singles = [
        (
            "NPV of the difference on the deterministic base path",
            m_usd(data.deterministic_npv_difference_usd),
        ),
        ("probability the plan beats staying with mining", _pct(100.0 * s.probability_plan_beats_baseline)),
        ("converted", converted),
        ("discount rate", _pct(s.discount_rate_pct_per_year, "%/yr")),
        ("mining margins from the backtest strategy", s.strategy),
        ("terminal value method", s.terminal_value_method),
    ]
    header = ["figure", "P10", "P50", "P90", "mean", "paths with it"]
    return KeyFigures(header=header, rows=rows, singles=singles)


@dataclass(frozen=True)
class BreakevenRow:
    name: str
    value: str
    unit: str
    base_value: str
    note: str


def breakeven_rows(breakevens: list[Breakeven]) -> list[BreakevenRow]:
    """One row per break-even; "none in range" when the search found no value."""
    return [
        BreakevenRow(
            name=b.name,
            value="none in range" if b.value is None else number(b.value),
            unit=b.unit,
            base_value=number(b.base_value),
            note=b.note,
        )
        for b in breakevens
    ]

"""A plan's self-contained ``report.html`` (plotly.js inlined once: no CDN, works offline), rendered
from :class:`~powerfirst.planning.report_data.PlanReportData` alone.

The page: a header (scenario, site, horizon, start month, where the sweep ran, paths and seed); the
key figures (distributions of the NPVs, the IRR, the payback and the DSCR over the paths, the
probability the plan beats mining, the MW converted); the cash-flow waterfall, the NPV distribution,
the sensitivity tornado and the fan chart of the cumulative difference (see
:mod:`powerfirst.reporting.plan_figures`); the break-evens table; every note of the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from plotly.offline import get_plotlyjs

from powerfirst.reporting.plan_figures import (
    Chart,
    distribution_chart,
    fan_chart,
    tornado_chart,
    waterfall_chart,
)
from powerfirst.reporting.plan_tables import breakeven_rows, key_figures, number, paths_text
from powerfirst.reporting.render import render

if TYPE_CHECKING:
    # typing only: reporting reads the plan's result model and never imports the planning layer
    # (planning runs backtests, whose outputs import reporting; see pyproject's import-linter)
    from powerfirst.planning.report_data import PlanReportData

__all__ = ["CHART_IDS", "render_plan_report", "write_plan_report"]

CHART_IDS = ("plan-waterfall", "plan-npv-distribution", "plan-tornado", "plan-fan")
"""The ``id`` of each chart's div, in page order."""


@dataclass(frozen=True)
class _Section:
    heading: str
    div: str | None
    notes: list[str]


def _section(heading: str, div_id: str, chart: Chart) -> _Section:
    div = None
    if chart.figure is not None:
        div = chart.figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id)
    return _Section(heading=heading, div=div, notes=chart.notes)


def _horizon(months: int) -> str:
    years = months / 12
    return f"{months:,} months ({number(years, 0 if years.is_integer() else 1)} years)"


def _notes(data: PlanReportData) -> list[str]:
    """The model's notes, then the summary's that it does not already list (in order, once each)."""
    return list(dict.fromkeys([*data.notes, *data.summary.notes]))


def render_plan_report(data: PlanReportData) -> str:
    """The plan's report as one HTML document."""
    headings = (
        "Cash-flow waterfall (deterministic base path)",
        "NPV distribution",
        "Sensitivity tornado",
        "Cumulative difference: fan chart",
    )
    charts = (waterfall_chart(data), distribution_chart(data), tornado_chart(data), fan_chart(data))
    s = data.summary
    return render(
        "plan_report.html.j2",
        data=data,
        s=s,
        plotly_js=get_plotlyjs(),
        horizon=_horizon(s.horizon_months),
        paths=paths_text(s),
        discount=f"{number(s.discount_rate_pct_per_year, 1)} %/yr",
        key=key_figures(data),
        charts=[_section(h, i, c) for h, i, c in zip(headings, CHART_IDS, charts, strict=True)],
        breakevens=breakeven_rows(data.breakevens),
        notes=_notes(data),
    )


def write_plan_report(path: Path, data: PlanReportData) -> Path:
    """Write the plan's report to ``path`` (UTF-8)."""
    path.write_text(render_plan_report(data), encoding="utf-8")
    return path

"""A self-contained HTML report of a site ranking (``ranking.html``; Plotly with plotly.js inlined:
no CDN, works offline), rendered from the result model
(:class:`powerfirst.planning.ranking_result.Ranking`) alone.

Charts: each candidate's score as stacked points per component (best first), and each candidate's
value per MW-year by use (mining, AI, hybrid) under each market year. Tables: the ranked table with
every component (raw figure, score 0–1 relative to the best, weight, points), the figures of each market year, the
assumptions, the weights, how each figure is measured and each candidate's notes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from powerfirst.reporting.render import render

if TYPE_CHECKING:
    # typing only: reporting reads the ranking's result model and never imports the planning layer
    # (planning runs backtests, whose outputs import reporting; see pyproject's import-linter)
    from powerfirst.planning.ranking_result import CandidateResult, Ranking

__all__ = ["component_table", "render_ranking", "write_ranking_html", "year_table"]

USES = ("mining", "ai", "hybrid")
"""The uses a candidate is valued for (the keys of its ``value_usd_per_mw_year``)."""

_COLORS = {
    "value": "#1f77b4",
    "below_breakeven": "#2ca02c",
    "negative_prices": "#17becf",
    "volatility": "#ff7f0e",
    "policy_risk": "#d62728",
}
_USE_COLORS = {"mining": "#ff7f0e", "ai": "#1f77b4", "hybrid": "#9467bd"}
_SHORT = {
    "value": "value",
    "below_breakeven": "below breakeven",
    "negative_prices": "negative prices",
    "volatility": "volatility",
    "policy_risk": "policy risk",
}
"""Column headings of the components (their full labels are in the chart's legend)."""
_USE_LABELS = {"mining": "mining", "ai": "AI", "hybrid": "hybrid"}


def _num(value: float | None, digits: int = 0) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:,.{digits}f}"


def _pct(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.1%}"


def component_table(ranking: Ranking) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the ranked table: rank, candidate, score, then each component's raw
    figure, normalised value and points."""
    first = ranking.candidates[0].components
    header = ["rank", "candidate", "market", "score", "best use"]
    for part in first:
        unit = "share" if part.unit == "fraction" else part.unit
        header += [f"{_SHORT[part.name]} [{unit}]", "normalised", f"points (weight {part.weight:.0%})"]
    rows = []
    for c in ranking.candidates:
        row = [str(c.rank), c.name, c.market or "—", _num(c.score, 1), _USE_LABELS[c.best_use]]
        for part in c.components:
            raw = (
                _pct(part.raw)
                if part.unit == "fraction"
                else _num(part.raw, 1 if part.unit != "USD/MW-year" else 0)
            )
            row += [raw, f"{part.normalised:.2f}", _num(part.points, 1)]
        rows.append(row)
    return header, rows


def year_table(ranking: Ranking) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the figures of each candidate under each market year."""
    header = [
        "candidate",
        "year",
        "prices",
        "priced h",
        "negative h",
        "below breakeven h",
        "mean USD/MWh",
        "volatility USD/MWh",
        "value mining USD/MW-yr",
        "value AI USD/MW-yr",
        "value hybrid USD/MW-yr",
        "net mining USD/MW-yr",
        "net AI USD/MW-yr",
        "net hybrid USD/MW-yr",
        "heat (AI) USD/MW-yr",
        "contract USD/MW-yr",
        "mining per +1 USD/PH/day",
    ]
    rows = []
    for c in ranking.candidates:
        for y in c.years:
            rows.append(
                [
                    c.name,
                    str(y.market_year),
                    y.price_source,
                    _num(y.priced_hours, 1),
                    _num(y.negative_price_hours, 2),
                    _num(y.below_breakeven_hours, 2),
                    _num(y.mean_price_usd_per_mwh, 2),
                    _num(y.volatility_usd_per_mwh, 2),
                    _num(y.value_usd_per_mw_year["mining"]),
                    _num(y.value_usd_per_mw_year["ai"]),
                    _num(y.value_usd_per_mw_year["hybrid"]),
                    _num(y.net_value_usd_per_mw_year["mining"]),
                    _num(y.net_value_usd_per_mw_year["ai"]),
                    _num(y.net_value_usd_per_mw_year["hybrid"]),
                    _num(y.heat_usd_per_mw_year["ai"]),
                    _num(y.contract_usd_per_mw_year),
                    _num(y.mining_margin_per_hashprice_usd_per_mw_year_per_usd_ph_day),
                ]
            )
    return header, rows


def _score_figure(ranking: Ranking) -> go.Figure:
    names = [f"{c.rank}. {c.name}" for c in ranking.candidates]
    fig = go.Figure()
    for k, part in enumerate(ranking.candidates[0].components):
        fig.add_trace(
            go.Bar(
                y=names,
                x=[c.components[k].points for c in ranking.candidates],
                name=part.label,
                orientation="h",
                marker_color=_COLORS.get(part.name),
                customdata=[
                    [_num(c.components[k].raw, 2), c.components[k].normalised] for c in ranking.candidates
                ],
                hovertemplate="%{x:.1f} points (raw %{customdata[0]}, normalised %{customdata[1]:.2f})",
            )
        )
    fig.update_layout(
        barmode="stack",
        title="Score by component (points of 100)",
        xaxis_title="points",
        yaxis={"autorange": "reversed"},
        height=160 + 60 * len(names),
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def _value_figure(ranking: Ranking) -> go.Figure:
    labels = [f"{c.name} {y.market_year}" for c in ranking.candidates for y in c.years]
    fig = go.Figure()
    for use in USES:
        fig.add_trace(
            go.Bar(
                x=labels,
                y=[y.net_value_usd_per_mw_year[use] for c in ranking.candidates for y in c.years],
                name=_USE_LABELS[use],
                marker_color=_USE_COLORS[use],
                hovertemplate="%{y:,.0f} USD/MW-year",
            )
        )
    fig.update_layout(
        barmode="group",
        title="Net value per MW at the meter by use and market year (value − capex × capital recovery factor)",
        yaxis_title="USD per MW-year",
        height=480,
    )
    return fig


def _candidate_line(c: CandidateResult) -> str:
    inference = "interactive inference allowed" if c.interactive_inference else "no interactive inference"
    climate = f"climate {c.climate}, " if c.climate else ""
    return (
        f"{c.site_name}: {c.mining_mw:,.1f} MW of fleets, breakeven {c.breakeven_usd_per_mwh:,.2f} USD/MWh "
        f"(adders {c.adders_usd_per_mwh:,.2f}); latency {c.latency} ({inference}); {climate}AI-hall PUE "
        f"{c.ai_pue:g}; policy risk {c.policy_risk_score:g}/10; market years "
        f"{', '.join(map(str, c.market_years))}"
    )


def render_ranking(ranking: Ranking) -> str:
    """The report as one HTML document (plotly.js inlined once)."""
    divs = [
        fig.to_html(full_html=False, include_plotlyjs=False)
        for fig in (_score_figure(ranking), _value_figure(ranking))
    ]
    return render(
        "ranking.html.j2",
        ranking=ranking,
        plotly_js=get_plotlyjs(),
        divs=divs,
        components=component_table(ranking),
        years=year_table(ranking),
        lines={c.name: _candidate_line(c) for c in ranking.candidates},
    )


def write_ranking_html(path: Path, ranking: Ranking) -> Path:
    """Write the report to ``path``."""
    path.write_text(render_ranking(ranking), encoding="utf-8")
    return path

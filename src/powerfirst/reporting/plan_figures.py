"""The plan report's Plotly charts, drawn from :class:`~powerfirst.planning.report_data.PlanReportData`.

1. cash-flow waterfall: each line item's NPV of the difference (plan − baseline) on the deterministic
   base path, and their total (the deterministic NPV of the difference);
2. NPV distribution: a histogram of the NPV of the difference over the Monte Carlo paths, with its
   P10, P50 and P90 and zero (plan = baseline) marked;
3. sensitivity tornado: the NPV of the difference with one driver at its low and at its high setting,
   bars from the deterministic base, largest swing on top;
4. fan chart: the cumulative difference cash flow per month, P10–P90 band and P50 line.

Money is shown in M USD (the model's USD / 10⁶). A chart without data is None, and the report says
why instead of drawing an empty chart. Non-finite values are never drawn; each function returns the
sentences about what it left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from powerfirst.reporting.plan_tables import m_usd

if TYPE_CHECKING:
    # typing only: reporting reads the plan's result model and never imports the planning layer
    # (planning runs backtests, whose outputs import reporting; see pyproject's import-linter)
    from powerfirst.planning.report_data import FanChart, PlanReportData, TornadoRow

__all__ = [
    "Chart",
    "distribution_chart",
    "fan_chart",
    "tornado_chart",
    "tornado_order",
    "waterfall_chart",
]

_MUSD = 1e6
_UP = "#2ca02c"
_DOWN = "#d62728"
_TOTAL = "#1f77b4"
_BASE = "#444444"
_TOTAL_LABEL = "NPV of the difference"
_ADDS_UP_USD = 1.0
"""The waterfall's bars may miss its total by this much [USD] (or 10⁻⁶ of it) before the report
says they do not add up."""


@dataclass(frozen=True)
class Chart:
    """A figure (None: nothing to draw) and the sentences shown beneath it."""

    figure: go.Figure | None
    notes: list[str] = field(default_factory=list)


def waterfall_chart(data: PlanReportData) -> Chart:
    """The waterfall of the deterministic difference's NPV by line item [M USD]."""
    total = data.deterministic_npv_difference_usd
    steps = [s for s in data.waterfall if math.isfinite(s.npv_usd)]
    notes = [f"{s.label}: not drawn, its NPV is not a number" for s in data.waterfall if s not in steps]
    if not steps:
        return Chart(None, [*notes, "No line items to draw: the model holds no waterfall steps."])
    values = [s.npv_usd / _MUSD for s in steps]
    figure = go.Figure(
        go.Waterfall(
            x=[s.label for s in steps] + [_TOTAL_LABEL],
            y=[*values, total / _MUSD],
            measure=["relative"] * len(steps) + ["total"],
            text=[m_usd(s.npv_usd) for s in steps] + [m_usd(total)],
            textposition="outside",
            increasing={"marker": {"color": _UP}},
            decreasing={"marker": {"color": _DOWN}},
            totals={"marker": {"color": _TOTAL}},
            connector={"line": {"color": "#999999"}},
            hovertemplate="%{x}: %{y:,.2f} M USD<extra></extra>",
            name="NPV of the difference",
        )
    )
    figure.update_layout(
        title="Cash-flow waterfall: NPV of each line item of the difference (plan − baseline), base path",
        xaxis_title="line item",
        yaxis_title="NPV of the difference (M USD)",
        height=480,
        showlegend=False,
    )
    missed = total - sum(s.npv_usd for s in steps)
    if math.isfinite(total) and abs(missed) > max(_ADDS_UP_USD, 1e-6 * abs(total)):
        notes.append(
            f"The line items add up to {m_usd(total - missed)}, not to the NPV of the difference "
            f"({m_usd(total)}): {m_usd(missed)} is in no line item."
        )
    if not math.isfinite(total):
        notes.append("The deterministic NPV of the difference is not a number; the total bar is their sum.")
    return Chart(figure, notes)


def distribution_chart(data: PlanReportData) -> Chart:
    """Histogram of the NPV of the difference over the paths [M USD]; None without samples."""
    samples = np.asarray(data.npv_difference_samples_usd, dtype=np.float64)
    finite = samples[np.isfinite(samples)]
    notes = []
    if finite.size < samples.size:
        notes.append(f"{samples.size - finite.size:,} paths with no finite NPV are left out.")
    if finite.size == 0:
        return Chart(
            None,
            [
                *notes,
                "Deterministic only: no Monte Carlo paths, so no distribution of the NPV. The NPV of the "
                f"difference on the deterministic base path is {m_usd(data.deterministic_npv_difference_usd)}.",
            ],
        )
    figure = go.Figure(
        go.Histogram(
            x=finite / _MUSD,
            name="paths",
            marker={"color": _TOTAL},
            opacity=0.8,
            hovertemplate="%{x} M USD: %{y} paths<extra></extra>",
        )
    )
    npv = data.summary.npv_difference_usd
    for name, value, dash, position in (
        ("P10", npv.p10, "dash", "top left"),
        ("P50", npv.p50, "solid", "top right"),
        ("P90", npv.p90, "dash", "top right"),
    ):
        if math.isfinite(value):
            figure.add_vline(
                x=value / _MUSD,
                line={"color": _BASE, "dash": dash},
                annotation_text=f"{name} {m_usd(value)}",
                annotation_position=position,
            )
    figure.add_vline(
        x=0.0,
        line={"color": _DOWN, "width": 2},
        annotation_text="0: plan = baseline",
        annotation_position="bottom right",
    )
    figure.update_layout(
        title=(
            f"NPV of the difference (plan − baseline) over {finite.size:,} paths; "
            f"P(plan beats mining) = {100.0 * data.summary.probability_plan_beats_baseline:.1f} %"
        ),
        xaxis_title="NPV of the difference (M USD)",
        yaxis_title="paths (count)",
        height=440,
        bargap=0.02,
        showlegend=False,
    )
    return Chart(figure, notes)


def _swing_usd(row: TornadoRow) -> float:
    return abs(row.npv_difference_high_usd - row.npv_difference_low_usd)


def tornado_order(rows: list[TornadoRow]) -> tuple[list[TornadoRow], list[TornadoRow]]:
    """(rows with finite NPVs, largest swing first; rows left out because an NPV is not finite)."""
    drawn = [
        r
        for r in rows
        if math.isfinite(r.npv_difference_low_usd) and math.isfinite(r.npv_difference_high_usd)
    ]
    left_out = [r for r in rows if r not in drawn]
    return sorted(drawn, key=_swing_usd, reverse=True), left_out


def tornado_chart(data: PlanReportData) -> Chart:
    """Horizontal bars from the base NPV of the difference to its value at each driver's low and high
    setting [M USD], sorted by swing (largest on top)."""
    base = data.deterministic_npv_difference_usd
    rows, left_out = tornado_order(data.tornado)
    notes = [f"{r.driver}: not drawn, an NPV at its settings is not a number" for r in left_out]
    if not rows or not math.isfinite(base):
        why = "no sensitivities" if not rows else "the base NPV of the difference is not a number"
        return Chart(None, [*notes, f"No tornado: {why}."])
    figure = go.Figure()
    for name, labels, values, color in (
        ("low setting", [r.low_label for r in rows], [r.npv_difference_low_usd for r in rows], _DOWN),
        ("high setting", [r.high_label for r in rows], [r.npv_difference_high_usd for r in rows], _UP),
    ):
        figure.add_trace(
            go.Bar(
                y=[r.driver for r in rows],
                x=[(v - base) / _MUSD for v in values],
                base=base / _MUSD,
                orientation="h",
                name=name,
                marker={"color": color},
                text=[f"{label}: {m_usd(v)}" for label, v in zip(labels, values, strict=True)],
                textposition="auto",
                hovertemplate="%{text}<extra></extra>",
            )
        )
    figure.add_vline(
        x=base / _MUSD,
        line={"color": _BASE},
        annotation_text=f"base {m_usd(base)}",
        annotation_position="top",
    )
    figure.update_layout(
        title="Sensitivity tornado: NPV of the difference with one driver at its low or high setting",
        xaxis_title="NPV of the difference (M USD)",
        yaxis={"title": {"text": "driver"}, "autorange": "reversed"},
        barmode="group",
        height=160 + 60 * len(rows),
        legend={"orientation": "h", "y": -0.2},
    )
    return Chart(figure, notes)


def _finite_or_none(values: list[float]) -> list[float | None]:
    """Plotly draws None as a gap; NaN would reach the page as null anyway, this says so."""
    return [v / _MUSD if math.isfinite(v) else None for v in values]


def fan_chart(data: PlanReportData) -> Chart:
    """The cumulative difference cash flow per month [M USD]: P10–P90 band and P50 line."""
    fan: FanChart = data.fan
    if not fan.months:
        return Chart(None, ["No fan chart: the model holds no months."])
    lengths = {len(fan.months), len(fan.p10_usd), len(fan.p50_usd), len(fan.p90_usd)}
    if len(lengths) != 1:
        return Chart(
            None,
            [
                f"No fan chart: its series differ in length (months {len(fan.months)}, P10 "
                f"{len(fan.p10_usd)}, P50 {len(fan.p50_usd)}, P90 {len(fan.p90_usd)})."
            ],
        )
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=fan.months,
            y=_finite_or_none(fan.p10_usd),
            name="P10",
            mode="lines",
            line={"width": 0.5, "color": _TOTAL},
            hovertemplate="P10 %{y:,.1f} M USD<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=fan.months,
            y=_finite_or_none(fan.p90_usd),
            name="P10–P90",
            mode="lines",
            fill="tonexty",
            fillcolor="rgba(31, 119, 180, 0.25)",
            line={"width": 0.5, "color": _TOTAL},
            hovertemplate="P90 %{y:,.1f} M USD<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=fan.months,
            y=_finite_or_none(fan.p50_usd),
            name="P50",
            mode="lines",
            line={"width": 2, "color": _TOTAL},
            hovertemplate="P50 %{y:,.1f} M USD<extra></extra>",
        )
    )
    figure.add_hline(y=0.0, line={"color": _DOWN, "width": 1})
    figure.update_layout(
        title=(
            f"Cumulative difference cash flow (plan − baseline, nominal) over "
            f"{data.summary.num_paths:,} paths: P10–P90 and P50"
        ),
        xaxis={"title": {"text": "month"}, "type": "date", "tickformat": "%Y-%m"},
        yaxis_title="cumulative difference (M USD)",
        height=440,
        hovermode="x unified",
    )
    return Chart(figure, [])

"""A self-contained HTML report of a backtest (Plotly, with plotly.js inlined: no CDN, works offline).

Charts:

1. dispatch stack against price: each strategy's fleet power (hourly means) stacked, with the
   real-time price on a second axis;
2. cumulative net margin per strategy (daily);
3. price-duration curve: the window's real-time prices sorted high to low, with each fleet's mean
   breakeven price as a horizontal line;
4. for a site with a GPU hall: the hall's GPUs per workload over time (inference served, each
   training job, rental, idle; stacked) with the inference demand as a line, per strategy.

Tables: the per-strategy summary (with a column per stream the site has: inference, training value,
rental, heat and ancillary revenue; SLA penalty and 4CP charge as costs) and, for a site with a GPU
hall or grid programs, per strategy its training jobs, monthly inference SLA and 4CP peaks.

Times are market-local wall-clock; intervals without a price are grey bands, never drawn as 0.
Long windows are binned (dispatch: hourly means; GPU hall: hourly or coarser means, at most
``_GPU_POINTS`` bins; price-duration: at most ``_DURATION_POINTS`` points; at most ``_MAX_BANDS``
gap bands) so a year's report stays a few MB.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from powerfirst.backtest.runner import Backtest, StrategyResult
from powerfirst.reporting.tables import inputs_section, strategy_heading, streams_section, usd

__all__ = ["render_report", "write_report"]

_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
_DURATION_POINTS = 2000
_MAX_BANDS = 300
_LABEL_POSITIONS = ("top right", "bottom right", "top left", "bottom left")
_GPU_POINTS = 1500
"""Most time bins per trace of the GPU-hall figure: the finest of ``_GPU_BINS`` that fits."""
_GPU_BINS = ("1h", "2h", "3h", "6h", "12h", "1D")
_INFERENCE_COLOR = "#2ca02c"
_RENTAL_COLOR = "#ff7f0e"
_IDLE_COLOR = "#c7c7c7"
_JOB_PALETTE = ["#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#1f77b4", "#d62728"]


def _local(index: pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
    """Wall-clock times in the market's zone (Plotly draws naive times as given)."""
    return index.tz_convert(timezone).tz_localize(None)


def _bin_local(frame: pd.DataFrame, timezone: str, freq: str) -> pd.DataFrame:
    """Means over ``freq`` bins aligned to market-local midnight; a bin without data is NaN."""
    local = frame.set_axis(pd.DatetimeIndex(frame.index).tz_convert(timezone))
    return local.resample(freq).mean()


def _gap_runs(bt: Backtest, freq: str) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """[start, end) of runs of ``freq`` bins (market-local, as the charts bin) with no price at all
    (at most _MAX_BANDS)."""
    grid = bt.prices.expected_index(bt.window.start_utc, bt.window.end_utc)
    local = grid.tz_convert(bt.window.timezone)
    present = pd.Series(grid.isin(bt.inputs.times_utc), index=local).resample(freq).sum()
    empty = (present == 0).to_numpy()
    runs: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    start = None
    for k, is_empty in enumerate(empty):
        if is_empty and start is None:
            start = k
        if not is_empty and start is not None:
            runs.append((present.index[start], present.index[k]))
            start = None
    if start is not None:
        runs.append((present.index[start], present.index[-1] + pd.Timedelta(freq)))
    return runs[:_MAX_BANDS]


def _segments(present: np.ndarray) -> list[tuple[int, int]]:
    """[first, last) index ranges of consecutive True values (a filled area must not span a gap)."""
    padded = np.concatenate(([False], present, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[0::2], edges[1::2], strict=True)]


def _shade_gaps(fig: go.Figure, runs: list[tuple[pd.Timestamp, pd.Timestamp]], timezone: str) -> None:
    for k, (start, end) in enumerate(runs):
        fig.add_vrect(
            x0=start.tz_convert(timezone).tz_localize(None),
            x1=end.tz_convert(timezone).tz_localize(None),
            fillcolor="#bbbbbb",
            opacity=0.35,
            line_width=0,
            **({"annotation_text": "no price data", "annotation_position": "top left"} if k == 0 else {}),
        )


def _dispatch_figure(bt: Backtest, results: list[StrategyResult]) -> go.Figure:
    tz = bt.window.timezone
    fig = make_subplots(
        rows=len(results),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.04,
        subplot_titles=[f"{r.name} — {r.policy.label}" for r in results],
        specs=[[{"secondary_y": True}] for _ in results],
    )
    # hours without any price stay empty (NaN): lines and fills break there, nothing is drawn as 0 MW
    price = bt.prices.prices.dropna().resample("1h").mean()
    hourly_prices = price.dropna().to_numpy()
    price_range = (
        [
            min(0.0, float(np.percentile(hourly_prices, 0.5))) - 10.0,
            float(np.percentile(hourly_prices, 99.5)) * 1.5,
        ]
        if hourly_prices.size
        else None
    )
    for row, result in enumerate(results, start=1):
        frame = result.ledger.intervals
        hourly = {
            name: frame[f"power_mw__{name}"].resample("1h").mean() for name in result.ledger.fleet_names
        }
        for seg, (first, last) in enumerate(_segments(next(iter(hourly.values())).notna().to_numpy())):
            stacked = None
            for i, name in enumerate(result.ledger.fleet_names):
                part = hourly[name].iloc[first:last]
                stacked = part if stacked is None else stacked + part
                fig.add_trace(
                    go.Scatter(
                        x=_local(pd.DatetimeIndex(part.index), tz),
                        y=stacked.to_numpy(),
                        customdata=part.to_numpy(),
                        name=name,
                        legendgroup=name,
                        showlegend=row == 1 and seg == 0,
                        mode="lines",
                        fill="tozeroy" if i == 0 else "tonexty",
                        line={"width": 0.5, "color": _PALETTE[i % len(_PALETTE)]},
                        hovertemplate="%{customdata:.1f} MW",
                    ),
                    row=row,
                    col=1,
                    secondary_y=False,
                )
        fig.add_trace(
            go.Scattergl(
                x=_local(pd.DatetimeIndex(price.index), tz),
                y=price.to_numpy(),
                name="real-time price (hourly mean)",
                legendgroup="price",
                showlegend=row == 1,
                connectgaps=False,
                line={"width": 0.7, "color": "black"},
                hovertemplate="%{y:.2f} USD/MWh",
            ),
            row=row,
            col=1,
            secondary_y=True,
        )
        fig.update_yaxes(title_text="MW", row=row, col=1, secondary_y=False)
        fig.update_yaxes(title_text="USD/MWh", range=price_range, row=row, col=1, secondary_y=True)
    _shade_gaps(fig, _gap_runs(bt, "1h"), tz)
    fig.update_xaxes(title_text=f"local time ({tz})", row=len(results), col=1)
    fig.update_layout(
        height=320 * len(results) + 80,
        title=(
            "Dispatch stack (hourly mean MW at the meter) against the real-time price "
            "(price axis clipped at 1.5 × its 99.5th percentile)"
        ),
        hovermode="x unified",
    )
    return fig


def _cumulative_figure(bt: Backtest, results: list[StrategyResult]) -> go.Figure:
    tz = bt.window.timezone
    fig = go.Figure()
    for i, result in enumerate(results):
        margin = result.ledger.intervals["net_margin_usd"]
        local = margin.set_axis(pd.DatetimeIndex(margin.index).tz_convert(tz))
        # days without any price stay NaN, so the line breaks instead of running flat
        daily = local.resample("1D").sum(min_count=1).cumsum()
        label = f"{result.name} (upper bound)" if result.policy.uses_hindsight else result.name
        fig.add_trace(
            go.Scatter(
                x=pd.DatetimeIndex(daily.index).tz_localize(None),
                y=daily.to_numpy(),
                name=label,
                connectgaps=False,
                line={
                    "color": _PALETTE[i % len(_PALETTE)],
                    "dash": "dot" if result.policy.uses_hindsight else "solid",
                },
            )
        )
    _shade_gaps(fig, _gap_runs(bt, "1D"), tz)
    fig.update_layout(
        title="Cumulative net margin (end of each local day)",
        xaxis_title=f"local date ({tz})",
        yaxis_title="USD",
        height=420,
        hovermode="x unified",
    )
    return fig


def _duration_figure(bt: Backtest, results: list[StrategyResult]) -> go.Figure:
    prices = np.sort(bt.inputs.price_usd_per_mwh)[::-1]
    hours = np.arange(1, prices.size + 1) * bt.inputs.interval_hours
    if prices.size > _DURATION_POINTS:
        pick = np.unique(np.linspace(0, prices.size - 1, _DURATION_POINTS).astype(int))
        prices, hours = prices[pick], hours[pick]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=hours, y=prices, name="real-time price", line={"color": "black"}))
    breakevens: dict[str, Any] = results[0].summary["mean_breakeven_usd_per_mwh"] if results else {}
    for i, (name, value) in enumerate(breakevens.items()):
        fig.add_hline(
            y=value,
            line={"color": _PALETTE[i % len(_PALETTE)], "dash": "dash"},
            annotation_text=f"{name} breakeven {value:.1f} USD/MWh",
            annotation_position=_LABEL_POSITIONS[i % len(_LABEL_POSITIONS)],
        )
    fig.update_layout(
        title="Price-duration curve with each fleet's mean breakeven (fleets lose money above their line)",
        xaxis_title="hours at or above price",
        yaxis_title="USD/MWh",
        yaxis={"type": "linear"},
        height=480,
        margin={"b": 110},
    )
    if prices.size:
        all_prices = bt.inputs.price_usd_per_mwh
        top = max(2.5 * max(breakevens.values(), default=0.0), float(np.percentile(all_prices, 97.0)))
        low = min(0.0, float(np.percentile(all_prices, 0.5))) - 10.0
        fig.update_yaxes(range=[low, top])
        fig.add_annotation(
            text=(
                "y-axis from the 0.5th percentile to 2.5 × the highest breakeven (or the 97th percentile); "
                "the extremes are in intervals.parquet"
            ),
            xref="paper",
            yref="paper",
            x=1,
            y=-0.26,
            showarrow=False,
            font={"size": 11},
        )
    return fig


def _gpu_bin(bt: Backtest) -> str:
    """The finest bin of ``_GPU_BINS`` that puts at most ``_GPU_POINTS`` bins in the window."""
    hours = (bt.window.end_utc - bt.window.start_utc) / pd.Timedelta(hours=1)
    for freq in _GPU_BINS:
        if hours / (pd.Timedelta(freq) / pd.Timedelta(hours=1)) <= _GPU_POINTS:
            return freq
    return _GPU_BINS[-1]


def _hall_layers(bt: Backtest) -> list[tuple[str, str, str]]:
    """(ledger column, legend name, colour) of each stacked workload of the hall, bottom first."""
    hall = bt.inputs.site.hall
    if hall is None:
        return []
    layers = [("inference_gpus", "inference (served)", _INFERENCE_COLOR)] if hall.has_inference else []
    layers += [
        (f"training_gpus__{job.name}", f"training: {job.name}", _JOB_PALETTE[k % len(_JOB_PALETTE)])
        for k, job in enumerate(hall.jobs)
    ]
    if hall.has_rental:
        layers.append(("rental_gpus", "rental", _RENTAL_COLOR))
    layers.append(("idle_gpus", "idle", _IDLE_COLOR))
    return layers


def _hall_figure(bt: Backtest, results: list[StrategyResult]) -> go.Figure:
    """GPUs per workload (bin means, stacked) with the inference demand, one panel per strategy."""
    hall = bt.inputs.site.hall
    assert hall is not None
    tz = bt.window.timezone
    freq = _gpu_bin(bt)
    layers = _hall_layers(bt)
    demand_column = ["inference_demand_gpus"] if hall.has_inference else []
    fig = make_subplots(
        rows=len(results),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08 if len(results) > 1 else 0.04,
        subplot_titles=[f"{r.name} — {r.policy.label}" for r in results],
    )
    for row, result in enumerate(results, start=1):
        binned = _bin_local(result.ledger.intervals[[c for c, _, _ in layers] + demand_column], tz, freq)
        x = _local(pd.DatetimeIndex(binned.index), tz)
        for seg, (first, last) in enumerate(_segments(binned[layers[0][0]].notna().to_numpy())):
            stacked = None
            for i, (column, label, color) in enumerate(layers):
                part = binned[column].iloc[first:last]
                stacked = part if stacked is None else stacked + part
                fig.add_trace(
                    go.Scatter(
                        x=x[first:last],
                        y=stacked.to_numpy(),
                        customdata=part.to_numpy(),
                        name=label,
                        legendgroup=label,
                        showlegend=row == 1 and seg == 0,
                        mode="lines",
                        fill="tozeroy" if i == 0 else "tonexty",
                        line={"width": 0.5, "color": color},
                        hovertemplate="%{customdata:,.0f} GPUs",
                    ),
                    row=row,
                    col=1,
                )
        if demand_column:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=binned[demand_column[0]].to_numpy(),
                    name="inference demand",
                    legendgroup="inference demand",
                    showlegend=row == 1,
                    mode="lines",
                    connectgaps=False,
                    line={"width": 1.2, "color": "black", "dash": "dot"},
                    hovertemplate="%{y:,.0f} GPUs",
                ),
                row=row,
                col=1,
            )
        fig.update_yaxes(title_text="GPUs", range=[0.0, hall.gpus * 1.04], row=row, col=1)
    _shade_gaps(fig, _gap_runs(bt, freq), tz)
    fig.update_xaxes(title_text=f"local time ({tz})", row=len(results), col=1)
    fig.update_layout(
        height=300 * len(results) + 80,
        title=(
            f"GPU hall {hall.name}: {hall.gpus:,.0f} GPUs per workload ({freq} means, stacked) "
            "and the inference demand"
        ),
        hovermode="x unified",
    )
    return fig


def _has_streams(bt: Backtest) -> bool:
    """The site has a GPU hall or a grid program (heat, 4CP, ancillary services)."""
    site = bt.site
    return any(x is not None for x in (site.gpu_hall, site.heat_offtake, site.fourcp, site.ancillary))


def _stream_columns(bt: Backtest) -> list[tuple[str, str, str]]:
    """(header, "revenue_usd" or "cost_usd", key) of each stream column the site has."""
    site = bt.site
    hall = site.gpu_hall
    columns: list[tuple[str, str, str]] = []
    if hall is not None and hall.inference is not None:
        columns.append(("inference revenue", "revenue_usd", "inference"))
    if hall is not None and hall.training_jobs:
        columns.append(("training value", "revenue_usd", "training"))
    if hall is not None and hall.rental is not None:
        columns.append(("rental revenue", "revenue_usd", "rental"))
    if site.heat_offtake is not None:
        columns.append(("heat revenue", "revenue_usd", "heat"))
    if site.ancillary is not None:
        columns.append(("ancillary revenue", "revenue_usd", "ancillary"))
    if hall is not None and hall.inference is not None:
        columns.append(("SLA penalty (cost)", "cost_usd", "sla_penalty"))
    if site.fourcp is not None:
        columns.append(("4CP charge (cost)", "cost_usd", "fourcp_charge"))
    return columns


def _table(bt: Backtest, results: list[StrategyResult], comparison: dict[str, Any]) -> str:
    streams = _stream_columns(bt)
    revenues = [c for c in streams if c[1] == "revenue_usd"]
    costs = [c for c in streams if c[1] == "cost_usd"]
    hybrid = bt.site.gpu_hall is not None

    def headers(columns: list[tuple[str, str, str]]) -> str:
        return "".join(f"<th>{html.escape(h)}</th>" for h, _, _ in columns)

    def cells(s: dict[str, Any], columns: list[tuple[str, str, str]]) -> str:
        return "".join(f"<td>{usd(s[group][key])}</td>" for _, group, key in columns)

    header = (
        "<tr><th>strategy</th><th>net margin (USD)</th><th>value captured</th><th>mining revenue</th>"
        f"<th>sell-back</th>{headers(revenues)}<th>energy cost</th><th>adders</th><th>pool fees</th>"
        f"{headers(costs)}<th>all-in power cost (USD/MWh)</th>"
        + (
            "<th>ASIC energy (MWh)</th><th>GPU hall energy (MWh)</th></tr>"
            if hybrid
            else "<th>energy used (MWh)</th></tr>"
        )
    )
    rows = []
    for r in results:
        s = r.summary
        captured = comparison["strategies"][r.name]["value_captured_pct"]
        all_in = s["all_in_power_cost_usd_per_mwh"]
        energy = s["energy_mwh"]
        hall_mwh = energy["inference"] + energy["training"] + energy["rental"] + energy["gpu_idle"]
        rows.append(
            "<tr>"
            f"<td>{strategy_heading(r)}</td><td>{usd(s['net_margin_usd'])}</td>"
            f"<td>{'—' if captured is None else f'{captured:.1f} %'}</td>"
            f"<td>{usd(s['revenue_usd']['mining'])}</td><td>{usd(s['revenue_usd']['power_sellback'])}</td>"
            f"{cells(s, revenues)}"
            f"<td>{usd(s['cost_usd']['energy'])}</td><td>{usd(s['cost_usd']['adders'])}</td>"
            f"<td>{usd(s['cost_usd']['pool_fees'])}</td>{cells(s, costs)}"
            f"<td>{'—' if all_in is None else f'{all_in:.2f}'}</td><td>{usd(energy['mining'])}</td>"
            + (f"<td>{usd(hall_mwh)}</td>" if hybrid else "")
            + "</tr>"
        )
    return f"<table>{header}{''.join(rows)}</table>"


def render_report(bt: Backtest, results: list[StrategyResult], comparison: dict[str, Any]) -> str:
    """The report as one HTML document (plotly.js inlined once)."""
    figures = [_dispatch_figure(bt, results), _cumulative_figure(bt, results), _duration_figure(bt, results)]
    divs = [fig.to_html(full_html=False, include_plotlyjs=False) for fig in figures]
    hall = ""
    if bt.inputs.site.hall is not None and results:
        hall_div = _hall_figure(bt, results).to_html(full_html=False, include_plotlyjs=False)
        hall = f"<h2>GPU hall by workload</h2>\n{hall_div}\n"
    streams = ""
    if _has_streams(bt) and results:
        streams = (
            "<h2>GPU hall and grid programs by strategy</h2>\n"
            "<p>Training jobs, the inference SLA per month and the 4CP peaks, where the site has them. "
            "Times are market-local. A job is scheduled only when its release and deadline both lie inside "
            "the window; its deadline is the end of its last day. GPU-hours lost are the restarts and the "
            "work repeated after each preemption (a full checkpoint interval). The site load at a 4CP peak "
            "is its mean over the peak hour.</p>\n"
            f"{streams_section(bt, results)}\n"
        )
    gaps = bt.gaps
    gap_text = (
        "no missing intervals inside the data"
        if gaps.count == 0
        else f"{gaps.count} missing intervals inside the data (longest {gaps.longest_intervals}, from "
        f"{gaps.longest_start_utc}); they are excluded, not filled"
    )
    if gaps.outside_intervals:
        spans = ", ".join(f"{a} to {b}" for a, b in gaps.outside_spans_utc)
        covered = (
            f" (the data covers {gaps.coverage_utc[0]} to {gaps.coverage_utc[1]})"
            if gaps.coverage_utc
            else ""
        )
        gap_text += (
            f"; {gaps.outside_intervals} intervals of the window lie outside the data's coverage{covered}: "
            f"{spans}; excluded"
        )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in comparison["notes"])
    hp = bt.hashprice_dict()
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>powerfirst backtest — {html.escape(bt.site.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
.note {{ background: #fff7e0; border-left: 4px solid #e0a800; padding: 0.5rem 1rem; }}
</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head><body>
<h1>Backtest: {html.escape(bt.site.name)}</h1>
<p>Prices <code>{html.escape(bt.prices.name)}</code>, {html.escape(bt.window.describe())}
— {html.escape(bt.window.zone_line())};
{bt.inputs.num_intervals} intervals of {bt.prices.interval_hours * 60:g} minutes; data gaps: {html.escape(gap_text)}.
Hashprice: {html.escape(hp["source"])} (mean {hp["mean_usd_per_ph_day"]:.2f} USD/PH/day).</p>
<div class="note"><ul>{notes}</ul></div>
{inputs_section(bt, results)}<h2>Summary</h2>
{_table(bt, results, comparison)}
<h2>Dispatch against price</h2>
{divs[0]}
{hall}{streams}<h2>Cumulative margin</h2>
{divs[1]}
<h2>Price duration and breakeven</h2>
{divs[2]}
<p>Generated by powerfirst. Per-interval results: <code>&lt;strategy&gt;/intervals.parquet</code>;
totals: <code>&lt;strategy&gt;/summary.json</code>, <code>comparison.json</code>.</p>
</body></html>
"""


def write_report(path: Path, bt: Backtest, results: list[StrategyResult], comparison: dict[str, Any]) -> Path:
    path.write_text(render_report(bt, results, comparison), encoding="utf-8")
    return path

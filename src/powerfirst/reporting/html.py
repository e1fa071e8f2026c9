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

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from powerfirst.reporting.data import ReportInput, StrategyRun
from powerfirst.reporting.render import render
from powerfirst.reporting.tables import gap_text, input_items, stream_sections, summary_table

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


def _gap_runs(data: ReportInput, freq: str) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """[start, end) of runs of ``freq`` bins (market-local, as the charts bin) with no price at all
    (at most _MAX_BANDS)."""
    grid = data.expected_utc
    local = grid.tz_convert(data.window.timezone)
    present = pd.Series(grid.isin(data.times_utc), index=local).resample(freq).sum()
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


def _dispatch_figure(data: ReportInput, results: list[StrategyRun]) -> go.Figure:
    tz = data.window.timezone
    fig = make_subplots(
        rows=len(results),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.04,
        subplot_titles=[f"{r.name} — {r.label}" for r in results],
        specs=[[{"secondary_y": True}] for _ in results],
    )
    # hours without any price stay empty (NaN): lines and fills break there, nothing is drawn as 0 MW
    price = data.prices_usd_per_mwh.dropna().resample("1h").mean()
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
        frame = result.intervals
        hourly = {name: frame[f"power_mw__{name}"].resample("1h").mean() for name in result.fleet_names}
        for seg, (first, last) in enumerate(_segments(next(iter(hourly.values())).notna().to_numpy())):
            stacked = None
            for i, name in enumerate(result.fleet_names):
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
    _shade_gaps(fig, _gap_runs(data, "1h"), tz)
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


def _cumulative_figure(data: ReportInput, results: list[StrategyRun]) -> go.Figure:
    tz = data.window.timezone
    fig = go.Figure()
    for i, result in enumerate(results):
        margin = result.intervals["net_margin_usd"]
        local = margin.set_axis(pd.DatetimeIndex(margin.index).tz_convert(tz))
        # days without any price stay NaN, so the line breaks instead of running flat
        daily = local.resample("1D").sum(min_count=1).cumsum()
        label = f"{result.name} (upper bound)" if result.uses_hindsight else result.name
        fig.add_trace(
            go.Scatter(
                x=pd.DatetimeIndex(daily.index).tz_localize(None),
                y=daily.to_numpy(),
                name=label,
                connectgaps=False,
                line={
                    "color": _PALETTE[i % len(_PALETTE)],
                    "dash": "dot" if result.uses_hindsight else "solid",
                },
            )
        )
    _shade_gaps(fig, _gap_runs(data, "1D"), tz)
    fig.update_layout(
        title="Cumulative net margin (end of each local day)",
        xaxis_title=f"local date ({tz})",
        yaxis_title="USD",
        height=420,
        hovermode="x unified",
    )
    return fig


def _duration_figure(data: ReportInput, results: list[StrategyRun]) -> go.Figure:
    prices = np.sort(data.price_usd_per_mwh)[::-1]
    hours = np.arange(1, prices.size + 1) * data.interval_hours
    if prices.size > _DURATION_POINTS:
        pick = np.unique(np.linspace(0, prices.size - 1, _DURATION_POINTS).astype(int))
        prices, hours = prices[pick], hours[pick]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=hours, y=prices, name="real-time price", line={"color": "black"}))
    breakevens = results[0].summary.mean_breakeven_usd_per_mwh if results else {}
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
        all_prices = data.price_usd_per_mwh
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


def _gpu_bin(data: ReportInput) -> str:
    """The finest bin of ``_GPU_BINS`` that puts at most ``_GPU_POINTS`` bins in the window."""
    hours = (data.window.end_utc - data.window.start_utc) / pd.Timedelta(hours=1)
    for freq in _GPU_BINS:
        if hours / (pd.Timedelta(freq) / pd.Timedelta(hours=1)) <= _GPU_POINTS:
            return freq
    return _GPU_BINS[-1]


def _hall_layers(data: ReportInput) -> list[tuple[str, str, str]]:
    """(ledger column, legend name, colour) of each stacked workload of the hall, bottom first."""
    hall = data.hall
    if hall is None:
        return []
    layers = [("inference_gpus", "inference (served)", _INFERENCE_COLOR)] if hall.has_inference else []
    layers += [
        (f"training_gpus__{job}", f"training: {job}", _JOB_PALETTE[k % len(_JOB_PALETTE)])
        for k, job in enumerate(hall.job_names)
    ]
    if hall.has_rental:
        layers.append(("rental_gpus", "rental", _RENTAL_COLOR))
    layers.append(("idle_gpus", "idle", _IDLE_COLOR))
    return layers


def _hall_figure(data: ReportInput, results: list[StrategyRun]) -> go.Figure:
    """GPUs per workload (bin means, stacked) with the inference demand, one panel per strategy."""
    hall = data.hall
    assert hall is not None
    tz = data.window.timezone
    freq = _gpu_bin(data)
    layers = _hall_layers(data)
    demand_column = ["inference_demand_gpus"] if hall.has_inference else []
    fig = make_subplots(
        rows=len(results),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08 if len(results) > 1 else 0.04,
        subplot_titles=[f"{r.name} — {r.label}" for r in results],
    )
    for row, result in enumerate(results, start=1):
        binned = _bin_local(result.intervals[[c for c, _, _ in layers] + demand_column], tz, freq)
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
    _shade_gaps(fig, _gap_runs(data, freq), tz)
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


def render_report(data: ReportInput) -> str:
    """The report as one HTML document (plotly.js inlined once)."""
    results = data.strategies
    figures = [
        _dispatch_figure(data, results),
        _cumulative_figure(data, results),
        _duration_figure(data, results),
    ]
    divs = [fig.to_html(full_html=False, include_plotlyjs=False) for fig in figures]
    hall_div = None
    if data.hall is not None and results:
        hall_div = _hall_figure(data, results).to_html(full_html=False, include_plotlyjs=False)
    return render(
        "report.html.j2",
        data=data,
        plotly_js=get_plotlyjs(),
        divs=divs,
        hall_div=hall_div,
        summary=summary_table(data),
        sections=stream_sections(data),
        inputs=input_items(data),
        gap_text=gap_text(data.comparison.data_gaps),
        interval_minutes=f"{data.price_interval_hours * 60:g}",
        hashprice_mean=f"{data.hashprice.mean_usd_per_ph_day:.2f}",
    )


def write_report(path: Path, data: ReportInput) -> Path:
    """Write the report to ``path``."""
    path.write_text(render_report(data), encoding="utf-8")
    return path

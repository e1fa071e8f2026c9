"""The report's tables beside its charts, as rows of text for the templates: the per-strategy summary,
per strategy its training jobs, monthly inference SLA, 4CP peaks and grid-program revenue, and the
inputs it ran on. Values are plain text (escaped by the templates); a cell that carries markup is
:class:`markupsafe.Markup`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from markupsafe import Markup

from powerfirst.accounting.results import DataGaps, StrategySummary
from powerfirst.reporting.data import ReportInput, StrategyRun

__all__ = [
    "MiniTable",
    "StreamSection",
    "SummaryTable",
    "gap_text",
    "input_items",
    "stream_sections",
    "summary_table",
    "usd",
    "when",
]

Cell = str | Markup
_NO = Markup("<strong>no</strong>")


def usd(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def when(value: str | None, timezone: str) -> str:
    """An ISO time as market-local wall-clock with the zone's abbreviation ("—" when absent)."""
    if value is None:
        return "—"
    return pd.Timestamp(value).tz_convert(timezone).strftime("%Y-%m-%d %H:%M %Z")


@dataclass(frozen=True)
class SummaryTable:
    """The per-strategy summary: headers, and per strategy run its cells after the name."""

    header: list[str]
    rows: list[tuple[StrategyRun, list[str]]]


@dataclass(frozen=True)
class MiniTable:
    """A per-strategy table (``kind`` is its class: training-jobs, inference-sla, fourcp-peaks)."""

    kind: str
    strategy: str
    header: list[str]
    rows: list[list[Cell]]


@dataclass(frozen=True)
class StreamSection:
    """One strategy's tables and sentences about its GPU hall and grid programs."""

    run: StrategyRun
    tables: list[MiniTable] = field(default_factory=list)
    fourcp_table: MiniTable | None = None
    fourcp_text: str | None = None
    programs: str = ""


_Column = tuple[str, Callable[[StrategySummary], float]]


def _stream_columns(data: ReportInput) -> tuple[list[_Column], list[_Column]]:
    """(header, value) of each revenue and each cost column of the streams the site has."""
    streams = data.streams
    revenues: list[_Column] = []
    costs: list[_Column] = []
    if streams.inference:
        revenues.append(("inference revenue", lambda s: s.revenue_usd.inference))
    if streams.training:
        revenues.append(("training value", lambda s: s.revenue_usd.training))
    if streams.rental:
        revenues.append(("rental revenue", lambda s: s.revenue_usd.rental))
    if streams.heat:
        revenues.append(("heat revenue", lambda s: s.revenue_usd.heat))
    if streams.ancillary:
        revenues.append(("ancillary revenue", lambda s: s.revenue_usd.ancillary))
    if streams.inference:
        costs.append(("SLA penalty (cost)", lambda s: s.cost_usd.sla_penalty))
    if streams.fourcp:
        costs.append(("4CP charge (cost)", lambda s: s.cost_usd.fourcp_charge))
    return revenues, costs


def summary_table(data: ReportInput) -> SummaryTable:
    """Net margin, value captured, revenue and cost by stream and energy of each strategy."""
    revenues, costs = _stream_columns(data)
    hybrid = data.streams.gpu_hall
    header = [
        "strategy",
        "net margin (USD)",
        "value captured",
        "mining revenue",
        "sell-back",
        *(h for h, _ in revenues),
        "energy cost",
        "adders",
        "pool fees",
        *(h for h, _ in costs),
        "all-in power cost (USD/MWh)",
        *(["ASIC energy (MWh)", "GPU hall energy (MWh)"] if hybrid else ["energy used (MWh)"]),
    ]
    rows = []
    for r in data.strategies:
        s = r.summary
        captured = data.comparison.strategies[r.name].value_captured_pct
        all_in = s.all_in_power_cost_usd_per_mwh
        energy = s.energy_mwh
        hall_mwh = energy.inference + energy.training + energy.rental + energy.gpu_idle
        cells = [
            usd(s.net_margin_usd),
            "—" if captured is None else f"{captured:.1f} %",
            usd(s.revenue_usd.mining),
            usd(s.revenue_usd.power_sellback),
            *(usd(value(s)) for _, value in revenues),
            usd(s.cost_usd.energy),
            usd(s.cost_usd.adders),
            usd(s.cost_usd.pool_fees),
            *(usd(value(s)) for _, value in costs),
            "—" if all_in is None else f"{all_in:.2f}",
            usd(energy.mining),
            *([usd(hall_mwh)] if hybrid else []),
        ]
        rows.append((r, cells))
    return SummaryTable(header, rows)


def jobs_table(run: StrategyRun, timezone: str) -> MiniTable:
    rows: list[list[Cell]] = []
    for job in run.summary.training_jobs or []:
        met: Cell
        if not job.in_window:
            met = "not scheduled (outside the window)"
        else:
            met = "yes" if job.met_deadline else _NO
        rows.append(
            [
                job.name,
                when(job.finish_utc, timezone),
                when(job.deadline_utc, timezone),
                met,
                f"{job.preemptions:d}",
                f"{job.gpu_hours_used:,.0f}",
                f"{job.gpu_hours_lost_to_restarts_and_checkpoints:,.0f}",
                usd(job.value_usd),
            ]
        )
    header = [
        "training job",
        "finished (local)",
        "deadline (local, end)",
        "met deadline",
        "preemptions",
        "GPU-hours used",
        "GPU-hours lost (restarts, checkpoints)",
        "value earned (USD)",
    ]
    return MiniTable("training-jobs", run.name, header, rows)


def sla_table(run: StrategyRun) -> MiniTable:
    rows: list[list[Cell]] = [
        [
            m.month,
            f"{m.demanded_gpu_hours:,.0f}",
            f"{m.served_gpu_hours:,.0f}",
            f"{100.0 * m.availability:.3f} %",
            f"{100.0 * m.target:.3f} %",
            "yes" if m.met else _NO,
        ]
        for m in run.summary.inference_sla or []
    ]
    header = ["month (local)", "GPU-hours demanded", "GPU-hours served", "availability", "target", "met"]
    return MiniTable("inference-sla", run.name, header, rows)


def fourcp_table(run: StrategyRun, timezone: str) -> MiniTable:
    fourcp = run.summary.fourcp
    assert fourcp is not None
    rows: list[list[Cell]] = []
    for peak in fourcp.peaks:
        load = peak.site_load_mw
        rows.append(
            [
                f"{peak.year}-{peak.month:02d}",
                when(peak.peak_start_utc, timezone),
                f"{peak.intervals_in_window:d}",
                "—" if load is None else f"{load:.2f}",
                "unknown: price gap" if peak.charge_unknown else usd(peak.charge_usd),
            ]
        )
    header = [
        "4CP month",
        "peak hour starts (local)",
        "intervals in window",
        "site load at the peak (MW)",
        "4CP charge (USD)",
    ]
    return MiniTable("fourcp-peaks", run.name, header, rows)


def programs_line(run: StrategyRun) -> str:
    """GPU-hours per workload, heat sold and ancillary offers of one strategy, in a sentence each."""
    s = run.summary
    parts = []
    if s.gpu_hours is not None:
        g = s.gpu_hours
        training = ", ".join(f"{k} {v:,.0f}" for k, v in g.training.items())
        parts.append(
            f"GPU-hours: inference {g.inference_served:,.0f} served of {g.inference_demanded:,.0f} "
            f"demanded; training {training or '—'}; rental {g.rental:,.0f}; idle {g.idle:,.0f}."
        )
    if s.heat_mwh_thermal is not None:
        parts.append(f"Heat sold: {s.heat_mwh_thermal:,.0f} MWh thermal.")
    if s.ancillary is not None:
        offers = "; ".join(
            f"{p} {v.mwh_offered:,.0f} MWh offered, {usd(v.revenue_usd)} USD" for p, v in s.ancillary.items()
        )
        parts.append(f"Ancillary services (capacity; deployments not modelled): {offers}.")
    return " ".join(parts)


def stream_sections(data: ReportInput) -> list[StreamSection]:
    """Per strategy: training jobs, monthly inference SLA, 4CP peaks and the other programs."""
    tz = data.window.timezone
    sections = []
    for r in data.strategies:
        s = r.summary
        tables = []
        if s.training_jobs:
            tables.append(jobs_table(r, tz))
        if s.inference_sla:
            tables.append(sla_table(r))
        fourcp = fourcp_text = None
        if s.fourcp is not None:
            fourcp = fourcp_table(r, tz)
            fourcp_text = (
                f"4CP: {usd(s.fourcp.charge_usd)} USD charged in the window "
                f"({s.fourcp.rate_usd_per_mw_year:,.0f} USD/MW-year; {s.fourcp.basis})."
            )
        sections.append(StreamSection(r, tables, fourcp, fourcp_text, programs_line(r)))
    return sections


def input_items(data: ReportInput) -> tuple[list[tuple[str, str]], list[str]]:
    """Where each market input came from (the user's files by name), and per strategy with a
    forecaster what it was fitted on and the fallbacks it took."""
    sources = [
        (name.replace("_", " "), source)
        for name, source in data.comparison.market_inputs.items()
        if source is not None
    ]
    lines = []
    for r in data.strategies:
        details = r.summary.policy
        if "forecast_inputs" not in details:
            continue
        trained = details.get("forecast_trained_on_utc")
        line = (
            f"{r.name}: forecaster {details.get('forecast')} fitted with {', '.join(details['forecast_inputs'])}"
            + (f" on {trained}" if trained else "")
        )
        notes = details.get("fallback_notes") or []
        if details.get("fallbacks"):
            line += f"; {details['fallbacks']} fallback(s)" + (
                f": {'; '.join(map(str, notes))}" if notes else ""
            )
        lines.append(line)
    return sources, lines


def gap_text(gaps: DataGaps) -> str:
    """The window's data gaps in a sentence."""
    text = (
        "no missing intervals inside the data"
        if gaps.count == 0
        else f"{gaps.count} missing intervals inside the data (longest {gaps.longest_intervals}, from "
        f"{gaps.longest_start_utc}); they are excluded, not filled"
    )
    outside = gaps.outside_coverage
    if outside.intervals:
        spans = ", ".join(f"{span.start_utc} to {span.end_utc}" for span in outside.spans_utc)
        covered = (
            f" (the data covers {outside.coverage_start_utc} to {outside.coverage_end_utc})"
            if outside.coverage_start_utc is not None
            else ""
        )
        text += (
            f"; {outside.intervals} intervals of the window lie outside the data's coverage{covered}: "
            f"{spans}; excluded"
        )
    return text

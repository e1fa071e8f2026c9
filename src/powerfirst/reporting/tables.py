"""The report's tables beside its charts: per strategy its training jobs, monthly inference SLA, 4CP
peaks, grid-program revenue and the inputs it ran on (HTML fragments, every value escaped)."""

from __future__ import annotations

import html

import pandas as pd

from powerfirst.backtest.runner import Backtest, StrategyResult

__all__ = [
    "fourcp_table",
    "inputs_section",
    "jobs_table",
    "mini_table",
    "programs_line",
    "sla_table",
    "strategy_heading",
    "streams_section",
    "usd",
    "when",
]


def usd(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def strategy_heading(result: StrategyResult) -> str:
    """HTML strategy name, marked when it knows the future (as in the summary table)."""
    return html.escape(result.name) + (" <em>(upper bound)</em>" if result.policy.uses_hindsight else "")


def when(value: str | None, timezone: str) -> str:
    """An ISO time as market-local wall-clock with the zone's abbreviation ("—" when absent)."""
    if value is None:
        return "—"
    return pd.Timestamp(value).tz_convert(timezone).strftime("%Y-%m-%d %H:%M %Z")


def mini_table(kind: str, result: StrategyResult, header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f'<table class="{kind}" data-strategy="{html.escape(result.name, quote=True)}">'
        f"<tr>{head}</tr>{body}</table>"
    )


def jobs_table(bt: Backtest, result: StrategyResult) -> str:
    tz = bt.window.timezone
    rows = []
    for job in result.summary.get("training_jobs", []):
        if not job["in_window"]:
            met = "not scheduled (outside the window)"
        else:
            met = "yes" if job["met_deadline"] else "<strong>no</strong>"
        rows.append(
            [
                html.escape(job["name"]),
                when(job["finish_utc"], tz),
                when(job["deadline_utc"], tz),
                met,
                f"{job['preemptions']:d}",
                f"{job['gpu_hours_used']:,.0f}",
                f"{job['gpu_hours_lost_to_restarts_and_checkpoints']:,.0f}",
                usd(job["value_usd"]),
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
    return mini_table("training-jobs", result, header, rows)


def sla_table(result: StrategyResult) -> str:
    rows = [
        [
            html.escape(m["month"]),
            f"{m['demanded_gpu_hours']:,.0f}",
            f"{m['served_gpu_hours']:,.0f}",
            f"{100.0 * m['availability']:.3f} %",
            f"{100.0 * m['target']:.3f} %",
            "yes" if m["met"] else "<strong>no</strong>",
        ]
        for m in result.summary.get("inference_sla", [])
    ]
    header = ["month (local)", "GPU-hours demanded", "GPU-hours served", "availability", "target", "met"]
    return mini_table("inference-sla", result, header, rows)


def fourcp_table(bt: Backtest, result: StrategyResult) -> str:
    tz = bt.window.timezone
    rows = []
    for peak in result.summary["fourcp"]["peaks"]:
        load = peak["site_load_mw"]
        rows.append(
            [
                f"{peak['year']}-{peak['month']:02d}",
                when(str(peak["peak_start_utc"]), tz),
                f"{peak['intervals_in_window']:d}",
                "—" if load is None else f"{load:.2f}",
                "unknown: price gap" if peak.get("charge_unknown") else usd(peak["charge_usd"]),
            ]
        )
    header = [
        "4CP month",
        "peak hour starts (local)",
        "intervals in window",
        "site load at the peak (MW)",
        "4CP charge (USD)",
    ]
    return mini_table("fourcp-peaks", result, header, rows)


def programs_line(result: StrategyResult) -> str:
    """GPU-hours per workload, heat sold and ancillary offers of one strategy, in a sentence each."""
    s = result.summary
    parts = []
    if "gpu_hours" in s:
        g = s["gpu_hours"]
        training = ", ".join(f"{html.escape(k)} {v:,.0f}" for k, v in g["training"].items())
        parts.append(
            f"GPU-hours: inference {g['inference_served']:,.0f} served of {g['inference_demanded']:,.0f} "
            f"demanded; training {training or '—'}; rental {g['rental']:,.0f}; idle {g['idle']:,.0f}."
        )
    if "heat_mwh_thermal" in s:
        parts.append(f"Heat sold: {s['heat_mwh_thermal']:,.0f} MWh thermal.")
    if "ancillary" in s:
        offers = "; ".join(
            f"{html.escape(p)} {v['mwh_offered']:,.0f} MWh offered, {usd(v['revenue_usd'])} USD"
            for p, v in s["ancillary"].items()
        )
        parts.append(f"Ancillary services (capacity; deployments not modelled): {offers}.")
    return f"<p>{' '.join(parts)}</p>" if parts else ""


def streams_section(bt: Backtest, results: list[StrategyResult]) -> str:
    """Per strategy: training jobs, monthly inference SLA, 4CP peaks and the other programs."""
    parts = []
    for r in results:
        s = r.summary
        block = [f"<h3>{strategy_heading(r)}</h3>"]
        if s.get("training_jobs"):
            block.append(jobs_table(bt, r))
        if s.get("inference_sla"):
            block.append(sla_table(r))
        if "fourcp" in s:
            block.append(fourcp_table(bt, r))
            block.append(
                f"<p>4CP: {usd(s['fourcp']['charge_usd'])} USD charged in the window "
                f"({s['fourcp']['rate_usd_per_mw_year']:,.0f} USD/MW-year; {html.escape(s['fourcp']['basis'])}).</p>"
            )
        block.append(programs_line(r))
        parts.append("".join(block))
    return "\n".join(parts)


def inputs_section(bt: Backtest, results: list[StrategyResult]) -> str:
    """Where each market input came from (the user's files by name) and, per strategy with a
    forecaster, what it was fitted on and the fallbacks it took."""
    items = [
        f"<li>{html.escape(name.replace('_', ' '))}: <code>{html.escape(source)}</code></li>"
        for name, source in bt.market_inputs.items()
        if source is not None
    ]
    for r in results:
        details = r.summary.get("policy") or {}
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
        items.append(f"<li>{html.escape(line)}</li>")
    return f"<h2>Inputs</h2>\n<ul>{''.join(items)}</ul>\n" if items else ""

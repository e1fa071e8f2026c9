"""Benchmark the co-optimization of the hybrid site (mining + GPU hall), issue 3.

On ``examples/west-texas-hybrid.yaml`` (two ASIC fleets, a 14,000-GPU hall with inference, two
training jobs, rentals, heat, ERCOT 4CP and ancillary offers) and real ERCOT HB_WEST prices, this
script measures:

1. **the full year 2023** (35,040 intervals of 15 min) as the ``perfect`` strategy solves it
   (:func:`powerfirst.backtest.runner.run_strategy`, which calls
   :func:`powerfirst.dispatch.optimize.optimize_dispatch`): model size (columns, rows, nonzeros,
   integer variables), build and solve seconds and their total (target: < 30 s on a 2-core
   machine), status, MIP gap and proven upper bound. The year has more job switches than
   branch-and-bound takes, so it is solved by relax-and-round;
2. **48-hour horizons**, the size a rolling controller re-solves: ``--windows`` windows (default
   20) spread evenly over 2023, each solved by ``optimize_dispatch`` (target: build + solve <
   0.5 s). A training job is scheduled only when its whole [release, deadline) lies inside the
   window, so the example's jobs (months long) never appear in a 48-hour model. Each window is
   therefore solved twice: with the example as it is (an LP), and with a variant of the site whose
   ``gpu_hall.training_jobs`` holds one 36-hour job inside the window (a MILP with one on/off
   binary per job-hour, solved by branch-and-bound). The model starts from the default state
   (fleets at full power, no rental, job not started);
3. **the margin per stream** of ``perfect`` against ``rule-based`` over 2023, with the share of
   the hindsight bound that ``rule-based`` captures (``value_captured_pct`` from ``comparison``).

Times are medians over ``--repeat`` runs (default 3; ``--quick``: 1); the first run counts,
nothing is warmed up. For the windows, each window's median is taken, then the median and the
maximum over the windows.

    .venv/bin/python benchmarks/bench_hybrid.py [--repeat N | --quick] [--windows N] [--write BENCHMARKS.md]

``--write`` replaces only this script's section of the file; the other sections are kept.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from bench_dispatch import (
    OtherLoad,
    Samples,
    command_line,
    cpu_model,
    loadavg,
    package_version,
    publish,
    ram_gib,
    timed,
)
from powerfirst.backtest.runner import Backtest, StrategyResult, comparison, prepare_backtest, run_strategy
from powerfirst.dispatch.model import build_dispatch_model
from powerfirst.dispatch.optimize import EXACT_MILP_MAX_INTEGERS, DispatchPlan, optimize_dispatch
from powerfirst.policies.perfect import PerfectHindsightPolicy
from powerfirst.policies.registry import load_site, parse_site
from powerfirst.site.schema import Site

ROOT = Path(__file__).resolve().parents[1]
SITE_FILE = ROOT / "examples" / "west-texas-hybrid.yaml"
START, END = "2023-01-01", "2023-12-31"
SECTION = "hybrid-issue-3"
TARGET_YEAR_S = 30.0
TARGET_WINDOW_S = 0.5
TARGET_CORES = 2

WINDOW_HOURS = 48
YEAR_START_UTC = pd.Timestamp("2023-01-01T06:00:00Z")  # local midnight, America/Chicago (CST)
YEAR_HOURS = 8760
SHORT_JOB: dict[str, Any] = {
    "name": "short-finetune",
    "gpu_hours": 40_000,
    "value_usd": 120_000,
    "min_gpus": 512,
    "max_gpus": 2048,
    "checkpoint_interval_min": 30,
    "restart_time_min": 10,
}
"""The 36-hour job of the window variant; release 6 h and deadline 42 h after the window's start.
At 2,048 GPUs it could do 73,728 GPU-hours in 36 hours: it needs a little over half of that."""
SHORT_JOB_RELEASE_H, SHORT_JOB_DEADLINE_H = 6, 42
TOL_USD = 1.0


class BenchmarkError(RuntimeError):
    """A result does not add up, or a model is not the size expected."""


# --------------------------------------------------------------------------------------------
# 1 + 3: the full year, perfect and rule-based
# --------------------------------------------------------------------------------------------


@dataclass
class YearRun:
    build: Samples = field(default_factory=Samples)
    solve: Samples = field(default_factory=Samples)
    total: Samples = field(default_factory=Samples)
    perfect_wall: Samples = field(default_factory=Samples)
    rule_wall: Samples = field(default_factory=Samples)
    plan: DispatchPlan | None = None
    nonzeros: int = 0
    net_margins: dict[str, list[float]] = field(default_factory=lambda: {"perfect": [], "rule-based": []})
    perfect: StrategyResult | None = None
    rule: StrategyResult | None = None
    value_captured_pct: float | None = None


def perfect_plan(result: StrategyResult) -> DispatchPlan:
    policy = result.policy
    if not isinstance(policy, PerfectHindsightPolicy) or policy.plan is None:
        raise BenchmarkError("the perfect strategy kept no plan")
    return policy.plan


def run_year(bt: Backtest, year: YearRun) -> None:
    perfect, wall = timed(lambda: run_strategy(bt, "perfect"))
    year.perfect_wall.add(wall)
    plan = perfect_plan(perfect)
    year.build.add(plan.build_seconds)
    year.solve.add(plan.solve_seconds)
    year.total.add(plan.build_seconds + plan.solve_seconds)
    if year.plan is None:
        # the same model as the one perfect solved (same initial state), for its nonzeros
        model = build_dispatch_model(bt.inputs, perfect.run.initial_power_mw)
        if (model.lp.num_cols, model.lp.num_rows) != (plan.num_cols, plan.num_rows):
            raise BenchmarkError("the rebuilt model is not the size of the one perfect solved")
        year.nonzeros = int(model.lp.a.nnz)
    year.plan = plan
    rule, wall = timed(lambda: run_strategy(bt, "rule-based"))
    year.rule_wall.add(wall)
    year.perfect, year.rule = perfect, rule
    year.net_margins["perfect"].append(float(perfect.summary["net_margin_usd"]))
    year.net_margins["rule-based"].append(float(rule.summary["net_margin_usd"]))
    captured = comparison(bt, [perfect, rule])["strategies"]["rule-based"]["value_captured_pct"]
    year.value_captured_pct = None if captured is None else float(captured)


STREAM_ROWS: list[tuple[str, tuple[tuple[str, str, float], ...]]] = [
    ("mining", (("revenue_usd", "mining", 1.0),)),
    ("power sell-back", (("revenue_usd", "power_sellback", 1.0),)),
    ("inference", (("revenue_usd", "inference", 1.0),)),
    ("training (value of jobs finished)", (("revenue_usd", "training", 1.0),)),
    ("rental", (("revenue_usd", "rental", 1.0),)),
    ("heat", (("revenue_usd", "heat", 1.0),)),
    ("ancillary", (("revenue_usd", "ancillary", 1.0),)),
    ("energy + adders", (("cost_usd", "energy", -1.0), ("cost_usd", "adders", -1.0))),
    ("pool fees", (("cost_usd", "pool_fees", -1.0),)),
    ("SLA penalty", (("cost_usd", "sla_penalty", -1.0),)),
    ("4CP charge", (("cost_usd", "fourcp_charge", -1.0),)),
]
"""Rows of the stream table: revenue positive, costs negative, so each column sums to the net margin."""


def stream_value(summary: dict[str, Any], terms: tuple[tuple[str, str, float], ...]) -> float:
    return sum(sign * float(summary[group][key]) for group, key, sign in terms)


def check_streams(summary: dict[str, Any]) -> None:
    total = sum(stream_value(summary, terms) for _, terms in STREAM_ROWS)
    net = float(summary["net_margin_usd"])
    if abs(total - net) > TOL_USD:
        raise BenchmarkError(
            f"{summary['strategy']}: the streams add up to {total:,.2f} USD, the net margin is {net:,.2f} USD"
        )


# --------------------------------------------------------------------------------------------
# 2: 48-hour windows
# --------------------------------------------------------------------------------------------


@dataclass
class WindowRun:
    """One 48-hour window solved with one variant of the site."""

    start_utc: pd.Timestamp
    build: Samples = field(default_factory=Samples)
    solve: Samples = field(default_factory=Samples)
    total: Samples = field(default_factory=Samples)
    call: Samples = field(default_factory=Samples)
    """Wall time of the whole ``optimize_dispatch`` call (build, solve, reading the schedule back)."""
    prepare: Samples = field(default_factory=Samples)
    status: str = ""
    mip_gap: float | None = None
    cols: int = 0
    rows: int = 0
    integers: int = 0
    job_gpu_hours: float = 0.0


def window_starts(count: int) -> list[pd.Timestamp]:
    """``count`` window starts spread evenly over 2023 (whole hours; the last window ends by the year's end)."""
    span = YEAR_HOURS - WINDOW_HOURS
    if count == 1:
        return [YEAR_START_UTC]
    return [YEAR_START_UTC + pd.Timedelta(hours=round(k * span / (count - 1))) for k in range(count)]


def iso(stamp: pd.Timestamp) -> str:
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def site_with_short_job(raw: dict[str, Any], start_utc: pd.Timestamp) -> Site:
    """The example with one 36-hour training job inside the window that starts at ``start_utc``."""
    data = copy.deepcopy(raw)
    job = dict(SHORT_JOB)
    job["release"] = iso(start_utc + pd.Timedelta(hours=SHORT_JOB_RELEASE_H))
    job["deadline"] = iso(start_utc + pd.Timedelta(hours=SHORT_JOB_DEADLINE_H))
    data["gpu_hall"]["training_jobs"] = [job]
    return parse_site(data, source=f"{SITE_FILE.name} with a 36-hour job")


def run_window(site: Site, run: WindowRun, *, with_job: bool) -> None:
    end = run.start_utc + pd.Timedelta(hours=WINDOW_HOURS)
    bt, prepare_s = timed(lambda: prepare_backtest(site, iso(run.start_utc), iso(end)))
    if bt.inputs.num_intervals != WINDOW_HOURS * 4:
        raise BenchmarkError(f"window {iso(run.start_utc)}: {bt.inputs.num_intervals} intervals, not 192")
    if with_job and bt.inputs.stream.jobs_in_window != (True,):
        raise BenchmarkError(f"window {iso(run.start_utc)}: the short job is not inside the window")
    if not with_job and any(bt.inputs.stream.jobs_in_window):
        raise BenchmarkError(f"window {iso(run.start_utc)}: an example job lies inside a 48-hour window")
    plan, call_s = timed(lambda: optimize_dispatch(bt.inputs))
    run.prepare.add(prepare_s)
    run.build.add(plan.build_seconds)
    run.solve.add(plan.solve_seconds)
    run.total.add(plan.build_seconds + plan.solve_seconds)
    run.call.add(call_s)
    run.status = plan.status.value
    run.mip_gap = plan.mip_gap
    run.cols, run.rows, run.integers = plan.num_cols, plan.num_rows, plan.num_integer
    training = plan.schedule.training_gpus
    run.job_gpu_hours = float(training.sum() * bt.inputs.interval_hours) if training.size else 0.0
    if with_job and run.job_gpu_hours < SHORT_JOB["gpu_hours"] - 1e-6:
        raise BenchmarkError(f"window {iso(run.start_utc)}: the plan gives the short job too few GPU-hours")


def overlaps_example_job(start_utc: pd.Timestamp, jobs: list[tuple[str, pd.Timestamp, pd.Timestamp]]) -> str:
    """The example's jobs whose [release, deadline) overlaps the window (none is scheduled in it)."""
    end_utc = start_utc + pd.Timedelta(hours=WINDOW_HOURS)
    names = [name for name, release, deadline in jobs if start_utc < deadline and release < end_utc]
    return ", ".join(names) if names else "–"


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def fmt_usd(value: float) -> str:
    return f"{value:,.0f}"


def fmt_gap(value: float | None) -> str:
    return "– (LP)" if value is None else f"{100.0 * value:.3f} %"


def cpu_details() -> str:
    """Family and model numbers from /proc/cpuinfo (they name the generation when the model name does not)."""
    found: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("cpu family", "model", "cpu MHz") and key not in found:
                found[key] = value.strip()
            if key == "flags" and "hypervisor" in value.split():
                found["virtual"] = "yes"
    except OSError:
        return ""
    parts = []
    if "cpu family" in found and "model" in found:
        parts.append(f"family {found['cpu family']}, model {found['model']}")
    if "cpu MHz" in found:
        parts.append(f"{float(found['cpu MHz']):.0f} MHz")
    if found.get("virtual"):
        parts.append("virtual machine")
    return "; ".join(parts)


def median_max(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} / {max(values):.3f}"


@dataclass
class Report:
    repeat: int
    command: str
    date_utc: str
    load_before: str
    load_after: str
    other_load: str
    script_s: float
    prepare_s: float
    intervals: int
    year: YearRun
    windows_lp: list[WindowRun]
    windows_mip: list[WindowRun]
    example_jobs: list[tuple[str, pd.Timestamp, pd.Timestamp]]
    timezone: str

    def machine_lines(self) -> list[str]:
        ram = ram_gib()
        details = cpu_details()
        return [
            f"- CPU: {cpu_model()}{f' ({details})' if details else ''}, `os.cpu_count()` = {os.cpu_count()}",
            f"- RAM: {ram:.1f} GiB" if ram is not None else "- RAM: unknown",
            f"- OS: {platform.system()} {platform.release()} ({platform.machine()})",
            f"- Python {platform.python_version()}; numpy {package_version('numpy')}, "
            f"scipy {package_version('scipy')}, highspy {package_version('highspy')}, "
            f"pandas {package_version('pandas')}",
            f"- Load average (1, 5, 15 min) before the run: {self.load_before}; after: {self.load_after}",
            self.other_load,
            f"- Wall time of the whole script: {self.script_s:.1f} s",
        ]

    def cores_note(self, target: float, measured: float) -> str:
        cores = os.cpu_count()
        met = "met" if measured < target else "NOT met"
        line = f"Target: < {target:g} s on a {TARGET_CORES}-core machine. Measured: {measured:.3f} s on {cores} cores — {met}."
        if cores != TARGET_CORES:
            line += f" (This machine has {cores} cores, not {TARGET_CORES}.)"
        return line

    def year_lines(self) -> list[str]:
        y = self.year
        plan = y.plan
        assert plan is not None
        method = (
            "relax-and-round (LP relaxation bound, rounded job schedule)"
            if plan.num_integer > EXACT_MILP_MAX_INTEGERS
            else ("HiGHS branch-and-bound" if plan.num_integer else "LP")
        )
        return [
            "### 1. Full year 2023: `perfect` (the co-optimization over the whole year)",
            "",
            f"{self.intervals:,} intervals of 15 min. Build and solve seconds are those `optimize_dispatch` "
            "records in the plan (`build_seconds`, `solve_seconds`); the wall time of `run_strategy` adds the "
            "replay of the plan and the accounting.",
            "",
            "| | |",
            "|---|---:|",
            f"| columns | {plan.num_cols:,} |",
            f"| rows | {plan.num_rows:,} |",
            f"| nonzeros | {y.nonzeros:,} |",
            f"| integer variables (training on/off, one per job-hour) | {plan.num_integer:,} |",
            f"| method | {method} |",
            f"| build [s] | {y.build.cell()} |",
            f"| solve [s] | {y.solve.cell()} |",
            f"| **build + solve [s]** | **{y.total.cell()}** |",
            f'| `run_strategy(bt, "perfect")` wall time [s] | {y.perfect_wall.cell()} |',
            f"| status | {plan.status.value} |",
            f"| MIP gap (bound − plan) / plan | {fmt_gap(plan.mip_gap)} |",
            f"| plan's net margin (objective) [USD] | {fmt_usd(plan.net_margin_usd)} |",
            f"| proven upper bound [USD] | {fmt_usd(plan.upper_bound_usd)} |",
            "",
            self.cores_note(TARGET_YEAR_S, y.total.median),
        ]

    def window_summary(self) -> list[str]:
        lines = [
            "| model | windows | columns | rows | integer variables | status | build [s] median / max | "
            "solve [s] median / max | **build + solve [s]** median / max | slowest single run [s] | "
            "`optimize_dispatch` call [s] median / max |",
            "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
        ]
        for label, runs in (
            ("example as is (LP; no job wholly inside 48 h)", self.windows_lp),
            ("with one 36-hour job (MILP, branch-and-bound)", self.windows_mip),
        ):
            statuses = sorted({r.status for r in runs})
            cols = sorted({r.cols for r in runs})
            rows = sorted({r.rows for r in runs})
            ints = sorted({r.integers for r in runs})

            def span(values: list[int]) -> str:
                return f"{values[0]:,}" if len(values) == 1 else f"{values[0]:,}–{values[-1]:,}"

            slowest = max(max(r.total.values) for r in runs)
            lines.append(
                f"| {label} | {len(runs)} | {span(cols)} | {span(rows)} | {span(ints)} | {', '.join(statuses)} | "
                f"{median_max([r.build.median for r in runs])} | "
                f"{median_max([r.solve.median for r in runs])} | "
                f"**{median_max([r.total.median for r in runs])}** | "
                f"{slowest:.3f} | "
                f"{median_max([r.call.median for r in runs])} |"
            )
        return lines

    def window_detail(self) -> list[str]:
        lines = [
            "| window start (local) | overlaps the example's job window | as is: build + solve [s] | "
            "with the 36-h job: build + solve [s] | MIP gap | GPU-hours given to the job |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for lp, mip in zip(self.windows_lp, self.windows_mip, strict=True):
            local = lp.start_utc.tz_convert(self.timezone).strftime("%Y-%m-%d %H:%M %a")
            lines.append(
                f"| {local} | {overlaps_example_job(lp.start_utc, self.example_jobs)} | {lp.total.median:.3f} | "
                f"{mip.total.median:.3f} | {fmt_gap(mip.mip_gap)} | {mip.job_gpu_hours:,.0f} |"
            )
        return lines

    def window_lines(self) -> list[str]:
        worst = max(r.total.median for r in self.windows_lp + self.windows_mip)
        prepare = [r.prepare.median for r in self.windows_lp + self.windows_mip]
        job = SHORT_JOB
        return [
            f"### 2. {WINDOW_HOURS}-hour horizons (what a rolling controller re-solves)",
            "",
            f"{len(self.windows_lp)} windows of {WINDOW_HOURS} h ({WINDOW_HOURS * 4} intervals) starting every "
            f"~{(YEAR_HOURS - WINDOW_HOURS) / max(len(self.windows_lp) - 1, 1):.0f} h from 2023-01-01 00:00 "
            "local, each solved by `optimize_dispatch` from the default initial state. A training job is "
            "scheduled only when its whole [release, deadline) lies inside the window, so the example's two "
            "jobs (weeks long) never enter a 48-hour model. Each window is therefore solved twice: with the "
            "example as it is, and with a variant (the YAML loaded with `yaml.safe_load`, "
            "`gpu_hall.training_jobs` replaced, `parse_site`) holding one job "
            f"`{job['name']}`: {job['gpu_hours']:,} GPU-hours, {job['min_gpus']:,}–{job['max_gpus']:,} GPUs, "
            f"release {SHORT_JOB_RELEASE_H} h and deadline {SHORT_JOB_DEADLINE_H} h after the window's start "
            f"(36 h), value {fmt_usd(job['value_usd'])} USD, checkpoint {job['checkpoint_interval_min']} min, "
            f"restart {job['restart_time_min']} min. Per window the median over the repeats is taken, then "
            "the median and the maximum over the windows.",
            "",
            *self.window_summary(),
            "",
            self.cores_note(TARGET_WINDOW_S, worst).replace(
                "Measured:", "Slowest window (median of its runs):"
            ),
            "",
            f"Loading a window's data (`prepare_backtest`, not included above): median "
            f"{statistics.median(prepare):.3f} s, max {max(prepare):.3f} s.",
            "",
            "Per window (medians of the repeats). GPU-hours given to the job: its "
            f"{job['gpu_hours']:,} GPU-hours of work plus what starts and resumes lose; the script fails "
            "if the job gets fewer GPU-hours than its work.",
            "",
            *self.window_detail(),
        ]

    def stream_lines(self) -> list[str]:
        y = self.year
        assert y.perfect is not None and y.rule is not None
        p, r = y.perfect.summary, y.rule.summary
        lines = [
            "### 3. Margin per stream over 2023: `perfect` against `rule-based`",
            "",
            "From each strategy's booked ledger (`StrategyResult.summary`). Revenue positive, costs negative: "
            "each column adds up to the net margin (the script checks it to 1 USD).",
            "",
            "| stream [USD] | perfect (upper bound) | rule-based | perfect − rule-based |",
            "|---|---:|---:|---:|",
        ]
        for label, terms in STREAM_ROWS:
            a, b = stream_value(p, terms), stream_value(r, terms)
            lines.append(f"| {label} | {fmt_usd(a)} | {fmt_usd(b)} | {fmt_usd(a - b)} |")
        pn, rn = float(p["net_margin_usd"]), float(r["net_margin_usd"])
        captured = "n/a" if y.value_captured_pct is None else f"{y.value_captured_pct:.2f} %"
        lines += [
            f"| **net margin** | **{fmt_usd(pn)}** | **{fmt_usd(rn)}** | **{fmt_usd(pn - rn)}** |",
            f"| value captured (`value_captured_pct`) | 100.00 % | {captured} | |",
            f"| `run_strategy` wall time [s] | {y.perfect_wall.cell()} | {y.rule_wall.cell()} | |",
        ]
        spread = {
            name: max(values) - min(values) for name, values in y.net_margins.items() if len(values) > 1
        }
        if spread and all(value == 0.0 for value in spread.values()):
            lines += ["", "The net margins are identical in every repeat."]
        elif spread:
            lines += [
                "",
                "Net margin across the repeats: "
                + "; ".join(f"{name} varies by {value:,.2f} USD" for name, value in spread.items())
                + ".",
            ]
        return lines

    def tables(self) -> str:
        return "\n".join(
            [
                *self.year_lines(),
                "",
                *self.window_lines(),
                "",
                *self.stream_lines(),
                "",
                f"Loading the site and the year's data (`prepare_backtest`, once): {self.prepare_s:.3f} s.",
            ]
        )

    def markdown(self) -> str:
        """This script's section of BENCHMARKS.md."""
        return "\n".join(
            [
                "## Hybrid site (issue 3)",
                "",
                f"`examples/west-texas-hybrid.yaml`: two ASIC fleets (~72 MW at the meter), a 14,000-GPU hall (inference, "
                f"two training jobs, rentals), heat, ERCOT 4CP and ancillary offers; {START} to {END} "
                "(local time), real ERCOT HB_WEST real-time prices. Generated by `benchmarks/bench_hybrid.py`.",
                "",
                f"- Date: {self.date_utc}",
                f"- Command: `{self.command}`",
                *self.machine_lines(),
                "",
                f"Times: median over {self.repeat} run(s), (min–max) in brackets where there are several; the "
                "first run is included, nothing is warmed up. HiGHS runs with default options (its own "
                "thread count) and logging off.",
                "",
                self.tables(),
                "",
            ]
        )


def main(argv: list[str] | None = None) -> int:
    script_started = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    parser.add_argument("--quick", action="store_true", help="one run per measurement (same as --repeat 1)")
    parser.add_argument("--windows", type=int, default=20, help="48-hour windows spread over 2023")
    parser.add_argument(
        "--write",
        type=Path,
        default=None,
        help="write the report as this script's section of this markdown file",
    )
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    if repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.windows < 1:
        parser.error("--windows must be at least 1")

    load_before = loadavg()
    other_load = OtherLoad()
    date_utc = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    site = load_site(SITE_FILE)
    bt, prepare_s = timed(lambda: prepare_backtest(site, START, END))
    print(f"{bt.inputs.num_intervals:,} intervals loaded in {prepare_s:.3f} s", file=sys.stderr)

    year = YearRun()
    for i in range(repeat):
        run_year(bt, year)
        print(
            f"year, run {i + 1}/{repeat}: perfect build + solve {year.total.values[-1]:.3f} s "
            f"(run_strategy {year.perfect_wall.values[-1]:.3f} s), rule-based {year.rule_wall.values[-1]:.3f} s",
            file=sys.stderr,
        )
    assert year.perfect is not None and year.rule is not None
    check_streams(year.perfect.summary)
    check_streams(year.rule.summary)

    raw = yaml.safe_load(SITE_FILE.read_text(encoding="utf-8"))
    starts = window_starts(args.windows)
    windows_lp = [WindowRun(s) for s in starts]
    windows_mip = [WindowRun(s) for s in starts]
    variants = [site_with_short_job(raw, s) for s in starts]
    for i in range(repeat):
        for lp, mip, variant in zip(windows_lp, windows_mip, variants, strict=True):
            run_window(site, lp, with_job=False)
            run_window(variant, mip, with_job=True)
        print(
            f"windows, run {i + 1}/{repeat}: slowest build + solve "
            f"{max(r.total.values[-1] for r in windows_lp + windows_mip):.3f} s",
            file=sys.stderr,
        )

    hall = bt.inputs.site.hall
    example_jobs = [(job.name, job.release_utc, job.deadline_utc) for job in (hall.jobs if hall else ())]

    report = Report(
        repeat=repeat,
        command=command_line(sys.argv if argv is None else [sys.argv[0], *argv]),
        date_utc=date_utc,
        load_before=load_before,
        load_after=loadavg(),
        other_load=other_load.line(),
        script_s=time.perf_counter() - script_started,
        prepare_s=prepare_s,
        intervals=bt.inputs.num_intervals,
        year=year,
        windows_lp=windows_lp,
        windows_mip=windows_mip,
        example_jobs=example_jobs,
        timezone=bt.window.timezone,
    )
    publish(report, args.write, SECTION, f"script wall time: {report.script_s:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

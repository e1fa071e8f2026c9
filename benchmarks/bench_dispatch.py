"""Benchmark the dispatch model: our numpy/scipy build against the same model through linopy.

For the West Texas example (``examples/west-texas-fixed-block.yaml``) over 2023 — 35,040
15-minute intervals of real ERCOT HB_WEST prices — this script measures:

1. the build time of :func:`powerfirst.dispatch.model.build_dispatch_model`, the HiGHS solve time
   (:class:`powerfirst.solver.HighsSolver`) and their total; the target is < 5 s in total on a
   2-core machine;
2. the same LP built through linopy (same columns, bounds, rows and objective), its build time and
   its solve time with HiGHS, through linopy's default path (``model.solve(solver_name="highs")``,
   which writes an LP file that HiGHS reads) and through its direct highspy path
   (``io_api="direct"``); the optimal objectives must agree to a relative 1e-6 or the script
   fails;
3. the net margin, ``value_captured_pct`` and wall time of the three strategies (``perfect``,
   ``breakeven``, ``always-on``) run through :func:`powerfirst.backtest.runner.run_strategy`.

Every time is the median over ``--repeat`` runs (default 3; the first run is included, nothing is
warmed up). The ratios compare medians measured in the same run of this script.

    .venv/bin/python benchmarks/bench_dispatch.py [--repeat N] [--write BENCHMARKS.md]

``--write`` replaces only this script's section of the file (see :func:`write_section`); the other
benchmark scripts' sections are kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from powerfirst.backtest.runner import Backtest, comparison, prepare_backtest, run_strategy
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.dispatch.model import build_dispatch_model
from powerfirst.policies.registry import load_site
from powerfirst.solver import HighsSolver, SolveStatus

ROOT = Path(__file__).resolve().parents[1]
SITE_FILE = ROOT / "examples" / "west-texas-fixed-block.yaml"
START, END = "2023-01-01", "2023-12-31"
STRATEGIES = ("perfect", "breakeven", "always-on")
TARGET_TOTAL_S = 5.0
TARGET_CORES = 2
OBJECTIVE_REL_TOL = 1e-6
SECTION = "dispatch-mining"
"""This script's section of BENCHMARKS.md (see :func:`write_section`)."""

Array = npt.NDArray[np.float64]
T = TypeVar("T")


class BenchmarkError(RuntimeError):
    """The two models disagree, or a solve did not reach an optimum."""


# --------------------------------------------------------------------------------------------
# The dispatch LP through linopy, mirroring powerfirst.dispatch.model.build_dispatch_model
# --------------------------------------------------------------------------------------------


def build_linopy_model(inputs: DispatchInputs, initial_power_mw: Array | None = None) -> Any:
    """The dispatch LP of :func:`build_dispatch_model`, built through linopy.

    Same columns per fleet (x always; s with a restart time or a minimum off time; d with a
    minimum off time), same bounds, the grid row only when the connection limit binds, the
    balance rows (an equality with d, ``<=`` without it) with the initial power x[-1] on the
    right-hand side of the first row, and the anti-cycling rows x[t] + Σ_{k=t-L+1..t} d[k] ≤ max
    power. linopy has no objective constant: the caller adds ``-inputs.constant_margin_usd()``.
    Fleets with switch blocks (integer n columns) are not mirrored; none in the example has one.
    """
    import linopy

    t_count = inputs.num_intervals
    fleets = inputs.fleets
    initial = (
        inputs.max_power_mw if initial_power_mw is None else np.asarray(initial_power_mw, dtype=np.float64)
    )
    hours = inputs.interval_hours
    margin = inputs.margin_rate_usd_per_mwh()
    mining = inputs.mining_rate_usd_per_mwh()
    time_index = pd.RangeIndex(t_count, name="time")

    def series(values: Array) -> xr.DataArray:
        return xr.DataArray(values, coords=[time_index])

    m = linopy.Model()
    xs: list[Any] = []
    objective: Any = None
    for f, fleet in enumerate(fleets):
        if fleet.switch_block_mw > 0:
            raise BenchmarkError(
                f"fleet {fleet.name!r} switches in blocks: the linopy mirror has no n columns"
            )
        x = m.add_variables(
            lower=fleet.min_power_mw, upper=fleet.max_power_mw, coords=[time_index], name=f"x_{f}"
        )
        xs.append(x)
        term = series(-margin[f] * hours) * x
        objective = term if objective is None else objective + term
        if not (fleet.restart_hours > 0 or fleet.min_off_intervals > 0):
            continue
        s = m.add_variables(lower=0.0, upper=fleet.max_power_mw, coords=[time_index], name=f"s_{f}")
        objective = objective + series(mining[f] * fleet.restart_hours) * s
        rhs = np.zeros(t_count)
        rhs[0] = initial[f]
        # x[t] - x[t-1] - s[t] (+ d[t]); the shifted x is absent at t = 0 (filled with 0: no term),
        # where x[-1] is the right-hand side
        change = x - x.shift(time=1).fillna(0) - s
        if fleet.min_off_intervals > 0:
            d = m.add_variables(lower=0.0, upper=fleet.max_power_mw, coords=[time_index], name=f"d_{f}")
            m.add_constraints(change + d == series(rhs), name=f"balance_{f}")
            recently_off = x + d
            for lag in range(1, fleet.min_off_intervals):
                recently_off = recently_off + d.shift(time=lag).fillna(0)
            m.add_constraints(recently_off <= fleet.max_power_mw, name=f"anti_cycling_{f}")
        else:
            m.add_constraints(change <= series(rhs), name=f"start_{f}")

    if inputs.grid_limit_mw < float(inputs.max_power_mw.sum()) - 1e-9:
        total = xs[0]
        for x in xs[1:]:
            total = total + x
        m.add_constraints(total <= inputs.grid_limit_mw, name="grid")

    m.add_objective(objective, sense="min")
    return m


# --------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


@dataclass
class Samples:
    """Wall times of one measured step over the repeats [s]."""

    values: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        self.values.append(seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def cell(self) -> str:
        if len(self.values) == 1:
            return f"{self.median:.3f}"
        return f"{self.median:.3f} ({min(self.values):.3f}–{max(self.values):.3f})"


@dataclass
class ModelRun:
    """One way of building and solving the dispatch LP."""

    label: str
    build: Samples = field(default_factory=Samples)
    solve: Samples = field(default_factory=Samples)
    total: Samples = field(default_factory=Samples)
    objective: float | None = None
    """Minimised objective with the constant included (−net margin) [USD]."""


@dataclass
class StrategyRun:
    name: str
    wall: Samples = field(default_factory=Samples)
    net_margin_usd: float = 0.0
    value_captured_pct: float | None = None


@dataclass
class Sizes:
    cols: int
    rows: int
    nonzeros: int


def relative_gap(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1.0)


def check_objective(reference: float, run: ModelRun, repeat: int) -> None:
    assert run.objective is not None
    gap = relative_gap(reference, run.objective)
    if gap > OBJECTIVE_REL_TOL:
        raise BenchmarkError(
            f"{run.label}: optimal objective {run.objective:.6f} differs from ours {reference:.6f} "
            f"(relative {gap:.2e} > {OBJECTIVE_REL_TOL:g}) in repeat {repeat + 1}: the two models are not the same LP"
        )


def run_ours(bt: Backtest, run: ModelRun) -> Sizes:
    model, build_s = timed(lambda: build_dispatch_model(bt.inputs))
    result, solve_s = timed(lambda: HighsSolver().solve(model.lp))
    if result.status is not SolveStatus.OPTIMAL or result.objective is None:
        raise BenchmarkError(f"{run.label}: HiGHS stopped with {result.status.value} ({result.message})")
    run.build.add(build_s)
    run.solve.add(solve_s)
    run.total.add(build_s + solve_s)
    run.objective = result.objective
    return Sizes(model.lp.num_cols, model.lp.num_rows, int(model.lp.a.nnz))


def run_linopy(bt: Backtest, run: ModelRun, io_api: str | None) -> Sizes:
    offset = -bt.inputs.constant_margin_usd()
    model, build_s = timed(lambda: build_linopy_model(bt.inputs))
    options: dict[str, Any] = {"solver_name": "highs", "progress": False, "output_flag": False}
    if io_api is not None:
        options["io_api"] = io_api
    (status, condition), solve_s = timed(lambda: model.solve(**options))
    if status != "ok" or condition != "optimal":
        raise BenchmarkError(f"{run.label}: linopy/HiGHS stopped with {status}/{condition}")
    run.build.add(build_s)
    run.solve.add(solve_s)
    run.total.add(build_s + solve_s)
    run.objective = float(model.objective.value) + offset
    return Sizes(int(model.nvars), int(model.ncons), int(model.matrices.A.nnz))


def run_strategies(bt: Backtest, runs: dict[str, StrategyRun]) -> None:
    results = []
    for name in STRATEGIES:
        result, wall_s = timed(partial(run_strategy, bt, name))
        runs[name].wall.add(wall_s)
        results.append(result)
    table = comparison(bt, results)["strategies"]
    for name in STRATEGIES:
        runs[name].net_margin_usd = float(table[name]["net_margin_usd"])
        captured = table[name]["value_captured_pct"]
        runs[name].value_captured_pct = None if captured is None else float(captured)


# --------------------------------------------------------------------------------------------
# Machine and report
# --------------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_busy_seconds() -> float | None:
    """CPU time all processes of the machine have used since boot [s] (None: no /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return None


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def command_line(argv: list[str]) -> str:
    def rel(path: str) -> str:
        try:
            return str(Path(path).resolve().relative_to(ROOT))
        except ValueError:
            return path

    try:
        python = str(Path(sys.executable).absolute().relative_to(ROOT))
    except ValueError:
        python = "python"
    return shlex.join([python, rel(argv[0]), *argv[1:]])


def busy_cpu_seconds() -> float | None:
    """CPU time all processes of the machine have used since boot (not idle, not I/O wait) [s]."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class OtherLoad:
    """CPU time other processes used while this script ran: busy time of the machine less ours."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.busy = busy_cpu_seconds()
        self.own = own_cpu_seconds()

    def line(self) -> str:
        busy = busy_cpu_seconds()
        wall = time.perf_counter() - self.started
        if busy is None or self.busy is None:
            return "- CPU time used by other processes during the run: unknown (no /proc/stat)"
        other = max(0.0, (busy - self.busy) - (own_cpu_seconds() - self.own))
        return (
            f"- CPU time used by other processes during the run: {other:.1f} s over {wall:.1f} s of wall time "
            f"(≈ {other / wall:.2f} cores busy on average)"
        )


def loadavg() -> str:
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def fmt_usd(value: float) -> str:
    return f"{value:,.0f}"


def fmt_pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


@dataclass
class Report:
    repeat: int
    command: str
    date_utc: str
    load_before: str
    load_after: str
    other_load: str
    intervals: int
    sizes: dict[str, Sizes]
    models: list[ModelRun]
    strategies: list[StrategyRun]
    prepare_s: float

    def machine_lines(self) -> list[str]:
        ram = ram_gib()
        return [
            f"- CPU: {cpu_model()}, `os.cpu_count()` = {os.cpu_count()}",
            f"- RAM: {ram:.1f} GiB" if ram is not None else "- RAM: unknown",
            f"- OS: {platform.system()} {platform.release()} ({platform.machine()})",
            f"- Python {platform.python_version()}; numpy {package_version('numpy')}, "
            f"scipy {package_version('scipy')}, highspy {package_version('highspy')}, "
            f"linopy {package_version('linopy')}, xarray {package_version('xarray')}",
            f"- Load average (1, 5, 15 min) before the run: {self.load_before}; after: {self.load_after}",
            self.other_load,
        ]

    def model_table(self) -> list[str]:
        ours = self.models[0]
        lines = [
            "| model | build [s] | solve [s] | build + solve [s] | build ratio vs ours | total ratio vs ours | objective (−net margin) [USD] |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for run in self.models:
            assert run.objective is not None
            lines.append(
                f"| {run.label} | {run.build.cell()} | {run.solve.cell()} | {run.total.cell()} | "
                f"{run.build.median / ours.build.median:.1f}× | {run.total.median / ours.total.median:.2f}× | "
                f"{run.objective:,.2f} |"
            )
        return lines

    def size_table(self) -> list[str]:
        lines = ["| model | columns | rows | nonzeros |", "|---|---:|---:|---:|"]
        for label, size in self.sizes.items():
            lines.append(f"| {label} | {size.cols:,} | {size.rows:,} | {size.nonzeros:,} |")
        return lines

    def strategy_table(self) -> list[str]:
        lines = [
            "| strategy | net margin [USD] | value_captured_pct | wall time [s] |",
            "|---|---:|---:|---:|",
        ]
        for run in self.strategies:
            label = f"{run.name} (upper bound)" if run.name == "perfect" else run.name
            lines.append(
                f"| {label} | {fmt_usd(run.net_margin_usd)} | {fmt_pct(run.value_captured_pct)} | {run.wall.cell()} |"
            )
        return lines

    def target_line(self) -> str:
        ours = self.models[0].total.median
        met = "met" if ours < TARGET_TOTAL_S else "NOT met"
        cores = os.cpu_count()
        line = (
            f"Target: build + solve < {TARGET_TOTAL_S:g} s on a {TARGET_CORES}-core machine. "
            f"Measured median: {ours:.3f} s on {cores} cores — {met}."
        )
        if cores != TARGET_CORES:
            line += f" (This machine has {cores} cores, not {TARGET_CORES}.)"
        return line

    def tables(self) -> str:
        ours, *others = self.models
        worst = max(relative_gap(ours.objective or 0.0, o.objective or 0.0) for o in others)
        return "\n".join(
            [
                f"Times: median over {self.repeat} run(s), (min–max) in brackets; the first run is included. "
                "Build + solve is the median of each run's sum.",
                "",
                "### Dispatch LP: build and solve",
                "",
                *self.model_table(),
                "",
                self.target_line(),
                "",
                f"Largest relative difference between the optimal objectives: {worst:.1e} "
                f"(the script fails above {OBJECTIVE_REL_TOL:g}).",
                "",
                *self.size_table(),
                "",
                "### Strategies (`run_strategy`, then `comparison`)",
                "",
                *self.strategy_table(),
                "",
                f"Loading the site and the data (`prepare_backtest`, once): {self.prepare_s:.3f} s.",
            ]
        )

    def markdown(self) -> str:
        """This script's section of BENCHMARKS.md."""
        return "\n".join(
            [
                "## Dispatch: West Texas example over 2023",
                "",
                f"`examples/west-texas-fixed-block.yaml`, {START} to {END} (local time), "
                f"{self.intervals:,} intervals of 15 min, real ERCOT HB_WEST real-time prices.",
                "",
                f"- Date: {self.date_utc}",
                f"- Command: `{self.command}`",
                *self.machine_lines(),
                "",
                "What is measured:",
                "",
                "- **ours**: `build_dispatch_model` (numpy COO triplets → one CSC matrix), then "
                "`HighsSolver().solve` (HiGHS through highspy, arrays passed in one call; solve time "
                "includes passing the model).",
                "- **linopy**: the same LP built through linopy (variables x, s, d per fleet, same "
                "bounds, balance and anti-cycling rows, same objective; the objective constant is added "
                'afterwards because linopy has none), then `model.solve(solver_name="highs")` — linopy\'s '
                "default path writes an LP file that HiGHS reads.",
                '- **linopy (io_api="direct")**: the same linopy model, solved through linopy\'s direct '
                "highspy interface.",
                "- Both solvers run HiGHS with default options and logging off.",
                "- Ratios divide medians measured in the same run.",
                "",
                self.tables(),
                "",
            ]
        )


# --------------------------------------------------------------------------------------------
# BENCHMARKS.md: one section per script
# --------------------------------------------------------------------------------------------

BENCHMARKS_PREAMBLE = (
    "# Benchmarks\n"
    "\n"
    "Generated by the scripts in `benchmarks/` (see `benchmarks/README.md`); each rewrites only its own "
    "section, between its `<!-- section: NAME -->` and `<!-- /section: NAME -->` markers. "
    "Only measured figures.\n"
)
_SECTION = re.compile(r"<!-- section: (?P<key>[\w-]+) -->\n(?P<body>.*?)<!-- /section: (?P=key) -->\n?", re.S)


class _Report(Protocol):
    other_load: str

    def tables(self) -> str: ...
    def markdown(self) -> str: ...


def publish(report: _Report, write: Path | None, section: str, *extra_lines: str) -> None:
    """Print the report's tables (then ``extra_lines``) and, with ``--write``, replace its section."""
    print(report.tables())
    print(report.other_load.removeprefix("- "))
    for line in extra_lines:
        print(line)
    if write is not None:
        path = write if write.is_absolute() else Path.cwd() / write
        write_section(path, section, report.markdown())
        print(f"wrote {path}", file=sys.stderr)


def publish_text(text: str, write: Path | None, section: str) -> None:
    """Print ``text`` and, with ``--write``, make it the file's section ``section``."""
    print(text)
    if write is not None:
        write_section(write if write.is_absolute() else Path.cwd() / write, section, text)
        print(f"wrote {write}", file=sys.stderr)


def write_section(path: Path, key: str, body: str) -> None:
    """Write ``body`` as the section ``key`` of the markdown file ``path``.

    The section replaces the one with the same key, in place; a new key goes after the others. The
    other sections are kept as they are, and the text above the first section is replaced by
    :data:`BENCHMARKS_PREAMBLE`. A file without any marker was written whole by an earlier version of
    this script: its text from the first ``## `` heading on is taken as the section
    :data:`SECTION`.
    """
    sections: dict[str, str] = {}
    if path.exists():
        text = path.read_text(encoding="utf-8")
        found = list(_SECTION.finditer(text))
        if found:
            sections = {m["key"]: m["body"] for m in found}
        else:
            heading = re.search(r"^## ", text, re.M)
            if heading is not None:
                sections[SECTION] = text[heading.start() :]
    sections[key] = body
    blocks = [
        f"<!-- section: {name} -->\n{content.rstrip()}\n\n<!-- /section: {name} -->\n"
        for name, content in sections.items()
    ]
    path.write_text(BENCHMARKS_PREAMBLE + "\n" + "\n".join(blocks), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    parser.add_argument(
        "--write",
        type=Path,
        default=None,
        help="write the report as this script's section of this markdown file",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    load_before = loadavg()
    other_load = OtherLoad()
    date_utc = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    bt, prepare_s = timed(lambda: prepare_backtest(load_site(SITE_FILE), START, END))
    print(f"{bt.inputs.num_intervals:,} intervals loaded in {prepare_s:.3f} s", file=sys.stderr)

    models = [ModelRun("ours"), ModelRun("linopy"), ModelRun('linopy (io_api="direct")')]
    strategies = {name: StrategyRun(name) for name in STRATEGIES}
    sizes: dict[str, Sizes] = {}
    for i in range(args.repeat):
        sizes["ours"] = run_ours(bt, models[0])
        assert models[0].objective is not None
        sizes["linopy"] = run_linopy(bt, models[1], io_api=None)
        check_objective(models[0].objective, models[1], i)
        run_linopy(bt, models[2], io_api="direct")
        check_objective(models[0].objective, models[2], i)
        run_strategies(bt, strategies)
        print(
            f"run {i + 1}/{args.repeat}: ours {models[0].total.values[-1]:.3f} s, "
            f"linopy {models[1].total.values[-1]:.3f} s, "
            f"linopy direct {models[2].total.values[-1]:.3f} s",
            file=sys.stderr,
        )
    if (sizes["ours"].cols, sizes["ours"].rows) != (sizes["linopy"].cols, sizes["linopy"].rows):
        raise BenchmarkError(f"model sizes differ: ours {sizes['ours']}, linopy {sizes['linopy']}")

    report = Report(
        repeat=args.repeat,
        command=command_line(sys.argv if argv is None else [sys.argv[0], *argv]),
        date_utc=date_utc,
        load_before=load_before,
        load_after=loadavg(),
        other_load=other_load.line(),
        intervals=bt.inputs.num_intervals,
        sizes=sizes,
        models=models,
        strategies=list(strategies.values()),
        prepare_s=prepare_s,
    )
    publish(report, args.write, SECTION)
    return 0


if __name__ == "__main__":
    sys.exit(main())

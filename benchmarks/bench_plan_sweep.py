"""A plan's sweep in this process and on a Dask LocalCluster of 1 and 2 workers (issue 13, part 5).

For the bundled example (``examples/plan-west-texas-conversion.yaml``: its market years × its
default hashprice grid of margin backtests, then a Monte Carlo of ``--paths`` × its 120 months in
chunks of its ``chunk_paths``) this script times, for each executor:

* the margin backtests, with a cold cache (a new temporary folder per executor), and
* the Monte Carlo chunks (draws, cash flows and metrics of every path),

and checks that every executor gives the in-process results (per-path NPVs within 1e-9 relative).
The LocalCluster's start (worker processes importing powerfirst) is timed apart. It also times
``simulate`` + ``plan_cashflows`` of all paths in one call in this process (the issue's target:
10,000 paths × 120 months in under 5 s on 2 cores) and the memory that call allocates (tracemalloc).

    .venv/bin/python benchmarks/bench_plan_sweep.py [--paths 10000] [--executors none local:1 local:2]
        [--write BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from bench_dispatch import OtherLoad, command_line, cpu_model, package_version, publish_text, ram_gib
from powerfirst.planning.cashflows import plan_cashflows
from powerfirst.planning.drivers import deterministic, fit_driver_model, simulate
from powerfirst.planning.montecarlo import chunk_tasks, merge_chunks, run_chunk
from powerfirst.planning.plan import plan_margins
from powerfirst.planning.scenario import load_scenario
from powerfirst.planning.sweep import executor

ROOT = Path(__file__).resolve().parents[1]
SECTION = "plan-sweep"
EXAMPLE = ROOT / "examples" / "plan-west-texas-conversion.yaml"
TARGET_S = 5.0
SEED = 2027


def _sweep(cluster: str, paths: int) -> dict[str, Any]:
    """Start the executor, run the backtests (cold cache) and the Monte Carlo; times in seconds."""
    scenario = load_scenario(EXAMPLE)
    model = fit_driver_model(scenario.drivers.fees_csv_path)
    spec = scenario.file
    base = deterministic(model, spec.start_month, spec.horizon_months, scenario.drivers)
    kind, _, workers = cluster.partition(":")
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="bench-plan-cache-") as cache,
        executor(kind, workers=int(workers or 1)) as ex,
    ):
        ready = time.perf_counter()
        margins = plan_margins(scenario, float(base.hashprice_usd_per_th_day[0, 0]), ex, cache_dir=cache)
        backtests = time.perf_counter()
        tasks = chunk_tasks(
            scenario,
            model,
            scenario.drivers,
            margins,
            paths=paths,
            seed=SEED,
            chunk_paths=spec.simulation.chunk_paths,
        )
        metrics, _, _ = merge_chunks(ex.map(run_chunk, tasks))
        done = time.perf_counter()
        name = ex.name
    return {
        "executor": name,
        "start_s": ready - started,
        "backtests": margins.mining_margin_usd_per_mw_month.shape[0]
        * margins.mining_margin_usd_per_mw_month.shape[1],
        "backtests_s": backtests - ready,
        "chunks": len(tasks),
        "monte_carlo_s": done - backtests,
        "npv": metrics.npv_difference_usd,
        "margins": margins,
    }


def _one_call(paths: int, margins: Any) -> dict[str, float]:
    """simulate + plan_cashflows of all paths in one call, in this process, and its allocations."""
    scenario = load_scenario(EXAMPLE)
    model = fit_driver_model(scenario.drivers.fees_csv_path)
    spec = scenario.file
    tracemalloc.start()
    t0 = time.perf_counter()
    drivers = simulate(model, spec.start_month, spec.horizon_months, paths, SEED, scenario.drivers)
    t1 = time.perf_counter()
    flows = plan_cashflows(scenario, drivers, margins)
    t2 = time.perf_counter()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del drivers
    p50 = float(np.median(flows.metrics.npv_difference_usd))
    del flows
    tasks = chunk_tasks(
        scenario,
        model,
        scenario.drivers,
        margins,
        paths=paths,
        seed=SEED,
        chunk_paths=spec.simulation.chunk_paths,
    )
    tracemalloc.start()
    merge_chunks([run_chunk(task) for task in tasks])
    _, chunked = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "simulate_s": t1 - t0,
        "cashflows_s": t2 - t1,
        "peak_mb": peak / 1e6,
        "chunked_peak_mb": chunked / 1e6,
        "chunk_paths": spec.simulation.chunk_paths,
        "p50_npv": float(p50),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--executors", nargs="+", default=["none", "local:1", "local:2"])
    parser.add_argument("--write", type=Path, default=None, help="write the section into this markdown file")
    args = parser.parse_args(argv)
    load = OtherLoad()
    rows = []
    for cluster in args.executors:
        rows.append(_sweep(cluster, args.paths))
        r = rows[-1]
        print(
            f"{r['executor']}: start {r['start_s']:.1f} s, {r['backtests']} backtests {r['backtests_s']:.1f} s, "
            f"{r['chunks']} chunks {r['monte_carlo_s']:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    reference = rows[0]["npv"]
    one = _one_call(args.paths, rows[0]["margins"])
    months = load_scenario(EXAMPLE).file.horizon_months
    total_one = one["simulate_s"] + one["cashflows_s"]
    ram = ram_gib() or 0.0
    lines = [
        "## Plan sweep: this process and a Dask LocalCluster of 1 and 2 workers (issue 13)",
        "",
        f"- machine: {cpu_model()}, {platform.machine()}, {os.cpu_count()} cores, {ram:.0f} GiB RAM; Python "
        f"{platform.python_version()}, numpy {package_version('numpy')}, distributed "
        f"{package_version('distributed')}; run {dt.date.today().isoformat()}",
        f"- command: `{command_line(['benchmarks/bench_plan_sweep.py', *argv])}`",
        load.line(),
        f"- the bundled example ({EXAMPLE.name}): its margin backtests (market years × hashprice grid, full "
        f"years, `breakeven`) with a cold cache, then a Monte Carlo of {args.paths:,} paths × {months} months "
        "in chunks of its `chunk_paths`; seconds of wall time. LocalCluster: worker processes on 127.0.0.1, "
        "one thread each; its start is timed apart. `same NPVs`: every path's NPV of the conversion "
        "against this process's, relative difference.",
        "",
        "| executor | start s | backtests | backtests s | Monte Carlo chunks | Monte Carlo s | total s | same NPVs |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        diff = float(np.max(np.abs(r["npv"] - reference) / np.maximum(np.abs(reference), 1.0)))
        total = r["start_s"] + r["backtests_s"] + r["monte_carlo_s"]
        lines.append(
            f"| {r['executor']} | {r['start_s']:.1f} | {r['backtests']} | {r['backtests_s']:.1f} | {r['chunks']} | "
            f"{r['monte_carlo_s']:.1f} | {total:.1f} | {'yes' if diff <= 1e-9 else 'NO'} (max {diff:.1e}) |"
        )
    lines += [
        "",
        f"One call in this process, `simulate` + `plan_cashflows` of {args.paths:,} paths × {months} months "
        f"(target < {TARGET_S:g} s on 2 cores): simulate {one['simulate_s']:.2f} s + cash flows and metrics "
        f"{one['cashflows_s']:.2f} s = {total_one:.2f} s, "
        f"{'met' if total_one < TARGET_S else 'MISSED'}; {one['peak_mb']:,.0f} MB allocated at the peak "
        f"(tracemalloc); P50 NPV of the conversion {one['p50_npv'] / 1e6:,.1f} M USD. The same paths in "
        f"chunks of {one['chunk_paths']:,} in this process, merged: {one['chunked_peak_mb']:,.0f} MB at the peak "
        "(a chunk's arrays, the per-path metrics and the (paths, months) float32 monthly and cumulative "
        "differences the fan chart is computed from).",
    ]
    publish_text("\n".join(lines) + "\n", args.write, SECTION)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

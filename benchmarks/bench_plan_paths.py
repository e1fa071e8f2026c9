"""Monte Carlo driver paths of a plan (issue 13): 10,000 paths × 120 months in under 5 s on 2 cores.

Times :func:`powerfirst.planning.drivers.simulate` (BTC price, network hashrate, fees, subsidy, GPU
rental price and market years, from the model fitted on the bundled history) and the hashprice
derived from the paths (``DriverPaths.hashprice_usd_per_th_day``), with the default settings
except a starting BTC price and hashrate. The fit itself is timed once, apart. Times are medians
over ``--repeat`` runs (default 5) with their range; the first run counts.

    .venv/bin/python benchmarks/bench_plan_paths.py [--paths 10000] [--months 120] [--repeat 5] [--write BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bench_dispatch import OtherLoad, command_line, cpu_model, package_version, publish_text, ram_gib
from powerfirst.planning.drivers import DriverSettings, fit_driver_model, simulate

SECTION = "plan-paths"
TARGET_S = 5.0
SETTINGS = DriverSettings(start_btc_usd=90_000.0, start_hashrate_ths=1.0e9, fees_btc_per_block=0.03)
"""A start in 2026: ~90,000 USD/BTC and ~1,000 EH/s (assumed round figures); 0.03 BTC/block fees (assumed)."""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write", type=Path, default=None, help="write the section into this markdown file")
    args = parser.parse_args(argv)
    load = OtherLoad()
    started = time.perf_counter()
    model = fit_driver_model()
    fit_s = time.perf_counter() - started
    sim_s, hp_s = [], []
    for run in range(args.repeat):
        t0 = time.perf_counter()
        paths = simulate(model, "2026-01", args.months, args.paths, seed=run, settings=SETTINGS)
        t1 = time.perf_counter()
        hashprice = paths.hashprice_usd_per_th_day
        t2 = time.perf_counter()
        sim_s.append(t1 - t0)
        hp_s.append(t2 - t1)
    total = [a + b for a, b in zip(sim_s, hp_s, strict=True)]
    median_total = statistics.median(total)
    p10, p50, p90 = np.percentile(hashprice[:, -1] * 1000.0, [10, 50, 90])

    def cell(values: list[float]) -> str:
        return f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})"

    ram = ram_gib() or 0.0
    lines = [
        "## Plan driver paths, Monte Carlo (issue 13)",
        "",
        f"- machine: {cpu_model()}, {platform.machine()}, {os.cpu_count()} cores, {ram:.0f} GiB RAM; Python "
        f"{platform.python_version()}, numpy {package_version('numpy')}, scipy {package_version('scipy')}; "
        f"run {dt.date.today().isoformat()}",
        f"- command: `{command_line(['benchmarks/bench_plan_paths.py', *argv])}`",
        load.line(),
        f"- model fitted on the bundled history in {fit_s:.2f} s ({model.months_fitted} months, "
        f"{model.first_month}…{model.last_month}); paths from 2026-01, default settings but a start of "
        "90,000 USD/BTC, 1e9 TH/s and 0.03 BTC/block fees; medians over "
        f"{args.repeat} runs (range), seconds. Target: simulate + hashprice < {TARGET_S:g} s on 2 cores.",
        "",
        "| paths | months | simulate s | hashprice s | total s | target | hashprice P10 / P50 / P90 in the last month, USD/PH/day |",
        "|---:|---:|---:|---:|---:|---|---|",
        f"| {args.paths:,} | {args.months} | {cell(sim_s)} | {cell(hp_s)} | {cell(total)} | "
        f"{'met' if median_total < TARGET_S else 'MISSED'} | {p10:.1f} / {p50:.1f} / {p90:.1f} |",
    ]
    publish_text("\n".join(lines) + "\n", args.write, SECTION)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

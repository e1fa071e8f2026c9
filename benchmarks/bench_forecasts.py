"""Forecast and 4CP-predictor quality on held-out years (issue 4), written to BENCHMARKS.md.

1. Price forecasters (``persistence``, ``day-ahead``, ``gbm``) on ERCOT HB_WEST real-time prices,
   each fitted on the years before a test year and scored on it, issued every hour for the next
   48 hours (:func:`powerfirst.forecast.evaluate.evaluate_forecasts`): MAE of the median, mean
   pinball loss over the 0.1/0.5/0.9 quantiles, coverage of the 10–90 % band, by lead;
2. the 4CP predictor, leave-one-year-out over 2021–2023
   (:func:`powerfirst.fourcp.evaluate.evaluate_fourcp`): peaks caught and curtailment hours, against
   the 15:00–19:00 weekday rule.

    .venv/bin/python benchmarks/bench_forecasts.py [--test-years 2022 2023] [--write BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from pathlib import Path

from bench_dispatch import OtherLoad, command_line, cpu_model, package_version, publish_text, ram_gib
from powerfirst.forecast import FORECASTERS, evaluate_forecasts
from powerfirst.fourcp.evaluate import evaluate_fourcp

SECTION = "forecasts"
RATE_USD_PER_MW_YEAR = 55_000.0
LOST_MARGIN_USD_PER_MWH = 60.0


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--test-years", type=int, nargs="+", default=[2022, 2023])
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args(argv)
    load = OtherLoad()
    started = time.perf_counter()
    scores = []
    for year in args.test_years:
        scores += evaluate_forecasts("ercot-rt:HB_WEST", "ercot-da:HB_WEST", year, list(FORECASTERS))
        print(f"forecasts {year} done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    fourcp = evaluate_fourcp(RATE_USD_PER_MW_YEAR, LOST_MARGIN_USD_PER_MWH)
    lines = [
        "## Forecasts and the 4CP predictor on held-out years (issue 4)",
        "",
        f"- machine: {cpu_model()}, {platform.machine()}, {ram_gib() or 0:.0f} GiB RAM; Python "
        f"{platform.python_version()}, scikit-learn {package_version('scikit-learn')}; run {dt.date.today().isoformat()}",
        f"- command: `{command_line(['benchmarks/bench_forecasts.py', *argv])}`",
        load.line(),
        "- Real-time price forecasts for ERCOT HB_WEST (hourly mean of the 15-minute prices), issued every hour "
        "for the next 48 h from what is known at issue time (settled real-time prices, day-ahead prices once "
        "published at 13:30 local the day before, ERCOT load up to the last hour). Each test year is scored "
        "with forecasters fitted only on the bundled years before it. MAE of the median and mean pinball loss "
        "over the 0.1/0.5/0.9 quantiles in USD/MWh; coverage: share of hours inside the 10–90 % band.",
        "",
        "| test year | fitted on | forecaster | lead | MAE | pinball | 10–90 coverage | forecasts |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for s in scores:
        lines.append(
            f"| {s.test_year} | {s.train_years} | {s.forecaster} | {s.lead_bucket} | {s.mae_usd_per_mwh:.2f} | "
            f"{s.pinball_usd_per_mwh:.2f} | {100 * s.coverage_10_90:.1f} % | {s.n:,} |"
        )
    lines += [
        "",
        f"4CP predictor, leave-one-year-out (fitted on the other two bundled years), rate "
        f"{RATE_USD_PER_MW_YEAR:,.0f} USD/MW-year, lost margin {LOST_MARGIN_USD_PER_MWH:g} USD/MWh: curtail an hour "
        "when P(peak) × rate / 4 exceeds the margin lost. Money per MW of curtailable load.",
        "",
        "| year | method | peaks caught | curtailed hours | avoided USD/MW | lost USD/MW | net USD/MW | Brier | log loss |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in fourcp:
        brier = "—" if r.brier is None else f"{r.brier:.5f}"
        log_loss = "—" if r.log_loss is None else f"{r.log_loss:.4f}"
        lines.append(
            f"| {r.year} | {r.method} | {r.peaks_caught}/{r.peaks} | {r.curtailment_hours} | "
            f"{r.avoided_charge_usd_per_mw:,.0f} | {r.lost_margin_usd_per_mw:,.0f} | {r.net_value_usd_per_mw:,.0f} | "
            f"{brier} | {log_loss} |"
        )
    text = "\n".join(lines) + "\n"
    publish_text(text, args.write, SECTION)


if __name__ == "__main__":
    main(sys.argv[1:])

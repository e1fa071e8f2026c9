"""Value-capture benchmark of the ``rolling`` strategy (issue 4): walk-forward, year by year.

For the West Texas mining example and the hybrid example, for each year (default 2022 and 2023),
this script backtests ``rolling`` against today's rules (``breakeven``; ``rule-based`` on the
hybrid site) and the hindsight bound ``perfect``, and reports net margin and the share of
``perfect`` each captures (``value_captured_pct``), plus the wall time of the rolling run (fitting
its forecaster and 4CP predictor included), its re-solves and fallbacks.

Walk-forward: nothing is tuned on the year being scored. The rolling policy's forecaster and 4CP
predictor are fitted on the two years before the window only (the runner's ``learn`` step); the
policy's settings are the site file's defaults, chosen before these runs. ``rolling`` runs once per
forecaster in ``--forecasts`` (default: ``gbm``, the site files' default, and ``persistence``),
each its own row: the table shows both, no forecaster is picked on the scored year. The hybrid example's
training jobs are dated 2023; for another year their release and deadline are moved to the same
dates of that year (nothing else changes).

    .venv/bin/python benchmarks/bench_rolling.py [--years 2022 2023] [--examples mining hybrid]
        [--forecasts gbm persistence] [--strategies perfect breakeven rule-based rolling]
        [--fresh-model] [--write BENCHMARKS.md]

Only the full-year timing rows of ``rolling`` (issue 9: a hybrid year under 60 s, a mining year
under 30 s on 2 cores):

    .venv/bin/python benchmarks/bench_rolling.py --years 2023 --strategies rolling --forecasts gbm

``--fresh-model`` builds and solves every re-solve from scratch (no solver session kept between
re-solves: the time before model reuse), to compare on the same machine.

``--write`` replaces only this script's section of the file; the other sections are kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench_dispatch import (
    OtherLoad,
    command_line,
    cpu_model,
    loadavg,
    package_version,
    publish_text,
    ram_gib,
)
from powerfirst.backtest import runner
from powerfirst.backtest.runner import prepare_backtest, run_strategy
from powerfirst.policies import Policy, RollingPolicy, make_policy
from powerfirst.policies.registry import load_site, parse_site
from powerfirst.site.schema import Site

ROOT = Path(__file__).resolve().parents[1]
SECTION = "rolling"
EXAMPLES = {
    "mining": (ROOT / "examples" / "west-texas-fixed-block.yaml", ("perfect", "breakeven", "rolling")),
    "hybrid": (
        ROOT / "examples" / "west-texas-hybrid.yaml",
        ("perfect", "rule-based", "breakeven", "rolling"),
    ),
}
TARGET_PCT = {"mining": 97.0, "hybrid": 90.0}


def site_for_year(path: Path, year: int, forecast: str | None) -> Site:
    """The example's site, its training jobs moved to ``year`` and the rolling forecaster set."""
    data: dict[str, Any] = load_site(path).model_dump(exclude_none=True)
    hall = data.get("gpu_hall")
    if hall:
        for job in hall.get("training_jobs", []):
            for key in ("release", "deadline"):
                job[key] = f"{year}{str(job[key])[4:]}"
    if forecast is not None:
        data.setdefault("strategies", {}).setdefault("rolling", {})["forecast"] = forecast
    return parse_site(data, source=f"{path.name} for {year}")


def _fresh_model_policies() -> None:
    """Make every rolling policy of this process solve each horizon from scratch."""

    def fresh(name: str, site: Site, timezone: str = "UTC") -> Policy:
        policy = make_policy(name, site, timezone)
        if isinstance(policy, RollingPolicy):
            policy.reuse_model = False
        return policy

    runner.make_policy = fresh  # type: ignore[attr-defined]  # the runner's name for it


def run_example(
    example: str, year: int, forecasts: list[str], only: list[str] | None = None
) -> list[dict[str, Any]]:
    path, strategies = EXAMPLES[example]
    strategies = tuple(name for name in strategies if only is None or name in only)
    bt = prepare_backtest(site_for_year(path, year, None), f"{year}-01-01", f"{year}-12-31")
    rows: list[dict[str, Any]] = []
    bound = None
    for name in strategies:
        for forecast in forecasts if name == "rolling" else [None]:
            run_bt = bt if forecast is None else replace(bt, site=site_for_year(path, year, forecast))
            started = time.perf_counter()
            r = run_strategy(run_bt, name)
            elapsed = time.perf_counter() - started
            label = name if forecast is None else f"{name} ({forecast})"
            print(
                f"{example} {year} {label}: {r.ledger.net_margin_usd / 1e6:.2f} M USD in {elapsed:.1f} s",
                file=sys.stderr,
                flush=True,
            )
            if r.policy.uses_hindsight:
                bound = r.ledger.net_margin_usd
            details = r.summary.get("policy") or {}
            rows.append(
                {
                    "example": example,
                    "year": year,
                    "strategy": label,
                    "net_margin_usd": r.ledger.net_margin_usd,
                    "value_captured_pct": 100.0 * r.ledger.net_margin_usd / bound if bound else None,
                    "seconds": elapsed,
                    "adjusted_intervals": r.run.adjusted_intervals,
                    "solves": details.get("solves"),
                    "fallbacks": details.get("fallbacks"),
                    "forecast": details.get("forecast"),
                    "trained_on": details.get("forecast_trained_on_utc"),
                    "intervals": bt.inputs.num_intervals,
                    "solver_seconds": details.get("solver_seconds"),
                }
            )
    return rows


def markdown(rows: list[dict[str, Any]], argv: list[str], other_load: str) -> str:
    lines = [
        "## Rolling horizon without hindsight: value captured, walk-forward (issue 4)",
        "",
        f"- machine: {cpu_model()}, {platform.machine()}, {ram_gib() or 0:.0f} GiB RAM; "
        f"load average at the end {loadavg()}",
        f"- Python {platform.python_version()}, highspy {package_version('highspy')}, "
        f"scikit-learn {package_version('scikit-learn')}; run {dt.date.today().isoformat()}",
        f"- command: `{command_line(argv)}`",
        other_load,
        "- Each year is a full market-local calendar year of ERCOT HB_WEST 15-minute prices. `perfect` is the "
        "hindsight bound (not a strategy); `value captured` is each strategy's net margin as a share of it.",
        "- `rolling` re-solves the co-optimization every clock hour over the next 48 h (mining site: also within "
        "the hour when the last settled price moves more than 10 USD/MWh from what the plan assumed), with "
        "its forecaster and 4CP predictor fitted on the two years before the scored year only. Its time "
        "includes that fitting.",
        f"- targets: rolling ≥ {TARGET_PCT['mining']:g} % of perfect on the mining example, ≥ "
        f"{TARGET_PCT['hybrid']:g} % on the hybrid example, and above rule-based on the hybrid example every year.",
        "",
        "| example | year | strategy | net margin M USD | value captured | time s | of which model build + solve s | "
        "re-solves | fallbacks | adjusted intervals | forecast (fitted on, UTC) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        captured = r["value_captured_pct"]
        solver_s = "" if r.get("solver_seconds") is None else f"{r['solver_seconds']:.1f}"
        fitted = (
            f"{r['forecast']} ({r['trained_on'][:10]} to {r['trained_on'][-25:-15]})"
            if r["trained_on"]
            else (r["forecast"] or "")
        )
        lines.append(
            f"| {r['example']} | {r['year']} | {r['strategy']}{' (bound)' if r['strategy'] == 'perfect' else ''} | "
            f"{r['net_margin_usd'] / 1e6:,.2f} | {'—' if captured is None else f'{captured:.2f} %'} | "
            f"{r['seconds']:.1f} | {solver_s} | "
            f"{r['solves'] if r['solves'] is not None else ''} | "
            f"{r['fallbacks'] if r['fallbacks'] is not None else ''} | {r['adjusted_intervals']} | {fitted} |"
        )
    lines.append("")
    verdicts = []
    for example in sorted({r["example"] for r in rows}):
        for year in sorted({r["year"] for r in rows if r["example"] == example}):
            by = {r["strategy"]: r for r in rows if r["example"] == example and r["year"] == year}
            for label, rolling in by.items():
                if not label.startswith("rolling") or rolling["value_captured_pct"] is None:
                    continue
                met = rolling["value_captured_pct"] >= TARGET_PCT[example]
                text = (
                    f"{example} {year}: {label} {rolling['value_captured_pct']:.2f} % "
                    f"(target {TARGET_PCT[example]:g} %: {'met' if met else 'missed'})"
                )
                rule = by.get("rule-based")
                if rule is not None:
                    beats = rolling["net_margin_usd"] > rule["net_margin_usd"]
                    text += (
                        f"; rule-based {rule['value_captured_pct']:.2f} % — {label} "
                        f"{'beats' if beats else 'does not beat'} it by "
                        f"{(rolling['net_margin_usd'] - rule['net_margin_usd']) / 1e6:,.2f} M USD"
                    )
                verdicts.append(f"- {text}")
    return "\n".join(lines + verdicts) + "\n"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--years", type=int, nargs="+", default=[2022, 2023])
    parser.add_argument("--examples", nargs="+", choices=list(EXAMPLES), default=list(EXAMPLES))
    parser.add_argument(
        "--forecasts",
        nargs="+",
        default=["gbm", "persistence"],
        help="rolling forecasters, one rolling row each (the site files' default is gbm)",
    )
    parser.add_argument(
        "--strategies",
        nargs="+",
        choices=["perfect", "breakeven", "rule-based", "rolling"],
        default=None,
        help="only these strategies (default: all of each example's; without perfect there is no value captured)",
    )
    parser.add_argument(
        "--fresh-model",
        action="store_true",
        help="rolling solves every horizon from scratch (no model kept between re-solves)",
    )
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.fresh_model:
        _fresh_model_policies()
    load = OtherLoad()
    rows: list[dict[str, Any]] = []
    for example in args.examples:
        for year in args.years:
            rows.extend(run_example(example, year, list(args.forecasts), args.strategies))
    text = markdown(rows, ["benchmarks/bench_rolling.py", *argv], load.line())
    publish_text(text, args.write, SECTION)


if __name__ == "__main__":
    main(sys.argv[1:])

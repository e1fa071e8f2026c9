"""Speed of a rolling year, today's code against an earlier commit, in one run (issue 9, part 7).

For each example (the West Texas mining site and the hybrid site) this script times a full 2023
``rolling`` backtest — fitting its forecaster and 4CP predictor included, as the walk-forward
benchmark counts it — once with the code of this working tree and once with the code of a
baseline commit (default ``e624f2c``, the commit whose figures the "rolling" section of
BENCHMARKS.md holds: before model reuse). Both runs happen in this one invocation, one after the
other, each in a fresh Python process (``PYTHONPATH`` pointing at that tree's ``src``), so the two
times are comparable as a ratio on the same machine under the same load.

It also checks that the decisions are the same: every interval's fleet power, GPU allocation and
ancillary offer of the two runs are compared, and the net margins too (issue 9: identical
decisions, or — where warm starts change ties — value within 0.01 %).

    .venv/bin/python benchmarks/bench_rolling_speed.py [--baseline e624f2c] [--examples mining hybrid]
        [--forecast gbm] [--year 2023] [--repeat 3] [--write BENCHMARKS.md]

Today's code runs ``--repeat`` times per example (each in a fresh process, after the baseline's one
run): this machine's speed drifts by ±15 % from one minute to the next, so its row gives the median,
judged against the target, and every run's time.

The baseline tree is checked out with ``git worktree add`` into a temporary folder and removed at
the end. Targets (issue 9): a hybrid year under 60 s, a mining year under 30 s, on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SECTION = "rolling-speed"
EXAMPLES = {
    "mining": ROOT / "examples" / "west-texas-fixed-block.yaml",
    "hybrid": ROOT / "examples" / "west-texas-hybrid.yaml",
}
TARGET_S = {"mining": 30.0, "hybrid": 60.0}
MARGIN_TOLERANCE_PCT = 0.01
DECISION_PREFIXES = ("power_mw__", "inference_gpus", "training_gpus__", "rental_gpus", "as_offer_mw__")


def measure(example: str, year: int, forecast: str, arrays: Path, end: str) -> dict[str, Any]:
    """Run one rolling year in this process (the tree on ``sys.path``) and time it."""
    import numpy as np

    from powerfirst.backtest.runner import prepare_backtest, run_strategy

    try:  # the site file's strategies are validated through the policy registry (since issue 11)
        from powerfirst.policies.registry import load_site, parse_site
    except ImportError:  # a tree from before: the site module validates them itself
        from powerfirst.site import load_site, parse_site  # type: ignore[attr-defined,no-redef]

    data = load_site(EXAMPLES[example]).model_dump(exclude_none=True)
    data.setdefault("strategies", {}).setdefault("rolling", {})["forecast"] = forecast
    site = parse_site(data, source=f"{example} with rolling.forecast = {forecast}")
    bt = prepare_backtest(site, f"{year}-01-01", end or f"{year}-12-31")
    started = time.perf_counter()
    result = run_strategy(bt, "rolling")
    seconds = time.perf_counter() - started
    frame = result.ledger.intervals
    columns = sorted(c for c in frame.columns if c.startswith(DECISION_PREFIXES))
    np.savez(arrays, **{c: frame[c].to_numpy(dtype=np.float64) for c in columns})
    summary = result.summary  # a result model since issue 11, a dict before
    details = (summary.get("policy") if isinstance(summary, dict) else summary.policy) or {}
    return {
        "seconds": seconds,
        "net_margin_usd": result.ledger.net_margin_usd,
        "solves": details.get("solves"),
        "solver_seconds": details.get("solver_seconds"),
        "fallbacks": details.get("fallbacks"),
        "intervals": bt.inputs.num_intervals,
    }


def _run_tree(src: Path, example: str, year: int, forecast: str, arrays: Path, end: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", example, str(year), forecast]
    command += [str(arrays), end]
    done = subprocess.run(command, env=env, cwd=src.parent, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{src}: {example} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _same_decisions(old: Path, new: Path) -> str:
    """Where the two runs' decisions differ: the columns compared, and per differing column the
    intervals that differ by more than 1e-6 and the largest difference [MW or GPUs]."""
    import numpy as np

    a, b = np.load(old), np.load(new)
    common = sorted(set(a.files) & set(b.files))
    differing = []
    for c in common:
        gap = np.abs(a[c] - b[c])
        count = int(np.sum(gap > 1e-6))
        if count:
            differing.append(f"{c}: {count} intervals, up to {float(np.nanmax(gap)):.3g}")
    if not differing:
        return f"none of {len(common)} columns (all within 1e-6)"
    return f"{'; '.join(differing)} (of {len(common)} columns)"


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--measure":
        example, year, forecast, arrays, end = argv[1], int(argv[2]), argv[3], Path(argv[4]), argv[5]
        print(json.dumps(measure(example, year, forecast, arrays, end)))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", default="e624f2c", help="commit to compare with (default e624f2c)")
    parser.add_argument("--examples", nargs="+", choices=list(EXAMPLES), default=list(EXAMPLES))
    parser.add_argument("--forecast", default="gbm")
    parser.add_argument("--year", type=int, default=2023)
    parser.add_argument(
        "--end",
        default="",
        help="last day of the window (default: the year's last day; for a quick check only)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of today's code per example; the median is reported"
    )
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat}: at least 1 run")
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    rows: list[dict[str, Any]] = []
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_dispatch import cpu_busy_seconds

    busy0, wall0 = cpu_busy_seconds(), time.perf_counter()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        base = Path(tmp) / "tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(base), args.baseline], cwd=ROOT, check=True
        )
        try:
            for example in args.examples:
                arrays = {k: Path(tmp) / f"{example}-{k}.npz" for k in ("baseline", "now")}
                old = _run_tree(base / "src", example, args.year, args.forecast, arrays["baseline"], args.end)
                print(f"{example} baseline: {old['seconds']:.1f} s", file=sys.stderr, flush=True)
                runs = []
                for k in range(args.repeat):
                    arrays[f"now{k}"] = Path(tmp) / f"{example}-now{k}.npz"
                    runs.append(
                        _run_tree(
                            ROOT / "src", example, args.year, args.forecast, arrays[f"now{k}"], args.end
                        )
                    )
                    print(
                        f"{example} now ({k + 1}): {runs[-1]['seconds']:.1f} s", file=sys.stderr, flush=True
                    )
                median = statistics.median(r["seconds"] for r in runs)
                new = {**runs[0], "seconds": median, "runs": [r["seconds"] for r in runs]}
                repeats = [_same_decisions(arrays["now0"], arrays[f"now{k}"]) for k in range(1, args.repeat)]
                if any(not r.startswith("none") for r in repeats):
                    raise SystemExit(f"{example}: today's runs disagree with each other: {repeats}")
                decisions = _same_decisions(arrays["baseline"], arrays["now0"])
                rows.append({"example": example, "baseline": old, "now": new, "decisions": decisions})
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter() - wall0
    ours = (children.ru_utime + children.ru_stime) - (children0.ru_utime + children0.ru_stime)
    busy1 = cpu_busy_seconds()
    other = "unknown" if busy0 is None or busy1 is None else f"{max(0.0, busy1 - busy0 - ours):.1f} s"
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_dispatch import cpu_model, package_version, publish_text, ram_gib

    lines = [
        f"## Rolling year: speed against commit {args.baseline} (issue 9)",
        "",
        f"- machine: {cpu_model()}, {platform.machine()}, {ram_gib() or 0:.0f} GiB RAM, {os.cpu_count()} cores",
        f"- Python {platform.python_version()}, highspy {package_version('highspy')}, "
        f"scikit-learn {package_version('scikit-learn')}; run {dt.date.today().isoformat()}",
        f"- command: `python benchmarks/bench_rolling_speed.py {' '.join(argv)}` at {head.strip()}"
        + (" (with uncommitted changes in src)" if dirty.strip() else ""),
        f"- CPU time used by other processes during the run: {other} over {wall:.1f} s of wall time",
        f"- each row: {'a full ' + str(args.year) if not args.end else f'{args.year}-01-01 to {args.end}'} `rolling` backtest (`--forecast {args.forecast}`), fitting its forecaster "
        "and 4CP predictor included, timed in a fresh process; baseline and today's code one after the other in "
        f"this run. Today's code ran {args.repeat} times per example: `today s` is the median (judged against the "
        "target), `runs s` every run. `decisions` compares every interval's fleet power, GPU allocation and "
        "ancillary offer (today's runs agree with each other to 1e-6).",
        "",
        "| example | baseline s | today s | runs s | speed-up | target | re-solves (baseline / today) | "
        "model build + solve s today | net margin M USD (baseline / today) | margin difference | "
        "decisions that differ |",
        "|---|---:|---:|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        old, new = r["baseline"], r["now"]
        diff_pct = 100.0 * (new["net_margin_usd"] - old["net_margin_usd"]) / abs(old["net_margin_usd"])
        met = "met" if new["seconds"] < TARGET_S[r["example"]] else "missed"
        if args.end:
            met = "n/a, not a full year"
        solver = "" if new.get("solver_seconds") is None else f"{new['solver_seconds']:.1f}"
        lines.append(
            f"| {r['example']} | {old['seconds']:.1f} | {new['seconds']:.1f} | "
            f"{', '.join(f'{x:.1f}' for x in new['runs'])} | {old['seconds'] / new['seconds']:.2f}× | "
            f"< {TARGET_S[r['example']]:g} s: {met} | {old['solves']} / {new['solves']} | {solver} | "
            f"{old['net_margin_usd'] / 1e6:,.4f} / {new['net_margin_usd'] / 1e6:,.4f} | {diff_pct:+.5f} % "
            f"({'within' if abs(diff_pct) <= MARGIN_TOLERANCE_PCT else 'beyond'} {MARGIN_TOLERANCE_PCT} %) | "
            f"{r['decisions']} |"
        )
    publish_text("\n".join(lines) + "\n", args.write, SECTION)


if __name__ == "__main__":
    main(sys.argv[1:])

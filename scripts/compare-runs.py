#!/usr/bin/env python3
"""Compare two backtest output folders field by field: every ``summary.json`` and ``comparison.json``.

    scripts/compare-runs.py BEFORE_DIR AFTER_DIR [--rel-tol 1e-9]

Numbers must agree to ``--rel-tol`` (floating-point noise), everything else exactly; fields that
measure wall time (``*_seconds``) are skipped. A field present on one side only is a difference
too. Exit code 0 when the folders agree, 1 otherwise (each difference printed as a JSON path).
Used to show that a change that should not change behaviour (a restructuring) did not.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

TIMING_SUFFIX = "_seconds"


def _differences(before: Any, after: Any, path: str, rel_tol: float) -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for key in sorted(set(before) | set(after)):
            where = f"{path}.{key}"
            if key.endswith(TIMING_SUFFIX):
                continue
            if key not in after:
                out.append(f"{where}: only before")
            elif key not in before:
                out.append(f"{where}: only after")
            else:
                out += _differences(before[key], after[key], where, rel_tol)
        return out
    if isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            return [f"{path}: {len(before)} items before, {len(after)} after"]
        out = []
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            out += _differences(b, a, f"{path}[{i}]", rel_tol)
        return out
    if isinstance(before, bool) or isinstance(after, bool):  # true is not 1: the type is compared too
        same = type(before) is type(after) and before == after
        return [] if same else [f"{path}: {before!r} before, {after!r} after"]
    numbers = (int, float)
    if isinstance(before, numbers) and isinstance(after, numbers):
        if math.isclose(before, after, rel_tol=rel_tol, abs_tol=1e-9):
            return []
        return [f"{path}: {before!r} before, {after!r} after"]
    return [] if before == after else [f"{path}: {before!r} before, {after!r} after"]


def compare(before_dir: Path, after_dir: Path, rel_tol: float) -> list[str]:
    """Every difference between the JSON results of two run folders."""
    names = sorted(
        {p.relative_to(before_dir) for p in before_dir.rglob("*.json") if p.name != "powerfirst-run.json"}
        | {p.relative_to(after_dir) for p in after_dir.rglob("*.json") if p.name != "powerfirst-run.json"}
    )
    if not names:
        return [f"no summary.json or comparison.json in {before_dir} or {after_dir}"]
    out = []
    for name in names:
        b, a = before_dir / name, after_dir / name
        if not b.exists() or not a.exists():
            out.append(f"{name}: only in {'after' if a.exists() else 'before'}")
            continue
        out += _differences(json.loads(b.read_text()), json.loads(a.read_text()), str(name), rel_tol)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rel-tol", type=float, default=1e-9)
    args = parser.parse_args()
    diffs = compare(args.before, args.after, args.rel_tol)
    for line in diffs:
        print(line)
    files = len([p for p in args.before.rglob("*.json") if p.name != "powerfirst-run.json"])
    print(f"{files} JSON files compared: {'identical' if not diffs else f'{len(diffs)} differences'}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())

"""A plan's Monte Carlo in chunks of paths: each chunk a task an executor runs here or on a Dask worker.

The paths of a run seeded ``s`` are drawn in fixed blocks of 100, block b from its own stream
``SeedSequence(s).spawn(…)[b]`` (:func:`powerfirst.planning.drivers.simulate_paths`), so a chunk's
paths depend only on the run's seed and the paths' numbers: the merged results are the same however
the paths are cut into chunks and wherever the chunks run (this process, a LocalCluster of any
size, a remote cluster) — bitwise for the paths, to the last bits of BLAS sums for the metrics (a
matrix product may add in another order for another number of rows).

A chunk sends back its paths' metrics (NPV, IRR, payback, DSCR: a few floats per path) and two
(paths, months) float32 arrays: the monthly difference cash flow plan − baseline and its running
sum, for the monthly percentiles (the fan chart). That is 8 bytes per path-month: 10,000 paths ×
120 months ≈ 9.6 MB in all, 1,000,000 × 120 ≈ 960 MB (float32 keeps figures to ~7 digits, i.e.
to ~1 USD in a cumulative of 10 M USD; the metrics themselves are computed in float64).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from powerfirst._types import Array
from powerfirst.planning.cashflows import plan_cashflows
from powerfirst.planning.drivers import simulate_paths
from powerfirst.planning.drivers_fit import DriverModel
from powerfirst.planning.drivers_settings import DriverSettings
from powerfirst.planning.inputs import MarginTable
from powerfirst.planning.results import PathMetrics
from powerfirst.planning.scenario import Scenario

__all__ = ["ChunkResult", "ChunkTask", "chunk_tasks", "merge_chunks", "run_chunk"]


@dataclass(frozen=True)
class ChunkTask:
    """Paths ``first_path … first_path + num_paths − 1`` of a Monte Carlo run (picklable)."""

    scenario: Scenario
    model: DriverModel
    settings: DriverSettings
    margins: MarginTable
    seed: int
    first_path: int
    num_paths: int


@dataclass(frozen=True)
class ChunkResult:
    """What a chunk sends back: its paths' metrics and monthly difference flows (see the module)."""

    first_path: int
    metrics: PathMetrics
    difference_usd: np.ndarray
    """(paths, M) float32 plan − baseline net cash flow per month [USD]."""
    cumulative_difference_usd: np.ndarray
    """(paths, M) float32 running sum of the difference from month 0 [USD]."""


def chunk_tasks(
    scenario: Scenario,
    model: DriverModel,
    settings: DriverSettings,
    margins: MarginTable,
    *,
    paths: int,
    seed: int,
    chunk_paths: int,
) -> list[ChunkTask]:
    """The run's paths cut into chunks of ``chunk_paths`` (the last one shorter)."""
    return [
        ChunkTask(scenario, model, settings, margins, seed, first, min(chunk_paths, paths - first))
        for first in range(0, paths, chunk_paths)
    ]


def run_chunk(task: ChunkTask) -> ChunkResult:
    """Draw the chunk's paths and compute their cash flows and metrics."""
    spec = task.scenario.file
    drivers = simulate_paths(
        task.model,
        spec.start_month,
        spec.horizon_months,
        task.seed,
        task.first_path,
        task.num_paths,
        task.settings,
    )
    flows = plan_cashflows(task.scenario, drivers, task.margins)
    difference = flows.difference_usd
    return ChunkResult(
        first_path=task.first_path,
        metrics=flows.metrics,
        difference_usd=difference.astype(np.float32),
        cumulative_difference_usd=np.cumsum(difference, axis=1).astype(np.float32),
    )


def merge_chunks(results: list[ChunkResult]) -> tuple[PathMetrics, Array, Array]:
    """The chunks' metrics and (P, M) monthly and cumulative differences, in path order."""
    ordered = sorted(results, key=lambda r: r.first_path)

    def joined(name: str) -> Array:
        return np.concatenate([getattr(r.metrics, name) for r in ordered])

    metrics = PathMetrics(**{f.name: joined(f.name) for f in fields(PathMetrics)})
    monthly = np.concatenate([r.difference_usd for r in ordered])
    cumulative = np.concatenate([r.cumulative_difference_usd for r in ordered])
    return metrics, monthly, cumulative

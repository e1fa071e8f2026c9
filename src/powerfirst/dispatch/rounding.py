"""Solve the co-optimization MILP fast: relax, round the training jobs' on/off hours, re-solve.

When the only integer columns are the training jobs' hourly on/off switches, the model is solved
in two LPs instead of a branch-and-bound:

1. the LP relaxation, whose optimum is a proven upper bound on the MILP's margin;
2. the LP with every switch fixed, for a few candidate patterns: the hours where the relaxation
   runs the job (with and without short pauses filled), and one uninterrupted run from release
   at 40 % and 70 % of the job's max GPUs on average; the best is kept.

The rounded solution is feasible for the MILP; its gap to the bound is reported (status OPTIMAL
within ``mip_rel_gap``, FEASIBLE up to :data:`ACCEPT_GAP`). Above that, or if rounding fails, the
full MILP goes to the solver with the time left.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from powerfirst._types import Array
from powerfirst.dispatch.model import DispatchModel, JobSwitch
from powerfirst.solver import INF, Solver, SolveResult, SolveStatus

__all__ = ["relax_and_round", "round_switches"]


def round_switches(relaxed_gpus: Array, job: JobSwitch, *, fill_pauses: bool) -> Array:
    """On/off per hour (0/1) from a job's relaxed GPUs per hour."""
    on = (relaxed_gpus > 1e-6 * job.max_gpus).astype(np.float64)
    if not fill_pauses or job.min_gpus <= 0:
        return on
    running = np.flatnonzero(on)
    if running.size < 2:
        return on
    # a pause of L hours between two runs: filling it runs L × min GPUs GPU-hours (useful work);
    # leaving it costs a resume (restart + checkpoint at max GPUs). Fill when the resume costs more.
    longest_fill = job.lost_gpu_hours_per_resume / job.min_gpus
    gaps = np.diff(running) - 1
    for k in np.flatnonzero((gaps > 0) & (gaps <= longest_fill)):
        on[running[k] + 1 : running[k + 1]] = 1.0
    return on


def one_run(job: JobSwitch, hours: int, mean_fraction_of_max: float) -> Array:
    """On/off per hour for one uninterrupted run from release at a mean of ``mean_fraction_of_max`` ×
    max GPUs (the LP then shapes the GPUs within [min, max] in those hours)."""
    length = int(np.ceil(job.gpu_hours_first_run / (mean_fraction_of_max * job.max_gpus)))
    on = np.zeros(hours)
    on[: min(max(length, 1), hours)] = 1.0
    return on


def candidate_patterns(relaxed: Array, switches: list[JobSwitch]) -> list[list[Array]]:
    """Switch patterns to try, each a list with one on/off array per job."""
    patterns = [
        [round_switches(relaxed[s.gpu_cols], s, fill_pauses=False) for s in switches],
        [round_switches(relaxed[s.gpu_cols], s, fill_pauses=True) for s in switches],
    ]
    for fraction in (0.4, 0.7):
        patterns.append(
            [one_run(s, s.on_cols.size, max(fraction, s.min_gpus / s.max_gpus)) for s in switches]
        )
    return patterns


ACCEPT_GAP = 1e-2
"""A rounded schedule within this relative gap of the bound is kept (status FEASIBLE with its gap
when above ``mip_rel_gap``) instead of starting a branch-and-bound, which takes minutes on a year."""


def relax_and_round(
    model: DispatchModel,
    solver: Solver,
    *,
    time_limit_s: float | None,
    mip_rel_gap: float,
    accept_gap: float = ACCEPT_GAP,
) -> SolveResult:
    """Solve ``model`` (a MILP whose integers are job switches only); see the module docstring."""
    started = time.perf_counter()
    lp = model.lp
    relaxed_lp = replace(lp, integer=None)
    relaxed = solver.solve(relaxed_lp, time_limit_s=time_limit_s)
    if relaxed.status is not SolveStatus.OPTIMAL or relaxed.x is None or relaxed.objective is None:
        relaxed.seconds = time.perf_counter() - started
        return relaxed
    bound = relaxed.objective  # minimisation: no integer solution is below it
    best: SolveResult | None = None
    for patterns in candidate_patterns(relaxed.x, model.job_switches):
        lower, upper = lp.col_lower.copy(), lp.col_upper.copy()
        for switch, pattern in zip(model.job_switches, patterns, strict=True):
            lower[switch.on_cols] = pattern
            upper[switch.on_cols] = pattern
        left = None if time_limit_s is None else max(time_limit_s - (time.perf_counter() - started), 1.0)
        fixed = solver.solve(replace(relaxed_lp, col_lower=lower, col_upper=upper), time_limit_s=left)
        better = best is None or best.objective is None or (fixed.objective or INF) < best.objective
        if fixed.status is SolveStatus.OPTIMAL and fixed.objective is not None and better:
            best = fixed
    if best is not None and best.objective is not None:
        gap = (best.objective - bound) / max(abs(best.objective), 1.0)
        if gap <= max(mip_rel_gap, accept_gap):
            return replace(
                best,
                status=SolveStatus.OPTIMAL if gap <= mip_rel_gap else SolveStatus.FEASIBLE,
                mip_gap=max(gap, 0.0),
                dual_bound=bound,
                seconds=time.perf_counter() - started,
                message=f"LP relaxation bound and rounded training schedule, gap {gap:.2e}",
            )
    left = None if time_limit_s is None else max(time_limit_s - (time.perf_counter() - started), 1.0)
    full = solver.solve(lp, time_limit_s=left, mip_rel_gap=mip_rel_gap)
    if (
        best is not None
        and best.objective is not None
        and full.objective is not None
        and best.objective < full.objective  # the rounded schedule beat what branch-and-bound found
    ):
        full = replace(best, status=SolveStatus.FEASIBLE, dual_bound=full.dual_bound, mip_gap=full.mip_gap)
    full.seconds = time.perf_counter() - started
    return full

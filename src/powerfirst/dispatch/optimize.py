"""Solve the dispatch model and turn solver outcomes into plans or explained errors."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np

from powerfirst._types import Array
from powerfirst.control.decision import Schedule
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.dispatch.model import build_dispatch_model
from powerfirst.dispatch.rounding import relax_and_round
from powerfirst.dispatch.state import StartState
from powerfirst.errors import InfeasibleError, SolverError
from powerfirst.solver import (
    HighsSolver,
    LinearProgram,
    Solver,
    SolveResult,
    SolverSession,
    SolveStatus,
    default_solver,
)

__all__ = ["DispatchPlan", "explain_infeasible", "optimize_dispatch"]


@dataclass(frozen=True)
class DispatchPlan:
    """An optimal dispatch over a horizon."""

    schedule: Schedule
    """Every decision of the plan (fleet power, GPU split, heat, ancillary offers)."""
    net_margin_usd: float
    """Objective: net margin of the plan [USD]."""
    status: SolveStatus
    upper_bound_usd: float
    """Proven upper bound on the net margin of any dispatch (equals ``net_margin_usd`` for an LP;
    for a MILP stopped at a gap it is higher) [USD]."""
    mip_gap: float | None
    build_seconds: float
    solve_seconds: float
    num_cols: int
    num_rows: int
    num_integer: int

    @property
    def power_mw(self) -> Array:
        """Fleet power at the meter, (F, T) [MW]."""
        return self.schedule.power_mw


def explain_infeasible(lp: LinearProgram, result: SolveResult, inputs: DispatchInputs) -> list[str]:
    """Readable lines for an infeasible model: the site-level conflict, then the solver's IIS."""
    conflict = inputs.site.must_run_conflict()
    lines: list[str] = [conflict] if conflict else []
    # group the IIS by the kind of constraint (text before ' at <time>') and keep the first time
    grouped: OrderedDict[str, tuple[str, int]] = OrderedDict()
    for name in [lp.row_name(i) for i in result.iis_rows] + [lp.col_name(j) for j in result.iis_cols]:
        what, _, when = name.partition(" at ")
        first, count = grouped.get(what, (when, 0))
        grouped[what] = (first, count + 1)
    for what, (first, count) in grouped.items():
        suffix = (
            f" (at {first}" + (f" and {count - 1} more intervals)" if count > 1 else ")") if first else ""
        )
        lines.append(f"conflicting constraint: {what}{suffix}")
    if not lines and lp.is_mip:
        lines.append(
            "the model is feasible only without whole-number decisions: a training job cannot run at its "
            "min_gpus in whole hours, or a fleet's switch blocks do not fit; check min_gpus and switch_block_units"
        )
    if not lines:
        lines.append("the solver proved the model infeasible but found no irreducible subset to show")
    return lines


EXACT_MILP_MAX_INTEGERS = 240
"""Up to this many job switches (10 job-days) the MILP goes to branch-and-bound; above, to
:func:`~powerfirst.dispatch.rounding.relax_and_round`."""


def optimize_dispatch(
    inputs: DispatchInputs,
    *,
    initial_power_mw: Array | None = None,
    start: StartState | None = None,
    solver: Solver | None = None,
    time_limit_s: float | None = None,
    mip_rel_gap: float = 1e-4,
    session: SolverSession | None = None,
) -> DispatchPlan:
    """The dispatch that maximises net margin over ``inputs`` (hindsight if the inputs are realised data).

    ``session`` (from :meth:`Solver.session`) keeps the solver's model between calls: a caller that
    solves one site again and again (a rolling controller) passes the same session each time.

    Raises :class:`InfeasibleError` with an explanation when the site's constraints conflict, and
    :class:`SolverError` when the solver stops without a solution.
    """
    started = time.perf_counter()
    model = build_dispatch_model(inputs, initial_power_mw, start)
    build_seconds = time.perf_counter() - started
    solver = solver or default_solver()
    lp = model.lp
    integers = int(lp.integer.sum()) if lp.integer is not None else 0
    jobs_only = integers > 0 and sum(s.on_cols.size for s in model.job_switches) == integers
    if jobs_only and integers > EXACT_MILP_MAX_INTEGERS:
        result = relax_and_round(model, solver, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    else:
        result = (session or solver).solve(lp, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    if result.status is SolveStatus.INFEASIBLE and lp.is_mip:
        # integer models carry no infeasible subset: explain from the relaxation when it is
        # infeasible too; otherwise only the whole-number decisions conflict
        relaxed_lp = replace(lp, integer=None)
        relaxed = solver.solve(relaxed_lp, time_limit_s=time_limit_s)
        if relaxed.status is SolveStatus.INFEASIBLE:
            lp, result = relaxed_lp, relaxed
        elif isinstance(solver, HighsSolver) and solver.presolve:
            # HiGHS's MIP presolve has been seen to reject feasible models: confirm without it
            result = HighsSolver(threads=solver.threads, lp_method=solver.lp_method, presolve=False).solve(
                lp, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap
            )
    if result.status is SolveStatus.INFEASIBLE:
        raise InfeasibleError(
            "the site cannot be dispatched: its constraints conflict",
            explanation=explain_infeasible(lp, result, inputs),
        )
    if not result.status.has_solution or result.x is None or result.objective is None:
        raise SolverError(
            f"{result.solver} stopped without a solution: {result.status.value} ({result.message})",
            status=result.status.value,
        )
    schedule = model.schedule(result.x)
    power = np.clip(schedule.power_mw, inputs.min_power_mw[:, None], inputs.max_power_mw[:, None])
    return DispatchPlan(
        schedule=replace(schedule, power_mw=power),
        net_margin_usd=-result.objective,
        status=result.status,
        upper_bound_usd=-(result.dual_bound if result.dual_bound is not None else result.objective),
        mip_gap=result.mip_gap,
        build_seconds=build_seconds,
        solve_seconds=result.seconds,
        num_cols=model.lp.num_cols,
        num_rows=model.lp.num_rows,
        num_integer=int(model.lp.integer.sum()) if model.lp.integer is not None else 0,
    )

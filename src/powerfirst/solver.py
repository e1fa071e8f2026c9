"""Solvers behind one interface, with outcomes normalised into one status enum.

A model is handed over as a :class:`LinearProgram` — numpy arrays and a scipy sparse matrix,
minimisation, ``row_lower <= A x <= row_upper``, ``col_lower <= x <= col_upper``, optional
integrality — so building a model never touches solver objects. :class:`HighsSolver` passes the
arrays to HiGHS through ``highspy`` in one call. Raw solver codes never leave this module.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from powerfirst._types import Array
from powerfirst.errors import SolverError
from powerfirst.highs_model import Structure, finite, new_highs, pass_model

__all__ = [
    "HighsSession",
    "HighsSolver",
    "LinearProgram",
    "SolveResult",
    "SolveStatus",
    "Solver",
    "SolverSession",
    "default_solver",
    "new_highs",
]

INF = float("inf")
_EMPTY_MATRIX = sp.csc_array((0, 0))
"""The matrix of :meth:`LinearProgram.empty` (made once: scipy takes a while to make one)."""


class SolveStatus(Enum):
    """Outcome of a solve, independent of the solver."""

    OPTIMAL = "optimal"
    """Proven optimal (MILP: within the relative gap asked for)."""
    FEASIBLE = "feasible"
    """A feasible solution, not proven optimal (e.g. a time limit hit with an incumbent)."""
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT = "time_limit"
    """Stopped by the time limit with no feasible solution."""
    ERROR = "error"

    @property
    def has_solution(self) -> bool:
        return self in {SolveStatus.OPTIMAL, SolveStatus.FEASIBLE}


@dataclass
class LinearProgram:
    """min cᵀx + offset  s.t.  row_lower ≤ A x ≤ row_upper,  col_lower ≤ x ≤ col_upper.

    ``integer`` marks integer columns (None: a pure LP). ``row_name``/``col_name`` map an index to
    a readable name (used to explain infeasibility).
    """

    c: npt.NDArray[np.float64]
    a: sp.csc_array | sp.csc_matrix
    row_lower: npt.NDArray[np.float64]
    row_upper: npt.NDArray[np.float64]
    col_lower: npt.NDArray[np.float64]
    col_upper: npt.NDArray[np.float64]
    integer: npt.NDArray[np.bool_] | None = None
    offset: float = 0.0
    row_name: Callable[[int], str] = field(default=lambda i: f"row {i}")
    col_name: Callable[[int], str] = field(default=lambda j: f"column {j}")

    @classmethod
    def empty(cls) -> LinearProgram:
        """A program with no rows and no columns (a placeholder while a model is assembled)."""
        nothing = np.zeros(0)
        return cls(nothing, _EMPTY_MATRIX, nothing, nothing, nothing, nothing)

    @property
    def num_cols(self) -> int:
        return int(self.c.shape[0])

    @property
    def num_rows(self) -> int:
        return int(self.a.shape[0])

    @property
    def is_mip(self) -> bool:
        return self.integer is not None and bool(self.integer.any())


@dataclass
class SolveResult:
    status: SolveStatus
    x: npt.NDArray[np.float64] | None
    objective: float | None
    """Objective value including the offset (minimisation)."""
    seconds: float
    solver: str
    message: str = ""
    mip_gap: float | None = None
    """Relative gap between the solution and the best bound (MILP only)."""
    dual_bound: float | None = None
    """Best proven bound on the objective, offset included (MILP: ≤ objective; LP: the objective)."""
    iis_rows: list[int] = field(default_factory=list)
    """Rows of an irreducible infeasible subset, when the solver found one."""
    iis_cols: list[int] = field(default_factory=list)


class Solver(ABC):
    """A solver backend."""

    name: str
    supports_mip: bool
    supports_iis: bool

    @classmethod
    @abstractmethod
    def is_available(cls) -> bool:
        """Cheap check that the backend can be imported."""

    @abstractmethod
    def solve(
        self, lp: LinearProgram, *, time_limit_s: float | None = None, mip_rel_gap: float = 1e-4
    ) -> SolveResult:
        """Solve ``lp``; never raises for infeasible or unbounded models (see ``status``)."""

    def session(self) -> SolverSession:
        """A session that keeps the model between solves of programs of one structure (see
        :class:`SolverSession`); this default solves every program from scratch."""
        return _FreshSession(self)


class SolverSession(ABC):
    """A model kept alive in a solver between solves of programs that share their structure.

    A rolling controller solves the same model again and again with other costs and bounds. A
    session keeps the solver's copy of the model: when the next program has the same matrix and
    the same integer columns, only costs, bounds and the offset are changed in place and the solver
    starts from its last basis; otherwise the model is passed again. Results are the same as
    :meth:`Solver.solve` on the same program (up to ties between equally good solutions).
    """

    reused: int = 0
    """Solves that changed costs and bounds in place (the rest passed a whole model)."""

    @abstractmethod
    def solve(
        self, lp: LinearProgram, *, time_limit_s: float | None = None, mip_rel_gap: float = 1e-4
    ) -> SolveResult:
        """Solve ``lp`` (as :meth:`Solver.solve`), reusing the previous model where its structure allows."""


class _FreshSession(SolverSession):
    """A session that solves every program from scratch (backends without in-place updates)."""

    def __init__(self, solver: Solver) -> None:
        self.solver = solver

    def solve(
        self, lp: LinearProgram, *, time_limit_s: float | None = None, mip_rel_gap: float = 1e-4
    ) -> SolveResult:
        return self.solver.solve(lp, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)


class HighsSolver(Solver):
    """HiGHS through highspy."""

    name = "highs"
    supports_mip = True
    supports_iis = True

    def __init__(
        self,
        *,
        threads: int | None = None,
        lp_method: str = "choose",
        log: bool = False,
        presolve: bool = True,
    ) -> None:
        self.threads = threads
        self.lp_method = lp_method
        self.log = log
        self.presolve = presolve

    @classmethod
    def is_available(cls) -> bool:
        try:
            import highspy  # noqa: F401
        except ImportError:
            return False
        return True

    def session(self) -> SolverSession:
        return HighsSession(self)

    def configure(self, h: Any, time_limit_s: float | None, mip_rel_gap: float) -> None:
        """Set this solver's options on the highspy instance ``h``."""
        h.setOptionValue("output_flag", self.log)
        h.setOptionValue("solver", self.lp_method)
        h.setOptionValue("presolve", "choose" if self.presolve else "off")
        if self.threads is not None:
            h.setOptionValue("threads", self.threads)
        h.setOptionValue("time_limit", INF if time_limit_s is None else float(time_limit_s))
        h.setOptionValue("mip_rel_gap", float(mip_rel_gap))

    def solve(
        self, lp: LinearProgram, *, time_limit_s: float | None = None, mip_rel_gap: float = 1e-4
    ) -> SolveResult:
        started = time.perf_counter()
        h = new_highs()
        self.configure(h, time_limit_s, mip_rel_gap)
        pass_model(h, lp)
        h.run()
        return self.result(h, lp, started)

    def result(self, h: Any, lp: LinearProgram, started: float) -> SolveResult:
        """The outcome of the last run of ``h`` on ``lp`` (an IIS attached when an LP is infeasible)."""
        import highspy

        model_status = h.getModelStatus()
        seconds = time.perf_counter() - started
        info = h.getInfo()
        status_enum = _normalise(model_status, highspy, info.primal_solution_status)
        x = None
        objective = None
        if status_enum.has_solution:
            values = h.getSolution().col_value  # a list (highspy converts the vector)
            x = np.fromiter(values, dtype=np.float64, count=len(values))
            objective = float(info.objective_function_value)
            if model_status == highspy.HighsModelStatus.kModelEmpty:
                objective = float(lp.c @ x) + lp.offset if x.size else lp.offset
        gap = float(info.mip_gap) if lp.is_mip and status_enum.has_solution else None
        bound = objective
        if lp.is_mip and status_enum.has_solution:
            bound = float(info.mip_dual_bound)
        result = SolveResult(
            status=status_enum,
            x=x,
            objective=objective,
            seconds=seconds,
            solver=self.name,
            message=h.modelStatusToString(model_status),
            mip_gap=gap,
            dual_bound=bound,
        )
        if status_enum is SolveStatus.INFEASIBLE and not lp.is_mip:
            # the default "light" strategy can return an empty subset marked valid: ask for an
            # irreducible subset found from the LP
            strategy = highspy.IisStrategy
            h.setOptionValue(
                "iis_strategy", int(strategy.kIisStrategyFromLp) | int(strategy.kIisStrategyIrreducible)
            )
            iis_status, iis = h.getIis()
            if iis_status != highspy.HighsStatus.kError and iis.valid_:
                result.iis_rows = [int(i) for i in iis.row_index_]
                result.iis_cols = [int(j) for j in iis.col_index_]
        return result


class HighsSession(SolverSession):
    """``highspy.Highs`` models kept between solves, one per structure (the last ``max_models``).

    A program with the structure of a kept model changes that model's costs and bounds in place,
    so an LP restarts from that model's last basis. Several models are kept because a rolling
    horizon cycles through a few structures (rental slices aligned to the clock shift against the
    horizon's start hour by hour). An LP is solved without presolve: on models of a 48-hour
    horizon, presolve costs more than it saves (measured, 4x on the hybrid example).

    A MILP whose integer columns are all binary is first tried by **relax and fix**
    (``relax_and_fix``, on by default): its LP relaxation is solved on a kept model (from the last
    basis), the binaries are fixed at two roundings of the relaxed values (up, and to the nearest)
    and the LP is solved again for each; when the better of the two is within ``mip_rel_gap`` of
    the relaxation's objective — a bound no integer solution can beat — it is returned as the
    solution, with that gap and that bound, as HiGHS's own MILP answer would be (the guarantee is
    the same: within the relative gap asked for, (objective − bound) / max(1, |objective|)).
    Otherwise the MILP goes to HiGHS's branch and bound, with the better rounding, where one was
    feasible, as its starting solution. On the hybrid example's rolling year a MILP costs HiGHS
    about 50 ms — presolve, root LP from scratch, heuristics — where the three warm LPs cost a few.

    A MILP keeps the solver's presolve but runs without the feasibility-jump heuristic, which on
    these models costs more than it finds (measured on the 775 MILPs of the hybrid example's
    rolling year: 27 % less time in HiGHS, 763 of them the same solution, the others other
    solutions within the gap asked for).
    """

    def __init__(self, solver: HighsSolver, *, max_models: int = 8, relax_and_fix: bool = True) -> None:
        self.solver = solver
        self.max_models = max_models
        self.relax_and_fix = relax_and_fix
        self._models: OrderedDict[tuple[object, ...], _Kept] = OrderedDict()
        self.reused = 0
        self.fixed = 0
        """MILPs answered by relax and fix (the rest of the MILPs went to branch and bound)."""
        self.branched = 0
        """MILPs answered by HiGHS's branch and bound."""

    def solve(
        self, lp: LinearProgram, *, time_limit_s: float | None = None, mip_rel_gap: float = 1e-4
    ) -> SolveResult:
        started = time.perf_counter()
        structure = Structure.of(lp)
        start: Array | None = None
        if lp.is_mip and self.relax_and_fix and structure.integer is not None:
            fixed = self._relax_and_fix(lp, structure, time_limit_s, mip_rel_gap, started)
            if fixed is not None and fixed.mip_gap is not None and fixed.mip_gap <= mip_rel_gap:
                self.fixed += 1
                return fixed
            start = None if fixed is None else fixed.x
        if lp.is_mip:
            self.branched += 1
        return self._solve(lp, structure, time_limit_s, mip_rel_gap, started, start=start)

    def _load(
        self,
        lp: LinearProgram,
        structure: Structure,
        options: tuple[float | None, float, bool],
    ) -> tuple[Any, tuple[object, ...], tuple[Array, ...], bool]:
        """A highspy instance holding ``lp`` (a kept one updated in place, or a new one): (instance,
        key, the costs and bounds it now holds, whether it was kept)."""
        key = structure.key()
        kept = self._models.pop(key, None)
        h = kept.highs if kept is not None else new_highs()
        time_limit_s, mip_rel_gap, as_mip = options
        if kept is None or kept.options != options:  # options stay set in a kept model
            self.solver.configure(h, time_limit_s, mip_rel_gap)
            if not as_mip:
                h.setOptionValue("presolve", "off")
            else:
                h.setOptionValue("mip_heuristic_run_feasibility_jump", False)
        values = (
            np.array(lp.c, dtype=np.float64),
            finite(lp.col_lower),
            finite(lp.col_upper),
            finite(lp.row_lower),
            finite(lp.row_upper),
        )
        if kept is not None:
            c, col_low, col_up, row_low, row_up = values
            last_c, last_col_low, last_col_up, last_row_low, last_row_up = kept.values
            # only what changed goes to the solver (most bounds stay as they were)
            at = np.flatnonzero(c != last_c).astype(np.int32)
            if at.size:
                h.changeColsCost(at.size, at, c[at])
            at = np.flatnonzero((col_low != last_col_low) | (col_up != last_col_up)).astype(np.int32)
            if at.size:
                h.changeColsBounds(at.size, at, col_low[at], col_up[at])
            at = np.flatnonzero((row_low != last_row_low) | (row_up != last_row_up)).astype(np.int32)
            if at.size:
                h.changeRowsBounds(at.size, at, row_low[at], row_up[at])
            h.changeObjectiveOffset(float(lp.offset))
            self.reused += 1
        else:
            pass_model(h, lp, structure)
        return h, key, values, kept is not None

    def _keep(self, key: tuple[object, ...], kept: _Kept) -> None:
        """Keep a model, the most recently used last."""
        self._models[key] = kept
        while len(self._models) > self.max_models:
            self._models.popitem(last=False)

    def _solve(
        self,
        lp: LinearProgram,
        structure: Structure,
        time_limit_s: float | None,
        mip_rel_gap: float,
        started: float,
        *,
        start: Array | None = None,
    ) -> SolveResult:
        options = (time_limit_s, mip_rel_gap, lp.is_mip)
        h, key, values, kept = self._load(lp, structure, options)
        if start is not None:
            import highspy

            solution = highspy.HighsSolution()
            solution.col_value = start
            h.setSolution(solution)
        h.run()
        result = self.solver.result(h, lp, started)
        if kept and result.status is not SolveStatus.OPTIMAL:
            # confirm anything but an optimum from scratch, as a fresh solve would find it
            h.clearSolver()
            h.run()
            result = self.solver.result(h, lp, started)
        if result.status is SolveStatus.OPTIMAL:
            self._keep(key, _Kept(h, options, values))
        return result

    def _relax_and_fix(
        self,
        lp: LinearProgram,
        structure: Structure,
        time_limit_s: float | None,
        mip_rel_gap: float,
        started: float,
    ) -> SolveResult | None:
        """The better of two roundings of the LP relaxation, with the relaxation's bound and the gap
        to it (see the class docstring); None when the relaxation has no optimum, an integer column
        is not binary or neither rounding is feasible."""
        assert structure.integer is not None
        ints = np.flatnonzero(structure.integer).astype(np.int32)
        low, up = lp.col_lower[ints], lp.col_upper[ints]
        if np.any(low < 0.0) or np.any(up > 1.0):
            return None
        relaxed_lp = replace(lp, integer=None)
        relaxed = replace(structure, integer=None)
        options = (time_limit_s, mip_rel_gap, False)
        h, key, values, _ = self._load(relaxed_lp, relaxed, options)
        h.run()
        relaxation = self.solver.result(h, relaxed_lp, started)
        if relaxation.status is not SolveStatus.OPTIMAL or relaxation.x is None:
            return None  # branch and bound finds out why, as it would have
        assert relaxation.objective is not None
        x = relaxation.x[ints]
        import highspy

        best: SolveResult | None = None
        best_objective = INF
        tried: list[Array] = []
        for rounded in (np.ceil(x - 1e-6), np.floor(x + 0.5)):
            rounded = np.clip(rounded, low, up)
            if any(np.array_equal(rounded, other) for other in tried):
                continue
            tried.append(rounded)
            h.changeColsBounds(ints.size, ints, rounded, rounded)
            h.run()
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                continue  # (no irreducible subset asked for: an infeasible rounding is expected)
            result = self.solver.result(h, relaxed_lp, started)
            if result.objective is not None and result.objective < best_objective:
                best, best_objective = result, result.objective
        h.changeColsBounds(ints.size, ints, values[1][ints], values[2][ints])  # the kept model as loaded
        self._keep(key, _Kept(h, options, values))
        if best is None:
            return None
        gap = max(0.0, best_objective - relaxation.objective) / max(1.0, abs(best_objective))
        best.seconds = time.perf_counter() - started
        best.message = "optimal within the gap (relax and fix: the LP relaxation rounded and solved again)"
        best.mip_gap = gap
        best.dual_bound = relaxation.objective
        return best


@dataclass(frozen=True)
class _Kept:
    """A model kept by a :class:`HighsSession`: the solver instance, the options it was last
    configured with, and the costs and bounds it holds (c, column and row bounds)."""

    highs: Any
    options: tuple[float | None, float, bool]
    values: tuple[Array, ...]


def _normalise(model_status: object, highspy: object, primal_status: int) -> SolveStatus:
    ms = highspy.HighsModelStatus  # type: ignore[attr-defined]
    if model_status == ms.kOptimal:
        return SolveStatus.OPTIMAL
    if model_status == ms.kInfeasible:
        return SolveStatus.INFEASIBLE
    if model_status in (ms.kUnbounded, ms.kUnboundedOrInfeasible):
        return SolveStatus.UNBOUNDED
    if model_status in (ms.kTimeLimit, ms.kIterationLimit, ms.kSolutionLimit, ms.kInterrupt):
        # 2 = kSolutionStatusFeasible in HiGHS
        return SolveStatus.FEASIBLE if primal_status == 2 else SolveStatus.TIME_LIMIT
    if model_status == ms.kModelEmpty:
        return SolveStatus.OPTIMAL
    return SolveStatus.ERROR


def default_solver() -> Solver:
    """The solver used unless one is given: HiGHS."""
    if not HighsSolver.is_available():
        raise SolverError("highspy is not installed: pip install highspy", status="error")
    return HighsSolver()

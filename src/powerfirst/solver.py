"""Solvers behind one interface, with outcomes normalised into one status enum.

A model is handed over as a :class:`LinearProgram` — numpy arrays and a scipy sparse matrix,
minimisation, ``row_lower <= A x <= row_upper``, ``col_lower <= x <= col_upper``, optional
integrality — so building a model never touches solver objects. :class:`HighsSolver` passes the
arrays to HiGHS through ``highspy`` in one call. Raw solver codes never leave this module.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from powerfirst.errors import SolverError

__all__ = ["HighsSolver", "LinearProgram", "SolveResult", "SolveStatus", "Solver", "default_solver"]

INF = float("inf")


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
        return cls(nothing, sp.csc_array((0, 0)), nothing, nothing, nothing, nothing)

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

    def solve(
        self, lp: LinearProgram, *, time_limit_s: float | None = None, mip_rel_gap: float = 1e-4
    ) -> SolveResult:
        import highspy

        started = time.perf_counter()
        h = highspy.Highs()  # type: ignore[no-untyped-call]
        h.setOptionValue("output_flag", self.log)
        h.setOptionValue("solver", self.lp_method)
        if not self.presolve:
            h.setOptionValue("presolve", "off")
        if self.threads is not None:
            h.setOptionValue("threads", self.threads)
        if time_limit_s is not None:
            h.setOptionValue("time_limit", float(time_limit_s))
        h.setOptionValue("mip_rel_gap", float(mip_rel_gap))

        model = highspy.HighsLp()
        model.num_col_ = lp.num_cols
        model.num_row_ = lp.num_rows
        model.col_cost_ = np.asarray(lp.c, dtype=np.float64)
        model.col_lower_ = _finite(lp.col_lower, highspy.kHighsInf)
        model.col_upper_ = _finite(lp.col_upper, highspy.kHighsInf)
        model.row_lower_ = _finite(lp.row_lower, highspy.kHighsInf)
        model.row_upper_ = _finite(lp.row_upper, highspy.kHighsInf)
        model.offset_ = float(lp.offset)
        a = sp.csc_array(lp.a)
        a.sort_indices()
        model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        model.a_matrix_.start_ = a.indptr.astype(np.int32)
        model.a_matrix_.index_ = a.indices.astype(np.int32)
        model.a_matrix_.value_ = a.data.astype(np.float64)
        model.a_matrix_.num_col_ = lp.num_cols
        model.a_matrix_.num_row_ = lp.num_rows
        if lp.is_mip:
            assert lp.integer is not None
            model.integrality_ = [
                highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
                for flag in lp.integer
            ]
        status = h.passModel(model)
        if status == highspy.HighsStatus.kError:
            raise SolverError("HiGHS rejected the model (inconsistent arrays)", status="error")
        h.run()
        model_status = h.getModelStatus()
        seconds = time.perf_counter() - started
        info = h.getInfo()
        status_enum = _normalise(model_status, highspy, info.primal_solution_status)
        x = None
        objective = None
        if status_enum.has_solution:
            x = np.asarray(h.getSolution().col_value, dtype=np.float64)
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


def _finite(values: npt.NDArray[np.float64], inf: float) -> npt.NDArray[np.float64]:
    out = np.asarray(values, dtype=np.float64).copy()
    out[out == INF] = inf
    out[out == -INF] = -inf
    return out


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

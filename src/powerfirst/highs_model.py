"""Handing a :class:`~powerfirst.solver.LinearProgram` to highspy: the model in one call, its
structure as a key, an instance without the banner.

:class:`Structure` is what must not change for a kept model to be updated in place (the matrix and
the integer columns); :func:`pass_model` passes a whole program; :func:`new_highs` makes an instance
without HiGHS's start-up banner on stdout; :func:`finite` maps ±infinity to HiGHS's infinity.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from powerfirst.errors import SolverError

if TYPE_CHECKING:
    from powerfirst.solver import LinearProgram

__all__ = ["Structure", "finite", "new_highs", "pass_model"]

INF = float("inf")


@dataclass(frozen=True)
class Structure:
    """What must not change for a model to be updated in place: the matrix and the integers."""

    shape: tuple[int, int]
    indptr: npt.NDArray[np.int32]
    indices: npt.NDArray[np.int32]
    values: npt.NDArray[np.float64]
    integer: npt.NDArray[np.bool_] | None

    @classmethod
    def of(cls, lp: LinearProgram) -> Structure:
        """The structure of ``lp``; the same object again for a program built on the same read-only
        matrix object with the same integer columns (a matrix reused between builds, see
        :mod:`powerfirst.dispatch.lp_builder`: nothing to copy or compare)."""
        a = lp.a
        integer = lp.integer if lp.is_mip else None
        reusable = isinstance(a, (sp.csc_array, sp.csc_matrix)) and not a.data.flags.writeable
        if reusable:
            for matrix, flags, structure in _recent.structures:
                if matrix is a and (
                    flags is None if integer is None else flags is not None and np.array_equal(flags, integer)
                ):
                    return structure
        if not isinstance(a, (sp.csc_array, sp.csc_matrix)) or not a.has_sorted_indices:
            a = sp.csc_array(a)
            a.sort_indices()
        structure = cls(
            (lp.num_rows, lp.num_cols),
            np.array(a.indptr, dtype=np.int32),
            np.array(a.indices, dtype=np.int32),
            np.array(a.data, dtype=np.float64),
            None if integer is None else np.array(integer, dtype=np.bool_),
        )
        if reusable:
            recent = _recent.structures
            recent.append((lp.a, structure.integer, structure))
            del recent[:-_KEPT_STRUCTURES]
        return structure

    @cached_property
    def _key(self) -> tuple[object, ...]:
        return (
            self.shape,
            self.indptr.tobytes(),
            self.indices.tobytes(),
            (self.values + 0.0).tobytes(),  # -0.0 and 0.0 alike, as numpy compares them
            None if self.integer is None else self.integer.tobytes(),
        )

    def key(self) -> tuple[object, ...]:
        """The whole structure as bytes: equal keys are equal structures (a kept model is found by
        dictionary lookup, which hashes the bytes once and compares them in full; the same key
        object is found by identity)."""
        return self._key


_KEPT_STRUCTURES = 8
"""Structures of read-only matrices remembered per thread [count]."""


class _Recent(threading.local):
    """(matrix, integer flags, structure) of the last read-only matrices seen in this thread."""

    def __init__(self) -> None:
        self.structures: list[tuple[object, npt.NDArray[np.bool_] | None, Structure]] = []


_recent = _Recent()


_BANNER_SILENCED = False


def new_highs() -> Any:
    """A ``highspy.Highs`` instance, without the banner HiGHS prints to stdout on its first construction.

    HiGHS writes "Running HiGHS … Copyright …" from C++ when the first instance of a process is
    made, before any option can be set; file descriptor 1 is pointed at the null device for that
    one construction (C streams flushed before it is restored).
    """
    global _BANNER_SILENCED
    import highspy

    if _BANNER_SILENCED:
        return highspy.Highs()  # type: ignore[no-untyped-call]
    try:
        libc: Any = ctypes.CDLL(None)
        saved = os.dup(1)
    except (OSError, TypeError):  # no C library to flush or no stdout to point away: as is
        h = highspy.Highs()  # type: ignore[no-untyped-call]
    else:
        sys.stdout.flush()
        libc.fflush(None)
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 1)
                try:
                    h = highspy.Highs()  # type: ignore[no-untyped-call]
                    h.setOptionValue("output_flag", False)
                finally:
                    libc.fflush(None)
                    os.dup2(saved, 1)
        finally:
            os.close(saved)
    _BANNER_SILENCED = True
    return h


def pass_model(h: Any, lp: LinearProgram, structure: Structure | None = None) -> None:
    """Hand ``lp`` to the highspy instance ``h`` in one call."""
    import highspy

    structure = structure or Structure.of(lp)
    model = highspy.HighsLp()
    model.num_col_ = lp.num_cols
    model.num_row_ = lp.num_rows
    model.col_cost_ = np.asarray(lp.c, dtype=np.float64)
    model.col_lower_ = finite(lp.col_lower)
    model.col_upper_ = finite(lp.col_upper)
    model.row_lower_ = finite(lp.row_lower)
    model.row_upper_ = finite(lp.row_upper)
    model.offset_ = float(lp.offset)
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = structure.indptr
    model.a_matrix_.index_ = structure.indices
    model.a_matrix_.value_ = structure.values
    model.a_matrix_.num_col_ = lp.num_cols
    model.a_matrix_.num_row_ = lp.num_rows
    if structure.integer is not None:
        model.integrality_ = [
            highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
            for flag in structure.integer
        ]
    status = h.passModel(model)
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model (inconsistent arrays)", status="error")


def finite(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """A float64 copy of ``values`` with ±infinity as HiGHS's infinity (``kHighsInf``: IEEE
    infinity in the builds highspy ships, then a plain copy)."""
    out = np.array(values, dtype=np.float64)
    inf = _highs_inf()
    if inf != INF:
        out[out == INF] = inf
        out[out == -INF] = -inf
    return out


@cache
def _highs_inf() -> float:
    """HiGHS's infinity (highspy imported on first use: a slow import)."""
    import highspy

    return float(highspy.kHighsInf)

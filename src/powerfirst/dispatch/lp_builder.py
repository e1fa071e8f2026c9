"""Assemble a :class:`~powerfirst.solver.LinearProgram` from blocks of columns and rows.

Columns and rows are added in blocks (numpy arrays, one entry per interval or per hour); each
block carries a readable label and the interval of each of its entries, so any row or column can
be named ("grid connection limit 100 MW at 2023-08-10T22:00Z") when the solver reports an
irreducible infeasible subset. Matrix entries are COO triplets, turned into one CSC matrix once.

A rolling controller builds the same matrix again and again (only costs and bounds move with the
forecast): the last few matrices built in a thread are kept, and a build whose entries equal one of
them returns that matrix object, read-only (comparing the entries costs a fraction of sorting them
into a new matrix, and a solver session that sees the same matrix object again skips comparing its
structure).
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from powerfirst._types import Array, IntArray
from powerfirst.solver import LinearProgram

__all__ = ["LpBuilder"]

Numbers = npt.NDArray[Any]
"""Any numeric array (converted to float64 or int64 on the way in)."""


@dataclass(frozen=True)
class _Block:
    first: int
    count: int
    label: str
    times: IntArray
    """Interval index of each entry (-1: not tied to an interval)."""


class LpBuilder:
    """Columns, rows and COO entries of a minimisation LP/MILP over the intervals ``times_utc``."""

    def __init__(self, times_utc: pd.DatetimeIndex) -> None:
        self.times_utc = times_utc
        self._costs: list[Array] = []
        self._col_low: list[Array] = []
        self._col_up: list[Array] = []
        self._integer: list[tuple[int, bool]] = []
        """(columns, whether integer) of each block of columns."""
        self._col_blocks: list[_Block] = []
        self.num_cols = 0
        self._rows: list[IntArray] = []
        self._cols: list[IntArray] = []
        self._vals: list[Array] = []
        self._row_low: list[Array] = []
        self._row_up: list[Array] = []
        self._row_blocks: list[_Block] = []
        self.num_rows = 0

    def add_cols(
        self,
        label: str,
        cost: Numbers,
        low: Numbers,
        up: Numbers,
        times: Numbers,
        *,
        integer: bool = False,
    ) -> IntArray:
        """Add one column per entry; returns their indices."""
        costs = np.asarray(cost, dtype=np.float64)
        count = int(costs.shape[0])
        first = self.num_cols
        self._costs.append(costs)
        self._col_low.append(np.asarray(low, dtype=np.float64))
        self._col_up.append(np.asarray(up, dtype=np.float64))
        self._integer.append((count, integer))
        self._col_blocks.append(_Block(first, count, label, np.asarray(times, dtype=np.int64)))
        self.num_cols += count
        return np.arange(first, first + count, dtype=np.int64)

    def add_rows(
        self,
        label: str,
        low: Numbers,
        up: Numbers,
        entries: list[tuple[Numbers, Numbers, Numbers]],
        times: Numbers,
    ) -> IntArray:
        """Add one row per entry of ``low``; ``entries`` are (local row, column, value) triplets."""
        count = int(np.asarray(low).shape[0])
        first = self.num_rows
        for local_rows, cols, vals in entries:
            self._rows.append(np.asarray(local_rows, dtype=np.int64) + first)
            self._cols.append(np.asarray(cols, dtype=np.int64))
            values = np.asarray(vals, dtype=np.float64)
            shape = np.shape(local_rows)
            self._vals.append(values if values.shape == shape else np.full(shape, values))
        self._row_low.append(np.asarray(low, dtype=np.float64))
        self._row_up.append(np.asarray(up, dtype=np.float64))
        self._row_blocks.append(_Block(first, count, label, np.asarray(times, dtype=np.int64)))
        self.num_rows += count
        return np.arange(first, first + count, dtype=np.int64)

    def _stamp(self, t: int) -> str:
        return str(self.times_utc[t].strftime("%Y-%m-%dT%H:%MZ"))

    def _name(self, blocks: list[_Block], index: int, what: str) -> str:
        starts = [b.first for b in blocks]
        k = bisect.bisect_right(starts, index) - 1
        if k < 0 or index >= blocks[k].first + blocks[k].count:
            return f"{what} {index}"
        block = blocks[k]
        t = int(block.times[index - block.first]) if block.times.size else -1
        return block.label + (f" at {self._stamp(t)}" if t >= 0 else "")

    def build(self, offset: float = 0.0) -> LinearProgram:
        num_cols = self.num_cols
        a = _csc(self._rows, self._cols, self._vals, (self.num_rows, num_cols))
        integer = np.repeat(
            np.array([flag for _, flag in self._integer], dtype=bool),
            np.array([count for count, _ in self._integer], dtype=np.int64),
        )
        col_blocks, row_blocks = list(self._col_blocks), list(self._row_blocks)
        return LinearProgram(
            c=np.concatenate(self._costs) if self._costs else np.zeros(0),
            a=a,
            row_lower=np.concatenate(self._row_low) if self._row_low else np.zeros(0),
            row_upper=np.concatenate(self._row_up) if self._row_up else np.zeros(0),
            col_lower=np.concatenate(self._col_low) if self._col_low else np.zeros(0),
            col_upper=np.concatenate(self._col_up) if self._col_up else np.zeros(0),
            integer=integer if integer.any() else None,
            offset=offset,
            row_name=lambda i: self._name(row_blocks, i, "row"),
            col_name=lambda j: self._name(col_blocks, j, "column"),
        )


_KEPT_MATRICES = 8
"""Matrices kept per thread for reuse [count] (a rolling horizon cycles through a few structures)."""


class _Kept(threading.local):
    """The last matrices built in this thread, with their COO entries (most recent last)."""

    def __init__(self) -> None:
        self.matrices: list[tuple[tuple[int, int], IntArray, IntArray, Array, sp.csc_array]] = []


_kept = _Kept()


def _csc(
    rows: list[IntArray], cols: list[IntArray], vals: list[Array], shape: tuple[int, int]
) -> sp.csc_array:
    """The CSC matrix of the COO entries (row indices sorted in each column), as
    ``sp.csc_array(sp.coo_array(...))`` makes it; sorted here with numpy, which skips scipy's
    per-call checks (a re-solve builds thousands of these). Duplicate entries are left to scipy,
    which sums them. Entries equal to those of a matrix kept in this thread give that matrix
    (read-only: it is shared by every program built from those entries)."""
    if not rows:
        return sp.csc_array(shape)
    row = np.concatenate(rows)
    col = np.concatenate(cols)
    val = np.concatenate(vals)
    kept = _kept.matrices
    for k, (k_shape, k_row, k_col, k_val, matrix) in enumerate(kept):
        if (
            k_shape == shape
            and k_row.size == row.size
            and np.array_equal(k_row, row)
            and np.array_equal(k_col, col)
            and np.array_equal(k_val, val)
        ):
            kept.append(kept.pop(k))
            return matrix
    matrix = _sorted_csc(row, col, val, shape)
    for part in (matrix.data, matrix.indices, matrix.indptr):
        part.flags.writeable = False
    kept.append((shape, row, col, val, matrix))
    del kept[:-_KEPT_MATRICES]
    return matrix


def _sorted_csc(row: IntArray, col: IntArray, val: Array, shape: tuple[int, int]) -> sp.csc_array:
    """A new CSC matrix of the COO entries (see :func:`_csc`)."""
    if row.size and not _in_range(row, col, shape):
        return sp.csc_array(sp.coo_array((val, (row, col)), shape=shape))  # scipy's own error
    key = col * max(shape[0], 1) + row  # column-major position of each entry
    order = np.argsort(key, kind="stable")
    key = key[order]
    if bool((key[1:] == key[:-1]).any()):  # duplicates: scipy sums them
        return sp.csc_array(sp.coo_array((val, (row, col)), shape=shape))
    row, col = row[order], col[order]
    indptr = np.zeros(shape[1] + 1, dtype=np.int64)
    np.cumsum(np.bincount(col, minlength=shape[1]), out=indptr[1:])
    a = sp.csc_array((val[order], row, indptr), shape=shape)
    a.has_sorted_indices = True
    return a


def _in_range(row: IntArray, col: IntArray, shape: tuple[int, int]) -> bool:
    """Every entry inside the matrix (else scipy raises its own error)."""
    return bool(row.min() >= 0 and row.max() < shape[0] and col.min() >= 0 and col.max() < shape[1])

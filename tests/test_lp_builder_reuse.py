"""A matrix built again from the same entries is the same read-only object, and a solver session
reuses its structure (issue 9, rolling speed); different entries or integer columns never do."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from powerfirst.dispatch.lp_builder import LpBuilder
from powerfirst.highs_model import Structure
from powerfirst.solver import HighsSolver, LinearProgram, SolveStatus

_TIMES = pd.date_range("2024-03-01", periods=3, freq="15min", tz="UTC")


def _program(coefficient: float, cost: float, *, integer: bool = False) -> LinearProgram:
    """max Σ x (as min −Σ x) s.t. x_t + coefficient · x_{t+1} ≤ 4, 0 ≤ x ≤ 3 (three intervals)."""
    b = LpBuilder(_TIMES)
    ts = np.arange(3, dtype=np.int64)
    x = b.add_cols("x", np.full(3, -cost), np.zeros(3), np.full(3, 3.0), ts, integer=integer)
    b.add_rows(
        "pair",
        np.full(2, -np.inf),
        np.full(2, 4.0),
        [(ts[:2], x[:2], np.ones(2)), (ts[:2], x[1:], np.full(2, coefficient))],
        ts[:2],
    )
    return b.build()


def test_the_same_entries_give_the_same_read_only_matrix_and_structure() -> None:
    first, again = _program(1.0, 1.0), _program(1.0, 2.5)
    assert again.a is first.a  # costs moved, the matrix did not
    assert not first.a.data.flags.writeable and not first.a.indices.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        first.a.data[0] = 7.0
    assert Structure.of(again) is Structure.of(first)
    assert Structure.of(again).key() is Structure.of(first).key()


def test_other_entries_or_integers_give_their_own_matrix_and_structure() -> None:
    base = _program(1.0, 1.0)
    other = _program(2.0, 1.0)
    assert other.a is not base.a
    assert not np.array_equal(other.a.toarray(), base.a.toarray())
    assert Structure.of(other).key() != Structure.of(base).key()
    integral = _program(1.0, 1.0, integer=True)
    assert integral.a is base.a  # same entries …
    assert Structure.of(integral) is not Structure.of(base)  # … but integer columns: another structure
    assert Structure.of(integral).key() != Structure.of(base).key()


def test_a_session_solves_programs_on_a_shared_matrix_as_a_fresh_solver_does() -> None:
    solver = HighsSolver()
    session = solver.session()
    for coefficient, cost in [(1.0, 1.0), (1.0, 3.0), (2.0, 1.0), (1.0, 0.5)]:
        lp = _program(coefficient, cost)
        kept, fresh = session.solve(lp), solver.solve(lp)
        assert kept.status is SolveStatus.OPTIMAL and fresh.status is SolveStatus.OPTIMAL
        assert kept.objective == pytest.approx(fresh.objective, abs=1e-9)
        assert kept.x is not None and fresh.x is not None
        np.testing.assert_allclose(kept.x, fresh.x, atol=1e-9)
    # x_t + x_{t+1} ≤ 4 with x ≤ 3: at most 3 + 1 + 3 = 7 units, worth 7 × cost
    assert session.solve(_program(1.0, 2.0)).objective == pytest.approx(-14.0)


def test_threads_keep_their_own_matrices() -> None:
    mine = _program(1.0, 1.0)
    seen: list[object] = []
    thread = threading.Thread(target=lambda: seen.append(_program(1.0, 1.0).a))
    thread.start()
    thread.join(timeout=30)
    assert len(seen) == 1 and seen[0] is not mine.a
    np.testing.assert_array_equal(mine.a.toarray(), seen[0].toarray())  # type: ignore[attr-defined]

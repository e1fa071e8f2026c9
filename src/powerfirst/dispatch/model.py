"""The dispatch LP, built directly as sparse matrices with numpy.

Variables, per fleet f and interval t (all MW at the meter):

* ``x[f,t]``  power, in [min_power, max_power];
* ``s[f,t]``  power started at t (≥ x[t] − x[t−1]); only when the fleet has a restart time or a
  minimum off time;
* ``d[f,t]``  power switched off at t; only when the fleet has a minimum off time;
* ``n[f,t]``  integer number of switch blocks on; only when the fleet switches in blocks
  (``switch_block_units``), with x = block MW × n. This is the only integer variable: without
  blocks the model is an LP.

Constraints:

* grid:          Σ_f x[f,t] ≤ connection limit                                  (T rows)
* balance:       x[t] − x[t−1] − s[t] + d[t] = 0, with x[−1] the initial power   (T rows per fleet
                 with a minimum off time; a fleet with only a restart time has
                 x[t] − x[t−1] − s[t] ≤ 0 instead)
* blocks:        x[t] − block MW · n[t] = 0                                      (T rows per blocked fleet)
* anti-cycling:  x[t] + Σ_{k=t−L+1..t} d[k] ≤ max power: power switched off in the last L intervals
  cannot run (L = minimum off time in intervals). Fleets are many identical units, so this
  aggregated form is exact for whole-unit switching up to rounding of one unit, and stays an LP.

Objective (maximised; built as minimisation of its negative):

    Σ_t Σ_f (mining rate − price − adders)·x·Δt − Σ_t Σ_f mining rate·restart hours·s + constant

where the constant is the fixed block's value at the real-time price less its cost. The objective
equals the net margin that :mod:`powerfirst.accounting` books for the same decisions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.solver import INF, LinearProgram

__all__ = ["DispatchModel", "build_dispatch_model"]

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass
class DispatchModel:
    """The LP and the map from its columns back to fleet power."""

    lp: LinearProgram
    x_offset: list[int]
    """Column of x[f, 0] for each fleet."""
    num_intervals: int

    def power_mw(self, solution: Array) -> Array:
        """Fleet power (F, T) [MW] from a solution vector."""
        t = self.num_intervals
        return np.vstack([solution[o : o + t] for o in self.x_offset])


class _Builder:
    """Accumulates COO triplets and row bounds block by block."""

    def __init__(self) -> None:
        self.rows: list[IntArray] = []
        self.cols: list[IntArray] = []
        self.vals: list[Array] = []
        self.lower: list[Array] = []
        self.upper: list[Array] = []
        self.blocks: list[tuple[int, int, str, int]] = []  # (first row, count, kind, fleet)
        self.num_rows = 0

    def add_block(
        self,
        kind: str,
        fleet: int,
        count: int,
        lower: Array,
        upper: Array,
        entries: list[tuple[IntArray, IntArray, Array]],
    ) -> None:
        for local_rows, cols, vals in entries:
            self.rows.append(local_rows + self.num_rows)
            self.cols.append(cols)
            self.vals.append(vals)
        self.lower.append(lower)
        self.upper.append(upper)
        self.blocks.append((self.num_rows, count, kind, fleet))
        self.num_rows += count

    def matrix(self, num_cols: int) -> sp.csc_array:
        if not self.rows:
            return sp.csc_array((0, num_cols))
        coo = sp.coo_array(
            (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
            shape=(self.num_rows, num_cols),
        )
        return sp.csc_array(coo)


def build_dispatch_model(inputs: DispatchInputs, initial_power_mw: Array | None = None) -> DispatchModel:
    """Build the dispatch LP for ``inputs``.

    ``initial_power_mw`` (F,) is each fleet's power in the interval before the first one [MW];
    default: every fleet at full power.
    """
    t_count = inputs.num_intervals
    fleets = inputs.fleets
    initial = (
        inputs.max_power_mw if initial_power_mw is None else np.asarray(initial_power_mw, dtype=np.float64)
    )
    dt = inputs.interval_hours
    margin = inputs.margin_rate_usd_per_mwh()
    mining = inputs.mining_rate_usd_per_mwh()
    ts = np.arange(t_count, dtype=np.int64)

    costs: list[Array] = []
    lows: list[Array] = []
    ups: list[Array] = []
    integer: list[npt.NDArray[np.bool_]] = []
    col_labels: list[tuple[int, str, int]] = []  # (first column, kind, fleet)
    x_offset: list[int] = []
    s_offset: dict[int, int] = {}
    d_offset: dict[int, int] = {}
    n_offset: dict[int, int] = {}
    num_cols = 0

    def add_cols(kind: str, f: int, cost: Array, low: Array, up: Array) -> int:
        nonlocal num_cols
        first = num_cols
        costs.append(cost)
        lows.append(low)
        ups.append(up)
        integer.append(np.full(t_count, kind == "n"))
        col_labels.append((first, kind, f))
        num_cols += t_count
        return first

    for f, fleet in enumerate(fleets):
        x_offset.append(
            add_cols(
                "x",
                f,
                -margin[f] * dt,
                np.full(t_count, fleet.min_power_mw),
                np.full(t_count, fleet.max_power_mw),
            )
        )
        if fleet.restart_hours > 0 or fleet.min_off_intervals > 0:
            s_offset[f] = add_cols(
                "s",
                f,
                mining[f] * fleet.restart_hours,
                np.zeros(t_count),
                np.full(t_count, fleet.max_power_mw),
            )
        if fleet.min_off_intervals > 0:
            d_offset[f] = add_cols(
                "d", f, np.zeros(t_count), np.zeros(t_count), np.full(t_count, fleet.max_power_mw)
            )
        if fleet.switch_block_mw > 0:
            blocks = round(fleet.max_power_mw / fleet.switch_block_mw)
            least = round(fleet.min_power_mw / fleet.switch_block_mw)
            n_offset[f] = add_cols(
                "n", f, np.zeros(t_count), np.full(t_count, float(least)), np.full(t_count, float(blocks))
            )

    b = _Builder()
    if inputs.grid_limit_mw < float(inputs.max_power_mw.sum()) - 1e-9:
        entries = [(ts, ts + x_offset[f], np.ones(t_count)) for f in range(len(fleets))]
        b.add_block(
            "grid", -1, t_count, np.full(t_count, -INF), np.full(t_count, inputs.grid_limit_mw), entries
        )

    for f, fleet in enumerate(fleets):
        if f in n_offset:
            entries = [
                (ts, ts + x_offset[f], np.ones(t_count)),
                (ts, ts + n_offset[f], np.full(t_count, -fleet.switch_block_mw)),
            ]
            b.add_block("blocks", f, t_count, np.zeros(t_count), np.zeros(t_count), entries)
        if f not in s_offset:
            continue
        xo, so = x_offset[f], s_offset[f]
        # x[t] - x[t-1] - s[t] (+ d[t]) ; x[-1] = initial moves to the right-hand side
        entries = [
            (ts, ts + xo, np.ones(t_count)),
            (ts[1:], ts[:-1] + xo, -np.ones(t_count - 1)),
            (ts, ts + so, -np.ones(t_count)),
        ]
        rhs = np.zeros(t_count)
        rhs[0] = initial[f]
        if f in d_offset:
            entries.append((ts, ts + d_offset[f], np.ones(t_count)))
            b.add_block("balance", f, t_count, rhs, rhs.copy(), entries)
            lags = fleet.min_off_intervals
            avail_entries = [(ts, ts + xo, np.ones(t_count))]
            for lag in range(min(lags, t_count)):
                avail_entries.append((ts[lag:], ts[: t_count - lag] + d_offset[f], np.ones(t_count - lag)))
            b.add_block(
                "anti_cycling",
                f,
                t_count,
                np.full(t_count, -INF),
                np.full(t_count, fleet.max_power_mw),
                avail_entries,
            )
        else:
            b.add_block("start", f, t_count, np.full(t_count, -INF), rhs, entries)

    times = inputs.times_utc

    def stamp(t: int) -> str:
        return str(times[t].strftime("%Y-%m-%dT%H:%MZ"))

    def row_name(i: int) -> str:
        for first, count, kind, f in b.blocks:
            if first <= i < first + count:
                t = i - first
                if kind == "grid":
                    return f"grid connection limit {inputs.grid_limit_mw:g} MW at {stamp(t)}"
                name = fleets[f].name
                if kind == "blocks":
                    return f"fleet {name!r} runs whole switch blocks of {fleets[f].switch_block_mw:g} MW, at {stamp(t)}"
                if kind == "anti_cycling":
                    return f"fleet {name!r}: units switched off in the last {fleets[f].min_off_intervals} intervals stay off, at {stamp(t)}"
                return f"fleet {name!r}: power change bookkeeping at {stamp(t)}"
        return f"row {i}"

    def col_name(j: int) -> str:
        for first, kind, f in col_labels:
            if first <= j < first + t_count:
                t = j - first
                fleet = fleets[f]
                if kind == "x":
                    return (
                        f"fleet {fleet.name!r} power within [{fleet.min_power_mw:g}, {fleet.max_power_mw:g}] MW "
                        f"(minimum is its must-run share) at {stamp(t)}"
                    )
                if kind == "n":
                    return f"fleet {fleet.name!r} number of switch blocks on at {stamp(t)}"
                return f"fleet {fleet.name!r} {'start' if kind == 's' else 'stop'} at {stamp(t)}"
        return f"column {j}"

    lp = LinearProgram(
        c=np.concatenate(costs),
        a=b.matrix(num_cols),
        row_lower=np.concatenate(b.lower) if b.lower else np.zeros(0),
        row_upper=np.concatenate(b.upper) if b.upper else np.zeros(0),
        col_lower=np.concatenate(lows),
        col_upper=np.concatenate(ups),
        integer=np.concatenate(integer) if n_offset else None,
        offset=-inputs.constant_margin_usd(),
        row_name=row_name,
        col_name=col_name,
    )
    return DispatchModel(lp=lp, x_offset=x_offset, num_intervals=t_count)

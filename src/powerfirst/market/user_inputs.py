"""The market inputs a user gives as files: system load and ancillary-service prices.

Both are CSVs in the format of the bundled ERCOT files (``src/powerfirst/data/ercot``): a column
``interval_start_utc`` (ISO-8601 with ``Z`` or an offset), optionally ``interval_start_local``,
and one numeric column per series. Empty cells are missing hours (never filled). Errors name the
file, the row (as a spreadsheet counts it: the header is row 1), the column and the unit.

* system load [MW]: ``path.csv:COLUMN`` (the ``--prices`` syntax), hourly or finer; finer data is
  averaged over each clock hour (the bundled ERCOT native load is hourly);
* ancillary-service prices [USD/MW per hour]: ``path.csv`` with a column per product (REGDN,
  REGUP, RRS, NSPIN, ECRS), one row per hour, like ``ercot_dam_as_mcpc_hourly_2022_2023.csv.gz``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from powerfirst.csv_input import CsvTable, check_grid, parse_instants, read_table
from powerfirst.errors import DataError
from powerfirst.market.source_spec import SourceSpec, file_spec

__all__ = [
    "MAX_AS_PRICE_USD_PER_MW_HOUR",
    "MAX_LOAD_MW",
    "read_ancillary_csv",
    "read_load_csv",
]

MAX_LOAD_MW = 2_000_000.0
"""Largest plausible system load [MW] (every grid in the world is below this)."""
MAX_AS_PRICE_USD_PER_MW_HOUR = 100_000.0
"""Largest plausible capacity price [USD/MW per hour] (ERCOT's cap is 5,000)."""
_HOUR = pd.Timedelta(hours=1)


def _read_columns(path: Path, what: str, wanted: list[str], absent_hint: str = "") -> CsvTable:
    """The file read strictly, with ``interval_start_utc`` and the ``wanted`` columns (text; empty
    cells NaN); DataError for a missing file or column (``absent_hint`` added to a missing-column
    message), a bad header, row or encoding."""
    try:
        return read_table(
            path,
            f"{what} file {path}",
            key=("interval_start_utc",),
            key_hint="ISO-8601 hour start with Z or a UTC offset",
            required=wanted,
            na_tokens=True,
        )
    except DataError as exc:
        if absent_hint and "missing column" in str(exc):
            raise DataError(f"{exc}{absent_hint}") from None
        raise


def _times(table: CsvTable) -> tuple[pd.DatetimeIndex, npt.NDArray[np.int64]]:
    """Sorted interval starts and the spreadsheet row of each; DataError for a repeated start."""
    index = parse_instants(table, "interval_start_utc", "2024-01-01T06:00:00Z")
    repeated = index.duplicated(keep=False)
    if repeated.any():
        first = index[repeated][0]
        raise table.error(
            f"interval_start_utc {first.isoformat()} appears more than once; "
            "write interval starts in UTC (a file in local time repeats the fall-back hour of DST)"
        )
    order = np.argsort(index.asi8, kind="stable")
    return index[order], order.astype(np.int64) + 2


def _numbers(frame: pd.DataFrame, column: str, path: Path, what: str, unit: str, limit: float) -> pd.Series:
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    unparsable = (values.isna() & raw.notna() & (raw.str.strip() != "")).to_numpy()
    if unparsable.any():
        row = int(np.flatnonzero(unparsable)[0])
        raise DataError(
            f"{what} file {path}: row {row + 2}: {column} = {raw.iloc[row]!r} is not a number [{unit}]"
        )
    outside = (values.notna() & ~((values >= 0) & (values <= limit))).to_numpy()
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        raise DataError(
            f"{what} file {path}: row {row + 2}: {column} = {raw.iloc[row]} {unit} is outside 0 to "
            f"{limit:,.0f} {unit} (check the column and its unit)"
        )
    return values.astype("float64")


_Frame = TypeVar("_Frame", pd.Series, pd.DataFrame)

_READ: dict[tuple[str, str, int, int, tuple[str, ...]], pd.Series | pd.DataFrame] = {}
"""Files read whole and checked, by (kind, resolved path, size, mtime, columns): a backtest checks
every user file before any work and then reads it again where it is used (the window, the history
before it); an unchanged file is read once. Errors are not kept: each caller's ``what`` labels its own."""


def _read_once(kind: str, path: Path, columns: tuple[str, ...], read: Callable[[], _Frame]) -> _Frame:
    """``read()``'s result for the file as it is now, read at most once while unchanged (a copy)."""
    try:
        stat = path.stat()
        key = (kind, str(path.resolve()), stat.st_size, stat.st_mtime_ns, columns)
    except OSError:
        return read()  # not found, not readable: ``read`` names it
    if key not in _READ:
        _READ[key] = read()
    return _READ[key].copy()  # type: ignore[return-value]


def read_load_csv(spec: str | SourceSpec, what: str = "--load") -> pd.Series:
    """Hourly system load [MW] by UTC hour start from ``path.csv:COLUMN`` (sub-hourly rows are
    averaged over the clock hour; rows of a coarser grid are an error; one interval length per
    file, see :mod:`powerfirst.csv_input`). ``what`` names the flag or site-file field the file was
    given as (``--load``, ``market_data.load``) in errors."""
    what = f"{what} (system load)"
    parsed = spec if isinstance(spec, SourceSpec) else file_spec(spec, what)
    path, column = parsed.path, parsed.point
    return _read_once("load", path, (column,), lambda: _read_load(path, column, what))


def _read_load(path: Path, column: str, what: str) -> pd.Series:
    table = _read_columns(path, what, [column])
    index, rows = _times(table)
    numbers = _numbers(table.frame, column, path, what, "MW", MAX_LOAD_MW).to_numpy()
    values = pd.Series(numbers[rows - 2], index=index)
    if len(values) >= 2:
        step = check_grid(table, index, rows)
        if step > _HOUR:
            raise table.error(f"rows are {step} apart; system load must be hourly or finer [MW per hour]")
    known = values.dropna()
    hourly = known.groupby(pd.DatetimeIndex(known.index).floor("h")).mean()
    hourly.index = pd.DatetimeIndex(hourly.index, name="interval_start_utc").as_unit("ns")
    return hourly.astype("float64").rename("system_load_mw")


def read_ancillary_csv(
    path: str | Path, products: tuple[str, ...], what: str = "--ancillary-prices"
) -> pd.DataFrame:
    """Hourly ancillary-service capacity prices [USD/MW per hour], one column per product, indexed
    by UTC hour start. Every listed product needs a column; empty cells are hours without a price;
    every row starts an hour. ``what`` names the flag or site-file field the file was given as in
    errors."""
    what = f"{what} (ancillary-service prices)"
    path = Path(path)
    return _read_once("ancillary", path, products, lambda: _read_ancillary(path, products, what))


def _read_ancillary(path: Path, products: tuple[str, ...], what: str) -> pd.DataFrame:
    hint = "; add the column, or drop the product from ancillary.products in the site file"
    table = _read_columns(path, what, list(products), hint)
    index, rows = _times(table)
    off_hour = index != index.floor("h")
    if off_hour.any():
        i = int(np.flatnonzero(off_hour)[0])
        raise table.error(
            f"row {rows[i]}: interval_start_utc = {index[i].isoformat()} is not the start "
            "of an hour; ancillary prices are hourly [USD/MW per hour]"
        )
    if len(index) >= 2:
        check_grid(table, index, rows)
    table_prices = pd.DataFrame(
        {
            p: _numbers(
                table.frame, p, path, what, "USD/MW per hour", MAX_AS_PRICE_USD_PER_MW_HOUR
            ).to_numpy()[rows - 2]
            for p in products
        },
        index=index,
    )
    return table_prices

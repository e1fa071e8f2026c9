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

from pathlib import Path

import numpy as np
import pandas as pd

from powerfirst.errors import DataError

__all__ = [
    "MAX_AS_PRICE_USD_PER_MW_HOUR",
    "MAX_LOAD_MW",
    "read_ancillary_csv",
    "read_load_csv",
    "split_source",
]

MAX_LOAD_MW = 2_000_000.0
"""Largest plausible system load [MW] (every grid in the world is below this)."""
MAX_AS_PRICE_USD_PER_MW_HOUR = 100_000.0
"""Largest plausible capacity price [USD/MW per hour] (ERCOT's cap is 5,000)."""
_HOUR = pd.Timedelta(hours=1)


def split_source(spec: str, what: str) -> tuple[Path, str]:
    """``path.csv:COLUMN`` → (path, column); a DataError naming ``what`` otherwise."""
    head, sep, column = spec.rpartition(":")
    if not sep or not head.strip() or not column:
        raise DataError(f"{what} = {spec!r}: give path.csv:COLUMN (a CSV with an interval_start_utc column)")
    return Path(head), column


def _read_columns(path: Path, what: str, wanted: list[str], absent_hint: str = "") -> pd.DataFrame:
    """The text of ``interval_start_utc`` and the ``wanted`` columns; DataError for a missing file/column."""
    if not path.is_file():
        raise DataError(f"{what} file {path}: not found")
    try:
        header = pd.read_csv(path, nrows=0)
        columns = list(map(str, header.columns))
        if "interval_start_utc" not in columns:
            raise DataError(
                f"{what} file {path}: missing column 'interval_start_utc' (ISO-8601 hour start in UTC); "
                f"columns found: {', '.join(columns) or 'none'}"
            )
        absent = [c for c in wanted if c not in columns]
        if absent:
            others = [c for c in columns if c not in {"interval_start_utc", "interval_start_local"}]
            raise DataError(
                f"{what} file {path}: no column {', '.join(map(repr, absent))}; columns found: "
                f"{', '.join(others) or 'none'}{absent_hint}"
            )
        return pd.read_csv(path, usecols=["interval_start_utc", *wanted], dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{what} file {path}: not a readable CSV file ({exc})") from None


def _times(frame: pd.DataFrame, path: Path, what: str) -> pd.DatetimeIndex:
    stamps = pd.to_datetime(frame["interval_start_utc"], utc=True, format="ISO8601", errors="coerce")
    bad = stamps.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{what} file {path}: row {row + 2}: interval_start_utc = {frame['interval_start_utc'].iloc[row]!r} "
            "is not an ISO-8601 time (e.g. 2024-01-01T06:00:00Z)"
        )
    index = pd.DatetimeIndex(stamps, name="interval_start_utc").as_unit("ns")
    repeated = index.duplicated(keep=False)
    if repeated.any():
        first = index[repeated][0]
        raise DataError(
            f"{what} file {path}: interval_start_utc {first.isoformat()} appears more than once; "
            "write interval starts in UTC (a file in local time repeats the fall-back hour of DST)"
        )
    return index


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


def read_load_csv(spec: str, what: str = "--load") -> pd.Series:
    """Hourly system load [MW] by UTC hour start from ``path.csv:COLUMN`` (sub-hourly rows are
    averaged over the clock hour; rows of a coarser grid are an error). ``what`` names the flag or
    site-file field the file was given as (``--load``, ``market_data.load``) in errors."""
    what = f"{what} (system load)"
    path, column = split_source(spec, what)
    frame = _read_columns(path, what, [column])
    index = _times(frame, path, what)
    values = pd.Series(
        _numbers(frame, column, path, what, "MW", MAX_LOAD_MW).to_numpy(), index=index
    ).sort_index()
    if len(values) >= 2:
        step = pd.Timedelta(values.index.to_series().diff().dropna().mode().iloc[0])
        if step > _HOUR:
            raise DataError(
                f"{what} file {path}: rows are {step} apart; system load must be hourly or finer [MW per hour]"
            )
    known = values.dropna()
    hourly = known.groupby(pd.DatetimeIndex(known.index).floor("h")).mean()
    hourly.index = pd.DatetimeIndex(hourly.index, name="interval_start_utc").as_unit("ns")
    return hourly.astype("float64").rename("system_load_mw")


def read_ancillary_csv(
    path: str | Path, products: tuple[str, ...], what: str = "--ancillary-prices"
) -> pd.DataFrame:
    """Hourly ancillary-service capacity prices [USD/MW per hour], one column per product, indexed
    by UTC hour start. Every listed product needs a column; empty cells are hours without a price.
    ``what`` names the flag or site-file field the file was given as in errors."""
    what = f"{what} (ancillary-service prices)"
    path = Path(path)
    hint = "; add the column, or drop the product from ancillary.products in the site file"
    frame = _read_columns(path, what, list(products), hint)
    index = _times(frame, path, what)
    off_hour = index != index.floor("h")
    if off_hour.any():
        row = int(np.flatnonzero(off_hour)[0])
        raise DataError(
            f"{what} file {path}: row {row + 2}: interval_start_utc = {index[row].isoformat()} is not the start "
            "of an hour; ancillary prices are hourly [USD/MW per hour]"
        )
    table = pd.DataFrame(
        {
            p: _numbers(frame, p, path, what, "USD/MW per hour", MAX_AS_PRICE_USD_PER_MW_HOUR).to_numpy()
            for p in products
        },
        index=index,
    )
    return table.sort_index()

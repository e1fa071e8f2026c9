"""Strict reading of a user's CSV data file: the one place every data-file reader opens its file.

Every user CSV (prices, system load, ancillary prices, 4CP peaks, inference demand, rental prices,
hashprice) goes through :func:`read_table`, which refuses instead of guessing:

* the file must be UTF-8 text (a BOM is allowed; ``.gz``/``.bz2``/``.xz`` are decompressed first);
  other bytes are an error naming the byte offset;
* the header must name each column once (pandas would silently rename a repeat to ``x.1``);
* every row has exactly as many fields as the header; a blank line inside the data is an error
  (a missing value is a row with an empty cell); blank lines at the end are ignored;
* the file must have its key column (e.g. ``interval_start_utc``). Only a file that has it is
  treated as a CSV of the expected kind whose columns may be listed in a message; for any other
  file the message says what is missing without quoting the file's content.

Rows are counted as a spreadsheet counts them: the header is row 1, the first data row row 2.

Time columns (:func:`parse_instants`): ``interval_start_utc`` values are ISO-8601 times that carry
their zone — ``Z`` or a UTC offset (``2023-07-01T05:00:00Z``, ``2023-07-01T00:00:00-05:00``). A
value without one is naive, and an error naming the row (it is never assumed to be UTC).

The interval grid (:func:`check_grid`): a file has **one interval length**, its most common step
between consecutive interval starts (ties: the shorter). Every start lies on that grid from the
first row. A single longer step (a whole number of intervals) is a gap: the intervals in between
are missing. A step shorter than the interval, or :data:`RESOLUTION_RUN` or more consecutive
steps of one other length, is a change of resolution: an error naming the row where it changes.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from powerfirst.errors import DataError

__all__ = [
    "NA_TOKENS",
    "RESOLUTION_RUN",
    "CsvTable",
    "check_grid",
    "describe_length",
    "parse_instants",
    "read_table",
]

NA_TOKENS = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",
     "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)  # fmt: skip
"""Cells read as missing when a reader asks for it (pandas' default missing-value strings)."""

RESOLUTION_RUN = 3
"""Consecutive steps of one length other than the file's interval that make a change of resolution
(fewer are gaps: a single longer step is a run of missing intervals) [count]."""

_ZONED = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|z|[+-]\d{2}(?::?\d{2})?)$")
"""A time of day followed by its zone: ``Z`` or a UTC offset (a date alone has none)."""
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "a gzip file; name it with .gz (it is then decompressed) or decompress it (gunzip)"),
    (b"PK\x03\x04", "a zip archive (or an Excel .xlsx workbook); extract or export the CSV as UTF-8"),
    (b"\x00\x00\xfe\xff", "UTF-32 text (big-endian byte-order mark); save it as UTF-8 CSV"),
    (b"\xff\xfe\x00\x00", "UTF-32 text (little-endian byte-order mark); save it as UTF-8 CSV"),
    (b"\xfe\xff", "UTF-16 text (big-endian byte-order mark); save it as UTF-8 CSV"),
    (b"\xff\xfe", "UTF-16 text (little-endian byte-order mark); save it as UTF-8 CSV"),
)
"""First bytes (after any decompression) of files that are not UTF-8 text, and what to do (longest
marks first)."""
_DECOMPRESS = {".gz": gzip.decompress, ".bz2": bz2.decompress, ".xz": lzma.decompress}


@dataclass(frozen=True)
class CsvTable:
    """The text of a CSV file: ``frame`` has one str column per header name (missing cells NaN when
    read with ``na_tokens``); frame row ``i`` is spreadsheet row ``i + 2``."""

    path: Path
    label: str
    columns: tuple[str, ...]
    frame: pd.DataFrame

    def error(self, message: str) -> DataError:
        """A DataError prefixed with the file's label."""
        return DataError(f"{self.label}: {message}")


def _text(path: Path, label: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{label}: cannot read the file ({exc.strerror})") from None
    where = "byte"
    decompress = _DECOMPRESS.get(path.suffix.lower())
    if decompress is not None:
        try:
            data = decompress(data)
        except (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError):
            raise DataError(f"{label}: not a valid {path.suffix} compressed file") from None
        where = "byte (after decompression)"
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            raise DataError(f"{label}: not a CSV text file: it is {what}")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise DataError(
            f"{label}: not a CSV text file: a NUL {where} at offset {nul} (UTF-16 text without a "
            "byte-order mark, or a binary file?); save the file as UTF-8 CSV"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{label}: not UTF-8 text: {where} {exc.start} (0x{data[exc.start]:02x}) cannot be decoded "
            f"({exc.reason}); save the file as UTF-8 CSV"
        ) from None


def _check_spaces(label: str, header: list[str], wanted: Sequence[str]) -> None:
    """DataError when a wanted column is in the header only with spaces around its name."""
    for position, name in enumerate(header, start=1):
        if name not in wanted and name.strip() in wanted:
            raise DataError(
                f"{label}: the header names column {position} {name!r}, with spaces around "
                f"{name.strip()!r}; column names are read exactly as written: remove the spaces"
            )


def read_table(
    path: str | Path,
    label: str,
    *,
    key: Sequence[str],
    key_hint: str,
    required: Sequence[str] = (),
    na_tokens: bool = False,
) -> CsvTable:
    """Read ``path`` strictly (see the module docstring).

    ``label`` starts every message (e.g. ``"price file prices.csv"``); ``key`` are the column names
    that mark a file of the expected kind (one of them must be present; e.g. ``interval_start_utc``)
    and ``key_hint`` says what they hold; ``required`` are further columns that must be present.
    ``na_tokens``: cells in :data:`NA_TOKENS` become NaN (else every cell is kept as written).
    Raises DataError for a missing or unreadable file, bad encoding, a duplicate column name, a
    missing column, a ragged or blank row."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{label}: file not found")
    reader = csv.reader(io.StringIO(_text(path, label), newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise DataError(f"{label}: the file is empty (need a header line naming {', '.join(key)})")
        _check_spaces(label, header, [*key, *required])
        if not any(k in header for k in key):
            names = " or ".join(repr(k) for k in key)
            raise DataError(
                f"{label}: missing column {names} ({key_hint}) in the first line: not a CSV file of this "
                "kind (its first line must be a comma-separated header naming it)"
            )
        seen: dict[str, int] = {}
        for position, name in enumerate(header, start=1):
            if name in seen:
                raise DataError(
                    f"{label}: column {name!r} appears twice in the header (columns {seen[name]} and "
                    f"{position}); each column needs its own name"
                )
            seen[name] = position
        absent = [c for c in required if c not in seen]
        if absent:
            raise DataError(
                f"{label}: missing column{'s' if len(absent) > 1 else ''} {', '.join(map(repr, absent))}; "
                f"columns found: {', '.join(c for c in header if c not in key and c != 'interval_start_local') or 'none'}"
            )
        records: list[list[str]] = []
        blank: int | None = None
        for record in reader:
            row = len(records) + 2 + (0 if blank is None else 1)
            if not record:
                blank = row if blank is None else blank
                continue
            if blank is not None:
                raise DataError(
                    f"{label}: row {blank} is blank; a missing value is a row with its time and an empty "
                    "cell (blank lines may only end the file)"
                )
            if len(record) != len(header):
                more = "more" if len(record) > len(header) else "fewer"
                raise DataError(
                    f"{label}: row {row} has {len(record)} fields, {more} than the header's {len(header)} "
                    f"columns ({', '.join(header)}); every row needs one field per column"
                )
            records.append(record)
    except csv.Error as exc:
        raise DataError(f"{label}: line {reader.line_num}: not a valid CSV line ({exc})") from None
    frame = pd.DataFrame(records, columns=list(header), dtype=object)
    if na_tokens and len(frame):
        frame = frame.where(~frame.isin(NA_TOKENS))
    return CsvTable(path, label, tuple(header), frame)


def parse_instants(table: CsvTable, column: str, example: str = "2023-01-01T06:00:00Z") -> pd.DatetimeIndex:
    """The UTC instants (ns) of ``column``: each value an ISO-8601 time with ``Z`` or a UTC offset.
    A naive, empty or unparsable value is a DataError naming its row."""
    raw = table.frame[column].fillna("").astype(str).str.strip()
    zoned = raw.str.contains(_ZONED, regex=True).to_numpy()
    stamps = pd.to_datetime(raw.where(zoned), utc=True, format="ISO8601", errors="coerce")
    bad = stamps.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = raw.iloc[row]
        if value and not zoned[row] and not pd.isna(pd.to_datetime(value, format="ISO8601", errors="coerce")):
            raise table.error(
                f"row {row + 2}: {column} = {value!r} has no time zone (naive); write it with Z or its UTC "
                f"offset, e.g. {example} (a naive time is never assumed to be UTC)"
            )
        raise table.error(f"row {row + 2}: {column} = {value!r} is not an ISO-8601 time (e.g. {example})")
    return pd.DatetimeIndex(stamps, name=column).as_unit("ns")


def describe_length(length: pd.Timedelta) -> str:
    """A time span in words: ``15 min``, ``1 h``, ``1 day``, ``90 s``."""
    seconds = int(length.total_seconds())
    if seconds and seconds % 86_400 == 0:
        days = seconds // 86_400
        return f"{days} day{'s' if days > 1 else ''}"
    if seconds and seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0 and seconds:
        return f"{seconds // 60} min"
    return f"{length.total_seconds():g} s"


def _iso(ns: int) -> str:
    return pd.Timestamp(ns, tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def check_grid(
    table: CsvTable, starts: pd.DatetimeIndex, rows: npt.NDArray[np.int64], column: str = "interval_start_utc"
) -> pd.Timedelta:
    """The file's interval length (see the module docstring), checked: ``starts`` are sorted,
    unique UTC interval starts and ``rows`` their spreadsheet rows (at least two). DataError naming
    the first row off the grid or where the interval length changes."""
    ns = starts.asi8
    steps = np.diff(ns)
    values, counts = np.unique(steps, return_counts=True)
    interval = int(values[int(np.argmax(counts))])
    length = pd.Timedelta(interval, unit="ns")
    words = describe_length(length)

    def where(i: int) -> str:
        return (
            f"row {int(rows[i + 1])}: {column} {_iso(int(ns[i + 1]))} is "
            f"{describe_length(pd.Timedelta(int(steps[i]), unit='ns'))} "
            f"after the previous interval start ({_iso(int(ns[i]))}, row {int(rows[i])})"
        )

    rule = (
        f"the file's interval is {words} (its most common step); a file has one interval length "
        "(a single longer step is a gap)"
    )
    bad = np.flatnonzero((steps < interval) | (steps % interval != 0))
    if len(bad):
        i = int(bad[0])
        if steps[i] < interval:
            raise table.error(f"{where(i)}: the interval length changes there; {rule}")
        raise table.error(f"{where(i)}: not on the {words} grid that starts at {_iso(int(ns[0]))}")
    other = steps != interval
    if other.any():
        same_as_next = np.concatenate((steps[1:] == steps[:-1], [False]))
        i = 0
        while i < len(steps):
            if other[i]:
                j = i
                while j + 1 < len(steps) and same_as_next[j]:
                    j += 1
                if j - i + 1 >= RESOLUTION_RUN:
                    raise table.error(
                        f"{where(i)}, and the {j - i} steps after it are too: the interval length changes "
                        f"there; {rule}, and {RESOLUTION_RUN} or more equal longer steps in a row are a "
                        "change of resolution"
                    )
                i = j + 1
            else:
                i += 1
    return length

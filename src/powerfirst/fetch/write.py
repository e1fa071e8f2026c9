"""The bundled CSV layout, written safely.

Interval files: ``interval_start_utc`` (``2024-01-01T06:00:00Z``), ``interval_start_local`` (the same
instant with its UTC offset in the market's zone, ``2024-01-01T00:00:00-06:00``), then one column per
series. A row is written only for an interval the source reported: gaps stay gaps.

A file is written to a temporary file beside the target and moved over it with ``os.replace``
(:func:`powerfirst.outputs.onefile.replace_file`), so a reader never sees half a file; an existing
file is replaced only when the caller says so (``--overwrite``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from powerfirst.errors import ConfigError
from powerfirst.outputs.onefile import replace_file

__all__ = ["interval_table", "write_csv"]


def interval_table(frame: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """``frame`` (indexed by tz-aware interval start) in the bundled layout, ready for :func:`write_csv`."""
    index = pd.DatetimeIndex(frame.index).tz_convert("UTC")
    local = index.tz_convert(timezone)
    offsets = local.strftime("%z")
    table = pd.DataFrame(
        {
            "interval_start_utc": index.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "interval_start_local": local.strftime("%Y-%m-%dT%H:%M:%S")
            + offsets.str[:3]
            + ":"
            + offsets.str[3:],
        }
    )
    for column in frame.columns:
        table[column] = frame[column].to_numpy()
    return table


def write_csv(table: pd.DataFrame, path: Path, *, overwrite: bool = False) -> None:
    """Write ``table`` to ``path`` (gzip when it ends in ``.gz``), atomically.

    Raises ConfigError when ``path`` exists and ``overwrite`` is False, or its folder does not exist.
    """
    if path.exists() and not overwrite:
        raise ConfigError(f"{path} already exists; pass --overwrite to replace it")
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; give a file name (e.g. {path / 'data.csv'})")
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError(f"{path}: folder {folder} does not exist")
    replace_file(
        path,
        lambda temporary: table.to_csv(
            temporary, index=False, compression="gzip" if path.name.endswith(".gz") else None
        ),
        overwrite=overwrite,
    )

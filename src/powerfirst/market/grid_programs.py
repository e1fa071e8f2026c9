"""Data of ERCOT's grid programs: ancillary-service capacity prices and the 4CP peak intervals.

* Ancillary services: the day-ahead market clearing price for capacity (MCPC) of RRS, ECRS and
  Non-Spin, hourly, 2022–2023 (ERCOT NP4-181-ER, bundled). ECRS starts in June 2023; before that
  its price is missing and the product cannot be offered (price 0, offers held at 0).
* 4CP: the monthly system peak of June–September. From the bundled ERCOT hourly native load
  (2021–2023) the peak is the hour of highest system load in each month — an approximation of
  ERCOT's official 15-minute 4CP interval, which is not in the bundled data — or, from the user's
  CSV, the listed peak hours (or peak intervals), one peak per month (:func:`fourcp_peaks_csv`).

Both can come from the user's files (``--ancillary-prices``, ``--fourcp-peaks``) for any year.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from powerfirst._types import Array
from powerfirst.csv_input import CsvTable, parse_instants, read_table
from powerfirst.errors import DataError
from powerfirst.market.isos.ercot import ERCOT
from powerfirst.market.sources import read_bundled_table
from powerfirst.market.user_inputs import read_ancillary_csv

__all__ = [
    "AS_FILE",
    "FOURCP_MONTHS",
    "ancillary_prices",
    "ancillary_source",
    "ancillary_table",
    "check_fourcp_months",
    "fourcp_gap_warnings",
    "fourcp_peaks",
    "fourcp_peaks_bundled",
    "fourcp_peaks_csv",
    "fourcp_source",
    "fourcp_weights",
]

assert ERCOT.bundled_load is not None and ERCOT.bundled_as_prices is not None
_LOAD = ERCOT.bundled_load
_AS = ERCOT.bundled_as_prices
FOURCP_MONTHS = ERCOT.fourcp_months
"""ERCOT's 4CP months (market-local calendar months)."""
AS_FILE = _AS.filename()
ERCOT_TIMEZONE = ERCOT.timezone
_HOUR = pd.Timedelta(hours=1)
_HOUR_COLUMN = "peak_hour_start_utc"
_INTERVAL_COLUMN = "peak_interval_start_utc"
_LOAD_COLUMNS = ("ercot_native_load_mw", "system_load_mw", "load_mw")


def ancillary_table(products: tuple[str, ...], path: str | Path | None = None) -> pd.DataFrame:
    """Hourly capacity price of each product by UTC hour start [USD/MW per hour]: the user's file
    (``path``, format of the bundled file) or the bundled ERCOT 2022–2023 prices."""
    if path is not None:
        return read_ancillary_csv(path, products)
    table = read_bundled_table(_AS.folder, AS_FILE)
    return table[list(products)].astype("float64")


def ancillary_source(path: str | Path | None) -> str:
    """Where the ancillary-service prices come from, in words."""
    return str(path) if path is not None else _AS.description


def ancillary_prices(
    products: tuple[str, ...], times_utc: pd.DatetimeIndex, path: str | Path | None = None
) -> Array:
    """Day-ahead clearing price of each product for the hour of each interval, (P, T) [USD/MW per hour].

    From ``path`` (a CSV as the bundled file) or the bundled prices. A product without a price in an
    hour (ECRS before its launch, an empty cell) gets NaN; a time outside the file's hours is a
    DataError naming the first such interval and the file.
    """
    table = ancillary_table(products, path)
    hours = times_utc.tz_convert("UTC").floor("h")
    present = hours.isin(table.index)
    if not present.all():
        first = times_utc[~present][0]
        covers = (
            f"{table.index[0].isoformat()} to {table.index[-1].isoformat()}" if len(table) else "no hours"
        )
        raise DataError(
            f"ancillary-service prices: no day-ahead clearing price for the hour of {first.isoformat()} "
            f"({int((~present).sum())} intervals); {ancillary_source(path)} covers {covers}; "
            "give --ancillary-prices PATH (or market_data.ancillary_prices) with hourly prices for the window"
        )
    rows = table.reindex(hours)
    return np.vstack([rows[p].to_numpy(dtype=np.float64) for p in products])


@cache
def fourcp_peaks_bundled() -> pd.DataFrame:
    """Monthly peak hour of ERCOT native load for June–September of each bundled year.

    Columns ``year``, ``month``, ``peak_start_utc``, ``peak_end_utc`` (one hour), ``ercot_load_mw``.
    """
    rows = []
    for year in _LOAD.years:
        load = read_bundled_table(_LOAD.folder, _LOAD.filename(year))[_LOAD.column]
        local = pd.DatetimeIndex(load.index).tz_convert(ERCOT.timezone)
        for month in FOURCP_MONTHS:
            month_load = load[(local.year == year) & (local.month == month)]
            peak = pd.Timestamp(month_load.index[int(np.argmax(month_load.to_numpy()))])
            rows.append(
                {
                    "year": year,
                    "month": month,
                    "peak_start_utc": peak,
                    "peak_end_utc": peak + pd.Timedelta(hours=1),
                    "ercot_load_mw": float(month_load.max()),
                }
            )
    return pd.DataFrame(rows)


def _minutes(step: pd.Timedelta) -> str:
    """A duration as "15 min" / "60 min"."""
    return f"{step / pd.Timedelta(minutes=1):g} min"


def _check_peak_grid(
    table: CsvTable, frame: pd.DataFrame, column: str, parsed: pd.DatetimeIndex, grid: pd.Timedelta | None
) -> None:
    """Every peak start on the ``grid`` (hours, or the price intervals); nothing to check for None."""
    if grid is None:
        return
    off_grid = np.asarray(parsed != parsed.floor(grid))
    if off_grid.any():
        row = int(np.flatnonzero(off_grid)[0])
        raise table.error(
            f"row {row + 2}: {column} = {frame[column].iloc[row]!r} is not on the {_minutes(grid)} grid of "
            f"{'hours' if column == _HOUR_COLUMN else 'the price intervals'} (e.g. 2024-07-15T21:00:00Z)"
        )


def fourcp_peaks_csv(
    path: str | Path, interval: pd.Timedelta, timezone: str = ERCOT_TIMEZONE, what: str = "4CP peaks file"
) -> pd.DataFrame:
    """Monthly 4CP peaks from a user CSV, one peak per market-local month.

    Two formats (exactly one of the two time columns):

    * ``peak_hour_start_utc`` (the bundled file's format: ``year``, ``month``,
      ``peak_hour_start_utc``, ``peak_hour_start_local``, ``ercot_native_load_mw``): each row is a
      month's peak **hour**; the site's load is averaged over the hour's intervals. A month listed
      twice is an error.
    * ``peak_interval_start_utc``: each row is a peak **interval** of the site's price interval. Rows of
      the same month must be consecutive intervals — one peak, e.g. the four quarter-hours of a peak
      hour — and are merged into it (charged once, the load averaged over them); rows of one month
      that are not consecutive are an error.

    Either way each month's peak carries a quarter of the yearly rate. ``year``/``month`` columns,
    when present, must agree with the peak's market-local month (``timezone``); a peak outside
    ERCOT's 4CP months (June–September, :data:`FOURCP_MONTHS`) is an error naming its row (a file of
    twelve monthly peaks would otherwise be charged three times the yearly rate). ``what`` names
    the file in errors (the flag or site-file field it was given as). Columns of the
    result: ``year``, ``month``, ``peak_start_utc``, ``peak_end_utc``, ``ercot_load_mw`` (NaN
    when the file gives no load).
    """
    table = read_table(
        path,
        f"{what} {path}",
        key=(_HOUR_COLUMN, _INTERVAL_COLUMN),
        key_hint="ISO-8601 peak start with Z or a UTC offset",
        na_tokens=True,
    )
    frame = table.frame
    kinds = [c for c in (_HOUR_COLUMN, _INTERVAL_COLUMN) if c in frame.columns]
    if len(kinds) != 1:
        raise table.error(
            f"needs exactly one of the columns {_HOUR_COLUMN!r} (one peak hour per month, as "
            f"the bundled file) or {_INTERVAL_COLUMN!r} (peak intervals); found both"
        )
    column = kinds[0]
    parsed = parse_instants(table, column, "2024-07-15T21:00:00Z")
    _check_peak_grid(table, frame, column, parsed, _HOUR if column == _HOUR_COLUMN else None)
    starts = pd.DatetimeIndex(parsed).as_unit("ns")
    local = starts.tz_convert(timezone)
    for name, values in (("year", local.year), ("month", local.month)):
        if name in frame.columns:
            given = pd.to_numeric(frame[name], errors="coerce").to_numpy()
            wrong = given != values.to_numpy()
            if wrong.any():
                row = int(np.flatnonzero(wrong)[0])
                raise DataError(
                    f"{what} {path}: row {row + 2}: {name} = {frame[name].iloc[row]!r} does not match "
                    f"{column} = {frame[column].iloc[row]} ({name} {values[row]} in {timezone})"
                )
    outside = ~np.isin(local.month.to_numpy(), FOURCP_MONTHS)
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        raise DataError(
            f"{what} {path}: row {row + 2}: {column} = {frame[column].iloc[row]} is in month {local.month[row]} "
            f"({timezone}); ERCOT's 4CP peaks are in June–September (months {', '.join(map(str, FOURCP_MONTHS))}): "
            "remove the rows of other months"
        )
    load = np.full(len(frame), np.nan)
    for name in _LOAD_COLUMNS:
        if name in frame.columns:
            numbers = pd.to_numeric(frame[name], errors="coerce")
            bad = (numbers.isna() & frame[name].notna()).to_numpy()
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise DataError(
                    f"{what} {path}: row {row + 2}: {name} = {frame[name].iloc[row]!r} is not a number [MW]"
                )
            load = numbers.to_numpy(dtype=np.float64)
            break
    step = _HOUR if column == _HOUR_COLUMN else interval
    rows = []
    order = np.argsort(starts.asi8, kind="stable")
    by_month: dict[tuple[int, int], list[int]] = {}
    for i in order:
        by_month.setdefault((int(local.year[i]), int(local.month[i])), []).append(int(i))
    for (year, month), members in sorted(by_month.items()):
        first, last = starts[members[0]], starts[members[-1]]
        if column == _HOUR_COLUMN and len(members) > 1:
            raise DataError(
                f"{what} {path}: rows {members[0] + 2} and {members[1] + 2} are both peaks of "
                f"{year}-{month:02d}; a month has one 4CP peak (one row per month)"
            )
        rows_text = ", ".join(str(m + 2) for m in members)
        apart = np.diff(starts[members].asi8)
        if column == _INTERVAL_COLUMN and len(members) > 1 and (apart < step.value).any():
            finer = pd.Timedelta(int(apart.min()), unit="ns")
            raise DataError(
                f"{what} {path}: the rows of {year}-{month:02d} ({rows_text}) are {_minutes(finer)} apart, finer "
                f"than the price interval ({_minutes(step)}): each row must be one price interval; list the "
                f"peak's {_minutes(step)} intervals, give the peak hour in {_HOUR_COLUMN!r}, or use prices at "
                f"{_minutes(finer)}"
            )
        if column == _INTERVAL_COLUMN and last - first != (len(members) - 1) * step:
            raise DataError(
                f"{what} {path}: the rows of {year}-{month:02d} ({rows_text}) are not consecutive "
                f"{_minutes(step)} intervals (the price interval); a month has one 4CP peak: list one interval, "
                "or the consecutive intervals of one peak"
            )
        rows.append(
            {
                "year": year,
                "month": month,
                "peak_start_utc": first,
                "peak_end_utc": last + step,
                "ercot_load_mw": float(np.nanmax(load[members]))
                if np.isfinite(load[members]).any()
                else np.nan,
            }
        )
    _check_peak_grid(
        table, frame, column, parsed, step
    )  # after the per-month checks, whose messages say more
    return pd.DataFrame(rows, columns=["year", "month", "peak_start_utc", "peak_end_utc", "ercot_load_mw"])


def fourcp_peaks(
    path: str | Path | None,
    interval: pd.Timedelta,
    timezone: str = ERCOT_TIMEZONE,
    what: str = "4CP peaks file",
) -> pd.DataFrame:
    """The 4CP peaks of the user's file (``path``) or the bundled ERCOT ones."""
    return fourcp_peaks_csv(path, interval, timezone, what) if path is not None else fourcp_peaks_bundled()


def fourcp_source(path: str | Path | None) -> str:
    """Where the 4CP peaks come from, in words."""
    return (
        str(path) if path is not None else "bundled: hour of highest ERCOT native load per month, 2021–2023"
    )


def check_fourcp_months(
    peaks: pd.DataFrame, times_utc: pd.DatetimeIndex, timezone: str, path: str | Path | None
) -> None:
    """DataError when a June–September month of the window has no peak in ``peaks``."""
    known = {(int(y), int(m)) for y, m in zip(peaks["year"], peaks["month"], strict=True)}
    local = times_utc.tz_convert(timezone)
    needed = sorted({(y, m) for y, m in zip(local.year, local.month, strict=True) if m in FOURCP_MONTHS})
    missing = [f"{y}-{m:02d}" for y, m in needed if (y, m) not in known]
    if missing:
        raise DataError(
            f"fourcp: no 4CP peak known for {', '.join(missing)} in {fourcp_source(path)}; give --fourcp-peaks PATH "
            "(or market_data.fourcp_peaks) with one peak hour per month (columns year, month, peak_hour_start_utc)"
        )


def fourcp_weights(
    peaks: pd.DataFrame,
    times_utc: pd.DatetimeIndex,
    rate_usd_per_mw_year: float,
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    interval: pd.Timedelta | None = None,
) -> tuple[Array, list[dict[str, object]]]:
    """Charge per MW of site load in each interval, (T,) [USD/MW], and the peaks that fall in the window.

    Each monthly peak carries a quarter of the yearly rate, spread evenly over the window's
    intervals inside the peak (the site's load is averaged over the peak hour). ``times_utc`` are
    the intervals that are dispatched (those with a price); ``window`` ([start, end) in UTC,
    default: the first to the last of ``times_utc``) and ``interval`` (the price interval) say
    which intervals a peak should have. A peak inside the window whose intervals are all missing
    (a price gap: the site's load then is not simulated) cannot be charged: it is listed with
    ``charged: false`` and ``charge_unknown: true``; one with some intervals missing is charged
    on the mean load of those present (``intervals_missing`` > 0). The caller states both.
    """
    weights = np.zeros(len(times_utc))
    listed: list[dict[str, object]] = []
    if len(times_utc) == 0:
        return weights, listed
    step = interval if interval is not None else pd.Timedelta(0)
    first, end_of_window = window if window is not None else (times_utc[0], times_utc[-1] + step)
    months = list(zip(peaks["year"], peaks["month"], strict=True))
    if len(set(months)) != len(months):
        twice = sorted({f"{int(y)}-{int(m):02d}" for y, m in months if months.count((y, m)) > 1})
        raise DataError(f"4CP peaks: more than one peak for {', '.join(twice)}; a month has one 4CP peak")
    for year, month, peak_start, peak_end in zip(
        peaks["year"], peaks["month"], peaks["peak_start_utc"], peaks["peak_end_utc"], strict=True
    ):
        start, end = pd.Timestamp(peak_start), pd.Timestamp(peak_end)
        if end <= first or start >= end_of_window:
            continue
        inside = (times_utc >= start) & (times_utc < end)
        count = int(inside.sum())
        if count:
            weights[inside] += rate_usd_per_mw_year / 4.0 / count
        expected = count
        if step > pd.Timedelta(0):
            span = min(end, end_of_window) - max(start, first)
            expected = max(count, int(np.ceil(span / step)))
        listed.append(
            {
                "year": int(year),
                "month": int(month),
                "peak_start_utc": start.isoformat(),
                "peak_end_utc": end.isoformat(),
                "intervals_in_window": count,
                "intervals_missing": expected - count,
                "charged": count > 0,
                "charge_unknown": count == 0,
            }
        )
    return weights, listed


def fourcp_gap_warnings(
    listed: list[dict[str, object]], rate_usd_per_mw_year: float, grid_limit_mw: float, timezone: str
) -> list[str]:
    """Warnings for the peaks of :func:`fourcp_weights` that fall in a price gap: the site is charged
    on its metered load whatever the price file holds, and the simulated load there is unknown."""
    out = []
    for peak in listed:
        when = (
            f"{pd.Timestamp(str(peak['peak_start_utc'])).tz_convert(timezone).isoformat()} to "
            f"{pd.Timestamp(str(peak['peak_end_utc'])).tz_convert(timezone).isoformat()}"
        )
        label = f"4CP peak of {peak['year']}-{int(str(peak['month'])):02d} ({when})"
        missing = int(str(peak["intervals_missing"]))
        if peak["charge_unknown"]:
            bound = rate_usd_per_mw_year / 4.0 * grid_limit_mw
            out.append(
                f"{label} falls in a price gap: the site's load then is not simulated, so its 4CP charge "
                f"(a quarter of {rate_usd_per_mw_year:,.0f} USD/MW-year × the site's mean load over the peak) "
                f"could not be computed and is not in the results — net margins are overstated by up to "
                f"{bound:,.0f} USD (the site at its grid limit of {grid_limit_mw:,.2f} MW); give prices for the peak"
            )
        elif missing > 0:
            out.append(
                f"{label}: {missing} of its {missing + int(str(peak['intervals_in_window']))} intervals fall "
                "in a price gap; its 4CP charge uses the site's mean load over the intervals that have a price"
            )
    return out

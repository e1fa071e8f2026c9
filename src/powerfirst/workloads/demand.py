"""GPU demand of an AI-inference workload, in GPUs per interval.

Three sources of demand, each returning one value per interval start of a UTC grid ``times_utc``:

* :func:`demand_from_profile` scales a weekly shape (168 hour-of-week fractions of the peak) to a
  peak number of GPUs. :func:`alibaba_lora_weekly_profile` derives such a shape from a real
  request trace (Alibaba's 2024 Stable-Diffusion/LoRA inference service, bundled under
  ``data/workloads/``; see ``data/PROVENANCE.md``).
* :func:`demand_from_csv` reads the GPUs required per interval from a user CSV file.
* :func:`constant_demand` is a flat demand.

Units: demand in GPUs (mean number of GPUs busy over the interval), times in UTC unless a
``timezone`` is named, hour of week in hours since Monday 00:00.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from powerfirst._paths import DATA_DIR
from powerfirst._types import Array
from powerfirst.csv_input import check_grid, describe_length, parse_instants, read_table
from powerfirst.errors import DataError

__all__ = [
    "ALIBABA_LORA_TRACE",
    "HOURS_PER_WEEK",
    "alibaba_lora_weekly_profile",
    "constant_demand",
    "demand_from_csv",
    "demand_from_profile",
    "weekly_profile_from_trace",
]


HOURS_PER_WEEK = 168
"""Length of a weekly profile: hours of week 0 (Monday 00:00–01:00) to 167 (Sunday 23:00–24:00)."""

ALIBABA_LORA_TRACE = DATA_DIR / "workloads" / "alibaba_genai_v2026_lora_request_trace.csv.gz"
"""Bundled Alibaba GenAI (v2026) Stable-Diffusion/LoRA request trace, 26,823 requests."""

_TRACE_COLUMNS = ("gmt_create", "predict_status", "exec_time_seconds")
_SECONDS_PER_HOUR = 3600.0
_WEEK = pd.Timedelta(weeks=1)
_HOUR = pd.Timedelta(hours=1)


def _read_text_csv(path: Path, not_found: str) -> pd.DataFrame:
    """A CSV read as text (values parsed by the caller, so errors can quote them as written)."""
    if not path.is_file():
        raise DataError(f"{path}: {not_found}")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from None


def _hour_of_week(stamps: pd.DatetimeIndex) -> npt.NDArray[np.int64]:
    """Hours since Monday 00:00 (0..167) of each timestamp, in the timestamps' own clock."""
    return np.asarray(stamps.day_of_week * 24 + stamps.hour, dtype=np.int64)


def weekly_profile_from_trace(path: str | Path) -> pd.Series:
    """Weekly GPU-demand shape of a request trace, as a fraction of its weekly peak.

    The trace is a CSV (optionally gzip) with at least the columns ``gmt_create`` (request
    creation time, ``YYYY-MM-DD HH:MM:SS`` in GMT), ``predict_status`` and ``exec_time_seconds``
    (seconds). Derivation:

    1. Every request with ``predict_status == "SUCCEED"`` occupies one GPU from ``gmt_create``
       for ``exec_time_seconds`` (queueing before execution is not in the trace and is ignored).
       SUCCEED rows with a missing, non-finite or negative execution time or an unparseable
       ``gmt_create`` are skipped; their count is in ``attrs["skipped_requests"]``.
    2. The observation window is the longest run of whole weeks that ends at the last whole hour
       before the trace's last request (any status) and starts at or after the first whole hour
       from its first request. Busy time outside the window is cut off, so every hour of week
       occurs exactly ``attrs["weeks"]`` times.
    3. Busy GPU-seconds are summed per clock hour, a request that crosses hour boundaries being
       split exactly between the hours it overlaps; divided by 3,600 s this is the mean number of
       concurrent GPUs in that hour.
    4. The mean over the weeks for each hour of week is divided by its maximum.

    Returns a Series indexed 0..167 (hour of week, Monday 00:00 = 0, in the trace's clock) of
    fractions of the peak: all ≥ 0, maximum exactly 1.0. ``attrs`` also holds ``weeks``,
    ``window_start`` and ``window_end`` (trace clock), ``peak_mean_gpus`` (mean concurrent GPUs
    in the peak hour of week) and ``mean_gpus`` (over the whole window).

    Raises :class:`~powerfirst.errors.DataError` if the file is missing or unreadable, lacks a
    column, spans less than one whole week or has no busy time in the window.
    """
    path = Path(path)
    frame = _read_text_csv(path, "request trace file not found")
    missing = [c for c in _TRACE_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(map(repr, missing))}; "
            f"columns found: {', '.join(frame.columns)}"
        )

    created = pd.to_datetime(frame["gmt_create"], errors="coerce", format="ISO8601")
    if created.dt.tz is not None:
        created = created.dt.tz_convert("UTC").dt.tz_localize(None)
    seconds = pd.to_numeric(frame["exec_time_seconds"], errors="coerce").to_numpy(dtype=np.float64)
    succeeded = (frame["predict_status"].str.strip() == "SUCCEED").to_numpy()
    usable = created.notna().to_numpy() & np.isfinite(seconds) & (seconds >= 0)
    skipped = int(np.count_nonzero(succeeded & ~usable))

    stamps = pd.DatetimeIndex(created.dropna())
    if len(stamps) == 0:
        raise DataError(f"{path}: no parseable gmt_create timestamps")
    window_end = stamps.max().floor("h")
    first_whole_hour = stamps.min().ceil("h")
    weeks = int((window_end - first_whole_hour) // _WEEK)
    if weeks < 1:
        raise DataError(
            f"{path}: requests span {stamps.min()} to {stamps.max()}, less than one whole week "
            f"(168 h) of whole hours; a weekly profile needs at least one"
        )
    window_start = window_end - weeks * _WEEK
    n_hours = weeks * HOURS_PER_WEEK
    length_s = n_hours * _SECONDS_PER_HOUR

    keep = succeeded & usable
    start_s = np.asarray((pd.DatetimeIndex(created[keep]) - window_start).total_seconds(), dtype=np.float64)
    end_s = start_s + seconds[keep]
    start_s = np.clip(start_s, 0.0, length_s)
    end_s = np.clip(end_s, 0.0, length_s)
    inside = end_s > start_s
    start_s, end_s = start_s[inside], end_s[inside]

    first_hour = np.floor(start_s / _SECONDS_PER_HOUR).astype(np.int64)
    last_hour = np.floor(end_s / _SECONDS_PER_HOUR).astype(np.int64)  # may equal n_hours at the end
    same = first_hour == last_hour
    head = np.where(same, end_s - start_s, (first_hour + 1) * _SECONDS_PER_HOUR - start_s)
    tail = np.where(same, 0.0, end_s - last_hour * _SECONDS_PER_HOUR)
    busy = np.bincount(first_hour, weights=head, minlength=n_hours + 1)
    busy += np.bincount(last_hour, weights=tail, minlength=n_hours + 1)
    # Whole hours strictly between the first and the last: +3600 s on each, via a difference array.
    spans = last_hour - first_hour >= 2
    full = np.full(int(np.count_nonzero(spans)), _SECONDS_PER_HOUR)
    step = np.bincount(first_hour[spans] + 1, weights=full, minlength=n_hours + 2)
    step -= np.bincount(last_hour[spans], weights=full, minlength=n_hours + 2)
    busy += np.cumsum(step)[: n_hours + 1]
    busy_s = busy[:n_hours]  # bin n_hours only ever receives zero-length tails

    concurrent = busy_s / _SECONDS_PER_HOUR
    by_slot = concurrent.reshape(weeks, HOURS_PER_WEEK).mean(axis=0)
    # Slot j of the window is hour of week (how(window_start) + j) mod 168.
    offset = int(_hour_of_week(pd.DatetimeIndex([window_start]))[0])
    mean_by_hour = np.roll(by_slot, offset)
    peak = float(mean_by_hour.max())
    if not peak > 0:
        raise DataError(
            f"{path}: no busy GPU time from SUCCEED requests between {window_start} and {window_end}"
        )
    profile = pd.Series(
        mean_by_hour / peak,
        index=pd.RangeIndex(HOURS_PER_WEEK, name="hour_of_week"),
        name="demand_fraction_of_peak",
    )
    profile.attrs.update(
        {
            "source": str(path),
            "skipped_requests": skipped,
            "weeks": weeks,
            "window_start": window_start,
            "window_end": window_end,
            "peak_mean_gpus": peak,
            "mean_gpus": float(concurrent.mean()),
        }
    )
    return profile


@lru_cache(maxsize=1)
def alibaba_lora_weekly_profile() -> pd.Series:
    """Weekly demand shape of Alibaba's Stable-Diffusion/LoRA inference service (fraction of peak).

    :func:`weekly_profile_from_trace` applied to the bundled trace (``data/workloads/
    alibaba_genai_v2026_lora_request_trace.csv.gz``: 26,823 requests, 2024-11-15 → 2024-12-08,
    anonymised and time-shifted; 26,392 SUCCEED, the 431 FAILED/PENDING/PROCESSING are left
    out). No SUCCEED request is skipped: none has a missing or negative execution time. The
    window is the 3 whole weeks 2024-11-17 17:00 → 2024-12-08 17:00 of the trace's GMT clock,
    which leaves out the first ~2 days (a low-volume start: under 100 requests a day).

    Index 0..167 = hour of week (Monday 00:00 = 0) in the trace's clock; values are fractions
    of the weekly peak (max 1.0, all ≥ 0). Cached: the same Series object is returned on every
    call, so do not modify it (take ``.copy()``).
    """
    return weekly_profile_from_trace(ALIBABA_LORA_TRACE)


def _require_utc_index(times_utc: pd.DatetimeIndex) -> None:
    if not isinstance(times_utc, pd.DatetimeIndex) or times_utc.tz is None:
        raise DataError("times_utc must be a tz-aware pandas DatetimeIndex of interval starts (UTC)")


def demand_from_profile(
    profile: pd.Series, times_utc: pd.DatetimeIndex, timezone: str, peak_gpus: float
) -> Array:
    """Demand in GPUs per interval: ``peak_gpus × profile[hour of week of the interval start]``.

    ``profile`` is indexed by hour of week 0..167 (Monday 00:00 = 0) with fractions of the peak,
    e.g. :func:`alibaba_lora_weekly_profile`. The hour of week of each interval start is taken
    in the site's local ``timezone`` (IANA name, e.g. ``"America/New_York"``), so it follows
    daylight-saving changes: the duplicated autumn hour reads the same profile hour twice and
    the skipped spring hour is never read.

    Assumption: the bundled trace is time-shifted, so its clock carries a weekly shape, not
    absolute times; that shape is read as the site's local clock (its busiest hour of week
    falls on the same local hour of week at the site). ``peak_gpus`` is the demand in GPUs at
    the profile's maximum (1.0).

    Returns a float64 array of shape ``(len(times_utc),)`` in GPUs.
    """
    _require_utc_index(times_utc)
    if not (np.isfinite(peak_gpus) and peak_gpus >= 0):
        raise ValueError(f"peak_gpus = {peak_gpus} GPUs: need a finite number ≥ 0")
    if len(profile) != HOURS_PER_WEEK or not profile.index.equals(pd.RangeIndex(HOURS_PER_WEEK)):
        raise ValueError(
            f"profile must be indexed by hour of week 0..167 (168 entries); got {len(profile)} entries"
        )
    values = profile.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("profile values must be finite fractions ≥ 0")
    local = times_utc.tz_convert(timezone)
    return np.asarray(peak_gpus * values[_hour_of_week(local)], dtype=np.float64)


def constant_demand(times_utc: pd.DatetimeIndex, gpus: float) -> Array:
    """A flat demand of ``gpus`` GPUs in every interval; float64 array of shape ``(len(times_utc),)``."""
    if not (np.isfinite(gpus) and gpus >= 0):
        raise ValueError(f"gpus = {gpus} GPUs: need a finite number ≥ 0")
    return np.full(len(times_utc), float(gpus), dtype=np.float64)


def demand_from_csv(
    path: str | Path,
    column: str,
    times_utc: pd.DatetimeIndex,
    what: str = "inference demand",
    unit: str = "GPUs",
) -> Array:
    """Demand in GPUs per interval, read from column ``column`` of a CSV file (``what`` and
    ``unit`` name the series in messages: the same reader serves rental prices [USD/GPU-hour]).

    The file is read strictly (:mod:`powerfirst.csv_input`): an ``interval_start_utc`` column
    (ISO 8601 with ``Z`` or a UTC offset; a naive time is an error) and ``column`` holding the
    value of each interval (finite, ≥ 0). The CSV's step is its one interval length (a single
    longer step is a gap); row ``r`` covers ``[start_r, start_r + step)``. The CSV's grid must
    line up with the window's (``times_utc``). Each interval of ``times_utc`` takes the value of
    the row at the same start, or else of the last row that starts before it if that row still
    covers it (an hourly CSV on a 15-minute grid gives each hour's value to its four
    quarter-hours). A CSV finer than the grid is sampled at the interval starts, not averaged. A
    single-row file covers only its own start.

    Returns a float64 array of shape ``(len(times_utc),)``. Raises
    :class:`~powerfirst.errors.DataError`, naming the file, the column, the row and the limit,
    for: a missing or unreadable file, missing columns, unparseable times or numbers, negative
    or non-finite values, repeated interval starts, and intervals the file does not cover.
    """
    _require_utc_index(times_utc)
    path = Path(path)
    table = read_table(
        path,
        f"{what} file {path}",
        key=("interval_start_utc",),
        key_hint="ISO-8601 interval start with Z or a UTC offset",
        required=(column,),
    )
    frame = table.frame
    raw_times = frame["interval_start_utc"]
    index = parse_instants(table, "interval_start_utc")
    raw_values = frame[column]
    values = pd.to_numeric(raw_values.str.strip(), errors="coerce").to_numpy(dtype=np.float64)
    bad_value = ~np.isfinite(values) | (values < 0)
    if bad_value.any():
        row = int(np.flatnonzero(bad_value)[0])
        raise table.error(
            f"row {row + 2} ({raw_times.iloc[row]}): {column} = {raw_values.iloc[row]!r} {unit}: "
            "need a finite number ≥ 0"
        )

    duplicated = index.duplicated(keep="first")
    if duplicated.any():
        dup = index[duplicated][0]
        rows = np.flatnonzero(np.asarray(index == dup)) + 2
        raise table.error(
            f"interval_start_utc {dup.isoformat()} appears {len(rows)} times "
            f"(rows {', '.join(map(str, rows))}); each interval start may appear once (column {column!r})"
        )

    order = np.argsort(index.asi8, kind="stable")
    starts_ns = index.asi8[order]
    sorted_values = values[order]
    grid_ns = times_utc.tz_convert("UTC").as_unit("ns").asi8
    step_ns = 1
    if len(starts_ns) > 1:
        step_ns = check_grid(table, pd.DatetimeIndex(starts_ns, tz="UTC"), order.astype(np.int64) + 2).value
        if len(grid_ns) > 1:
            grid_step_ns = int(np.diff(np.sort(grid_ns)).min())
            if (int(starts_ns[0]) - int(grid_ns[0])) % min(step_ns, grid_step_ns):
                raise table.error(
                    f"its {describe_length(pd.Timedelta(step_ns, unit='ns'))} grid (from "
                    f"{pd.Timestamp(starts_ns[0], tz='UTC').isoformat()}) does not line up with the window's "
                    f"{describe_length(pd.Timedelta(grid_step_ns, unit='ns'))} intervals (from "
                    f"{pd.Timestamp(grid_ns[0], tz='UTC').isoformat()}); write the rows on the same clock"
                )
    pos = np.searchsorted(starts_ns, grid_ns, side="right") - 1
    has_row = pos >= 0
    safe = np.where(has_row, pos, 0)
    covered = (
        has_row & (grid_ns - starts_ns[safe] < step_ns) if len(starts_ns) else np.zeros(len(grid_ns), bool)
    )
    if not covered.all():
        first = int(np.flatnonzero(~covered)[0])
        count = int(np.count_nonzero(~covered))
        first_uncovered = pd.Timestamp(grid_ns[first], tz="UTC")
        span = (
            f"rows cover {pd.Timestamp(starts_ns[0], tz='UTC').isoformat()} to "
            f"{pd.Timestamp(starts_ns[-1] + step_ns, tz='UTC').isoformat()} "
            f"in steps of {pd.Timedelta(step_ns, unit='ns')}"
            if len(starts_ns)
            else "the file has no rows"
        )
        raise table.error(
            f"column {column!r} does not cover interval {first_uncovered.isoformat()} "
            f"({count} of {len(grid_ns)} intervals in the window uncovered; {span})"
        )
    return np.asarray(sorted_values[safe], dtype=np.float64)

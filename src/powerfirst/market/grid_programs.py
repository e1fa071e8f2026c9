"""Data of ERCOT's grid programs: ancillary-service capacity prices and the 4CP peak intervals.

* Ancillary services: the day-ahead market clearing price for capacity (MCPC) of RRS, ECRS and
  Non-Spin, hourly, 2022–2023 (ERCOT NP4-181-ER, bundled). ECRS starts in June 2023; before that
  its price is missing and the product cannot be offered (price 0, offers held at 0).
* 4CP: the monthly system peak of June–September. From the bundled ERCOT hourly native load
  (2021–2023) the peak is the hour of highest system load in each month — an approximation of
  ERCOT's official 15-minute 4CP interval, which is not in the bundled data — or, from a CSV, the
  listed peak interval starts.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from powerfirst.errors import DataError
from powerfirst.market.sources import read_bundled_table

__all__ = [
    "AS_FILE",
    "FOURCP_MONTHS",
    "ancillary_prices",
    "fourcp_peaks_bundled",
    "fourcp_peaks_csv",
    "fourcp_weights",
]

Array = npt.NDArray[np.float64]
FOURCP_MONTHS = (6, 7, 8, 9)
AS_FILE = "ercot_dam_as_mcpc_hourly_2022_2023.csv.gz"
_LOAD_YEARS = (2021, 2022, 2023)


def ancillary_prices(products: tuple[str, ...], times_utc: pd.DatetimeIndex) -> Array:
    """Day-ahead clearing price of each product for the hour of each interval, (P, T) [USD/MW per hour].

    A product without a price in an hour (ECRS before its launch) gets NaN; a time outside the
    bundled 2022–2023 data is a DataError naming the first such interval.
    """
    table = read_bundled_table("ercot", AS_FILE)
    hours = times_utc.tz_convert("UTC").floor("h")
    present = hours.isin(table.index)
    if not present.all():
        first = times_utc[~present][0]
        raise DataError(
            f"ancillary-service prices: no ERCOT day-ahead clearing price for the hour of {first.isoformat()} "
            f"({int((~present).sum())} intervals); the bundled prices cover "
            f"{table.index[0].isoformat()} to {table.index[-1].isoformat()}"
        )
    rows = table.reindex(hours)
    return np.vstack([rows[p].to_numpy(dtype=np.float64) for p in products])


@cache
def fourcp_peaks_bundled() -> pd.DataFrame:
    """Monthly peak hour of ERCOT native load for June–September of each bundled year.

    Columns ``year``, ``month``, ``peak_start_utc``, ``peak_end_utc`` (one hour), ``ercot_load_mw``.
    """
    rows = []
    for year in _LOAD_YEARS:
        load = read_bundled_table("ercot", f"ercot_native_load_hourly_{year}.csv.gz")["ERCOT"]
        local = pd.DatetimeIndex(load.index).tz_convert("America/Chicago")
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


def fourcp_peaks_csv(path: str | Path, interval: pd.Timedelta) -> pd.DataFrame:
    """Peak intervals from a CSV with ``peak_interval_start_utc`` (each peak lasts one ``interval``)."""
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"4CP peaks file {path}: cannot read it ({exc})") from None
    if "peak_interval_start_utc" not in frame.columns:
        raise DataError(
            f"4CP peaks file {path}: needs a column 'peak_interval_start_utc'; found {', '.join(frame.columns)}"
        )
    starts = pd.to_datetime(frame["peak_interval_start_utc"], utc=True, format="ISO8601", errors="coerce")
    if starts.isna().any():
        row = int(np.flatnonzero(starts.isna().to_numpy())[0])
        raise DataError(
            f"4CP peaks file {path}: peak_interval_start_utc = {frame['peak_interval_start_utc'].iloc[row]!r} "
            f"(row {row + 2}) is not an ISO-8601 UTC time"
        )
    local = pd.DatetimeIndex(starts).tz_convert("America/Chicago")
    return pd.DataFrame(
        {
            "year": local.year,
            "month": local.month,
            "peak_start_utc": starts,
            "peak_end_utc": starts + interval,
            "ercot_load_mw": np.nan,
        }
    )


def fourcp_weights(
    peaks: pd.DataFrame, times_utc: pd.DatetimeIndex, rate_usd_per_mw_year: float
) -> tuple[Array, list[dict[str, object]]]:
    """Charge per MW of site load in each interval, (T,) [USD/MW], and the peaks that fall in the window.

    Each monthly peak carries a quarter of the yearly rate, spread evenly over the window's
    intervals inside the peak (the site's load is averaged over the peak hour). A peak whose
    intervals are all missing from the window is listed with ``charged: false``.
    """
    weights = np.zeros(len(times_utc))
    listed: list[dict[str, object]] = []
    if len(times_utc) == 0:
        return weights, listed
    first, last = times_utc[0], times_utc[-1]
    for year, month, peak_start, peak_end in zip(
        peaks["year"], peaks["month"], peaks["peak_start_utc"], peaks["peak_end_utc"], strict=True
    ):
        start, end = pd.Timestamp(peak_start), pd.Timestamp(peak_end)
        if end <= first or start > last:
            continue
        inside = (times_utc >= start) & (times_utc < end)
        count = int(inside.sum())
        if count:
            weights[inside] += rate_usd_per_mw_year / 4.0 / count
        listed.append(
            {
                "year": int(year),
                "month": int(month),
                "peak_start_utc": start.isoformat(),
                "peak_end_utc": end.isoformat(),
                "intervals_in_window": count,
                "charged": count > 0,
            }
        )
    return weights, listed

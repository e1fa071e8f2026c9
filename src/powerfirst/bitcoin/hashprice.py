"""Daily hashprice sources behind one interface.

* :class:`BundledHashprice`: from the bundled real data — Yahoo BTC-USD daily close, Blockchain.com
  daily difficulty, and the subsidy schedule (time-weighted over the UTC day of a halving) — plus
  transaction fees given explicitly in BTC per block. **The bundled data has no fee series: the
  default is 0 fees, and every report says so.**
* :class:`ConstantHashprice`: one value for every day.
* :class:`CsvHashprice`: a user CSV with ``date_utc`` and ``hashprice_usd_per_ph_day``.
* :class:`NetworkCsvHashprice`: a user CSV with the day's inputs — ``date_utc, btc_usd,
  difficulty, tx_fees_btc_per_block`` (what ``powerfirst data fetch bitcoin`` writes) — and the
  bundled subsidy schedule: hashprice = price × (subsidy + fees) × 144 / hashrate from difficulty,
  **fees included**.

Every source returns a daily series in USD per TH/s per day, indexed by UTC midnight.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from powerfirst._paths import DATA_DIR
from powerfirst.bitcoin.economics import hashprice_usd_per_th_day, network_hashrate_ths
from powerfirst.csv_input import read_table
from powerfirst.errors import DataError

__all__ = [
    "BundledHashprice",
    "ConstantHashprice",
    "CsvHashprice",
    "HashpriceSource",
    "NetworkCsvHashprice",
    "published_hashprice",
    "subsidy_btc_per_block_daily",
]


def published_hashprice(daily: pd.Series, times_utc: pd.DatetimeIndex) -> npt.NDArray[np.float64]:
    """The hashprice known at each of ``times_utc``: the previous UTC day's, as published
    [USD/(TH/s)/day]; NaN where ``daily`` (indexed by UTC day start) has no such day. The one rule
    the backtest and the live agent both decide with."""
    days = times_utc.tz_convert("UTC").floor("D")
    return daily.reindex(days - pd.Timedelta(days=1)).to_numpy(dtype=np.float64)


class HashpriceSource(ABC):
    """A daily hashprice series [USD per TH/s per day] indexed by UTC day start."""

    description: str

    @abstractmethod
    def daily(self, start_utc: pd.Timestamp, end_utc: pd.Timestamp) -> pd.Series:
        """Hashprice for every UTC day that overlaps [start_utc, end_utc). Raises DataError if a day is missing."""

    @staticmethod
    def _days(start_utc: pd.Timestamp, end_utc: pd.Timestamp) -> pd.DatetimeIndex:
        first = start_utc.tz_convert("UTC").floor("D")
        last = (end_utc.tz_convert("UTC") - pd.Timedelta(microseconds=1)).floor("D")
        return pd.date_range(first, last, freq="D", name="date_utc")


def _require(series: pd.Series, days: pd.DatetimeIndex, what: str) -> pd.Series:
    picked = series.reindex(days)
    missing = picked.index[picked.isna()]
    if len(missing):
        have = series.dropna()
        span = f"{have.index[0].date()} to {have.index[-1].date()}" if len(have) else "nothing"
        raise DataError(
            f"{what}: no value for {len(missing)} UTC day(s), first {missing[0].date()}; "
            f"the data covers {span}"
        )
    return picked.astype("float64")


@cache
def _schedule() -> pd.DataFrame:
    table = pd.read_csv(DATA_DIR / "bitcoin" / "btc_block_subsidy_schedule.csv")
    table = table.dropna(subset=["era_start_block_time_utc"])
    table["start"] = pd.to_datetime(table["era_start_block_time_utc"], utc=True)
    return table.sort_values("start").reset_index(drop=True)


def subsidy_btc_per_block_daily(days: pd.DatetimeIndex) -> pd.Series:
    """Block subsidy in force on each UTC day [BTC/block], time-weighted over a day with a halving."""
    table = _schedule()
    day_start = days.tz_convert("UTC").as_unit("ns")
    day_end = day_start + pd.Timedelta(days=1)
    result = np.zeros(len(days))
    starts = [*table["start"], pd.Timestamp.max.tz_localize("UTC")]
    for era in range(len(table)):
        era_start, era_end = starts[era], starts[era + 1]
        overlap_s = (
            np.minimum(day_end.asi8, era_end.as_unit("ns").value)
            - np.maximum(day_start.asi8, era_start.as_unit("ns").value)
        ).clip(min=0) / 1e9
        result += overlap_s / 86400.0 * float(table["subsidy_btc"].iloc[era])
    return pd.Series(result, index=days, name="subsidy_btc_per_block")


@cache
def _bundled_inputs() -> pd.DataFrame:
    price = pd.read_csv(
        DATA_DIR / "bitcoin" / "btc_usd_daily_yahoo_2017_2025.csv", usecols=["date_utc", "close_usd"]
    )
    network = pd.read_csv(
        DATA_DIR / "bitcoin" / "btc_network_daily_blockchaincom_2020_2025.csv",
        usecols=["date_utc", "difficulty"],
    )
    frame = network.merge(price, on="date_utc", how="left")
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("date_utc"), utc=True), name="date_utc")
    return frame


class BundledHashprice(HashpriceSource):
    """Hashprice from bundled BTC price, difficulty and the subsidy schedule, plus explicit fees."""

    def __init__(self, tx_fees_btc_per_block: float = 0.0) -> None:
        self.tx_fees_btc_per_block = tx_fees_btc_per_block
        self.description = (
            "bundled: BTC-USD daily close (Yahoo) × (subsidy + "
            f"{tx_fees_btc_per_block:g} BTC/block transaction fees) × 144 / network hashrate from "
            "difficulty (Blockchain.com)"
            + (
                " — transaction fees are NOT included (the bundled data has no fee series; default 0)"
                if tx_fees_btc_per_block == 0
                else ""
            )
        )

    def full_series(self) -> pd.Series:
        inputs = _bundled_inputs()
        subsidy = subsidy_btc_per_block_daily(pd.DatetimeIndex(inputs.index))
        values = hashprice_usd_per_th_day(
            inputs["close_usd"].to_numpy(dtype="float64"),
            np.asarray(network_hashrate_ths(inputs["difficulty"].to_numpy(dtype="float64"))),
            subsidy.to_numpy(),
            self.tx_fees_btc_per_block,
        )
        return pd.Series(values, index=inputs.index, name="hashprice_usd_per_th_day")

    def daily(self, start_utc: pd.Timestamp, end_utc: pd.Timestamp) -> pd.Series:
        return _require(self.full_series(), self._days(start_utc, end_utc), "bundled hashprice")


class ConstantHashprice(HashpriceSource):
    def __init__(self, usd_per_ph_day: float) -> None:
        self.usd_per_ph_day = usd_per_ph_day
        self.description = f"constant {usd_per_ph_day:g} USD/PH/day"

    def daily(self, start_utc: pd.Timestamp, end_utc: pd.Timestamp) -> pd.Series:
        days = self._days(start_utc, end_utc)
        return pd.Series(self.usd_per_ph_day / 1000.0, index=days, name="hashprice_usd_per_th_day")


class CsvHashprice(HashpriceSource):
    """CSV with columns ``date_utc`` (YYYY-MM-DD) and ``hashprice_usd_per_ph_day``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.description = f"CSV {self.path} (hashprice_usd_per_ph_day)"

    def daily(self, start_utc: pd.Timestamp, end_utc: pd.Timestamp) -> pd.Series:
        frame = _read_user_csv(self.path, "hashprice", ("hashprice_usd_per_ph_day",))
        dates = pd.to_datetime(frame["date_utc"], utc=True, errors="coerce", format="ISO8601")
        values = pd.to_numeric(frame["hashprice_usd_per_ph_day"], errors="coerce")
        bad = dates.isna() | values.isna() | ~((values > 0) & (values <= 1_000_000))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{self.path}: row {row + 2}: date_utc = {frame['date_utc'].iloc[row]}, "
                f"hashprice_usd_per_ph_day = {frame['hashprice_usd_per_ph_day'].iloc[row]} USD/PH/day: "
                "need a date (YYYY-MM-DD) and a number in (0, 1,000,000]"
            )
        series = pd.Series(values.to_numpy() / 1000.0, index=pd.DatetimeIndex(dates).floor("D"))
        if series.index.has_duplicates:
            raise DataError(
                f"{self.path}: date_utc {series.index[series.index.duplicated()][0].date()} repeats"
            )
        return _require(series, self._days(start_utc, end_utc), f"hashprice file {self.path}")


def _read_user_csv(path: Path, what: str, required: tuple[str, ...]) -> pd.DataFrame:
    """The file read strictly (:mod:`powerfirst.csv_input`) as text, with ``date_utc`` (whole UTC
    days, YYYY-MM-DD) and the ``required`` columns."""
    table = read_table(
        path, f"{what} file {path}", key=("date_utc",), key_hint="UTC day, YYYY-MM-DD", required=required
    )
    frame = table.frame
    dates = pd.to_datetime(frame["date_utc"].str.strip(), utc=True, errors="coerce", format="ISO8601")
    off_day = (dates.notna() & (dates != dates.dt.floor("D"))).to_numpy()
    if off_day.any():
        row = int(np.flatnonzero(off_day)[0])
        raise table.error(
            f"row {row + 2}: date_utc = {frame['date_utc'].iloc[row]!r} is not a whole UTC day; give the day as YYYY-MM-DD"
        )
    return frame


NETWORK_COLUMNS = {
    "btc_usd": ("USD/BTC", 0.0, 100_000_000.0),
    "difficulty": ("-", 0.0, 1e20),
    "tx_fees_btc_per_block": ("BTC/block", -1e-12, 100.0),
}
"""Columns of a network CSV: unit and the open lower / closed upper bound of a valid value."""


class NetworkCsvHashprice(HashpriceSource):
    """Hashprice from a CSV of daily BTC price, difficulty and mean fees per block (fees included).

    Columns ``date_utc`` (YYYY-MM-DD, UTC day), ``btc_usd`` [USD/BTC], ``difficulty`` [-],
    ``tx_fees_btc_per_block`` [BTC/block]; other columns are ignored. The block subsidy comes from
    the bundled schedule (time-weighted over the UTC day of a halving). A day the window needs that
    the file lacks is an error naming the day.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.description = (
            f"network CSV {self.path}: btc_usd × (subsidy from the bundled schedule + tx_fees_btc_per_block, "
            "the day's mean transaction fees per block) × 144 / network hashrate from difficulty "
            "— transaction fees included"
        )
        self.tx_fees_btc_per_block: float | None = None
        """Mean fees per block over the days last asked for [BTC/block] (None before)."""

    def inputs(self) -> pd.DataFrame:
        """The file's days (UTC midnight index) with the three input columns as floats."""
        frame = _read_user_csv(self.path, "Bitcoin network", tuple(NETWORK_COLUMNS))
        dates = pd.to_datetime(frame["date_utc"], utc=True, errors="coerce", format="ISO8601")
        if dates.isna().any():
            row = int(np.flatnonzero(dates.isna().to_numpy())[0])
            raise DataError(
                f"{self.path}: row {row + 2}: date_utc = {frame['date_utc'].iloc[row]!r} is not a date (YYYY-MM-DD)"
            )
        result = pd.DataFrame(index=pd.DatetimeIndex(dates, name="date_utc").floor("D"))
        for column, (unit, low, high) in NETWORK_COLUMNS.items():
            values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64")
            bad = np.isnan(values) | ~((values > low) & (values <= high))
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise DataError(
                    f"{self.path}: row {row + 2}: {column} = {frame[column].iloc[row]!r} {unit}: "
                    f"need a number in ({max(low, 0):g}, {high:g}]"
                )
            result[column] = values
        if result.index.has_duplicates:
            raise DataError(
                f"{self.path}: date_utc {result.index[result.index.duplicated()][0].date()} repeats"
            )
        return result

    def daily(self, start_utc: pd.Timestamp, end_utc: pd.Timestamp) -> pd.Series:
        inputs = self.inputs()
        days = self._days(start_utc, end_utc)
        present = inputs.reindex(days)
        missing = present.index[present["btc_usd"].isna()]
        if len(missing):
            span = f"{inputs.index.min().date()} to {inputs.index.max().date()}" if len(inputs) else "nothing"
            raise DataError(
                f"Bitcoin network file {self.path}: no row for {len(missing)} UTC day(s), first {missing[0].date()}; "
                f"the file covers {span} (fetch them with `powerfirst data fetch bitcoin`)"
            )
        subsidy = subsidy_btc_per_block_daily(days)
        fees = present["tx_fees_btc_per_block"].to_numpy(dtype="float64")
        values = hashprice_usd_per_th_day(
            present["btc_usd"].to_numpy(dtype="float64"),
            np.asarray(network_hashrate_ths(present["difficulty"].to_numpy(dtype="float64"))),
            subsidy.to_numpy(),
            fees,
        )
        self.tx_fees_btc_per_block = float(np.mean(fees))
        return pd.Series(values, index=days, name="hashprice_usd_per_th_day")

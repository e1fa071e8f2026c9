"""Monthly history of the Bitcoin drivers the plan's model is fitted on.

* Bundled (always): monthly means of the Yahoo BTC-USD daily close and of the network hashrate
  implied by Blockchain.com's daily difficulty (``difficulty × 2^32 / 600``), read with the
  readers of :mod:`powerfirst.bitcoin.hashprice`. Only whole months count: a month with a missing
  day (April 2025: the data ends on the 8th) is left out.
* A network CSV (optional, what ``powerfirst data fetch bitcoin`` writes: ``date_utc, btc_usd,
  difficulty, tx_fees_btc_per_block``, read and checked by
  :class:`~powerfirst.bitcoin.hashprice.NetworkCsvHashprice`): its monthly mean fees per block,
  and its price and hashrate for the whole months after the bundled data ends.

**The bundled data has no fee series**: without a network CSV, fees are not in the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from powerfirst._types import Array
from powerfirst.bitcoin.economics import network_hashrate_ths
from powerfirst.bitcoin.hashprice import NetworkCsvHashprice, _bundled_inputs
from powerfirst.errors import DataError

__all__ = ["MonthlyHistory", "bitcoin_history"]


@dataclass(frozen=True)
class MonthlyHistory:
    """Whole calendar months (UTC) of driver history, oldest first; NaN where unknown."""

    months: tuple[str, ...]
    """``YYYY-MM`` of each row."""
    btc_usd: Array
    """Monthly mean of the daily BTC price [USD/BTC]."""
    hashrate_ths: Array
    """Monthly mean network hashrate implied by difficulty [TH/s]."""
    fees_btc_per_block: Array
    """Monthly mean transaction fees per block [BTC/block]; all NaN without a network CSV."""
    sources: tuple[str, ...]
    """Where each series comes from, in words."""

    @property
    def has_fees(self) -> bool:
        return bool(np.isfinite(self.fees_btc_per_block).any())

    def last_month_with(self, column: str) -> int:
        """Row of the last month with a value of ``column`` (``btc_usd``, ``hashrate_ths`` or
        ``fees_btc_per_block``)."""
        values: Array = getattr(self, column)
        rows = np.flatnonzero(np.isfinite(values))
        if not rows.size:
            raise DataError(f"the driver history has no month with {column}")
        return int(rows[-1])


def _whole_months(daily: pd.DataFrame) -> pd.DataFrame:
    """Monthly means of the columns of a UTC-day-indexed frame, over months with every day present
    (all columns, NaN where a day lacks the column's value)."""
    index = pd.DatetimeIndex(daily.index).tz_convert("UTC").tz_localize(None)
    frame = daily.set_axis(index)
    result = {}
    for column in frame.columns:
        series = frame[column].dropna()
        grouped = series.groupby(pd.DatetimeIndex(series.index).to_period("M"))
        means, counts = grouped.mean(), grouped.size()
        whole = counts.to_numpy() == pd.PeriodIndex(counts.index).days_in_month.to_numpy()
        result[column] = means[whole]
    return pd.DataFrame(result).sort_index()


def _bundled_monthly() -> pd.DataFrame:
    inputs = _bundled_inputs()
    daily = pd.DataFrame(
        {
            "btc_usd": inputs["close_usd"].to_numpy(dtype=np.float64),
            "hashrate_ths": np.asarray(
                network_hashrate_ths(inputs["difficulty"].to_numpy(dtype=np.float64)), dtype=np.float64
            ),
        },
        index=inputs.index,
    )
    monthly = _whole_months(daily)
    return monthly.dropna()


def bitcoin_history(fees_csv_path: str | Path | None = None) -> MonthlyHistory:
    """The bundled monthly history, with fees (and later months) from a network CSV if given."""
    monthly = _bundled_monthly()
    sources = [
        f"BTC price: Yahoo BTC-USD daily close, monthly mean, bundled {monthly.index[0]}…{monthly.index[-1]}",
        "network hashrate: from Blockchain.com daily difficulty (difficulty × 2^32 / 600 s), monthly mean",
    ]
    monthly["fees_btc_per_block"] = np.nan
    if fees_csv_path is not None:
        csv = NetworkCsvHashprice(fees_csv_path).inputs()
        daily = pd.DataFrame(
            {
                "btc_usd": csv["btc_usd"],
                "hashrate_ths": np.asarray(
                    network_hashrate_ths(csv["difficulty"].to_numpy(dtype=np.float64)), dtype=np.float64
                ),
                "fees_btc_per_block": csv["tx_fees_btc_per_block"],
            },
            index=csv.index,
        )
        extra = _whole_months(daily.sort_index()).dropna()
        if extra.empty:
            raise DataError(
                f"network CSV {fees_csv_path}: no whole calendar month of days (need every day of a month "
                "to take its mean fees per block)"
            )
        later = extra.index[extra.index > monthly.index[-1]]
        monthly.loc[extra.index.intersection(monthly.index), "fees_btc_per_block"] = extra[
            "fees_btc_per_block"
        ]
        monthly = pd.concat([monthly, extra.loc[later]]).sort_index()
        sources.append(
            f"fees per block: network CSV {fees_csv_path} (tx_fees_btc_per_block), monthly mean, "
            f"{extra.index[0]}…{extra.index[-1]}"
            + (f"; its price and difficulty extend the history to {later[-1]}" if len(later) else "")
        )
    full = pd.period_range(monthly.index[0], monthly.index[-1], freq="M")
    monthly = monthly.reindex(full)
    return MonthlyHistory(
        months=tuple(str(p) for p in monthly.index),
        btc_usd=monthly["btc_usd"].to_numpy(dtype=np.float64),
        hashrate_ths=monthly["hashrate_ths"].to_numpy(dtype=np.float64),
        fees_btc_per_block=monthly["fees_btc_per_block"].to_numpy(dtype=np.float64),
        sources=tuple(sources),
    )

"""Daily Bitcoin network data from the Blockchain.com charts API.

``GET https://api.blockchain.info/charts/<chart>?start=YYYY-MM-DD&timespan=<N>days&format=json&sampled=false``
answers ``{"status": "ok", "name": …, "unit": …, "period": "day", "description": …,
"values": [{"x": <UTC midnight, Unix seconds>, "y": <value>}, …]}``. Charts read:

* ``market-price``: average USD market price across major exchanges [USD/BTC];
* ``difficulty``: mining difficulty [-];
* ``transaction-fees``: total fees paid to miners in the day [BTC/day];
* ``n-transactions`` and ``n-transactions-per-block``: their ratio is the blocks mined in the day.

Written per UTC day: ``date_utc, btc_usd, difficulty, tx_fees_btc_per_block, blocks_mined``, where
``tx_fees_btc_per_block`` = fees of the day / blocks mined that day. A day missing from any chart
is left out (and reported), never filled.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from powerfirst.errors import DataError
from powerfirst.fetch.http import HttpClient

__all__ = ["CHARTS", "CHARTS_BASE", "fetch_bitcoin_daily"]

CHARTS_BASE = "https://api.blockchain.info/charts"
CHARTS = ("market-price", "difficulty", "transaction-fees", "n-transactions", "n-transactions-per-block")
BLOCKS_PER_DAY_RANGE = (50.0, 300.0)
"""Blocks mined per day outside this range mean the charts disagree (the target is 144)."""


def chart(http: HttpClient, name: str, first: date, last: date, *, base_url: str = CHARTS_BASE) -> pd.Series:
    """One chart's daily values for UTC days first…last, indexed by UTC midnight."""
    url = f"{base_url.rstrip('/')}/{name}"
    days = (last - first).days + 2  # one day more than asked: the span's end may be exclusive
    answer = http.get_json(
        url,
        params={"start": first.isoformat(), "timespan": f"{days}days", "format": "json", "sampled": "false"},
    )
    if (
        not isinstance(answer, dict)
        or answer.get("status") != "ok"
        or not isinstance(answer.get("values"), list)
    ):
        raise DataError(
            f"GET {url}: not a Blockchain.com chart answer (need status 'ok' and a 'values' list)"
        )
    points = answer["values"]
    if any(not isinstance(p, dict) or "x" not in p or "y" not in p for p in points):
        raise DataError(f"GET {url}: a value lacks 'x' (Unix seconds) or 'y'")
    stamps = pd.to_datetime([int(p["x"]) for p in points], unit="s", utc=True)
    values = pd.Series([float(p["y"]) for p in points], index=stamps, name=name, dtype="float64")
    index = pd.DatetimeIndex(values.index)
    off_midnight = index != index.floor("D")
    if off_midnight.any():
        raise DataError(f"GET {url}: point at {index[off_midnight][0].isoformat()} is not a UTC midnight")
    values = values[~values.index.duplicated(keep="last")]
    start = pd.Timestamp(first).tz_localize("UTC")
    end = pd.Timestamp(last).tz_localize("UTC")
    return values[(values.index >= start) & (values.index <= end)]


def fetch_bitcoin_daily(
    http: HttpClient,
    first: date,
    last: date,
    *,
    base_url: str = CHARTS_BASE,
    on_chart: Callable[[], None] | None = None,
) -> tuple[pd.DataFrame, list[date]]:
    """Daily ``btc_usd, difficulty, tx_fees_btc_per_block, blocks_mined`` for UTC days first…last,
    indexed by ``date_utc``, and the days left out because a chart lacks them."""
    series = {}
    for name in CHARTS:
        series[name] = chart(http, name, first, last, base_url=base_url)
        if on_chart:
            on_chart()
    days = pd.date_range(
        pd.Timestamp(first).tz_localize("UTC"), pd.Timestamp(last).tz_localize("UTC"), freq="D"
    )
    frame = pd.DataFrame({name: values.reindex(days) for name, values in series.items()})
    complete = frame.notna().all(axis=1)
    missing = [stamp.date() for stamp in days[~complete.to_numpy()]]
    frame = frame[complete]
    blocks = frame["n-transactions"] / frame["n-transactions-per-block"]
    low, high = BLOCKS_PER_DAY_RANGE
    implausible = ~blocks.between(low, high)
    if implausible.any():
        day = frame.index[implausible.to_numpy()][0].date()
        raise DataError(
            f"Blockchain.com {day}: n-transactions / n-transactions-per-block = {blocks[implausible].iloc[0]:.1f} "
            f"blocks, outside {low:g}–{high:g} blocks/day"
        )
    if ((frame["market-price"] <= 0) | (frame["difficulty"] <= 0) | (frame["transaction-fees"] < 0)).any():
        raise DataError("Blockchain.com: a price or difficulty ≤ 0, or negative fees, in the answer")
    out = pd.DataFrame(
        {
            "btc_usd": frame["market-price"],
            "difficulty": frame["difficulty"],
            "tx_fees_btc_per_block": frame["transaction-fees"] / blocks,
            "blocks_mined": np.round(blocks, 2),
        }
    )
    out.index = pd.DatetimeIndex(out.index, name="date_utc")
    return out, missing


def bitcoin_table(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` from :func:`fetch_bitcoin_daily` with ``date_utc`` as ``YYYY-MM-DD`` text, for writing."""
    table = frame.reset_index()
    table["date_utc"] = pd.DatetimeIndex(table["date_utc"]).strftime("%Y-%m-%d")
    return table

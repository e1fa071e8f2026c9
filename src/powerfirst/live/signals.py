"""Signal sources: the settled real-time prices and hashprice the agent decides from.

One abstract base, :class:`SignalSource`, with a replay and a live implementation of the same
thing, revealing data as the backtest's information model does: the price of an interval is
known once the interval has ended (it settles then), and the hashprice known on a UTC day is the
previous day's. :meth:`SignalSource.poll` returns every interval settled by ``now_s``.

- :class:`ReplaySource` reveals a price series (a bundled file or a user's CSV) as the clock passes.
- :class:`HttpPriceFeed` reads a price feed over HTTP (JSON or CSV, see :func:`parse_feed`); a
  feed that fails or answers garbage raises :class:`~powerfirst.errors.DataError` naming the row
  and field, and the agent's watchdog counts how long it has gone without a fresh price.

Prices in USD/MWh (negative allowed), instants in seconds since the epoch (UTC).
"""

from __future__ import annotations

import csv
import io
import json
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import pandas as pd

from powerfirst.errors import DataError

__all__ = ["HttpPriceFeed", "ReplaySource", "Settled", "SignalSource", "parse_feed"]

PRICE_LIMIT_USD_PER_MWH = 100_000.0
"""A settled price beyond ±this is refused as garbage (ERCOT's cap is 5,000 USD/MWh)."""


@dataclass(frozen=True)
class Settled:
    """What a source knows at ``now_s``."""

    starts_s: np.ndarray
    """Start of each settled interval, ascending [s since the epoch, UTC]."""
    prices_usd_per_mwh: np.ndarray
    """Its settled real-time price [USD/MWh]."""


class SignalSource(ABC):
    """Where settled prices come from (one base for replay and live)."""

    description: str
    interval_s: float
    """Settlement interval [s]."""

    @abstractmethod
    async def poll(self, now_s: float) -> Settled:
        """Intervals settled by ``now_s`` (start + interval ≤ now). Raises DataError when the
        source cannot be read or answers something that is not a price feed."""

    async def close(self) -> None:
        return None


def _settled_by(starts_s: np.ndarray, prices: np.ndarray, interval_s: float, now_s: float) -> Settled:
    known = starts_s + interval_s <= now_s + 1e-6
    return Settled(starts_s[known], prices[known])


class ReplaySource(SignalSource):
    """A price series revealed as the (replay) clock passes each interval's end."""

    def __init__(self, prices_usd_per_mwh: pd.Series, interval_s: float, description: str) -> None:
        index = pd.DatetimeIndex(prices_usd_per_mwh.index).tz_convert("UTC").as_unit("ns")
        values = prices_usd_per_mwh.to_numpy(dtype=np.float64)
        keep = np.isfinite(values)  # a hole in the file is a price that never arrived
        self._starts_s = index.asi8[keep] / 1e9
        self._prices = values[keep]
        self.interval_s = interval_s
        self.description = description

    async def poll(self, now_s: float) -> Settled:
        return _settled_by(self._starts_s, self._prices, self.interval_s, now_s)


def parse_feed(body: str, content_type: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a price feed: JSON ``{"prices": [{"interval_start_utc": ISO-8601 with zone,
    "price_usd_per_mwh": number}, …]}`` (or the bare list), or CSV with those two columns.
    Returns (starts [s since the epoch], prices [USD/MWh]) sorted by start. Raises DataError naming
    the row, the field and the value for anything else."""
    rows: list[tuple[object, object]]
    if "json" in content_type or body.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            raise DataError(f"{source}: the feed's answer is not JSON ({exc})") from None
        items = data.get("prices") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise DataError(f"{source}: the feed's JSON has no list 'prices' of rows")
        rows = []
        for n, item in enumerate(items):
            if not isinstance(item, dict):
                raise DataError(f"{source}: row {n} of 'prices' is not an object: {item!r:.80}")
            rows.append((item.get("interval_start_utc"), item.get("price_usd_per_mwh")))
    else:
        reader = csv.DictReader(io.StringIO(body))
        fields = reader.fieldnames or []
        for needed in ("interval_start_utc", "price_usd_per_mwh"):
            if needed not in fields:
                raise DataError(f"{source}: the feed's CSV has no column {needed!r} (columns: {fields})")
        rows = [(r["interval_start_utc"], r["price_usd_per_mwh"]) for r in reader]
    starts = np.empty(len(rows))
    prices = np.empty(len(rows))
    for n, (start, price) in enumerate(rows):
        try:
            stamp = pd.Timestamp(str(start))
        except ValueError:
            raise DataError(f"{source}: row {n}: interval_start_utc {start!r:.60} is not a time") from None
        if stamp.tzinfo is None:
            raise DataError(f"{source}: row {n}: interval_start_utc {start!r} has no zone (give +00:00 or Z)")
        try:
            value = float(price) if not isinstance(price, bool) else math.nan  # type: ignore[arg-type]
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value) or abs(value) > PRICE_LIMIT_USD_PER_MWH:
            raise DataError(
                f"{source}: row {n}: price_usd_per_mwh {price!r:.40} is not a price "
                f"(a finite number within ±{PRICE_LIMIT_USD_PER_MWH:,.0f} USD/MWh)"
            )
        starts[n] = stamp.tz_convert("UTC").value / 1e9
        prices[n] = value
    order = np.argsort(starts, kind="stable")
    return starts[order], prices[order]


class HttpPriceFeed(SignalSource):
    """A live price feed read over HTTP with httpx (bounded by ``timeout_s``)."""

    def __init__(self, url: str, interval_s: float, *, timeout_s: float = 5.0) -> None:
        import httpx

        self.url = url
        self.interval_s = interval_s
        self.description = f"price feed {url}"
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, trust_env=False)

    async def poll(self, now_s: float) -> Settled:
        import httpx

        try:
            response = await self._client.get(self.url)
        except httpx.HTTPError as exc:
            raise DataError(f"{self.description}: no answer ({type(exc).__name__}: {exc})") from None
        if response.status_code != 200:
            raise DataError(f"{self.description}: HTTP {response.status_code}")
        starts, prices = parse_feed(response.text, response.headers.get("content-type", ""), self.description)
        return _settled_by(starts, prices, self.interval_s, now_s)

    async def close(self) -> None:
        await self._client.aclose()

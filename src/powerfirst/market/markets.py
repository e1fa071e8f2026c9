"""The registry of the ISO/RTO markets powerfirst knows: one :class:`Market` per market, each
defined in its own module under :mod:`powerfirst.market.isos` (zone, real-time settlement
interval, day-ahead publication time and the rule behind them, grid programs and the series
bundled for it). Adding a market is one module there.

The grid programs modelled (4CP and the bundled ancillary-service products) are ERCOT's: a site
file that asks for them with prices from another market gets a note that they are ERCOT rules.
"""

from __future__ import annotations

from powerfirst.errors import ConfigError
from powerfirst.market.iso import BundledSeries, Market
from powerfirst.market.isos import ALL, ERCOT

__all__ = [
    "ERCOT",
    "MARKETS",
    "BundledSeries",
    "Market",
    "bundled_price_series",
    "find_market",
    "market_names",
    "market_of_prefix",
]

MARKETS: dict[str, Market] = {m.key: m for m in ALL}
"""Every known market by key."""


def bundled_price_series() -> dict[str, BundledSeries]:
    """Every bundled price series by its ``SOURCE`` prefix (``ercot-rt``...), markets in order."""
    return {s.prefix: s for m in MARKETS.values() for s in m.bundled_prices}


def market_names() -> str:
    """The accepted names, for error messages."""
    return ", ".join(MARKETS)


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "").replace("_", "").replace(" ", "")


def find_market(name: str, *, field: str = "market") -> Market:
    """The market called ``name`` (case-insensitive; ``ISO-NE`` = ``isone``). Raises ConfigError
    naming ``field`` and the options."""
    key = _normalise(name)
    if key in MARKETS:
        return MARKETS[key]
    raise ConfigError(f"{field} = {name!r}: unknown market; known markets: {market_names()}")


def market_of_prefix(prefix: str) -> Market | None:
    """The market of a bundled source prefix (``ercot-rt`` → ERCOT), None for anything else."""
    return next((m for m in MARKETS.values() if prefix in m.bundled_prefixes), None)

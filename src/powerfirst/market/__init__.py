"""Market data: price series, their sources, and how a window is read."""

from powerfirst.market.markets import MARKETS, Market, find_market
from powerfirst.market.series import GapReport, PriceSeries
from powerfirst.market.source_spec import SourceSpec, price_spec
from powerfirst.market.sources import (
    BundledPriceSource,
    CsvPriceSource,
    PriceSource,
    bundled_sources,
    parse_source,
)
from powerfirst.market.window import Window, parse_window

__all__ = [
    "MARKETS",
    "BundledPriceSource",
    "CsvPriceSource",
    "GapReport",
    "Market",
    "PriceSeries",
    "PriceSource",
    "SourceSpec",
    "Window",
    "bundled_sources",
    "find_market",
    "parse_source",
    "parse_window",
    "price_spec",
]

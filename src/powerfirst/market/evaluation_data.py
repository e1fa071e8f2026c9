"""The data side of a forecast evaluation: the zone its years are read in and the market its
day-ahead clock follows (:func:`evaluation_zone`), and the years a real-time source can train on.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from powerfirst.errors import ConfigError, DataError
from powerfirst.market.markets import Market, market_names
from powerfirst.market.source_spec import price_spec
from powerfirst.market.sources import parse_source
from powerfirst.market.window import resolve_market, resolve_timezone

__all__ = ["EvaluationZone", "earliest_training_start", "evaluation_zone", "year_start_utc"]


@dataclass(frozen=True)
class EvaluationZone:
    """The zone test years are read in and the market the day-ahead clock follows."""

    timezone: str
    origin: str
    """Where the zone came from, in words (e.g. 'from rt.csv's interval_start_local')."""
    market: Market | None

    def line(self) -> str:
        """The console line: dates read in which zone, from where."""
        return f"dates read in {self.timezone} ({self.origin})"


def evaluation_zone(
    rt_source: str, da_source: str | None, *, market: str | None = None, timezone: str | None = None
) -> EvaluationZone:
    """The zone and market of an evaluation, by the rule of ``backtest`` (market/window.py): a CSV's
    ``interval_start_local`` → ``timezone`` (``--timezone``) → the market's zone (``market``,
    ``--market``, or a bundled source's own) → error. A day-ahead source of another market, or
    day-ahead prices with no market known (their publication time is the market's), is an error."""
    spec = price_spec(rt_source)  # the SOURCE text, parsed once
    iso, market_origin = resolve_market(parse_source(spec), option=market)
    zone, origin = resolve_timezone(
        parse_source(spec, market=iso), site_timezone=timezone, market=iso, market_origin=market_origin
    )
    origin = origin.replace("the site's timezone", "--timezone")
    if da_source is not None:
        da_market = parse_source(da_source, timezone=zone).market
        if da_market is not None and iso is not None and da_market.key != iso.key:
            raise ConfigError(
                f"--day-ahead {da_source} is {da_market.label} data, but the market is {iso.label} ({market_origin})"
            )
        if iso is None:
            raise ConfigError(
                f"--day-ahead {da_source}: day-ahead prices are revealed at the market's publication time, and "
                f"the market of {rt_source} is not known: give --market (one of {market_names()}), or "
                "--day-ahead none"
            )
    return EvaluationZone(zone, origin, iso)


def year_start_utc(year: int, timezone: str) -> pd.Timestamp:
    return pd.Timestamp(f"{year}-01-01", tz=timezone).tz_convert("UTC")


def earliest_training_start(rt_source: str, test_year: int, timezone: str, max_years: int) -> pd.Timestamp:
    """Start of the earliest market-local year before ``test_year`` (at most ``max_years`` back) from
    which the source covers every year."""
    source = parse_source(rt_source)
    first = None
    for year in range(test_year - 1, test_year - 1 - max_years, -1):
        try:
            source.load(year_start_utc(year, timezone), year_start_utc(year + 1, timezone))
        except DataError:
            break
        first = year
    if first is None:
        raise DataError(
            f"{rt_source}: no real-time prices in {test_year - 1} to train on before test year {test_year}"
        )
    return year_start_utc(first, timezone)

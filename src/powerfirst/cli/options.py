"""Help texts shared by the commands that take a window and a price source."""

from __future__ import annotations

from powerfirst.market.sources import bundled_sources

START_HELP = (
    "First day: a market-local date YYYY-MM-DD (inclusive), or an ISO time: with Z or a UTC offset "
    "that instant, without one (naive, e.g. 2023-07-01T14:00) a market-local time. Must be on the "
    "prices' interval grid."
)
END_HELP = (
    "Last day: a market-local date YYYY-MM-DD (inclusive), or an ISO time (exclusive; naive = "
    "market-local, as --start). Must be on the prices' interval grid."
)
SOURCES_HELP = (
    "Price SOURCE: "
    + "; ".join(f"{k}:POINT ({v})" for k, v in bundled_sources().items())
    + "; or path/to/file.csv:COLUMN (a CSV with an interval_start_utc column)."
)

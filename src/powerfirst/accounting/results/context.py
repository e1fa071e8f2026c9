"""What every result of one backtest shares: the window, the market, the data gaps and the hashprice."""

from __future__ import annotations

from powerfirst.accounting.results.base import ResultModel

__all__ = ["DataGaps", "GapSpan", "HashpriceSummary", "MarketFacts", "OutsideCoverage", "WindowSummary"]


class MarketFacts(ResultModel):
    """The market the prices are from and its day-ahead publication rule."""

    market: str
    """Market key (``ercot``, ``caiso`` …)."""
    label: str
    """Market name as printed (``ERCOT``)."""
    timezone: str
    """The market's time zone (IANA name)."""
    rt_settlement_interval_minutes: float
    """Real-time settlement interval [minutes]."""
    da_publish_local_time: str
    """Local wall-clock time the day-ahead results are published the day before [HH:MM]."""
    da_publish_timezone: str
    """Zone of ``da_publish_local_time`` (IANA name)."""
    grid_programs: list[str]
    """Grid programs modelled on this market's rules (``4CP``, ``ancillary``), sorted."""
    rule: str
    """The market rule the publication time comes from."""


class WindowSummary(ResultModel):
    """The backtest window [start, end) and the zone its dates were read in."""

    start_utc: str
    """First interval start, ISO-8601 UTC."""
    end_utc: str
    """End of the window (exclusive), ISO-8601 UTC."""
    timezone: str
    """Zone of plain dates and local-time features (IANA name)."""
    timezone_source: str
    """Where the zone came from."""
    statement: str
    """The zone line printed with the results."""
    market: str | None
    """Market key of the prices (None: not named)."""
    market_source: str | None
    """Where the market was named (None: not named)."""
    market_facts: MarketFacts | None
    """The market's facts (None: not named)."""
    start_local: str
    """``start_utc`` in ``timezone``, ISO-8601 with offset."""
    end_local: str
    """``end_utc`` in ``timezone``, ISO-8601 with offset."""
    end: str
    """Always ``exclusive``."""


class GapSpan(ResultModel):
    """A span [start, end) of the window outside the price data's coverage."""

    start_utc: str
    """Start, ISO-8601 UTC."""
    end_utc: str
    """End (exclusive), ISO-8601 UTC."""


class OutsideCoverage(ResultModel):
    """The part of the window before the data's first or after its last priced interval."""

    intervals: int
    """Intervals of the window outside the coverage [count]."""
    spans_utc: list[GapSpan]
    """Those intervals as spans."""
    coverage_start_utc: str | None
    """First priced interval start of the source, ISO-8601 UTC (None: unknown)."""
    coverage_end_utc: str | None
    """End of the source's last priced interval, ISO-8601 UTC (None: unknown)."""


class DataGaps(ResultModel):
    """Intervals of the window without a price: excluded, never filled."""

    count: int
    """Missing intervals inside the data's coverage [count]."""
    longest_intervals: int
    """Longest run of missing intervals [count]."""
    longest_start_utc: str | None
    """Start of that run, ISO-8601 UTC (None: no gap)."""
    expected_intervals: int
    """Intervals the window should have [count]."""
    outside_coverage: OutsideCoverage
    """Intervals of the window outside the data's coverage."""
    basis: str
    """What the counts mean."""
    handling: str
    """What is done with an interval without a price."""


class HashpriceSummary(ResultModel):
    """Where the hashprice came from and its mean over the window."""

    source: str
    """Description of the hashprice source."""
    tx_fees_btc_per_block: float | None
    """Transaction fees added to the subsidy [BTC/block] (None: the source does not say)."""
    fees_included: bool | None
    """Whether fees are in the hashprice (None: unknown)."""
    note: str
    """The warning that mining revenue excludes fees ("" when it does not)."""
    mean_usd_per_ph_day: float
    """Mean realised hashprice over the window's intervals [USD/PH/day]."""

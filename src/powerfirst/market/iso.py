"""The facts of one ISO/RTO market (:class:`Market`) and of a series bundled for it
(:class:`BundledSeries`). Each market is defined in its own module under
:mod:`powerfirst.market.isos`; :mod:`powerfirst.market.markets` is the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

import pandas as pd

__all__ = ["BundledSeries", "Market"]


@dataclass(frozen=True)
class BundledSeries:
    """A series shipped with powerfirst (``src/powerfirst/data/<folder>``), one file per
    market-local year (``pattern`` with ``{year}``) or one file (``pattern`` without it)."""

    prefix: str
    """The name before ':' in a ``SOURCE`` (``ercot-rt``), or the series' own name (``ercot-load``)."""
    folder: str
    """Folder under the bundled data directory, e.g. ``ercot``."""
    pattern: str
    """File name, with ``{year}`` for one file per market-local year."""
    years: tuple[int, ...]
    """Market-local years the files cover."""
    interval: pd.Timedelta
    """Interval of the series."""
    column_suffix: str = ""
    """Suffix of a price point's column (CAISO: ``_LMP``)."""
    description: str = ""
    """What the series holds, in words (help texts)."""
    column: str = ""
    """The one column read, for a single-series file (load: ``ERCOT``)."""
    day_ahead: str = ""
    """The bundled day-ahead series that goes with a real-time one, by prefix (``ercot-rt`` →
    ``ercot-da``): the default day-ahead prices of the same point; "" = none."""

    def filename(self, year: int | None = None) -> str:
        """The file of ``year`` (the single file when the pattern has no year)."""
        return self.pattern.format(year=year) if year is not None else self.pattern


@dataclass(frozen=True)
class Market:
    """One ISO/RTO market (the rule behind each fact is in its module's docstring)."""

    key: str
    """The name used in site files and ``--market`` (lower case), e.g. ``nyiso``."""
    label: str
    """The market's own name, e.g. ``NYISO``."""
    timezone: str
    """IANA zone of the market's operating day (market-local dates, calendar features)."""
    rt_settlement_interval: pd.Timedelta
    """Real-time settlement interval."""
    da_publish_local_time: time
    """When the day-ahead results for the next operating day are published, on the clock of
    ``da_publish_timezone`` (the day before the operating day)."""
    rule: str
    """The published rule or document the facts come from."""
    da_publish_timezone: str = ""
    """Zone of the publication clock when it differs from ``timezone`` (MISO: its operating day is
    on EST, its publication on Eastern prevailing time); "" = ``timezone``."""
    grid_programs: frozenset[str] = field(default_factory=frozenset)
    """Grid programs powerfirst models for this market: ``fourcp``, ``ancillary``."""
    bundled_prices: tuple[BundledSeries, ...] = ()
    """Bundled price series of this market (``ercot-rt``...), in the order they are listed."""
    fourcp_months: tuple[int, ...] = ()
    """Months of the Four Coincident Peak program (market-local calendar months, 1–12)."""
    as_products: tuple[str, ...] = ()
    """Ancillary-service products a site may offer (columns of the ancillary price file)."""
    bundled_load: BundledSeries | None = None
    """Bundled hourly system load [MW] (4CP peaks, the forecasters' load input), None: none."""
    bundled_as_prices: BundledSeries | None = None
    """Bundled day-ahead ancillary-service capacity prices [USD/MW per hour], None: none."""

    @property
    def bundled_prefixes(self) -> tuple[str, ...]:
        """Bundled price sources of this market (``ercot-rt``...)."""
        return tuple(s.prefix for s in self.bundled_prices)

    @property
    def publish_timezone(self) -> str:
        return self.da_publish_timezone or self.timezone

    @property
    def publish_time_text(self) -> str:
        """The day-ahead publication time as ``HH:MM``."""
        return self.da_publish_local_time.strftime("%H:%M")

    def as_dict(self) -> dict[str, str | float | list[str]]:
        return {
            "market": self.key,
            "label": self.label,
            "timezone": self.timezone,
            "rt_settlement_interval_minutes": self.rt_settlement_interval / pd.Timedelta(minutes=1),
            "da_publish_local_time": self.publish_time_text,
            "da_publish_timezone": self.publish_timezone,
            "grid_programs": sorted(self.grid_programs),
            "rule": self.rule,
        }

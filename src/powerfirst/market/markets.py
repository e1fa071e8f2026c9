"""The ISO/RTO markets powerfirst knows: one :class:`Market` per market, the facts the backtest and
the rolling policy's information model need. Adding a market is one entry in :data:`MARKETS`.

Sources of each fact (the market's own published rules; the section named is where the timeline
is set out):

* **ERCOT** — Nodal Protocols Section 4 (Day-Ahead Operations: DAM results published by 13:30 the
  day before the Operating Day) and Section 6 (15-minute Settlement Intervals); the Operating Day
  is on Central Prevailing Time. Grid programs: Four Coincident Peak transmission charges (PUCT
  Substantive Rule 25.192) and day-ahead ancillary services (Reg-Up, Reg-Down, RRS, ECRS, Non-Spin).
* **CAISO** — Tariff Section 6 (Day-Ahead Market results published at 13:00 Pacific the day
  before) and Section 11 (real-time settlement in 5-minute intervals; the bundled series is the
  15-minute market); Pacific prevailing time.
* **SPP** — Integrated Marketplace Market Protocols Section 4 (Day-Ahead Market results posted by
  14:00 Central the day before, the timeline adopted for FERC Order 809 in 2016); Real-Time
  Balancing Market settled in 5-minute intervals; Central prevailing time.
* **MISO** — BPM-002 Energy and Operating Reserve Markets: the Operating Day is on **Eastern
  Standard Time all year** (no daylight saving; IANA ``Etc/GMT+5`` = UTC−5), while the day-ahead
  window closes at 10:30 and results are posted by 13:30 **Eastern Prevailing** Time (MISO's FERC
  Order 809 compliance, 2016); five-minute real-time settlement (FERC Order 825, 2021).
* **NYISO** — Market Administration and Control Area Services Tariff Section 4 (Day-Ahead Market
  schedules and prices posted by 11:00 the day before), Eastern prevailing time; Real-Time Market
  settled on 5-minute RTD intervals.
* **ISO-NE** — Market Rule 1 Section III.1.10 (Day-Ahead Energy Market results posted by 13:30
  the day before; five-minute real-time settlement since 2017), Eastern prevailing time.
* **PJM** — Manual 11 Section 2 (Day-Ahead Market results posted by 13:30 EPT the day before) and
  Manual 28 (five-minute real-time settlement since 2018), Eastern prevailing time.

The grid programs modelled (4CP and the bundled ancillary-service products) are ERCOT's: a site
file that asks for them with prices from another market gets a note that they are ERCOT rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

import pandas as pd

from powerfirst.errors import ConfigError

__all__ = ["MARKETS", "Market", "find_market", "market_names", "market_of_prefix"]


@dataclass(frozen=True)
class Market:
    """One ISO/RTO market (see the module docstring for the rule behind each fact)."""

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
    bundled_prefixes: tuple[str, ...] = ()
    """Bundled price sources of this market (``ercot-rt``...)."""

    @property
    def publish_timezone(self) -> str:
        return self.da_publish_timezone or self.timezone

    def as_dict(self) -> dict[str, str | float | list[str]]:
        return {
            "market": self.key,
            "label": self.label,
            "timezone": self.timezone,
            "rt_settlement_interval_minutes": self.rt_settlement_interval / pd.Timedelta(minutes=1),
            "da_publish_local_time": self.da_publish_local_time.strftime("%H:%M"),
            "da_publish_timezone": self.publish_timezone,
            "grid_programs": sorted(self.grid_programs),
            "rule": self.rule,
        }


_FIVE = pd.Timedelta(minutes=5)

MARKETS: dict[str, Market] = {
    m.key: m
    for m in (
        Market(
            "ercot",
            "ERCOT",
            "America/Chicago",
            pd.Timedelta(minutes=15),
            time(13, 30),
            "ERCOT Nodal Protocols Section 4 (DAM results by 13:30 CPT), Section 6 (15-minute settlement)",
            grid_programs=frozenset({"fourcp", "ancillary"}),
            bundled_prefixes=("ercot-rt", "ercot-da"),
        ),
        Market(
            "caiso",
            "CAISO",
            "America/Los_Angeles",
            _FIVE,
            time(13, 0),
            "CAISO Tariff Section 6 (DAM results at 13:00 PPT), Section 11 (5-minute real-time settlement)",
            bundled_prefixes=("caiso-rt",),
        ),
        Market(
            "spp",
            "SPP",
            "America/Chicago",
            _FIVE,
            time(14, 0),
            "SPP Market Protocols Section 4 (DA Market results by 14:00 CPT; 5-minute RTBM settlement)",
        ),
        Market(
            "miso",
            "MISO",
            "Etc/GMT+5",
            _FIVE,
            time(13, 30),
            "MISO BPM-002 (operating day on EST all year; DA results by 13:30 EPT), FERC Order 825 "
            "(5-minute settlement)",
            da_publish_timezone="America/New_York",
        ),
        Market(
            "nyiso",
            "NYISO",
            "America/New_York",
            _FIVE,
            time(11, 0),
            "NYISO Market Services Tariff Section 4 (DAM schedules and prices by 11:00 ET), 5-minute RTD settlement",
        ),
        Market(
            "isone",
            "ISO-NE",
            "America/New_York",
            _FIVE,
            time(13, 30),
            "ISO-NE Market Rule 1 Section III.1.10 (DA results by 13:30 ET), 5-minute settlement since 2017",
        ),
        Market(
            "pjm",
            "PJM",
            "America/New_York",
            _FIVE,
            time(13, 30),
            "PJM Manual 11 Section 2 (DA results by 13:30 EPT), Manual 28 (5-minute settlement since 2018)",
        ),
    )
}
"""Every known market by key."""


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

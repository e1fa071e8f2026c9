"""What a decision-maker knows at a given time: the information model of every non-hindsight strategy.

At issue time τ (the start of the interval being decided) a policy may see:

* real-time prices of the intervals that have settled (interval start + length ≤ τ);
* day-ahead prices (energy, and ancillary-service capacity) once the day-ahead market has
  published them: each market publishes operating day D at its own time on D − 1 (ERCOT 13:30
  Central, CAISO 13:00 Pacific, NYISO 11:00 Eastern...; :mod:`powerfirst.market.markets`,
  :func:`day_ahead_published_until`). Day-ahead data without a known market is an error, never
  an assumed ERCOT clock;
* system load of the hours that have ended (hour start + 1 h ≤ τ);
* the daily hashprice up to the previous UTC day (handled by the backtest runner).

:class:`MarketClock` enforces this by construction: it holds the realised series and copies
values and times into NaN/NaT-filled buffers only as time passes (time only moves forward). A
policy gets a :class:`MarketView`, which holds those buffers and nothing else — no reference to
the clock or the realised data — so a :class:`MarketHistory` handed out at τ is built from
memory in which nothing after τ has been written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from powerfirst._types import Array
from powerfirst.calendar import NS_PER_HOUR
from powerfirst.errors import DataError
from powerfirst.market.markets import ERCOT, Market, market_names
from powerfirst.market.sources import read_bundled_table

__all__ = [
    "MarketClock",
    "MarketData",
    "MarketHistory",
    "MarketView",
    "bundled_system_load",
    "day_ahead_published_until",
]

assert ERCOT.bundled_load is not None
_LOAD = ERCOT.bundled_load


def _publications_utc(days: pd.DatetimeIndex, market: Market) -> pd.DatetimeIndex:
    """When the day-ahead results of each operating day (naive local dates of the market's zone)
    are published: the day before, at the market's publication time on its publication clock."""
    at = market.da_publish_local_time
    wall = days - pd.Timedelta(days=1) + pd.Timedelta(hours=at.hour, minutes=at.minute)
    # publication times (11:00–14:00) exist on every day, clock changes included
    return wall.tz_localize(market.publish_timezone).tz_convert("UTC")


def day_ahead_published_until(issued_utc: pd.Timestamp, market: Market) -> pd.Timestamp:
    """End (exclusive, UTC) of the day-ahead prices published by ``issued_utc`` in ``market``.

    Before the market's publication time on local day D the prices of D are known (published on
    D − 1); from it on, those of D + 1 too.
    """
    midnight = issued_utc.tz_convert(market.timezone).normalize()
    today = pd.DatetimeIndex([midnight.tz_localize(None)])
    tomorrow_published = issued_utc >= _publications_utc(today + pd.Timedelta(days=1), market)[0]
    days = 2 if tomorrow_published else 1
    # normalize() after adding days keeps local midnight across DST changes
    end_local = (midnight + pd.Timedelta(days=days, hours=3)).normalize()
    return pd.Timestamp(end_local).tz_convert("UTC")


def bundled_system_load(start_utc: pd.Timestamp, end_utc: pd.Timestamp) -> pd.Series:
    """ERCOT hourly native load for hours starting in [start_utc, end_utc) [MW]; bundled 2021–2023
    (:attr:`Market.bundled_load` of ERCOT)."""
    local_years = range(
        start_utc.tz_convert(ERCOT.timezone).year,
        (end_utc - pd.Timedelta(seconds=1)).tz_convert(ERCOT.timezone).year + 1,
    )
    missing = [y for y in local_years if y not in _LOAD.years]
    if missing:
        raise DataError(
            f"system load: no bundled ERCOT native load for {', '.join(map(str, missing))}; "
            f"bundled years: {_LOAD.years[0]}–{_LOAD.years[-1]}"
        )
    parts = [read_bundled_table(_LOAD.folder, _LOAD.filename(y))[_LOAD.column] for y in local_years]
    load = pd.concat(parts).astype("float64")
    load = load[~load.index.duplicated(keep="first")].sort_index()
    inside: pd.Series = load[(load.index >= start_utc) & (load.index < end_utc)]
    return inside.rename("system_load_mw")


class MarketHistory:
    """What is known at ``issued_utc``. Every series is UTC-indexed by interval start, sorted, and
    holds only values known at ``issued_utc`` (read-only).

    A history handed out by a :class:`MarketView` builds its pandas series only when one is read:
    forecasters read the recent part of each series as numpy arrays (:meth:`recent`), and building
    a tz-aware index over years of 5-minute prices at every re-solve costs more than the forecast.
    """

    def __init__(
        self,
        issued_utc: pd.Timestamp,
        timezone: str,
        rt_price_usd_per_mwh: pd.Series,
        da_price_usd_per_mwh: pd.Series,
        load_mw: pd.Series,
        as_price_usd_per_mw_hour: dict[str, pd.Series] | None = None,
        market: Market | None = None,
    ) -> None:
        self.issued_utc = issued_utc
        self.timezone = timezone
        """Market-local zone (calendar features, day-ahead publication)."""
        self.market = market
        """The market whose day-ahead clock applies (None: no day-ahead data)."""
        self._series: dict[str, pd.Series] = {
            "rt": rt_price_usd_per_mwh,
            "da": da_price_usd_per_mwh,
            "load": load_mw,
        }
        self._ancillary = dict(as_price_usd_per_mw_hour or {})
        self._shown: dict[str, _Snapshot] = {}
        self._ancillary_shown: dict[str, _Snapshot] = {}

    @classmethod
    def _revealed(
        cls,
        issued_utc: pd.Timestamp,
        timezone: str,
        shown: dict[str, _Snapshot],
        ancillary: dict[str, _Snapshot],
        market: Market | None,
    ) -> MarketHistory:
        """A history over snapshots of a view's buffers (series built on first read)."""
        history = cls.__new__(cls)
        history.issued_utc = issued_utc
        history.timezone = timezone
        history.market = market
        history._series = {}
        history._shown = shown
        history._ancillary = {}
        history._ancillary_shown = ancillary
        return history

    def _get(self, name: str) -> pd.Series:
        series = self._series.get(name)
        if series is None:
            series = self._series[name] = self._shown[name].series()
        return series

    @property
    def rt_price_usd_per_mwh(self) -> pd.Series:
        """Settled real-time prices, native resolution, up to the last settled interval [USD/MWh]."""
        return self._get("rt")

    @property
    def da_price_usd_per_mwh(self) -> pd.Series:
        """Hourly day-ahead energy prices published by ``issued_utc`` (may run to the end of the next
        market day) [USD/MWh]; empty without a day-ahead source."""
        return self._get("da")

    @property
    def load_mw(self) -> pd.Series:
        """Hourly system load of the hours that have ended [MW]; empty without load data."""
        return self._get("load")

    @property
    def as_price_usd_per_mw_hour(self) -> dict[str, pd.Series]:
        """Hourly day-ahead capacity price of each ancillary product, published ones only
        [USD/MW per hour]."""
        if len(self._ancillary) < len(self._ancillary_shown):
            self._ancillary = {p: shown.series() for p, shown in self._ancillary_shown.items()}
        return self._ancillary

    def ancillary_at(self, product: str, hours_ns: npt.NDArray[np.int64]) -> Array:
        """The published capacity price of ancillary ``product`` at each hour start ``hours_ns``
        [UTC ns], NaN where none is published [USD/MW per hour] (as
        ``as_price_usd_per_mw_hour[product].reindex(hours)``, without building the series)."""
        snapshot = self._ancillary_shown.get(product)
        if snapshot is not None and snapshot.unique and product not in self._ancillary:
            known, values = snapshot.ns, snapshot.values  # sorted, no NaN
        else:
            series = self.as_price_usd_per_mw_hour.get(product)
            if series is None or not len(series):
                return np.full(hours_ns.shape, np.nan)
            index = series.index
            if not (
                isinstance(index, pd.DatetimeIndex)
                and index.tz is not None
                and index.is_monotonic_increasing
                and index.is_unique
            ):
                wanted = pd.DatetimeIndex(hours_ns, tz="UTC")
                return series.reindex(wanted).to_numpy(dtype=np.float64)
            known = index.as_unit("ns").asi8
            values = series.to_numpy(dtype=np.float64)
        if not known.size:
            return np.full(hours_ns.shape, np.nan)
        at = np.clip(np.searchsorted(known, hours_ns), 0, known.size - 1)
        return np.where(known[at] == hours_ns, values[at], np.nan)

    def recent(self, name: str, from_ns: int) -> tuple[npt.NDArray[np.int64], Array]:
        """Start [UTC ns] and value of each known entry of series ``name`` (``"rt"``, ``"da"`` or
        ``"load"``) that starts at or after ``from_ns``, NaN values left out (read-only arrays)."""
        snapshot = self._shown.get(name)
        if snapshot is not None and name not in self._series:
            ns, values = snapshot.ns, snapshot.values  # the buffers hold no NaN
        else:
            series = self._get(name)
            ns = np.asarray(pd.DatetimeIndex(series.index).as_unit("ns").asi8, dtype=np.int64)
            values = series.to_numpy(dtype=np.float64)
        k = int(np.searchsorted(ns, from_ns, side="left"))
        ns, values = ns[k:], values[k:]
        keep = ~np.isnan(values)
        if not keep.all():
            ns, values = ns[keep], values[keep]
        return ns, values

    @property
    def da_published_until_utc(self) -> pd.Timestamp:
        """End (exclusive) of the published day-ahead prices."""
        if self.market is None:
            raise DataError(f"day-ahead publication needs the market; known markets: {market_names()}")
        return day_ahead_published_until(self.issued_utc, self.market)


@dataclass(frozen=True)
class MarketData:
    """The realised series over a period (with history before it) that a clock reveals over time."""

    timezone: str
    rt_price_usd_per_mwh: pd.Series
    """Real-time prices by interval start [USD/MWh]."""
    rt_interval: pd.Timedelta
    da_price_usd_per_mwh: pd.Series
    """Hourly day-ahead prices by hour start [USD/MWh] (empty: none)."""
    load_mw: pd.Series
    """Hourly system load by hour start [MW] (empty: none)."""
    as_price_usd_per_mw_hour: dict[str, pd.Series] = field(default_factory=dict)
    """Hourly day-ahead capacity price per ancillary product by hour start [USD/MW per hour]."""
    market: Market | None = None
    """The market the data is from: its day-ahead publication time decides when day-ahead and
    ancillary prices are revealed. Required when there are any (never an assumed ERCOT clock)."""

    def clock(self) -> MarketClock:
        return MarketClock(self)


_NAT = np.iinfo(np.int64).min


class _Shown:
    """What has been revealed of one series so far: buffers (values NaN, times NaT beyond ``count``)
    that hold nothing else — the realised series stays with the clock."""

    def __init__(self, size: int, name: str, *, unique: bool = True) -> None:
        self.values = np.full(size, np.nan)
        self.ns = np.full(size, _NAT, dtype=np.int64)
        self.count = 0
        self.name = name
        self.unique = unique
        """No two entries share a time."""

    def snapshot(self) -> _Snapshot:
        """What is shown now; later reveals write only beyond it."""
        return _Snapshot(self.ns, self.values, self.count, self.name, self.unique)


class _Snapshot:
    """The first ``count`` entries of a :class:`_Shown`'s buffers: read-only views of memory that
    is written once (a reveal writes only beyond the count) and holds nothing later."""

    def __init__(
        self, ns: npt.NDArray[np.int64], values: Array, count: int, name: str, unique: bool = True
    ) -> None:
        self.ns = ns[:count]
        self.ns.flags.writeable = False
        self.values = values[:count]
        self.values.flags.writeable = False
        self.name = name
        self.unique = unique

    def series(self) -> pd.Series:
        index = pd.DatetimeIndex(self.ns.view("M8[ns]"), copy=True).tz_localize("UTC")
        return pd.Series(self.values, index=index, name=self.name, copy=False)


class _Revealed:
    """The realised series (clock side) and what of it has been shown."""

    def __init__(self, series: pd.Series, name: str) -> None:
        clean = series.dropna().sort_index()
        self._ns = pd.DatetimeIndex(clean.index).as_unit("ns").asi8.copy()
        self._values = clean.to_numpy(dtype=np.float64, copy=True)
        self.shown = _Shown(self._values.shape[0], name, unique=bool(clean.index.is_unique))

    def reveal_before(self, cutoff_ns: int) -> None:
        """Show everything with index < ``cutoff_ns`` (UTC, ns since the epoch); the cut-off never
        moves back."""
        shown = self.shown
        k = int(np.searchsorted(self._ns, cutoff_ns, side="left"))
        if k < shown.count:
            raise DataError(
                f"{shown.name}: the clock cannot go back in time (asked for {pd.Timestamp(cutoff_ns, tz='UTC')})"
            )
        shown.values[shown.count : k] = self._values[shown.count : k]
        shown.ns[shown.count : k] = self._ns[shown.count : k]
        shown.count = k


class MarketView:
    """What a policy holds: the revealed buffers and the time they were revealed to — no reference
    to the realised data."""

    def __init__(
        self,
        timezone: str,
        rt: _Shown,
        da: _Shown,
        load: _Shown,
        ancillary: dict[str, _Shown],
        market: Market | None = None,
    ) -> None:
        self.timezone = timezone
        self.market = market
        self._rt, self._da, self._load, self._as = rt, da, load, ancillary
        self.issued_utc: pd.Timestamp | None = None

    def history(self) -> MarketHistory:
        """What is known now (at the time the clock last advanced to)."""
        if self.issued_utc is None:
            raise DataError("the market clock has not started")
        return MarketHistory._revealed(
            self.issued_utc,
            self.timezone,
            {"rt": self._rt.snapshot(), "da": self._da.snapshot(), "load": self._load.snapshot()},
            {p: shown.snapshot() for p, shown in self._as.items()},
            self.market,
        )


class MarketClock:
    """Reveals what is known at each issue time, moving only forward (see the module docstring)."""

    def __init__(self, data: MarketData) -> None:
        self.timezone = data.timezone
        day_ahead = len(data.da_price_usd_per_mwh) > 0 or any(
            len(s) for s in data.as_price_usd_per_mw_hour.values()
        )
        if day_ahead and data.market is None:
            raise DataError(
                "day-ahead prices are revealed at the market's publication time, and the market is not known: "
                f"set market: in the site file or --market (one of {market_names()})"
            )
        self.market = data.market
        self._rt_interval_ns = int(data.rt_interval / pd.Timedelta(1))
        self._publish_ns, self._until_ns = self._publications(data)
        self._rt = _Revealed(data.rt_price_usd_per_mwh, "rt_price_usd_per_mwh")
        self._da = _Revealed(data.da_price_usd_per_mwh, "da_price_usd_per_mwh")
        self._load = _Revealed(data.load_mw, "load_mw")
        self._as = {
            p: _Revealed(v, f"as_price_usd_per_mw_hour[{p}]")
            for p, v in data.as_price_usd_per_mw_hour.items()
        }
        self.view = MarketView(
            self.timezone,
            self._rt.shown,
            self._da.shown,
            self._load.shown,
            {p: r.shown for p, r in self._as.items()},
            data.market,
        )

    def _publications(self, data: MarketData) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """For each market day around the data: when its day-ahead prices are published and where
        they end, both UTC ns, sorted (see :func:`day_ahead_published_until`)."""
        stamps = [
            s.index for s in (data.rt_price_usd_per_mwh, data.da_price_usd_per_mwh, data.load_mw) if len(s)
        ]
        if not stamps or data.market is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        zone = data.market.timezone  # market days are the market's operating days
        first = min(pd.Timestamp(i.min()) for i in stamps).tz_convert(zone).normalize()
        last = max(pd.Timestamp(i.max()) for i in stamps).tz_convert(zone).normalize()
        days = pd.date_range(
            first.tz_localize(None) - pd.Timedelta(days=2), last.tz_localize(None) + pd.Timedelta(days=3)
        )
        publish = _publications_utc(days, data.market)
        until = (days + pd.Timedelta(days=1)).tz_localize(zone)
        return (
            publish.tz_convert("UTC").as_unit("ns").asi8.copy(),
            until.tz_convert("UTC").as_unit("ns").asi8.copy(),
        )

    def advance(self, issued_utc: pd.Timestamp) -> None:
        """Reveal what is known at ``issued_utc`` (not earlier than the last call's time)."""
        now = pd.Timestamp(issued_utc).as_unit("ns").value
        k = int(np.searchsorted(self._publish_ns, now, side="right")) - 1
        if 0 <= k < self._publish_ns.size - 1:
            published = int(self._until_ns[k])
        elif self.market is not None:
            published = pd.Timestamp(day_ahead_published_until(issued_utc, self.market)).as_unit("ns").value
        else:  # no day-ahead data (checked in __init__): nothing to publish
            published = now
        # an interval has settled once it has ended; a load hour is metered once it has ended
        self._rt.reveal_before(now - self._rt_interval_ns + 1)
        self._da.reveal_before(published)
        self._load.reveal_before(now - NS_PER_HOUR + 1)
        for revealed in self._as.values():
            revealed.reveal_before(published)
        self.view.issued_utc = issued_utc

    def known_at(self, issued_utc: pd.Timestamp) -> MarketHistory:
        """What is known at ``issued_utc`` (not earlier than the last call's time)."""
        self.advance(issued_utc)
        return self.view.history()

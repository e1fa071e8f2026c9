"""Market data sources behind one interface, and the ``SOURCE`` syntax of the CLI.

Every source returns a :class:`~powerfirst.market.series.PriceSeries` for a UTC window:

=====================  ==========================================================  ===========
syntax                 data                                                         interval
=====================  ==========================================================  ===========
``ercot-rt:HB_WEST``   ERCOT real-time hub settlement point prices, 2020–2023        15 min
``ercot-da:LZ_WEST``   ERCOT day-ahead hub and load-zone prices, 2021–2023           60 min
``caiso-rt:SP15``      CAISO 15-minute market LMP at NP15/SP15/ZP26, 2020-08–2024-12  15 min
``path.csv:COLUMN``    any CSV with an ``interval_start_utc`` column                 inferred
=====================  ==========================================================  ===========

A bundled source knows its market (:mod:`powerfirst.market.markets`); a CSV's market is what the
user says (``market:`` in the site file, ``--market``). A CSV may also carry
``interval_start_local`` (ISO-8601 with its UTC offset): :meth:`CsvPriceSource.local_zones` finds
the zones whose offsets match every row (the zone plain dates are read in).

The bundled files are real published data (see ``data/PROVENANCE.md``). Intervals missing from a
file stay missing: they are reported as gaps, never filled.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from powerfirst._paths import DATA_DIR
from powerfirst.calendar import NS_PER_MINUTE, local_offsets_ns
from powerfirst.csv_input import CsvTable, check_grid, parse_instants, read_table
from powerfirst.errors import DataError
from powerfirst.market.markets import BundledSeries, Market, bundled_price_series, market_of_prefix
from powerfirst.market.series import PriceSeries
from powerfirst.market.source_spec import SourceSpec, price_spec

__all__ = [
    "MAX_ABS_PRICE_USD_PER_MWH",
    "BundledPriceSource",
    "CsvPriceSource",
    "PriceSource",
    "bundled_sources",
    "parse_source",
    "read_bundled_table",
]


MAX_ABS_PRICE_USD_PER_MWH = 50_000.0
"""Largest magnitude accepted from a user price file [USD/MWh]; ERCOT's cap is 5,000 (9,000 before 2023)."""


class PriceSource(ABC):
    """A source of one price series (USD/MWh per interval)."""

    name: str
    """Canonical ``SOURCE`` string, e.g. ``ercot-rt:HB_WEST``."""
    timezone: str
    """Market-local IANA time zone."""
    market: Market | None = None
    """The market the prices are from (None: not known, e.g. a CSV without ``market``)."""

    @abstractmethod
    def load(self, start_utc: pd.Timestamp, end_utc: pd.Timestamp) -> PriceSeries:
        """Prices for intervals starting in [start_utc, end_utc). Raises DataError when uncovered."""

    def first_priced_utc(self) -> pd.Timestamp | None:
        """Start of the source's first priced interval, UTC (None: not known or no price): where
        the history a window may look back on begins."""
        return None


_MARKETS: dict[str, BundledSeries] = bundled_price_series()
"""Every bundled price series by prefix (from :mod:`powerfirst.market.isos`)."""


def _data_path(folder: str, filename: str) -> Path:
    return DATA_DIR / folder / filename


@cache
def read_bundled_table(folder: str, filename: str) -> pd.DataFrame:
    """A bundled time-series file indexed by ``interval_start_utc`` (read once, cached; do not modify)."""
    path = _data_path(folder, filename)
    frame = pd.read_csv(path)
    frame.index = pd.DatetimeIndex(
        pd.to_datetime(frame.pop("interval_start_utc"), utc=True, format="ISO8601"), name="interval_start_utc"
    )
    frame = frame.drop(columns=["interval_start_local"], errors="ignore")
    return frame


@cache
def _columns_of(folder: str, filename: str) -> tuple[str, ...]:
    header = pd.read_csv(_data_path(folder, filename), nrows=0)
    return tuple(c for c in header.columns if c not in {"interval_start_utc", "interval_start_local"})


class BundledPriceSource(PriceSource):
    """One column of the bundled ERCOT or CAISO files."""

    def __init__(self, market: str, point: str) -> None:
        if market not in _MARKETS:
            raise DataError(f"unknown market {market!r}; bundled markets: {', '.join(_MARKETS)}")
        self._market = _MARKETS[market]
        column = point if point.endswith(self._market.column_suffix) else point + self._market.column_suffix
        first = self._market.pattern.format(year=self._market.years[-1])
        available = _columns_of(self._market.folder, first)
        if column not in available:
            names = [c.removesuffix(self._market.column_suffix) for c in available]
            if self._market.column_suffix:
                names = [n for n in names if not n.endswith(("_Congestion", "_Energy", "_Loss"))]
            raise DataError(f"{market}: unknown price point {point!r}; available: {', '.join(names)}")
        self._column = column
        self.name = f"{market}:{point}"
        self.market = market_of_prefix(market)
        assert self.market is not None
        self.timezone = self.market.timezone
        self.prefix = market

    @property
    def interval(self) -> pd.Timedelta:
        """The interval of the bundled series."""
        return self._market.interval

    def first_priced_utc(self) -> pd.Timestamp | None:
        """Start of the first priced interval of the first bundled year that has one."""
        market = self._market
        for year in market.years:
            priced = read_bundled_table(market.folder, market.pattern.format(year=year))[
                self._column
            ].dropna()
            if not priced.empty:
                return pd.Timestamp(priced.index[0])
        return None

    def load(self, start_utc: pd.Timestamp, end_utc: pd.Timestamp) -> PriceSeries:
        market = self._market
        # files are split by market-local year: read every year the window touches
        first_year = start_utc.tz_convert(self.timezone).year
        last_year = (end_utc - pd.Timedelta(seconds=1)).tz_convert(self.timezone).year
        wanted = range(first_year, last_year + 1)
        missing_years = [y for y in wanted if y not in market.years]
        if missing_years:
            raise DataError(
                f"{self.name}: no bundled data for {', '.join(map(str, missing_years))} "
                f"(market-local years); bundled years: {market.years[0]}–{market.years[-1]}. "
                "Give a CSV source (path.csv:COLUMN) for other periods."
            )
        parts = [
            read_bundled_table(market.folder, market.pattern.format(year=y))[self._column] for y in wanted
        ]
        prices = pd.concat(parts).astype("float64")
        prices = prices[~prices.index.duplicated(keep="first")].sort_index()
        covered = prices.dropna()
        if covered.empty or start_utc >= covered.index[-1] + market.interval or end_utc <= covered.index[0]:
            span = (
                f"{covered.index[0].isoformat()} to {(covered.index[-1] + market.interval).isoformat()}"
                if not covered.empty
                else "nothing"
            )
            raise DataError(
                f"{self.name}: the bundled data covers {span} (UTC) for these years; the window "
                f"{start_utc.isoformat()} to {end_utc.isoformat()} has no price"
            )
        coverage = (covered.index[0], covered.index[-1] + market.interval)
        series = PriceSeries(
            self.name, prices.rename(self.name), market.interval, self.timezone, coverage=coverage
        )
        return series.between(start_utc, end_utc)


def bundled_sources() -> dict[str, str]:
    """Bundled markets and what they hold (for help texts)."""
    return {k: f"{m.description}, {m.years[0]}–{m.years[-1]}" for k, m in _MARKETS.items()}


class CsvPriceSource(PriceSource):
    """One numeric column of a user CSV keyed by ``interval_start_utc`` (ISO-8601 with ``Z`` or a
    UTC offset; a naive time is an error).

    The file is read strictly (:mod:`powerfirst.csv_input`): one interval length per file (its
    most common step), every row on that grid; a single longer step is a gap, a run of another
    step length an error. Empty cells are missing intervals (reported as gaps). Duplicate interval
    starts are an error: they are what a file written in local time produces on the fall-back day
    of DST.
    """

    def __init__(
        self, path: str | Path, column: str, timezone: str = "UTC", market: Market | None = None
    ) -> None:
        self.path = Path(path)
        self.column = column
        self.timezone = timezone
        self.market = market
        self.name = f"{self.path}:{column}"
        self._cached: CsvTable | None = None

    def _table(self) -> CsvTable:
        """The file, read strictly (header, rows, encoding; see :mod:`powerfirst.csv_input`)."""
        if self._cached is None:
            self._cached = read_table(
                self.path,
                f"price file {self.path}",
                key=("interval_start_utc",),
                key_hint="ISO-8601 interval start with Z or a UTC offset",
                required=(self.column,),
                na_tokens=True,
            )
        return self._cached

    def local_zones(self, candidates: Sequence[str]) -> list[str] | None:
        """The ``candidates`` (IANA zones) whose UTC offsets match every row's
        ``interval_start_local``, in order; None when the file has no such column or its times
        carry no UTC offset. Raises DataError when a local time names another instant than
        ``interval_start_utc`` of its row, or only some rows carry an offset."""
        table = self._table()
        if "interval_start_local" not in table.columns:
            return None
        frame = table.frame
        local = frame["interval_start_local"].fillna("").str.strip()
        offsets = local.str.extract(r"(Z|[+-]\d{2}:?\d{2})$")[0]
        if offsets.isna().all():
            return None
        if offsets.isna().any():
            row = int(np.flatnonzero(offsets.isna().to_numpy())[0])
            raise table.error(
                f"row {row + 2}: interval_start_local {local.iloc[row]!r} has no UTC offset "
                "(other rows have one; e.g. 2023-07-01T00:00:00-04:00)"
            )
        utc = pd.Series(parse_instants(table, "interval_start_utc"))
        instant = pd.to_datetime(local, utc=True, format="ISO8601", errors="coerce")
        differs = (utc != instant) | instant.isna()
        if differs.any():
            row = int(np.flatnonzero(differs.to_numpy())[0])
            raise table.error(
                f"row {row + 2}: interval_start_local {local.iloc[row]!r} is not the instant "
                f"interval_start_utc {frame['interval_start_utc'].iloc[row]!r}"
            )
        text = offsets.str.replace("Z", "+00:00", regex=False).str.replace(":", "", regex=False)
        sign = np.where(text.str[0] == "-", -1, 1)
        minutes = sign * (text.str[1:3].astype(int) * 60 + text.str[3:5].astype(int)).to_numpy()
        utc_ns = pd.DatetimeIndex(utc).as_unit("ns").asi8
        matching = []
        for zone in dict.fromkeys(candidates):
            zone_minutes = local_offsets_ns(utc_ns, zone) / NS_PER_MINUTE
            if np.array_equal(zone_minutes, minutes):
                matching.append(zone)
        return matching

    def _read(self) -> tuple[pd.Series, npt.NDArray[np.int64]]:
        """Prices by interval start (sorted) and the spreadsheet row of each."""
        table = self._table()
        stamps = parse_instants(table, "interval_start_utc")
        raw = table.frame[self.column]
        values = pd.to_numeric(raw, errors="coerce")
        unparsable = values.isna() & raw.notna() & (raw.fillna("").str.strip() != "")
        if unparsable.any():
            row = int(np.flatnonzero(unparsable.to_numpy())[0])
            raise table.error(f"row {row + 2}: {self.column} = {raw.iloc[row]!r} is not a number [USD/MWh]")
        implausible = values.notna() & ~(values.abs() <= MAX_ABS_PRICE_USD_PER_MWH)
        if implausible.any():
            row = int(np.flatnonzero(implausible.to_numpy())[0])
            raise table.error(
                f"row {row + 2}: {self.column} = {raw.iloc[row]!r} USD/MWh is outside "
                f"±{MAX_ABS_PRICE_USD_PER_MWH:,.0f} USD/MWh (no market clears there; check the units)"
            )
        series = pd.Series(values.to_numpy(dtype="float64"), index=stamps)
        duplicated = series.index.duplicated(keep=False)
        if duplicated.any():
            first = series.index[duplicated][0]
            raise table.error(
                f"interval_start_utc {first.strftime('%Y-%m-%dT%H:%M:%SZ')} appears more than once "
                f"({int(duplicated.sum())} rows share a start). A file written in local time repeats the "
                "fall-back hour of DST: write interval starts in UTC (or with their UTC offset)."
            )
        order = np.argsort(stamps.asi8, kind="stable")
        return series.iloc[order], order.astype(np.int64) + 2

    def first_priced_utc(self) -> pd.Timestamp | None:
        """Start of the file's first priced interval (an empty cell is no price)."""
        priced = self._read()[0].dropna()
        return pd.Timestamp(priced.index[0]) if len(priced) else None

    def load(self, start_utc: pd.Timestamp, end_utc: pd.Timestamp) -> PriceSeries:
        series, rows = self._read()
        if len(series) < 2:
            raise self._table().error(
                f"need at least two rows to infer the interval length, got {len(series)}"
            )
        interval = check_grid(self._table(), pd.DatetimeIndex(series.index), rows)
        if interval < pd.Timedelta(minutes=1) or interval > pd.Timedelta(days=1):
            raise self._table().error(f"interval length {interval} is outside 1 minute to 1 day")
        first, last = series.index[0], series.index[-1] + interval
        if start_utc >= last or end_utc <= first:
            raise self._table().error(
                f"the file covers {first.isoformat()} to {last.isoformat()} (UTC); "
                f"the window {start_utc.isoformat()} to {end_utc.isoformat()} lies outside it"
            )
        priced = series.dropna()
        coverage = (priced.index[0], priced.index[-1] + interval) if len(priced) else (first, first)
        full = PriceSeries(self.name, series.rename(self.column), interval, self.timezone, coverage=coverage)
        return full.between(start_utc, end_utc)


def parse_source(
    spec: str | SourceSpec, *, timezone: str | None = None, market: Market | None = None
) -> PriceSource:
    """A source from its CLI syntax (:func:`powerfirst.market.source_spec.price_spec`):
    ``ercot-rt:HB_WEST``, ``ercot-da:LZ_WEST``, ``caiso-rt:SP15`` or ``path/to/file.csv:COLUMN``.
    ``timezone`` and ``market`` set a CSV's market-local zone (default UTC) and market (default
    unknown); a bundled source has its own."""
    parsed = price_spec(spec)
    if parsed.kind == "bundled":
        return BundledPriceSource(parsed.head, parsed.point)
    return CsvPriceSource(parsed.head, parsed.point, timezone or "UTC", market)

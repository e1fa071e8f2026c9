"""Per-MW operating margins of a site from the engine's backtests, one per market year and hashprice.

For each market year Y and each hashprice h of a grid, the site's **mining part** (the site file
without its GPU hall; fleets, contract, heat offtake, 4CP and ancillary services kept) is
backtested over year Y with the hashprice held at h every day (``bitcoin.source: constant``), with
a fast strategy (default ``breakeven``: the strike-price curtailment an operator runs; ``perfect``
is a hindsight upper bound and is labelled so). From the ledger, per market-local calendar month:

* **mining margin** [USD per MW of mining capacity per month] = the month's ``net_margin_usd`` /
  the fleets' full power at the meter. It holds mining revenue less pool fees, energy at the
  contract (a fixed block's ``K·Q + p·(L − Q)``, sell-back credits included), adders, the 4CP
  charge on the mining load, ancillary-service capacity payments and heat sales. With a fixed
  block it also holds the block's fixed part ``(K − p)·Q``, which does not scale with mining MW
  (see the notes of each table);
* **AI power cost** [USD per MW per month]: what one more MW drawn flat all month costs under the
  contract, as the ledger books it: ``energy + adders + 4CP − sell-back`` of the fleet power plus
  1 MW flat, less the same of the fleet power alone (:func:`powerfirst.accounting.ledger.account`
  both times). That is the real-time price plus adders plus the 4CP charge per MW, for either
  contract kind; it does not depend on the hashprice.

Intervals without a price (holes in the data, or a month the data only partly covers) are not
backtested; a month's sums are scaled to the whole month (× intervals of the month / priced
intervals) and the notes say which months and how much. Months outside the data are NaN.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from powerfirst.accounting.ledger import Ledger, account
from powerfirst.backtest.runner import (
    HISTORY_DAYS,
    Backtest,
    market_timezone,
    prepare_backtest,
    run_strategy,
)
from powerfirst.errors import ConfigError, DataError
from powerfirst.market.markets import bundled_price_series
from powerfirst.market.series import PriceSeries
from powerfirst.market.source_spec import price_spec
from powerfirst.market.sources import parse_source
from powerfirst.planning.inputs import MarginTable
from powerfirst.planning.margins_cache import (
    MarginCache,
    MarginCacheWarning,
    cache_key,
    default_cache_dir,
    input_files,
)
from powerfirst.policies.registry import REGISTRY
from powerfirst.site.schema import BitcoinConfig, Site

__all__ = [
    "MONTH_COLUMNS",
    "YearMargins",
    "available_market_years",
    "margin_table",
    "mining_site",
    "year_margins",
]

MAX_HASHPRICE_USD_PER_TH_DAY = 100.0
"""Largest hashprice a grid may hold [USD/(TH/s)/day] (the site file's limit, 100,000 USD/PH/day)."""
MONTH_COLUMNS = (
    "net_margin_usd",
    "mining_revenue_usd",
    "pool_fees_usd",
    "energy_cost_usd",
    "power_sellback_usd",
    "adders_usd",
    "fourcp_charge_usd",
    "ancillary_revenue_usd",
    "heat_revenue_usd",
)
"""Ledger columns summed per calendar month (mining part, whole site's mining MW) [USD]."""
_POWER_COST = ("energy_cost_usd", "adders_usd", "fourcp_charge_usd")


@dataclass(frozen=True)
class YearMargins:
    """One backtest: the mining part of a site over one market year at one constant hashprice.

    ``months`` holds 12 values per column (January first; NaN: month not backtested): the ledger
    columns of :data:`MONTH_COLUMNS` [USD, unscaled sums over the month's priced intervals],
    ``block_fixed_usd`` (a fixed block's ``(K − p)·Q`` part of the energy cost) [USD],
    ``ai_power_cost_usd_per_mw`` [USD/MW, unscaled], ``intervals_priced``,
    ``intervals_in_window`` and ``intervals_in_month`` [count].
    """

    year: int
    hashprice_usd_per_th_day: float
    strategy: str
    mining_mw: float
    """Full power of the fleets at the meter [MW]."""
    price_source: str
    timezone: str
    window_start_utc: str
    window_end_utc: str
    months: dict[str, list[float]]
    notes: tuple[str, ...] = ()
    from_cache: bool = False

    def _column(self, name: str) -> np.ndarray[Any, np.dtype[np.float64]]:
        return np.array(self.months[name], dtype=np.float64)

    @property
    def scale(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """(12,) intervals of the month / priced intervals (NaN where none was priced)."""
        priced = self._column("intervals_priced")
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(priced > 0, self._column("intervals_in_month") / priced, np.nan)

    @property
    def mining_margin_usd_per_mw_month(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """(12,) net margin of the mining part per MW of mining capacity, scaled to whole months."""
        return self._column("net_margin_usd") * self.scale / self.mining_mw

    @property
    def ai_power_cost_usd_per_mw_month(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """(12,) cost of one MW drawn flat, scaled to whole months [USD/MW/month]."""
        return self._column("ai_power_cost_usd_per_mw") * self.scale

    def as_dict(self) -> dict[str, Any]:
        """JSON-able (NaN as null), what the cache stores."""
        months = {k: [None if np.isnan(v) else float(v) for v in vals] for k, vals in self.months.items()}
        return {
            "year": self.year,
            "hashprice_usd_per_th_day": self.hashprice_usd_per_th_day,
            "strategy": self.strategy,
            "mining_mw": self.mining_mw,
            "price_source": self.price_source,
            "timezone": self.timezone,
            "window_start_utc": self.window_start_utc,
            "window_end_utc": self.window_end_utc,
            "months": months,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, from_cache: bool = False) -> YearMargins:
        months = {
            str(k): [np.nan if v is None else float(v) for v in vals] for k, vals in data["months"].items()
        }
        if any(len(v) != 12 for v in months.values()):
            raise ValueError("a month column does not have 12 values")
        return cls(
            year=int(data["year"]),
            hashprice_usd_per_th_day=float(data["hashprice_usd_per_th_day"]),
            strategy=str(data["strategy"]),
            mining_mw=float(data["mining_mw"]),
            price_source=str(data["price_source"]),
            timezone=str(data["timezone"]),
            window_start_utc=str(data["window_start_utc"]),
            window_end_utc=str(data["window_end_utc"]),
            months=months,
            notes=tuple(str(n) for n in data["notes"]),
            from_cache=from_cache,
        )


def mining_site(site: Site, hashprice_usd_per_th_day: float) -> Site:
    """The mining part of ``site`` (no GPU hall) with the hashprice held at the given value."""
    bitcoin = BitcoinConfig(source="constant", constant_usd_per_ph_day=hashprice_usd_per_th_day * 1000.0)
    return site.model_copy(update={"gpu_hall": None, "bitcoin": bitcoin})


def _local_month_start(year: int, month: int, timezone: str) -> pd.Timestamp:
    return pd.Timestamp(year=year + (month - 1) // 12, month=(month - 1) % 12 + 1, day=1, tz=timezone).tz_convert(
        "UTC"
    )


def _iso(stamp: pd.Timestamp) -> str:
    return stamp.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _year_prices(
    site: Site, year: int, months: tuple[int, int], prices: str | None, market: str | None
) -> tuple[PriceSeries, pd.Timestamp, pd.Timestamp, str]:
    """The prices of the year's months, the window they cover (UTC) and the market-local zone.
    DataError naming the year and the data's coverage when the year has no price."""
    spec = prices or site.contract.price_series
    zone, _, iso, _ = market_timezone(site, spec, market)
    lo = _local_month_start(year, months[0], zone)
    hi = _local_month_start(year, months[1] + 1, zone)
    period = f"{year}" if months == (1, 12) else f"{year}-{months[0]:02d} to {year}-{months[1]:02d}"
    try:
        series = parse_source(spec, timezone=zone, market=iso).load(lo, hi)
    except DataError as exc:
        raise DataError(f"market year {period} ({zone}): {spec} has no prices then: {exc}") from None
    priced = series.prices.dropna()
    if priced.empty or series.coverage is None:
        raise DataError(f"market year {period} ({zone}): {spec} has no price from {_iso(lo)} to {_iso(hi)}")
    start, end = max(lo, series.coverage[0]), min(hi, series.coverage[1])
    return series, start, end, zone


def _prepare(site: Site, start: pd.Timestamp, end: pd.Timestamp, prices: str | None, market: str | None) -> tuple[Backtest, str]:
    """The backtest of [start, end); where the engine cannot load the days before the window that it
    reads as history (the first bundled year: no data before it), the window starts that many days
    later, and the second value says so."""
    try:
        return prepare_backtest(site, _iso(start), _iso(end), prices=prices, market=market), ""
    except DataError as first:
        later = start + pd.Timedelta(days=HISTORY_DAYS)
        if later >= end:
            raise
        try:
            bt = prepare_backtest(site, _iso(later), _iso(end), prices=prices, market=market)
        except DataError:
            raise first from None
        return bt, (
            f"the engine reads {HISTORY_DAYS} days of market data before a window and could not from {_iso(start)} "
            f"({first}); the backtest starts {_iso(later)}"
        )


def _ai_power_cost(bt: Backtest) -> np.ndarray[Any, np.dtype[np.float64]]:
    """(T,) cost of 1 MW more drawn flat in each interval, as the ledger books it [USD/MW]."""
    inputs = bt.inputs
    fleets = len(inputs.site.fleets)
    none = np.zeros((fleets, inputs.num_intervals))
    one = none.copy()
    one[0] = 1.0

    def cost(ledger: Ledger) -> np.ndarray[Any, np.dtype[np.float64]]:
        frame = ledger.intervals
        total = sum(frame[c].to_numpy(dtype=np.float64) for c in _POWER_COST)
        return np.asarray(total - frame["power_sellback_usd"].to_numpy(dtype=np.float64), dtype=np.float64)

    return cost(account(inputs, one, one[:, 0])) - cost(account(inputs, none, none[:, 0]))


def _month_counts(
    bt: Backtest, start: pd.Timestamp, end: pd.Timestamp, year: int
) -> tuple[list[float], list[float]]:
    """Intervals of each calendar month of ``year`` and of them inside [start, end) [count]."""
    zone, step = bt.window.timezone, bt.prices.interval
    whole, inside = [], []
    for m in range(1, 13):
        grid = pd.date_range(
            _local_month_start(year, m, zone), _local_month_start(year, m + 1, zone), freq=step, inclusive="left"
        )
        whole.append(float(len(grid)))
        inside.append(float(((grid >= start) & (grid < end)).sum()))
    return whole, inside


def year_margins(
    site: Site,
    year: int,
    hashprice_usd_per_th_day: float,
    *,
    strategy: str = "breakeven",
    prices: str | None = None,
    market: str | None = None,
    months: tuple[int, int] = (1, 12),
) -> YearMargins:
    """Run one backtest (no cache): the mining part of ``site`` over market year ``year`` (its
    calendar ``months``, first and last, market-local) at a constant hashprice [USD/(TH/s)/day]."""
    mine = mining_site(site, hashprice_usd_per_th_day)
    series, start, end, _ = _year_prices(mine, year, months, prices, market)
    bt, shifted = _prepare(mine, start, end, prices, market)
    result = run_strategy(bt, strategy, prefetch=False)
    frame = result.ledger.intervals
    month = frame.index.tz_convert(bt.window.timezone).month.to_numpy() - 1
    in_year = frame.index.tz_convert(bt.window.timezone).year.to_numpy() == year

    def by_month(values: np.ndarray[Any, np.dtype[np.float64]]) -> list[float]:
        sums = np.bincount(month[in_year], weights=values[in_year], minlength=12)
        return [float(v) for v in sums]

    table: dict[str, list[float]] = {c: by_month(frame[c].to_numpy(dtype=np.float64)) for c in MONTH_COLUMNS}
    site_params = bt.inputs.site
    block = frame["block_mwh"].to_numpy(dtype=np.float64) * (
        site_params.block_price_usd_per_mwh - frame["price_usd_per_mwh"].to_numpy(dtype=np.float64)
    )
    table["block_fixed_usd"] = by_month(block)
    table["ai_power_cost_usd_per_mw"] = by_month(_ai_power_cost(bt))
    table["intervals_priced"] = by_month(np.ones(len(frame)))
    whole, inside = _month_counts(bt, bt.window.start_utc, bt.window.end_utc, year)
    table["intervals_in_month"], table["intervals_in_window"] = whole, inside
    outside = [m + 1 for m in range(12) if inside[m] == 0 or table["intervals_priced"][m] == 0]
    for name in table:
        if name != "intervals_in_month":
            table[name] = [np.nan if m + 1 in outside else v for m, v in enumerate(table[name])]
    mining_mw = float(np.sum(site_params.max_power_mw))
    notes = _year_notes(bt, year, table, outside, shifted, mining_mw)
    return YearMargins(
        year=year,
        hashprice_usd_per_th_day=float(hashprice_usd_per_th_day),
        strategy=strategy,
        mining_mw=mining_mw,
        price_source=series.name,
        timezone=bt.window.timezone,
        window_start_utc=_iso(bt.window.start_utc),
        window_end_utc=_iso(bt.window.end_utc),
        months=table,
        notes=tuple(notes),
    )


def _year_notes(
    bt: Backtest, year: int, table: dict[str, list[float]], outside: list[int], shifted: str, mining_mw: float
) -> list[str]:
    """What a reader of the year's margins must know: window, holes, scaled months, the engine's warnings."""
    head = f"market year {year} ({bt.prices.name})"
    notes = [f"{head}: {shifted}"] if shifted else []
    if outside:
        notes.append(
            f"{head}: months {', '.join(map(str, outside))} not backtested (outside the window "
            f"{_iso(bt.window.start_utc)} to {_iso(bt.window.end_utc)} or without a price): NaN in the table"
        )
    scaled = [
        f"{m + 1}: {int(p):,} of {int(w):,}"
        for m, (p, w) in enumerate(zip(table["intervals_priced"], table["intervals_in_month"], strict=True))
        if m + 1 not in outside and p < w
    ]
    if scaled:
        notes.append(
            f"{head}: months with intervals not priced (holes in the data or the window only partly in the "
            f"data), scaled to the whole month — month: priced of all intervals: {'; '.join(scaled)}"
        )
    if bt.gaps.total_missing:
        notes.append(f"{head}: {bt.gaps.describe()}")
    notes += [f"{head}: {w}" for w in bt.warnings]
    if bt.inputs.site.grid_limit_mw < mining_mw:
        notes.append(
            f"{head}: the connection limit {bt.inputs.site.grid_limit_mw:g} MW is below the fleets' "
            f"{mining_mw:g} MW; the margin is per MW of fleet capacity"
        )
    return notes


def available_market_years(site: Site, *, prices: str | None = None, market: str | None = None) -> tuple[int, ...]:
    """The market-local years that the site's price source (or ``prices``) has data in: the
    bundled years of a bundled series, the years a CSV's priced intervals touch."""
    spec = prices or site.contract.price_series
    parsed = price_spec(spec)
    if parsed.kind == "bundled":
        return tuple(bundled_price_series()[parsed.head].years)
    zone, _, iso, _ = market_timezone(site, spec, market)
    series = parse_source(spec, timezone=zone, market=iso).load(
        pd.Timestamp("1900-01-01", tz="UTC"), pd.Timestamp("2200-01-01", tz="UTC")
    )
    if series.coverage is None:
        return ()
    first = series.coverage[0].tz_convert(zone).year
    last = (series.coverage[1] - pd.Timedelta(seconds=1)).tz_convert(zone).year
    return tuple(range(first, last + 1))


def _check(market_years: Sequence[int], grid: Sequence[float], strategy: str, months: tuple[int, int]) -> np.ndarray[Any, np.dtype[np.float64]]:
    if strategy not in REGISTRY:
        raise ConfigError(f"strategy = {strategy!r}: unknown; one of {', '.join(REGISTRY)}")
    if not market_years or len(set(market_years)) != len(market_years):
        raise ConfigError(f"market_years = {list(market_years)!r}: give at least one year, each once")
    values = np.asarray(grid, dtype=np.float64)
    if values.ndim != 1 or values.size < 2 or not np.all(np.isfinite(values)) or np.any(np.diff(values) <= 0):
        raise ConfigError(
            f"hashprice_grid = {list(grid)!r} USD/(TH/s)/day: need at least 2 finite values, strictly increasing"
        )
    if values[0] <= 0 or values[-1] > MAX_HASHPRICE_USD_PER_TH_DAY:
        raise ConfigError(
            f"hashprice_grid = {list(grid)!r} USD/(TH/s)/day: each value must be in (0, "
            f"{MAX_HASHPRICE_USD_PER_TH_DAY:g}] (0.03–0.8 since 2020)"
        )
    if not (1 <= months[0] <= months[1] <= 12):
        raise ConfigError(f"months = {months!r}: need 1 ≤ first ≤ last ≤ 12 (calendar months)")
    return values


def margin_table(
    site: Site,
    market_years: Sequence[int],
    hashprice_grid_usd_per_th_day: Sequence[float],
    *,
    strategy: str = "breakeven",
    prices: str | None = None,
    market: str | None = None,
    months: tuple[int, int] = (1, 12),
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
) -> MarginTable:
    """The per-MW margins of ``site`` under each market year × hashprice (see the module docstring).

    ``prices`` (a SOURCE, like ``--prices``) replaces the site's ``contract.price_series``;
    ``market`` names the market of a CSV; ``months`` restricts each year to calendar months
    ``first..last`` (the others are NaN); ``cache_dir`` is the cache folder (default
    :func:`~powerfirst.planning.margins_cache.default_cache_dir`), ``use_cache=False`` runs
    every backtest. Raises DataError naming the year and the data's coverage for a year without data.
    """
    grid = _check(market_years, hashprice_grid_usd_per_th_day, strategy, months)
    store = MarginCache(cache_dir if cache_dir is not None else default_cache_dir()) if use_cache else None
    runs = [
        [_cached(site, int(y), float(h), strategy, prices, market, months, store) for h in grid] for y in market_years
    ]
    mining = np.array([[r.mining_margin_usd_per_mw_month for r in row] for row in runs])
    ai = np.array([row[0].ai_power_cost_usd_per_mw_month for row in runs])
    policy = REGISTRY[strategy].policy
    notes = [
        f"mining margins from the '{strategy}' strategy ({policy.label})"
        + (": a hindsight upper bound, not what an operator earns" if policy.uses_hindsight else ""),
        "mining margin = net margin of the site without its GPU hall / the fleets' MW at the meter, per "
        "market-local calendar month: mining revenue at the grid's constant hashprice less pool fees, energy "
        "at the contract (sell-back credits included), adders, 4CP charge, plus ancillary capacity payments "
        "and heat sales",
        "AI power cost = one MW drawn flat: real-time price + adders + 4CP charge per MW, as the ledger books "
        "them; it does not depend on the hashprice",
    ]
    if site.contract.kind == "fixed_block":
        fixed = np.array([[np.nansum(row[0].months["block_fixed_usd"]) / 1e6] for row in runs]).ravel()
        notes.append(
            "fixed block: the mining margin includes the block's fixed part (K − p)·Q "
            f"({', '.join(f'{y}: {v:,.2f} M USD' for y, v in zip(market_years, fixed, strict=True))} of cost for "
            "the whole site), which does not scale with mining MW"
        )
    if site.gpu_hall is not None:
        notes.append("the site's GPU hall is left out of the mining backtests (its power cost is the AI power cost)")
    for row in runs:
        notes += [n for n in row[0].notes]
    if store is not None:
        hits = sum(r.from_cache for row in runs for r in row)
        notes.append(f"{hits} of {len(grid) * len(runs)} backtests read from the cache {store.folder}")
    return MarginTable(
        site_name=site.name,
        market_years=tuple(int(y) for y in market_years),
        hashprice_grid_usd_per_th_day=grid,
        mining_margin_usd_per_mw_month=mining,
        ai_power_cost_usd_per_mw_month=ai,
        strategy=strategy,
        notes=tuple(notes),
    )


def _cached(
    site: Site,
    year: int,
    hashprice: float,
    strategy: str,
    prices: str | None,
    market: str | None,
    months: tuple[int, int],
    store: MarginCache | None,
) -> YearMargins:
    """One year's margins from the cache, else run and stored."""
    if store is None:
        return year_margins(site, year, hashprice, strategy=strategy, prices=prices, market=market, months=months)
    data = mining_site(site, hashprice).model_dump(mode="json")
    inputs = {
        "site": data,
        "market_year": year,
        "months": list(months),
        "hashprice_usd_per_th_day": hashprice,
        "strategy": strategy,
        "prices": prices,
        "market": market,
        "files": input_files(data, [prices]),
    }
    key = cache_key(inputs)
    found = store.load(key)
    if found is not None:
        try:
            return YearMargins.from_dict(found, from_cache=True)
        except (KeyError, TypeError, ValueError) as exc:
            warnings.warn(
                f"margin cache: entry {key} is corrupt ({exc}); the backtest is run again",
                MarginCacheWarning,
                stacklevel=2,
            )
    result = year_margins(site, year, hashprice, strategy=strategy, prices=prices, market=market, months=months)
    store.store(key, inputs, result.as_dict())
    return result

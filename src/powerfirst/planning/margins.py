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
  contract, as the ledger books it: ``energy + adders + 4CP − sell-back`` of a load of 1 MW flat,
  less the same of no load (:func:`powerfirst.accounting.ledger.account` both times; the
  contract's cost is linear in the load, so this is also the cost of 1 MW on top of the mining
  load). That is the real-time price plus adders plus the 4CP charge per MW, for either contract
  kind; it does not depend on the hashprice.

``block_in_mining_margin=False`` moves a fixed block's fixed part out of the mining margin (the
margin is then the one of the same fleets on an index contract); :func:`margin_runs` gives it,
per year and month, as :attr:`~powerfirst.planning.margins_backtest.YearMargins.block_fixed_usd_per_month`.
Each backtest is cached on disk (:mod:`powerfirst.planning.margins_cache`).

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

from powerfirst.backtest.runner import market_timezone
from powerfirst.errors import ConfigError
from powerfirst.market.markets import bundled_price_series
from powerfirst.market.source_spec import price_spec
from powerfirst.market.sources import parse_source
from powerfirst.planning.inputs import MarginTable
from powerfirst.planning.margins_backtest import MONTH_COLUMNS, YearMargins, mining_site, year_margins
from powerfirst.planning.margins_cache import (
    MarginCache,
    MarginCacheWarning,
    cache_key,
    default_cache_dir,
    input_files,
)
from powerfirst.policies.registry import REGISTRY
from powerfirst.site.schema import Site

__all__ = [
    "MONTH_COLUMNS",
    "MarginTask",
    "YearMargins",
    "available_market_years",
    "margin_runs",
    "margin_table",
    "margin_tasks",
    "mining_site",
    "run_margin_task",
    "table_of_runs",
    "year_margins",
]

MAX_HASHPRICE_USD_PER_TH_DAY = 100.0
"""Largest hashprice a grid may hold [USD/(TH/s)/day] (the site file's limit, 100,000 USD/PH/day)."""


def available_market_years(
    site: Site, *, prices: str | None = None, market: str | None = None
) -> tuple[int, ...]:
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


def _check(
    market_years: Sequence[int], grid: Sequence[float], strategy: str, months: tuple[int, int]
) -> np.ndarray[Any, np.dtype[np.float64]]:
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


def margin_runs(
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
) -> tuple[tuple[YearMargins, ...], ...]:
    """The backtests behind :func:`margin_table`, (Y, H): each with its monthly ledger breakdown
    (:class:`YearMargins`), read from the cache where it holds them. Arguments as there."""
    grid = _check(market_years, hashprice_grid_usd_per_th_day, strategy, months)
    store = MarginCache(cache_dir if cache_dir is not None else default_cache_dir()) if use_cache else None
    return tuple(
        tuple(_cached(site, int(y), float(h), strategy, prices, market, months, store) for h in grid)
        for y in market_years
    )


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
    block_in_mining_margin: bool = False,
) -> MarginTable:
    """The per-MW margins of ``site`` under each market year × hashprice (see the module docstring).

    ``prices`` (a SOURCE, like ``--prices``) replaces the site's ``contract.price_series``;
    ``market`` names the market of a CSV; ``months`` restricts each year to calendar months
    ``first..last`` (the others are NaN); ``cache_dir`` is the cache folder (default
    :func:`~powerfirst.planning.margins_cache.default_cache_dir`), ``use_cache=False`` runs
    every backtest. ``block_in_mining_margin=False`` (the default) leaves a fixed block's fixed part
    ``(K − p)·Q`` out of the mining margin: it is the table's site-level
    ``contract_fixed_margin_usd_per_month`` (its negative), the same whatever MW are converted.
    Raises DataError naming the year and the data's coverage for a year without data.
    """
    runs = margin_runs(
        site,
        market_years,
        hashprice_grid_usd_per_th_day,
        strategy=strategy,
        prices=prices,
        market=market,
        months=months,
        cache_dir=cache_dir,
        use_cache=use_cache,
    )
    folder = (cache_dir if cache_dir is not None else default_cache_dir()) if use_cache else None
    return table_of_runs(
        site, runs, strategy, block_in_mining_margin=block_in_mining_margin, cache_dir=folder
    )


def table_of_runs(
    site: Site,
    runs: Sequence[Sequence[YearMargins]],
    strategy: str,
    *,
    block_in_mining_margin: bool = False,
    cache_dir: str | Path | None = None,
) -> MarginTable:
    """The :class:`MarginTable` of backtests ``runs`` (Y, H: by market year, then hashprice, as
    :func:`margin_runs` gives them, whoever ran them); ``cache_dir``: the cache they were read
    from or stored in (None: no cache), for the notes. See :func:`margin_table`."""
    rows = tuple(tuple(row) for row in runs)
    mining = np.array([[r.mining_margin_usd_per_mw_month for r in row] for row in rows])
    fixed_margin = None
    if not block_in_mining_margin:
        mining += np.array([[r.block_fixed_usd_per_month / r.mining_mw for r in row] for row in rows])
        fixed_margin = -np.array([row[0].block_fixed_usd_per_month for row in rows])
    ai = np.array([row[0].ai_power_cost_usd_per_mw_month for row in rows])
    notes = _table_notes(site, rows, strategy, block_in_mining_margin)
    if cache_dir is not None:
        hits = sum(r.from_cache for row in rows for r in row)
        notes.append(f"{hits} of {sum(len(row) for row in rows)} backtests read from the cache {cache_dir}")
    return MarginTable(
        site_name=site.name,
        market_years=tuple(int(row[0].year) for row in rows),
        hashprice_grid_usd_per_th_day=np.array([r.hashprice_usd_per_th_day for r in rows[0]]),
        mining_margin_usd_per_mw_month=mining,
        ai_power_cost_usd_per_mw_month=ai,
        strategy=strategy,
        notes=tuple(notes),
        contract_fixed_margin_usd_per_month=fixed_margin,
    )


@dataclass(frozen=True)
class MarginTask:
    """One backtest of a margin table, to run anywhere (:func:`run_margin_task`): picklable, its
    result depends only on its fields (and the input files, which the cache key digests)."""

    site: Site
    year: int
    hashprice_usd_per_th_day: float
    strategy: str = "breakeven"
    prices: str | None = None
    market: str | None = None
    months: tuple[int, int] = (1, 12)
    cache_dir: str | None = None
    """The cache folder (one a local cluster's workers share); None: no cache."""


def margin_tasks(
    site: Site,
    market_years: Sequence[int],
    hashprice_grid_usd_per_th_day: Sequence[float],
    *,
    strategy: str = "breakeven",
    prices: str | None = None,
    market: str | None = None,
    months: tuple[int, int] = (1, 12),
    cache_dir: str | Path | None = None,
) -> list[MarginTask]:
    """The backtests of :func:`margin_table`, checked, by market year then hashprice (Y × H tasks;
    :func:`table_of_runs` of their results, cut into rows of H, is the table)."""
    grid = _check(market_years, hashprice_grid_usd_per_th_day, strategy, months)
    folder = None if cache_dir is None else str(cache_dir)
    return [
        MarginTask(site, int(y), float(h), strategy, prices, market, months, folder)
        for y in market_years
        for h in grid
    ]


def run_margin_task(task: MarginTask) -> YearMargins:
    """One backtest of a :class:`MarginTask`, read from its cache where it holds it."""
    store = MarginCache(task.cache_dir) if task.cache_dir is not None else None
    return _cached(
        task.site,
        task.year,
        task.hashprice_usd_per_th_day,
        task.strategy,
        task.prices,
        task.market,
        task.months,
        store,
    )


def _table_notes(
    site: Site, runs: tuple[tuple[YearMargins, ...], ...], strategy: str, block_in_mining: bool
) -> list[str]:
    """What the table's figures hold, then each year's notes (once each)."""
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
        fixed = ", ".join(
            f"{row[0].year}: {np.nansum(row[0].block_fixed_usd_per_month) / 1e6:,.2f} M USD" for row in runs
        )
        where = (
            "the mining margin includes"
            if block_in_mining
            else "the mining margin leaves out (site-level term)"
        )
        notes.append(
            f"fixed block: {where} the block's fixed part (K − p)·Q, a cost for the whole site (negative: "
            f"the block was cheaper than real time) that does not scale with mining MW: {fixed}"
        )
    if site.gpu_hall is not None:
        notes.append(
            "the site's GPU hall is left out of the mining backtests (its power cost is the AI power cost)"
        )
    notes += list(dict.fromkeys(n for row in runs for r in row for n in r.notes))
    return notes


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
        return year_margins(
            site, year, hashprice, strategy=strategy, prices=prices, market=market, months=months
        )
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
    result = year_margins(
        site, year, hashprice, strategy=strategy, prices=prices, market=market, months=months
    )
    store.store(key, inputs, result.as_dict())
    return result

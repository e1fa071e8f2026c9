"""One backtest of the planning margins: the mining part of a site over one market year at one
constant hashprice, booked per market-local calendar month (see :mod:`powerfirst.planning.margins`
for what the figures hold)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from powerfirst.accounting.ledger import Ledger, account
from powerfirst.backtest.runner import Backtest, market_timezone, prepare_backtest, run_strategy
from powerfirst.errors import DataError
from powerfirst.market.series import PriceSeries
from powerfirst.market.sources import parse_source
from powerfirst.site.schema import BitcoinConfig, Site

__all__ = ["MONTH_COLUMNS", "YearMargins", "mining_site", "year_margins"]

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

    @property
    def block_fixed_usd_per_month(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """(12,) a fixed block's fixed part (K − p)·Q of the whole site's energy cost, scaled to
        whole months [USD/month] (0 for an index contract; negative: the block was cheaper)."""
        return self._column("block_fixed_usd") * self.scale

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
    return pd.Timestamp(
        year=year + (month - 1) // 12, month=(month - 1) % 12 + 1, day=1, tz=timezone
    ).tz_convert("UTC")


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
            _local_month_start(year, m, zone),
            _local_month_start(year, m + 1, zone),
            freq=step,
            inclusive="left",
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
    try:
        bt = prepare_backtest(mine, _iso(start), _iso(end), prices=prices, market=market)
    except DataError as exc:
        raise DataError(f"market year {year} ({series.name}, {_iso(start)} to {_iso(end)}): {exc}") from None
    result = run_strategy(bt, strategy, prefetch=False)
    frame = result.ledger.intervals
    local = pd.DatetimeIndex(frame.index).tz_convert(bt.window.timezone)
    month = local.month.to_numpy() - 1
    in_year = local.year.to_numpy() == year

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
    notes = _year_notes(bt, year, table, outside, mining_mw)
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
    bt: Backtest, year: int, table: dict[str, list[float]], outside: list[int], mining_mw: float
) -> list[str]:
    """What a reader of the year's margins must know: window, holes, scaled months, the engine's warnings."""
    head = f"market year {year} ({bt.prices.name})"
    notes: list[str] = []
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

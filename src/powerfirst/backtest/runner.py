"""A backtest from a site file: load data, run each strategy, book the results.

The data a backtest reads:

* real-time prices for the window (from the site's ``contract.price_series`` or ``--prices``);
  intervals without a price are excluded and reported as gaps, never filled;
* the daily hashprice, from the UTC day before the window (what a policy may know at the start
  of the first day) to the window's last day (what the accounting books);
* system load, ancillary-service prices and 4CP peaks: the user's files (``--load``,
  ``--ancillary-prices``, ``--fourcp-peaks`` or the site's ``market_data``), else the bundled ERCOT
  series; :attr:`Backtest.market_inputs` says which file each came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from powerfirst._types import Array
from powerfirst.accounting.ledger import Ledger, account
from powerfirst.accounting.results import (
    Comparison,
    DataGaps,
    HashpriceSummary,
    MarketFacts,
    StrategyComparison,
    StrategySummary,
    WindowSummary,
)
from powerfirst.backtest.engine import PolicyRun, run_policy
from powerfirst.backtest.history import history_note
from powerfirst.backtest.market_files import check_market_files, market_files
from powerfirst.backtest.prefetch import prefetch_for
from powerfirst.backtest.realised import build_inputs, inference_demand_gpus
from powerfirst.backtest.summary import hours_without_price, optimum, strategy_summary
from powerfirst.bitcoin.hashprice import BundledHashprice, HashpriceSource, published_hashprice
from powerfirst.control.contract import Policy
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.errors import ConfigError, DataError
from powerfirst.forecast.base import PriceForecaster
from powerfirst.market.grid_programs import (
    ERCOT_TIMEZONE,
    ancillary_source,
    fourcp_gap_warnings,
    fourcp_peaks,
    fourcp_source,
)
from powerfirst.market.information import MarketData
from powerfirst.market.loading import default_day_ahead, load_source, past_market_data, window_market_data
from powerfirst.market.markets import Market, market_names
from powerfirst.market.series import GapReport, PriceSeries
from powerfirst.market.source_spec import price_spec
from powerfirst.market.sources import parse_source
from powerfirst.market.window import Window, check_on_grid, parse_window, resolve_market, resolve_timezone
from powerfirst.policies import make_policy
from powerfirst.site.compile import hashprice_source
from powerfirst.site.schema import Site

__all__ = ["Backtest", "StrategyResult", "comparison", "learned_policy", "prepare_backtest", "run_strategy"]

HISTORY_DAYS = 28
"""Days of market data before the window that policies may see from its first interval [days]; a
price source that starts later gives what it has, and a warning says how many days that is."""
PAST_DAYS = 731
"""Days of market data before the window that a learning policy fits on (walk-forward) [days]."""
FEES_NOTE = (
    "Transaction fees are not included in the hashprice unless tx_fees_btc_per_block is set: the bundled "
    "Bitcoin data has no fee series, so the default is 0 BTC/block and mining revenue is understated."
)


@dataclass(frozen=True)
class Backtest:
    """Everything shared by the strategies of one backtest."""

    site: Site
    window: Window
    prices: PriceSeries
    gaps: GapReport
    hashprice: HashpriceSource
    inputs: DispatchInputs
    known_hashprice_usd_per_th_day: Array
    """Hashprice published by the start of each interval (previous UTC day), (T,)."""
    market: MarketData | None = None
    """Real-time and day-ahead prices, system load and ancillary prices around the window, revealed
    to policies as time passes (None: not loaded)."""
    past: Callable[[], MarketData | None] | None = None
    """Loads the market data of the years before the window (what a learning policy fits on)."""
    demand_before_gpus: pd.Series | None = None
    """Inference demand of the intervals in the four weeks before the window, by UTC interval
    start [GPUs] (None: none)."""
    market_inputs: dict[str, str | None] = field(default_factory=dict)
    """Where each market input comes from (a file, 'bundled …', or None: not used/none)."""
    iso_market: Market | None = None
    """The market the prices are from (None: not named, a CSV without ``market``)."""
    market_origin: str = ""
    """Where the market was named (``--market``, the site's market, the bundled source)."""
    warnings: tuple[str, ...] = ()
    """What the results could not account for (less price history before the window than
    :data:`HISTORY_DAYS`, a 4CP peak in a price gap, hours without an ancillary price), stated in
    the console, each summary.json and comparison.json."""

    def window_summary(self) -> WindowSummary:
        """The window, its zone and its market, as the results state them."""
        tz = self.window.timezone
        return WindowSummary(
            start_utc=self.window.start_utc.isoformat(),
            end_utc=self.window.end_utc.isoformat(),
            timezone=tz,
            timezone_source=self.window.origin,
            statement=self.window.zone_line(),
            market=self.iso_market.key if self.iso_market else None,
            market_source=self.market_origin or None,
            market_facts=MarketFacts.model_validate(self.iso_market.as_dict()) if self.iso_market else None,
            start_local=self.window.start_utc.tz_convert(tz).isoformat(),
            end_local=self.window.end_utc.tz_convert(tz).isoformat(),
            end="exclusive",
        )

    def data_gaps(self) -> DataGaps:
        """The window's intervals without a price, as the results state them."""
        return DataGaps.model_validate(self.gaps.as_dict())

    @property
    def fees_note(self) -> str:
        """The warning that mining revenue excludes fees, when the bundled hashprice has none ("" otherwise)."""
        if isinstance(self.hashprice, BundledHashprice) and not self.hashprice.tx_fees_btc_per_block:
            return FEES_NOTE
        return ""

    def hashprice_summary(self) -> HashpriceSummary:
        """Where the hashprice came from and its mean over the window."""
        fees = getattr(self.hashprice, "tx_fees_btc_per_block", None)
        return HashpriceSummary(
            source=self.hashprice.description,
            tx_fees_btc_per_block=fees,
            fees_included=bool(fees) if fees is not None else None,
            note=self.fees_note,
            mean_usd_per_ph_day=float(np.mean(self.inputs.hashprice_usd_per_th_day) * 1000.0),
        )


def market_timezone(site: Site, spec: str, market: str | None = None) -> tuple[str, str, Market | None, str]:
    """The zone plain dates and local-time features use and where it came from, and the market and
    where it was named, for the price source ``spec`` (the one read: ``--prices`` when given, not
    the site's replaced series) and ``--market`` (see market/window.py)."""
    parsed = price_spec(spec)  # the SOURCE text, parsed once
    iso, market_origin = resolve_market(parse_source(parsed), option=market, site_market=site.market)
    source = parse_source(parsed, market=iso)
    zone, origin = resolve_timezone(
        source, site_timezone=site.timezone, market=iso, market_origin=market_origin
    )
    return zone, origin, iso, market_origin


def _market(
    site: Site,
    spec: str,
    day_ahead: str | None,
    start: pd.Timestamp,
    window: tuple[pd.Timestamp, pd.Timestamp],
    zone: tuple[str, Market | None],
) -> MarketData:
    """The market data a clock reveals over the window (see
    :func:`powerfirst.market.loading.window_market_data`), with the site's load and ancillary files."""
    ancillary = (
        (tuple(site.ancillary.products), site.market_data.ancillary_prices)
        if site.ancillary is not None
        else None
    )
    return window_market_data(spec, day_ahead, site.market_data.load, ancillary, start, window, zone)


def _demand_before(
    site: Site, start_utc: pd.Timestamp, interval: pd.Timedelta, timezone: str
) -> pd.Series | None:
    """Inference demand over the days before the window (None when the site has none or a CSV
    does not cover them)."""
    hall = site.gpu_hall
    if hall is None or hall.inference is None:
        return None
    times = pd.date_range(
        start_utc - pd.Timedelta(days=HISTORY_DAYS), start_utc, freq=interval, inclusive="left"
    )
    try:
        return pd.Series(inference_demand_gpus(hall, times, timezone), index=times)
    except DataError:
        return None


def with_market_files(
    site: Site,
    *,
    load: str | None = None,
    ancillary_prices: str | None = None,
    fourcp_peaks: str | None = None,
) -> Site:
    """The site with the user's market files (``--load``, ``--ancillary-prices``, ``--fourcp-peaks``)
    written over its ``market_data`` (and over ``fourcp.peaks_csv``, its older name)."""
    given = {
        k: v
        for k, v in (("load", load), ("ancillary_prices", ancillary_prices), ("fourcp_peaks", fourcp_peaks))
        if v is not None
    }
    if not given:
        return site
    update: dict[str, Any] = {"market_data": site.market_data.model_copy(update=given)}
    if fourcp_peaks is not None and site.fourcp is not None:
        update["fourcp"] = site.fourcp.model_copy(update={"peaks_csv": None})
    return site.model_copy(update=update)


def market_inputs(site: Site, spec: str, da_spec: str | None) -> dict[str, str | None]:
    """Where each market input of a backtest comes from (None: not used, or none)."""
    return {
        "real_time_prices": spec,
        "day_ahead_prices": da_spec,
        "system_load": load_source(spec, site.market_data.load),
        "ancillary_prices": ancillary_source(site.market_data.ancillary_prices) if site.ancillary else None,
        "fourcp_peaks": fourcp_source(site.fourcp_peaks_path) if site.fourcp else None,
    }


def prepare_backtest(
    site: Site,
    start: str,
    end: str,
    *,
    prices: str | None = None,
    day_ahead: str | None = None,
    load: str | None = None,
    ancillary_prices: str | None = None,
    fourcp_peaks: str | None = None,
    market: str | None = None,
) -> Backtest:
    """Load the data of a backtest. ``prices`` (a SOURCE string) overrides the site's price series;
    ``day_ahead`` (a SOURCE string) gives the day-ahead prices (default: the site's
    ``market_data.day_ahead``, else the bundled ERCOT day-ahead series of the same point, when the
    prices are bundled ERCOT real-time ones);
    ``load`` (``path.csv:COLUMN``), ``ancillary_prices`` and ``fourcp_peaks`` (CSV paths) override
    the site's ``market_data`` files and the bundled series; ``market`` (``--market``) overrides the
    site's ``market``."""
    given = {
        "day_ahead": day_ahead,
        "load": load,
        "ancillary_prices": ancillary_prices,
        "fourcp_peaks": fourcp_peaks,
    }
    files = market_files(site, given)
    fields = {f.key: f.field for f in files}
    site = with_market_files(site, load=load, ancillary_prices=ancillary_prices, fourcp_peaks=fourcp_peaks)
    spec = prices or site.contract.price_series
    timezone, origin, iso, market_origin = market_timezone(site, spec, market)
    source = parse_source(spec, timezone=timezone, market=iso)
    window = parse_window(start, end, timezone, origin)
    series = source.load(window.start_utc, window.end_utc)
    used = {"ancillary_prices": site.ancillary is not None, "fourcp_peaks": site.fourcp is not None}
    check_market_files(
        [f for f in files if used.get(f.key, True)],
        products=tuple(site.ancillary.products) if site.ancillary else (),
        timezone=timezone,
        origin=origin,
        interval=series.interval,
    )
    check_on_grid(window, series, start, end)
    gaps = series.gaps(window.start_utc, window.end_utc)
    hp_source = hashprice_source(site.bitcoin)
    daily = hp_source.daily(window.start_utc - pd.Timedelta(days=1), window.end_utc)
    inputs = build_inputs(site, series, daily, timezone, (window.start_utc, window.end_utc))
    known = published_hashprice(daily, inputs.times_utc)
    da_given = day_ahead if day_ahead is not None else site.market_data.day_ahead
    da_spec = da_given if da_given is not None else default_day_ahead(spec)
    da_field = fields.get("day_ahead", "--day-ahead")
    if da_spec is not None:
        da_market = parse_source(da_spec, timezone=timezone).market  # a bad --day-ahead fails before any work
        if da_market is not None and iso is not None and da_market.key != iso.key:
            raise ConfigError(
                f"{da_field} {da_spec} is {da_market.label} data, but the market is {iso.label} ({market_origin})"
            )
    asks = (
        f"{da_field} {da_spec}" if da_spec is not None else "ancillary" if site.ancillary is not None else ""
    )
    if asks and iso is None:
        raise ConfigError(
            f"{asks}: day-ahead prices are revealed at the market's publication time, and the market of "
            f"{spec} is not known: set market: in the site file or --market (one of {market_names()})"
        )
    data = _market(
        site,
        spec,
        da_spec,
        window.start_utc - pd.Timedelta(days=HISTORY_DAYS),
        (window.start_utc, window.end_utc),
        (timezone, iso),
    )
    history = history_note(source, data.rt_price_usd_per_mwh, window.start_utc, HISTORY_DAYS)
    return Backtest(
        site,
        window,
        series,
        gaps,
        hp_source,
        inputs,
        known,
        data,
        partial(
            past_market_data,
            spec,
            da_spec,
            site.market_data.load,
            window.start_utc,
            (timezone, iso),
            PAST_DAYS,
        ),
        _demand_before(site, window.start_utc, series.interval, timezone),
        market_inputs(site, spec, da_spec),
        iso,
        market_origin,
        tuple(w for w in (history, *_input_warnings(site, inputs, timezone)) if w),
    )


def _input_warnings(site: Site, inputs: DispatchInputs, timezone: str) -> list[str]:
    """What the results cannot account for: 4CP peaks in a price gap (their charge is unknown) and
    hours of the window without an ancillary price (the product is not offered then)."""
    stream = inputs.stream
    out: list[str] = []
    if site.fourcp is not None:
        out += fourcp_gap_warnings(
            stream.fourcp_peaks, site.fourcp.rate_usd_per_mw_year, site.grid.connection_limit_mw, timezone
        )
    if site.ancillary is not None and len(stream.hour_id):
        hours = int(stream.hour_id.max()) + 1
        source = ancillary_source(site.market_data.ancillary_prices)
        for p, product in enumerate(site.ancillary.products):
            missing = hours_without_price(stream.as_available[p], stream.hour_id)
            if missing:
                out.append(
                    f"ancillary prices ({source}): no {product} price in {missing} of the window's {hours} hours "
                    f"(empty cells): {product} is not offered in those hours"
                )
    return out


@dataclass(frozen=True)
class StrategyResult:
    policy: Policy
    run: PolicyRun
    ledger: Ledger
    summary: StrategySummary

    @property
    def name(self) -> str:
        return self.policy.name


def _peaks_known_before(peaks: pd.DataFrame, start_utc: pd.Timestamp, timezone: str) -> pd.DataFrame:
    """The 4CP peaks of the months that ended before ``start_utc`` (a month's peak is known only once
    the month is over; months are ``timezone``-local)."""
    month_end = [
        pd.Timestamp(year=int(y) + (int(m) == 12), month=int(m) % 12 + 1, day=1, tz=timezone)
        for y, m in zip(peaks["year"], peaks["month"], strict=True)
    ]
    return peaks[[end <= start_utc for end in month_end]]


def _learnable_peaks(bt: Backtest) -> pd.DataFrame | None:
    """The 4CP peaks (the user's or the bundled ones) known before the window; None without 4CP."""
    site = bt.site
    if site.fourcp is None:
        return None
    path = site.fourcp_peaks_path
    timezone = bt.window.timezone if path else ERCOT_TIMEZONE
    return _peaks_known_before(
        fourcp_peaks(path, bt.prices.interval, timezone), bt.window.start_utc, timezone
    )


def _check_forecaster_inputs(bt: Backtest, policy: Policy) -> None:
    """A forecaster that needs an input the market data lacks (day-ahead without day-ahead prices)
    fails before the run, naming the option."""
    forecaster = getattr(policy, "forecaster", None)
    if isinstance(forecaster, PriceForecaster) and bt.market is not None:
        forecaster.check_inputs(bt.market)


def learned_policy(bt: Backtest, name: str) -> Policy:
    """The strategy called ``name`` for the backtest's site, having learned from the market data
    before the window where it learns (walk-forward): what a backtest runs and a live agent drives."""
    policy = make_policy(name, bt.site, bt.window.timezone)
    _check_forecaster_inputs(bt, policy)
    if policy.learns:
        past = bt.past() if bt.past is not None else None
        if past is None and policy.needs_history:
            raise DataError(
                f"--strategy {policy.name} {policy.needs_history}: the forecaster is fitted on the price "
                f"history before the window (up to {PAST_DAYS} days), and {bt.prices.name} has none before "
                f"{bt.window.start_utc.isoformat()}; use --forecast persistence or day-ahead, or give prices "
                "that start earlier"
            )
        if past is not None:
            policy.learn(past, _learnable_peaks(bt))
    return policy


def run_strategy(
    bt: Backtest, name: str, *, progress: Callable[[int], None] | None = None, prefetch: bool = True
) -> StrategyResult:
    """Run the strategy called ``name`` over the backtest's window and book it. ``prefetch``: let a
    rolling policy's forecasts be computed ahead on a second core (same results; False: not)."""
    policy = learned_policy(bt, name)
    ahead = prefetch_for(policy, bt.inputs, bt.market) if prefetch else None
    try:
        run = run_policy(
            policy,
            bt.inputs,
            bt.known_hashprice_usd_per_th_day,
            progress=progress,
            market=bt.market,
            demand_before_gpus=bt.demand_before_gpus,
        )
    finally:
        if ahead is not None:
            ahead.close()
    ledger = account(bt.inputs, run.schedule, run.initial_power_mw)
    return StrategyResult(policy, run, ledger, strategy_summary(bt, policy, run, ledger))


def comparison(bt: Backtest, results: list[StrategyResult]) -> Comparison:
    """Net margin per strategy and the share of the hindsight bound each captures."""
    bound = next((r for r in results if r.policy.uses_hindsight), None)
    bound_margin = bound.ledger.net_margin_usd if bound is not None else None
    notes = []
    if bound is None:
        notes.append("value_captured_pct needs the 'perfect' strategy in the same run; it is null")
    elif bound_margin is not None and bound_margin <= 0:
        notes.append(
            "the hindsight bound's net margin is not positive, so value_captured_pct is undefined (null)"
        )
    proven = optimum(bound.policy) if bound is not None else None
    proven_bound = proven.upper_bound_usd if proven is not None else None
    strategies: dict[str, StrategyComparison] = {}
    for r in results:
        captured = None
        captured_of_proven = None
        if bound_margin is not None and bound_margin > 0:
            captured = 100.0 * r.ledger.net_margin_usd / bound_margin
        if proven_bound is not None and proven_bound > 0:
            captured_of_proven = 100.0 * r.ledger.net_margin_usd / proven_bound
        strategies[r.name] = StrategyComparison(
            label=r.policy.label,
            is_upper_bound=r.policy.uses_hindsight,
            net_margin_usd=r.ledger.net_margin_usd,
            value_captured_pct=captured,
            value_captured_pct_of_proven_bound=captured_of_proven,
        )
    if bound is not None:
        notes.append("'perfect' knows every future price: it is an upper bound on what any strategy can earn")
    if bound is not None and bt.inputs.site.hall is not None:
        notes.append(
            "'perfect' honours every contract: each month's inference SLA and every training deadline; it bounds "
            "the strategies that do too (a strategy that misses a deadline or an SLA is not held to the same terms)"
        )
    if proven is not None and proven.mip_gap is not None and proven.mip_gap > 1e-4:
        notes.append(
            f"the hindsight optimum is a MILP solved to a gap of {100 * proven.mip_gap:.2f} %: no schedule "
            f"earns more than the proven bound {proven_bound:,.0f} USD (value_captured_pct_of_proven_bound)"
        )
    iso = bt.iso_market
    programs = [p for p, on in (("4CP", bt.site.fourcp), ("ancillary", bt.site.ancillary)) if on is not None]
    if programs and (iso is None or not iso.grid_programs):
        data = [
            f"{name} {source}"
            for name, source, on in (
                ("4CP peaks", bt.market_inputs.get("fourcp_peaks"), bt.site.fourcp),
                ("ancillary prices", bt.market_inputs.get("ancillary_prices"), bt.site.ancillary),
            )
            if on is not None
        ]
        whose = (
            f"{iso.label}'s ({bt.market_origin})"
            if iso is not None
            else "of a market not named (no --market or market:)"
        )
        notes.append(
            f"{' and '.join(programs)}: modelled on ERCOT's rules with {'; '.join(data)}, while the prices are {whose}"
        )
    notes += bt.warnings
    notes.append(bt.fees_note)
    return Comparison(
        site=bt.site.name,
        price_source=bt.prices.name,
        window=bt.window_summary(),
        reference=bound.name if bound is not None else None,
        strategies=strategies,
        data_gaps=bt.data_gaps(),
        market_inputs=bt.market_inputs,
        warnings=list(bt.warnings),
        notes=[n for n in notes if n],
    )

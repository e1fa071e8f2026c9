"""A history handed out by the market clock's view builds its series only when read: it must still
show exactly what was known when it was handed out, however far the clock has moved since."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from powerfirst.forecast.known import KnownArrays
from powerfirst.market.information import MarketData, MarketHistory
from powerfirst.market.markets import MARKETS

START = pd.Timestamp("2023-03-01T06:00Z")


def _data(days: int = 4) -> MarketData:
    """5-minute real-time prices with a two-hour hole (NaN), hourly day-ahead, load and one
    ancillary product; every value distinct (its position)."""
    rt_index = pd.date_range(START, periods=days * 288, freq="5min").as_unit("ns")
    rt = pd.Series(np.arange(days * 288) * 1.0, index=rt_index)
    rt.iloc[300:324] = np.nan
    hours = pd.date_range(START, periods=days * 24, freq="h").as_unit("ns")
    return MarketData(
        timezone="America/Chicago",
        rt_price_usd_per_mwh=rt,
        rt_interval=pd.Timedelta(minutes=5),
        da_price_usd_per_mwh=pd.Series(1000.0 + np.arange(days * 24), index=hours),
        load_mw=pd.Series(40_000.0 + np.arange(days * 24), index=hours),
        as_price_usd_per_mw_hour={"RRS": pd.Series(5.0 + np.arange(days * 24), index=hours)},
        market=MARKETS["ercot"],
    )


def _eager(data: MarketData, issued: pd.Timestamp, da_until: pd.Timestamp) -> MarketHistory:
    """What is known at ``issued``, built from the data by masks (the definition, without buffers)."""
    rt = data.rt_price_usd_per_mwh.dropna()
    hours_da = data.da_price_usd_per_mwh
    load = data.load_mw
    rrs = data.as_price_usd_per_mw_hour["RRS"]
    return MarketHistory(
        issued_utc=issued,
        timezone=data.timezone,
        rt_price_usd_per_mwh=rt[rt.index + data.rt_interval <= issued],
        da_price_usd_per_mwh=hours_da[hours_da.index < da_until],
        load_mw=load[load.index + pd.Timedelta(hours=1) <= issued],
        as_price_usd_per_mw_hour={"RRS": rrs[rrs.index < da_until]},
        market=data.market,
    )


def test_a_history_read_after_the_clock_moved_on_shows_what_was_known_when_handed_out() -> None:
    data = _data()
    clock = data.clock()
    first = pd.Timestamp("2023-03-02T19:10Z")  # after the day-ahead publication (13:30 Central)
    history = clock.known_at(first)
    later = clock.known_at(pd.Timestamp("2023-03-04T02:00Z"))  # reveals more of every series
    assert len(later.rt_price_usd_per_mwh) > len(history.rt_price_usd_per_mwh)
    expected = _eager(data, first, history.da_published_until_utc)
    for name in ("rt_price_usd_per_mwh", "da_price_usd_per_mwh", "load_mw"):
        pd.testing.assert_series_equal(
            getattr(history, name), getattr(expected, name), check_names=False, check_freq=False
        )
    pd.testing.assert_series_equal(
        history.as_price_usd_per_mw_hour["RRS"],
        expected.as_price_usd_per_mw_hour["RRS"],
        check_names=False,
        check_freq=False,
    )
    # the arrays forecasters read, from the buffers and from the series alike
    fresh = clock.view.history()
    stale = data.clock().known_at(first)  # a second clock: read after its series were built
    _ = stale.rt_price_usd_per_mwh, stale.da_price_usd_per_mwh, stale.load_mw
    for known in (KnownArrays.of(data.clock().known_at(first)), KnownArrays.of(stale)):
        reference = KnownArrays.of(expected)
        for field in ("rt_ns", "rt_usd_per_mwh", "da_ns", "da_usd_per_mwh", "load_ns", "load_mw"):
            np.testing.assert_array_equal(getattr(known, field), getattr(reference, field), err_msg=field)
    assert KnownArrays.of(fresh).rt_ns[-1] > KnownArrays.of(history).rt_ns[-1]


def test_recent_leaves_out_missing_values_of_a_users_series_and_returns_read_only_arrays() -> None:
    data = _data()
    issued = pd.Timestamp("2023-03-03T00:00Z")
    eager = _eager(data, issued, pd.Timestamp("2023-03-03T06:00Z"))
    holey = MarketHistory(
        issued_utc=issued,
        timezone=data.timezone,
        rt_price_usd_per_mwh=data.rt_price_usd_per_mwh[data.rt_price_usd_per_mwh.index < issued],
        da_price_usd_per_mwh=eager.da_price_usd_per_mwh,
        load_mw=eager.load_mw,
    )
    from_ns = int((issued - pd.Timedelta(hours=72)).value)
    ns, values = holey.recent("rt", from_ns)
    assert (
        not np.isnan(values).any() and ns.size == values.size == 42 * 12 - 24
    )  # 42 h of 5-min prices, a 2 h hole
    viewed_ns, viewed = data.clock().known_at(issued).recent("rt", from_ns)
    np.testing.assert_array_equal(viewed_ns, ns)
    np.testing.assert_array_equal(viewed, values)
    with pytest.raises(ValueError, match="read-only"):
        viewed[0] = 1.0


def test_rolling_decides_the_same_from_lazy_and_eagerly_built_histories(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two days of hourly re-solves of the mining example: the forecaster reading the view's buffers
    (series never built) and reading series built at once decide the same, interval by interval."""
    from pathlib import Path

    from powerfirst.backtest.engine import run_policy
    from powerfirst.backtest.runner import prepare_backtest
    from powerfirst.market.information import MarketView
    from powerfirst.policies import RollingPolicy, make_policy
    from powerfirst.policies.registry import load_site

    site = load_site(Path(__file__).resolve().parents[1] / "examples" / "west-texas-fixed-block.yaml")
    settings = site.strategies.rolling.model_copy(update={"forecast": "persistence"})
    site = site.model_copy(update={"strategies": site.strategies.model_copy(update={"rolling": settings})})
    bt = prepare_backtest(site, "2023-08-08", "2023-08-09")
    lazy = MarketView.history

    def eager(view: MarketView) -> MarketHistory:
        history = lazy(view)
        _ = history.rt_price_usd_per_mwh, history.da_price_usd_per_mwh, history.load_mw
        _ = history.as_price_usd_per_mw_hour
        return history

    schedules = []
    for build in (lazy, eager):
        monkeypatch.setattr(MarketView, "history", build)
        policy = make_policy("rolling", site, bt.window.timezone)
        assert isinstance(policy, RollingPolicy)
        policy.fourcp = None
        run = run_policy(
            policy,
            bt.inputs,
            bt.known_hashprice_usd_per_th_day,
            market=bt.market,
            demand_before_gpus=bt.demand_before_gpus,
        )
        assert policy.solves > 48
        schedules.append(run.schedule.power_mw)
    np.testing.assert_array_equal(schedules[0], schedules[1])


def test_ancillary_prices_at_hours_are_the_published_ones_and_nan_elsewhere() -> None:
    """``ancillary_at`` reads the revealed buffers as ``series.reindex(hours)`` reads the series:
    published hours their price, unpublished and unknown hours (and an unknown product) NaN."""
    data = _data()
    issued = pd.Timestamp("2023-03-02T19:10Z")
    lazy = data.clock().known_at(issued)
    expected = _eager(data, issued, lazy.da_published_until_utc)
    # hours before the data, published ones, then beyond what is published
    hours = pd.date_range("2023-03-01T03:00Z", periods=80, freq="h").as_unit("ns")
    hours_ns = hours.asi8
    wanted = expected.as_price_usd_per_mw_hour["RRS"].reindex(hours).to_numpy()
    assert np.isfinite(wanted).any() and np.isnan(wanted).any()
    built = data.clock().known_at(issued)
    _ = built.as_price_usd_per_mw_hour  # series built: read through them
    for history in (lazy, built, expected):
        np.testing.assert_array_equal(history.ancillary_at("RRS", hours_ns), wanted)
        assert np.isnan(history.ancillary_at("ECRS", hours_ns)).all()

"""Forecasts computed ahead in a worker process (backtest/prefetch.py) change nothing but the time.

A rolling run with the worker and one without it must book the same summary to the last digit,
with every scheduled re-solve (hourly, and on price moves at a mining-only site) served by the
worker; a worker that cannot start, or a forecast for other hours, leaves the policy computing its
own forecasts.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from powerfirst.backtest.prefetch import ForecastPrefetch, scheduled_issue_times_ns
from powerfirst.backtest.runner import prepare_backtest, run_strategy
from powerfirst.calendar import NS_PER_HOUR
from powerfirst.forecast.registry import make_forecaster
from powerfirst.policies.horizon import horizon_hours_ns
from powerfirst.policies.registry import load_site, parse_site
from powerfirst.policies.rolling import RollingPolicy

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MINING = EXAMPLES / "west-texas-fixed-block.yaml"
HYBRID = EXAMPLES / "west-texas-hybrid.yaml"
QUARTER_NS = NS_PER_HOUR // 4


def _without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if not k.endswith("_seconds")}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def test_the_schedule_of_re_solves_follows_from_the_settled_prices() -> None:
    """Hour starts always; within the hour, an interval whose last settled price is more than the
    trigger away from the price the plan assumed (the last settled price when it was made)."""
    times = np.arange(12, dtype=np.int64) * QUARTER_NS  # three clock hours of 15-minute intervals
    prices = np.array([30.0, 45.0, 46.0, 20.0, 30.0, 31.0, 29.0, 30.0, 30.0, 100.0, 95.0, 0.0])
    issues = scheduled_issue_times_ns(times, prices, 10.0)
    # 0: the first (nothing settled yet: its plan's prices are forecasts, not foreseen here);
    # 4: an hour starts (assumed: the 20 settled at 3); 5: 30 is 10 from 20, not more; 6: 31 is 11
    # from 20: a re-solve (assumed now: 31); 7: 29 vs 31 no; 8: an hour starts (assumed 30);
    # 9: 30 no; 10: 100 vs 30: a re-solve; 11: 95 vs 100 no
    assert list(issues // QUARTER_NS) == [0, 4, 6, 8, 10]
    assert list(scheduled_issue_times_ns(times, prices, None) // QUARTER_NS) == [0, 4, 8]
    # a gap: the next interval with a price in another hour is an hour start
    assert list(scheduled_issue_times_ns(times[[0, 1, 9]], prices[[0, 1, 9]], None) // QUARTER_NS) == [0, 9]


@pytest.mark.parametrize("example", [MINING, HYBRID], ids=["mining", "hybrid"])
def test_a_rolling_run_is_the_same_with_and_without_the_worker(
    example: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = load_site(example).model_dump(exclude_unset=True)
    data.setdefault("strategies", {}).setdefault("rolling", {})["forecast"] = "persistence"
    site = parse_site(data, source="persistence")
    bt = prepare_backtest(site, "2023-08-01", "2023-08-08")  # 8 days: 192 scheduled re-solves or more
    asked: list[int] = []
    take = ForecastPrefetch.take

    def spy(self: ForecastPrefetch, issued_ns: int, hours_ns: np.ndarray) -> Any:
        asked.append(issued_ns)
        return take(self, issued_ns, hours_ns)

    monkeypatch.setattr(ForecastPrefetch, "take", spy)
    start = ForecastPrefetch.__init__

    def started(self: ForecastPrefetch, *args: Any, **kwargs: Any) -> None:
        start(self, *args, **kwargs)
        assert self.ready(120.0)  # so that the worker serves re-solves on any machine

    monkeypatch.setattr(ForecastPrefetch, "__init__", started)
    ahead = run_strategy(bt, "rolling")
    inline = run_strategy(bt, "rolling", prefetch=False)
    assert isinstance(ahead.policy, RollingPolicy) and isinstance(inline.policy, RollingPolicy)
    assert inline.policy.prefetch is None and ahead.policy.prefetch is not None
    solves = ahead.summary.policy["solves"]
    # every re-solve was foreseen: the worker computed what the policy asked about, in order
    settings = ahead.policy.config
    moves = settings.resolve_on_price_move_usd_per_mwh if example is MINING else None
    foreseen = scheduled_issue_times_ns(
        bt.inputs.times_utc.as_unit("ns").asi8, bt.inputs.price_usd_per_mwh, moves
    )
    assert asked == [int(x) for x in foreseen] and len(asked) == solves >= 192
    if example is MINING:
        assert solves > 192  # re-solves on price moves too
    # how many it had ready depends on the machine; none taken would mean it never served one
    assert 0 < ahead.policy.prefetch.taken <= solves  # type: ignore[attr-defined]
    assert _without_timings(ahead.summary.model_dump(mode="json")) == _without_timings(
        inline.summary.model_dump(mode="json")
    )
    assert np.array_equal(ahead.run.schedule.power_mw, inline.run.schedule.power_mw)


def _prefetch(bt: Any, issues: np.ndarray) -> ForecastPrefetch:
    return ForecastPrefetch(make_forecaster("persistence"), None, bt.market, issues, QUARTER_NS, 192)


def test_a_worker_that_cannot_start_leaves_the_forecasts_to_the_policy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bt = prepare_backtest(load_site(MINING), "2023-08-01", "2023-08-01")
    issues = bt.inputs.times_utc.as_unit("ns").asi8[:4:4]
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    prefetch = _prefetch(bt, issues)
    assert prefetch.take(int(issues[0]), horizon_hours_ns(int(issues[0]), QUARTER_NS, 192)) is None
    prefetch.close()


def test_only_the_hours_asked_about_are_taken() -> None:
    bt = prepare_backtest(load_site(MINING), "2023-08-01", "2023-08-01")
    times = bt.inputs.times_utc.as_unit("ns").asi8
    issues = times[::4][:3]
    prefetch = _prefetch(bt, issues)
    try:
        first = int(issues[0])
        hours = horizon_hours_ns(first, QUARTER_NS, 192)
        got = None
        for _ in range(500):  # bounded wait for the worker (it starts in a second or two)
            got = prefetch.take(first, hours)
            if got is not None:
                break
            import time

            time.sleep(0.02)
        assert got is not None and got.quantiles.shape == (48, 3)
        # the forecast the policy computes itself from the same history
        clock = bt.market.clock()  # type: ignore[union-attr]
        clock.advance(bt.inputs.times_utc[0])
        import pandas as pd

        own = make_forecaster("persistence").predict(clock.view.history(), pd.DatetimeIndex(hours, tz="UTC"))
        assert np.array_equal(got.quantiles, own)
        # the next issue, asked about with other hours: not taken
        second = int(issues[1])
        for _ in range(500):
            if prefetch._pending is not None or prefetch.take(second, hours[:5]) is None:
                break
        assert prefetch.take(second, hours[:5]) is None
        assert prefetch.taken == 1
    finally:
        prefetch.close()


def test_a_forecast_read_during_a_re_solve_within_the_hour_is_kept_for_its_hour(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker's messages in order; ``take`` skips hours the policy did not re-solve, keeps one
    read early (a re-solve within the hour asked first) for its own hour, and hands out each once."""
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")  # no worker: messages fed below
    hour = [h * NS_PER_HOUR for h in range(4)]
    prefetch = ForecastPrefetch(make_forecaster("persistence"), None, None, np.array(hour), QUARTER_NS, 8)  # type: ignore[arg-type]
    quantiles = {h: np.full((2, 3), float(i)) for i, h in enumerate(hour)}
    messages = [(h, quantiles[h], h - NS_PER_HOUR, None) for h in hour]
    monkeypatch.setattr(prefetch, "_read", lambda: messages.pop(0) if messages else None)

    def take(issued_ns: int) -> Any:
        return prefetch.take(issued_ns, horizon_hours_ns(issued_ns, QUARTER_NS, 8))

    first = take(hour[0])
    assert first is not None and first.quantiles[0, 0] == 0.0 and first.last_day_ahead_ns == -NS_PER_HOUR
    assert take(hour[0] + QUARTER_NS) is None  # within the hour: hour 1's forecast is read and kept
    second = take(hour[1])
    assert second is not None and second.quantiles[0, 0] == 1.0
    third = take(hour[3])  # hour 2 not re-solved on schedule: skipped
    assert third is not None and third.quantiles[0, 0] == 3.0
    assert take(hour[3] + NS_PER_HOUR) is None and prefetch.taken == 3


def test_messages_that_arrive_together_are_taken_apart_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several of the worker's messages read from the pipe in one go (the pipe is read in large
    chunks) are handed out one by one, in order; the end message closes the worker."""
    import io
    import subprocess

    from powerfirst.backtest import prefetch as module

    real_python = sys.executable
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")  # no worker: a real pipe below
    hour = [h * NS_PER_HOUR for h in range(3)]
    prefetch = ForecastPrefetch(make_forecaster("persistence"), None, None, np.array(hour), QUARTER_NS, 8)  # type: ignore[arg-type]
    frames = io.BytesIO()
    sent = [(h, np.full((2, 3), float(i)), None, None) for i, h in enumerate(hour)]
    for message in [*sent, None]:
        module._send(frames, message)
    # a child process that echoes them all at once, then exits
    echo = "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())"
    process = subprocess.Popen([real_python, "-c", echo], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write(frames.getvalue())
    process.stdin.close()
    process.wait(timeout=30)
    prefetch._process = process
    got = [prefetch._read() for _ in hour]
    assert [m[0] for m in got if m is not None] == hour
    assert all(m is not None and m[1][0, 0] == float(i) for i, m in enumerate(got))
    assert prefetch._read() is None and prefetch._process is None  # the end: closed

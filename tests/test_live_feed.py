"""The live price feed over HTTP: a loopback server serves bundled history in the feed's shape, on
the agent's replay clock; bad answers are errors that name the row and field; an outage trips the
watchdog. Every server here listens on 127.0.0.1 and is stopped by the test."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from live_doubles import MemoryMiners
from powerfirst.errors import DataError
from powerfirst.live.clock import ReplayClock
from powerfirst.live.journal import Journal
from powerfirst.live.setup import replay_setup
from powerfirst.live.signals import HttpPriceFeed, parse_feed
from test_live_agent import DAY, double, live_site


class _Feed:
    """What the loopback server answers: rows settled by the clock, or a fault."""

    def __init__(self, prices: pd.Series, clock: ReplayClock, interval_s: float) -> None:
        self.prices = prices
        self.clock = clock
        self.interval_s = interval_s
        self.body: str | None = None
        self.status = 200
        self.requests = 0

    def answer(self) -> tuple[int, str]:
        self.requests += 1
        if self.body is not None:
            return self.status, self.body
        now = self.clock.now()
        starts = self.prices.index.as_unit("ns").asi8 / 1e9
        # a real feed also shows the running interval's price so far: the agent must not use it
        shown = self.prices[starts <= now]
        rows = [
            {"interval_start_utc": t.isoformat(), "price_usd_per_mwh": float(p)}
            for t, p in shown.tail(200).items()
        ]
        return self.status, json.dumps({"prices": rows})


@contextmanager
def feed_server(feed: _Feed) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = feed.answer()
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/prices"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_an_http_feed_drives_the_same_decisions_as_the_replay(tmp_path: Path) -> None:
    site = live_site()
    assert site.live is not None
    replayed = replay_setup(site, "breakeven", DAY, DAY, speed=1e7)
    reference = replayed.agent(site.live, Journal(tmp_path / "a.sqlite"), double(), echo=lambda line: None)
    asyncio.run(reference.run(replayed.start_s, replayed.end_s))

    setup = replay_setup(site, "breakeven", DAY, DAY, speed=3600.0)  # an hour per second: a day in 24 s
    assert isinstance(setup.clock, ReplayClock)
    prices = pd.Series(setup.source._prices, index=pd.to_datetime(setup.source._starts_s, unit="s", utc=True))  # type: ignore[attr-defined]
    feed = _Feed(prices, setup.clock, 900.0)
    with feed_server(feed) as url:
        setup.source = HttpPriceFeed(url, 900.0, timeout_s=2.0)
        agent = setup.agent(
            site.live, Journal(tmp_path / "b.sqlite"), MemoryMiners(double().ips), echo=lambda line: None
        )
        agent.driver.efficiency.update(double().efficiency)  # type: ignore[union-attr]
        end = setup.start_s + 6 * 3600  # six hours of the day over HTTP (6 s of real time)
        asyncio.run(agent.run(setup.start_s, end))
        asyncio.run(setup.source.close())
    assert feed.requests >= len(agent.records) == 24
    assert [r.basis for r in agent.records] == ["policy"] * 24
    np.testing.assert_allclose(
        np.array([r.power_mw for r in agent.records]), np.array([r.power_mw for r in reference.records[:24]])
    )


def test_feed_answers_that_are_not_prices_are_refused_by_row_and_field() -> None:
    with pytest.raises(DataError, match=r"row 1: price_usd_per_mwh 'high' is not a price"):
        parse_feed(
            json.dumps(
                {
                    "prices": [
                        {"interval_start_utc": "2023-08-10T00:00:00+00:00", "price_usd_per_mwh": 20},
                        {"interval_start_utc": "2023-08-10T00:15:00+00:00", "price_usd_per_mwh": "high"},
                    ]
                }
            ),
            "application/json",
            "feed",
        )
    with pytest.raises(DataError, match="has no zone"):
        parse_feed("interval_start_utc,price_usd_per_mwh\n2023-08-10 00:00,20\n", "text/csv", "feed")
    with pytest.raises(DataError, match="no column 'price_usd_per_mwh'"):
        parse_feed("interval_start_utc,lmp\n2023-08-10T00:00Z,20\n", "text/csv", "feed")
    with pytest.raises(DataError, match="not JSON"):
        parse_feed("{'prices': [", "application/json", "feed")
    with pytest.raises(DataError, match=r"within ±100,000 USD/MWh"):
        parse_feed(
            '[{"interval_start_utc": "2023-08-10T00:00:00Z", "price_usd_per_mwh": 1e9}]',
            "application/json",
            "feed",
        )
    starts, prices = parse_feed(
        "interval_start_utc,price_usd_per_mwh\n2023-08-10T00:15:00Z,-3.5\n2023-08-10T00:00:00Z,20\n",
        "text/csv",
        "feed",
    )
    assert prices.tolist() == [20.0, -3.5] and starts[1] - starts[0] == 900.0


def test_a_feed_outage_or_garbage_puts_the_site_in_its_safe_state(tmp_path: Path) -> None:
    site = live_site(safe_state="curtail")
    assert site.live is not None
    setup = replay_setup(site, "always-on", DAY, DAY, speed=3600.0)
    assert isinstance(setup.clock, ReplayClock)
    prices = pd.Series(setup.source._prices, index=pd.to_datetime(setup.source._starts_s, unit="s", utc=True))  # type: ignore[attr-defined]
    feed = _Feed(prices, setup.clock, 900.0)
    with feed_server(feed) as url:
        setup.source = HttpPriceFeed(url, 900.0, timeout_s=2.0)
        agent = setup.agent(site.live, Journal(tmp_path / "j.sqlite"), double(), echo=lambda line: None)

        async def go() -> None:
            await agent.start()
            for n in range(3):
                await agent.step(n, setup.start_s + n * 900)
            feed.body = "<html>502 Bad Gateway</html>"  # garbage from here on
            feed.status = 200
            for n in range(3, 7):
                await agent.step(n, setup.start_s + n * 900)

        asyncio.run(go())
        asyncio.run(setup.source.close())
    bases = [r.basis for r in agent.records]
    assert bases[:4] == ["policy"] * 4
    assert bases[5].startswith("safe state: no price settled")  # stale after 1800 s: within two intervals
    failures = agent.journal.audit_log("feed_failed")
    assert len(failures) == 4 and all("the feed's answer is not JSON" in d["message"] for _, _, d in failures)
    np.testing.assert_allclose(agent.records[-1].power_mw, [f.min_power_mw for f in agent.site.fleets])

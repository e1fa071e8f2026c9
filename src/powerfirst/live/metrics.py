"""Prometheus metrics of the agent (``prometheus-client``), served on a loopback port.

Site power [MW], per-fleet miners running, commands sent / not accepted by action, command
latency (send to answer) and confirmation latency (send to telemetry) [s], and the price feed's
age [s]. Each agent has its own registry, so tests can run several.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from powerfirst.live.devices import Command, CommandOutcome, DeviceReading, DeviceStatus

__all__ = ["AgentMetrics"]

_LATENCY_BUCKETS_S = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class AgentMetrics:
    """The agent's metrics, in their own registry."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.site_power_mw = Gauge(
            "powerfirst_site_power_mw", "Measured miner power of the site [MW]", registry=r
        )
        self.decided_power_mw = Gauge(
            "powerfirst_decided_power_mw", "Power decided for each fleet [MW]", ["fleet"], registry=r
        )
        self.miners_wanted = Gauge(
            "powerfirst_fleet_miners_wanted", "Miners each fleet should run", ["fleet"], registry=r
        )
        self.miners_state = Gauge("powerfirst_miners", "Miners by observed state", ["state"], registry=r)
        self.commands_sent = Counter("powerfirst_commands_sent", "Commands sent", ["action"], registry=r)
        self.commands_failed = Counter(
            "powerfirst_commands_not_accepted", "Commands not accepted", ["action"], registry=r
        )
        self.command_latency = Histogram(
            "powerfirst_command_latency_seconds", "Send to answer [s]", buckets=_LATENCY_BUCKETS_S, registry=r
        )
        self.confirm_latency = Histogram(
            "powerfirst_confirmation_latency_seconds",
            "Send to telemetry confirmation [s, agent clock]",
            buckets=_LATENCY_BUCKETS_S,
            registry=r,
        )
        self.feed_age_s = Gauge(
            "powerfirst_price_feed_age_seconds", "Since the newest settled interval ended [s]", registry=r
        )

    def serve(self, port: int, address: str = "127.0.0.1") -> None:
        """Serve ``/metrics`` on ``address:port`` (loopback by default) until :meth:`stop`."""
        server, thread = start_http_server(port, addr=address, registry=self.registry)
        self._server: WSGIServer | None = server
        self._thread = thread

    def stop(self) -> None:
        """Stop serving (the server thread ends)."""
        server: WSGIServer | None = getattr(self, "_server", None)
        if server is not None:
            server.shutdown()
            server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def step(
        self,
        fleets: Sequence[str],
        power_mw: Sequence[float],
        wanted: Sequence[int],
        readings: dict[str, DeviceReading],
        feed_age_s: float,
    ) -> None:
        """One interval: each fleet's decided power [MW] and miners wanted, the telemetry, the feed's age [s]."""
        for fleet, mw, count in zip(fleets, power_mw, wanted, strict=True):
            self.decided_power_mw.labels(fleet).set(float(mw))
            self.miners_wanted.labels(fleet).set(count)
        watts = [r.power_w for r in readings.values() if r.power_w is not None]
        self.site_power_mw.set(sum(watts) / 1e6)
        for state in DeviceStatus:
            self.miners_state.labels(str(state)).set(sum(1 for r in readings.values() if r.status is state))
        self.feed_age_s.set(feed_age_s if math.isfinite(feed_age_s) else -1.0)

    def commands(self, commands: list[Command], outcomes: list[CommandOutcome]) -> None:
        for command, outcome in zip(commands, outcomes, strict=True):
            self.commands_sent.labels(str(command.action)).inc()
            if not outcome.accepted:
                self.commands_failed.labels(str(command.action)).inc()
            self.command_latency.observe(outcome.seconds)

    def confirmed(self, seconds: float) -> None:
        self.confirm_latency.observe(max(seconds, 0.0))

"""The site file's ``live:`` section: how the agent reaches the site's machines and its signals.

::

    live:
      fleets:                      # each fleet of the site file → its miners' addresses
        s19jpro: {addresses: ["10.0.1.0/24", "10.0.2.17"]}
      price_feed: {url: "http://127.0.0.1:8080/prices", stale_after_s: 900}
      safe_state: curtail          # what the site does when the feed is stale or the policy fails
      max_changes_per_device_per_hour: 4
      journal: agent-journal.sqlite
      metrics_port: 9108           # Prometheus metrics on 127.0.0.1 (none: off)

Times in seconds, power in MW. Addresses are IPv4/IPv6 addresses or CIDR ranges.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal
from urllib.parse import urlsplit

from annotated_types import Interval
from pydantic import Field, field_validator, model_validator

from powerfirst.site.strict import Strict

__all__ = ["LiveConfig", "MinerGroup", "PriceFeedConfig", "SlurmConfig"]

MAX_ADDRESSES = 262_144
"""Most miners one fleet's addresses may name (a /14): more is a typing slip in a range."""


class MinerGroup(Strict):
    """Where one fleet's miners are."""

    addresses: list[str] = Field(min_length=1, max_length=10_000)
    """IP addresses and CIDR ranges (``10.0.1.0/24``: every host address in it)."""
    timeout_s: Annotated[float, Interval(ge=0.1, le=120.0)] = 10.0
    """Most a miner may take to answer one request [s] (stock Antminer config writes take ~20 s:
    the driver allows those their own, longer time)."""

    @field_validator("addresses")
    @classmethod
    def _check(cls, value: list[str]) -> list[str]:
        total = 0
        for item in value:
            try:
                net = ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR range (e.g. 10.0.1.0/24)") from None
            total += max(net.num_addresses - (2 if net.num_addresses > 2 else 0), 1)
            if total > MAX_ADDRESSES:
                raise ValueError(f"the addresses name more than {MAX_ADDRESSES:,} miners (limit)")
        return value


class PriceFeedConfig(Strict):
    """A real-time price feed over HTTP (JSON or CSV rows of interval_start_utc, price_usd_per_mwh)."""

    url: str = Field(pattern=r"^https?://", max_length=2000)
    poll_every_s: Annotated[float, Interval(ge=0.1, le=3600.0)] = 10.0
    timeout_s: Annotated[float, Interval(ge=0.1, le=120.0)] = 5.0
    stale_after_s: Annotated[float, Interval(ge=60.0, le=86_400.0)] = 1800.0
    """No price settled this long after an interval's end: the watchdog puts the site in its safe
    state [s] (default 30 minutes: two 15-minute intervals)."""

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        try:
            host = urlsplit(value).hostname
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a URL ({exc})") from None
        if not host or any(c.isspace() for c in value):
            raise ValueError(
                f"{value!r} is not an http(s) URL with a host (e.g. http://127.0.0.1:8080/prices)"
            )
        return value


class SlurmConfig(Strict):
    """The GPU hall's Slurm partitions (jobs in ``preemptible`` may be shed, never ``protected``)."""

    preemptible_partition: str = Field(default="preemptible", min_length=1, max_length=64)
    protected_partition: str = Field(default="protected", min_length=1, max_length=64)
    checkpoint_grace_s: Annotated[float, Interval(ge=0.0, le=3600.0)] = 60.0
    """Time a job has to write its checkpoint before it is requeued [s]."""
    slurm_conf: str | None = None
    """Path of slurm.conf (default: Slurm's own default, or ``SLURM_CONF``)."""


class LiveConfig(Strict):
    """The ``live:`` section (see the module docstring)."""

    fleets: dict[str, MinerGroup] = Field(default_factory=dict)
    price_feed: PriceFeedConfig | None = None
    slurm: SlurmConfig | None = None
    safe_state: Literal["curtail", "run", "hold"] = "curtail"
    """``curtail``: every fleet to its must-run power; ``run``: full power; ``hold``: as it is."""
    max_changes_per_device_per_hour: Annotated[int, Interval(ge=1, le=60)] = 4
    """Commands to one device in any hour at most; the agent skips (and logs) one more."""
    stagger_s: Annotated[float, Interval(ge=0.0, le=600.0)] = 0.0
    """Pause between waves of commands [s] (0: all at once)."""
    max_step_mw: Annotated[float, Interval(gt=0.0, le=100_000.0)] | None = None
    """Most power one wave of commands may switch [MW] (None: no limit)."""
    confirm_within_s: Annotated[float, Interval(ge=1.0, le=3600.0)] = 600.0
    """A command not confirmed by telemetry this long after it was sent is failed [s]."""
    settlement_sample_s: Annotated[float, Interval(ge=1.0, le=60.0)] = 4.0
    """During a grid event, measured site power is logged this often for settlement [s]."""
    journal: str = Field(default="powerfirst-agent.sqlite", min_length=1, max_length=1000)
    """The command journal (SQLite), relative to the site file."""
    metrics_port: Annotated[int, Interval(ge=1, le=65_535)] | None = None

    @model_validator(mode="after")
    def _fleets_apart(self) -> LiveConfig:
        """One miner belongs to one fleet: two fleets naming the same address would command it twice."""
        spans = sorted(
            (net.version, int(net.network_address), int(net.broadcast_address), fleet, item)
            for fleet, group in self.fleets.items()
            for item in group.addresses
            for net in [ipaddress.ip_network(item, strict=False)]
        )
        reach: dict[tuple[int, str], tuple[int, str]] = {}  # (version, fleet) → furthest end so far, its item
        for version, first, last, fleet, item in spans:
            for (v, other), (end, prior) in reach.items():
                if v == version and other != fleet and end >= first:
                    raise ValueError(
                        f"fleets: {fleet!r} address {item} overlaps {other!r} address {prior}; "
                        "a miner belongs to one fleet"
                    )
            if last > reach.get((version, fleet), (-1, ""))[0]:
                reach[(version, fleet)] = (last, item)
        return self

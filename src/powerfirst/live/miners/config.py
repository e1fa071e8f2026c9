"""Settings of :class:`~powerfirst.live.miners.driver.MinerDriver`: where the miners are, the time
limits per firmware family, concurrency, retries and the stock fast path. Times [s]."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

from powerfirst.errors import ConfigError
from powerfirst.live.miners.telemetry import StatusRules

__all__ = ["FirmwareTimeouts", "MinerDriverConfig"]

_MAX_HOSTS = 65_536


@dataclass(frozen=True)
class FirmwareTimeouts:
    """Time limits of one firmware family [s]."""

    read_s: float = 5.0
    """One telemetry read (cgminer API and web API calls in parallel)."""
    write_s: float = 30.0
    """One command; stock Antminer config writes take about 20 s before they answer."""

    def __post_init__(self) -> None:
        for name in ("read_s", "write_s"):
            value = getattr(self, name)
            if not 0 < value <= 600:
                raise ConfigError(f"{name}: {value} s is outside (0, 600] s")


@dataclass(frozen=True)
class MinerDriverConfig:
    """Where the miners are and how patiently to talk to them."""

    ips: Sequence[str] = ()
    """Single addresses to probe."""
    networks: Sequence[str] = ()
    """CIDR ranges to probe (every host address)."""
    timeouts: dict[str, FirmwareTimeouts] = field(default_factory=lambda: {"stock": FirmwareTimeouts()})
    """Per firmware family (``stock``, ``braiins``, …); ``default`` or ``stock`` for the rest."""
    discover_timeout_s: float = 3.0
    """Identifying one address (pyasic's ``factory_get_timeout``) [s]."""
    retries: int = 1
    """Extra attempts after a failed read or command (all bounded by the timeouts)."""
    max_concurrency: int = 256
    bulk_stock: bool = True
    """Send many commands to stock Antminers over kept connections (False: pyasic for each)."""
    rules: StatusRules = field(default_factory=StatusRules)

    def __post_init__(self) -> None:
        if not 0 <= self.retries <= 5:
            raise ConfigError(f"retries: {self.retries} is outside 0–5")
        if not 1 <= self.max_concurrency <= 10_000:
            raise ConfigError(f"max_concurrency: {self.max_concurrency} is outside 1–10000")
        if not 0 < self.discover_timeout_s <= 60:
            raise ConfigError(f"discover_timeout_s: {self.discover_timeout_s} s is outside (0, 60] s")

    def hosts(self) -> list[str]:
        """Every address to probe, in order, without duplicates."""
        out = dict.fromkeys(self.ips)
        for cidr in self.networks:
            try:
                network = ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ConfigError(f"networks: {cidr!r} is not a CIDR network ({exc})") from None
            if network.num_addresses > _MAX_HOSTS:
                raise ConfigError(
                    f"networks: {cidr} has {network.num_addresses} addresses; at most {_MAX_HOSTS}"
                )
            out.update(dict.fromkeys(str(h) for h in network.hosts()))
        return list(out)

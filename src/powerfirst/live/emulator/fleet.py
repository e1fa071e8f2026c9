"""A fleet of emulated miners: one loopback address each, both APIs on their standard ports.

Linux routes all of 127.0.0.0/8 to ``lo``, so binding 127.21.x.y needs no setup; ports 80 and 4028
are the ones pyasic and asic-rs hard-code (binding 80 needs root or ``CAP_NET_BIND_SERVICE``).
Each miner holds two listening sockets, plus one descriptor per open connection, so 10,000 miners
need 20,000 and up to 30,000 under a client that keeps a connection per miner alive:
:func:`raise_nofile_limit` lifts the soft limit to the hard one (and both higher where the process
may); :meth:`Fleet.start` refuses a fleet whose listeners cannot fit and sets
:attr:`Fleet.fd_warning` when connections could run out (then asyncio's accept loops spin on EMFILE).
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import resource
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from powerfirst.errors import ConfigError
from powerfirst.live.emulator import cgminer_api, web_api
from powerfirst.live.emulator.miner import EmulatedMiner, FaultTiming
from powerfirst.live.emulator.model import Clock, Fault, ModelSpec, model_spec

__all__ = ["Fleet", "FleetConfig", "fleet_addresses", "raise_nofile_limit"]

_Handler = Callable[[EmulatedMiner, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
_LISTENERS_PER_MINER = 2
_FD_HEADROOM = 256


def raise_nofile_limit(wanted: int = 0) -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit, and both to ``wanted`` where the process may
    (root, ``CAP_SYS_RESOURCE``); the new soft limit [file descriptors]."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and wanted > hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):
            pass  # not privileged: the hard limit is as far as it goes
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


def fleet_addresses(cidr: str, count: int) -> list[str]:
    """The first ``count`` host addresses of a loopback network (``127.21.0.0/16``)."""
    network = _loopback_network(cidr, count)
    out: list[str] = []
    for host in network.hosts():
        out.append(str(host))
        if len(out) == count:
            break
    return out


def _loopback_network(cidr: str, count: int) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """``cidr`` as a loopback network with room for ``count`` miners (a ConfigError otherwise)."""
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError as exc:
        raise ConfigError(f"addresses: {cidr!r} is not a CIDR network ({exc})") from None
    if not network.is_loopback:
        raise ConfigError(f"addresses: {cidr} is not loopback; the emulator listens on 127.0.0.0/8 only")
    hosts = network.num_addresses - 2 if network.num_addresses > 2 else network.num_addresses  # /31, /32: all
    if not 1 <= count <= hosts:
        raise ConfigError(f"count: {count} miners do not fit {cidr} (1–{hosts} hosts)")
    return network


@dataclass(frozen=True)
class FleetConfig:
    """What to emulate and where."""

    count: int
    addresses: str = "127.21.0.0/16"
    model: str = "S19jPro"
    time_scale: float = 1.0
    """Emulated seconds per wall-clock second (60: a 5-minute warm-up takes 5 s)."""
    config_write_s: float | None = None
    """Override the model's config-write delay [emulated s] (None: the model's, 20 s)."""
    timing: FaultTiming = field(default_factory=FaultTiming)
    faults: dict[Fault, int] = field(default_factory=dict)
    """How many miners get each fault (chosen by ``seed``)."""
    seed: int = 0
    rpc_port: int = 4028
    web_port: int = 80


class Fleet:
    """Start, fault and stop ``count`` emulated miners in the running event loop."""

    def __init__(self, config: FleetConfig) -> None:
        self.config = config
        spec: ModelSpec = model_spec(config.model)
        if config.config_write_s is not None:
            if not 0 <= config.config_write_s <= 600:
                raise ConfigError(f"config_write_s: {config.config_write_s} s is outside 0–600 s")
            spec = replace(spec, config_write_s=config.config_write_s)
        self.spec = spec
        self.clock = Clock(config.time_scale)
        _loopback_network(config.addresses, config.count)
        self._descriptors(config.count)  # before any address or miner is made: a huge count fails fast
        addresses = fleet_addresses(config.addresses, config.count)
        self.miners: dict[str, EmulatedMiner] = {
            a: EmulatedMiner(a, spec, self.clock, config.timing, on_reboot=self._on_reboot) for a in addresses
        }
        self._servers: dict[str, list[asyncio.Server]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = False
        self.fd_warning = ""
        """Set by :meth:`start` when open connections could exhaust the descriptor limit."""
        self._assign_faults()

    def _assign_faults(self) -> None:
        wanted = sum(self.config.faults.values())
        if wanted > len(self.miners):
            raise ConfigError(f"faults: {wanted} faulty miners exceed the fleet of {len(self.miners)}")
        chosen = random.Random(self.config.seed).sample(sorted(self.miners), wanted)
        for fault, n in self.config.faults.items():
            for address in chosen[:n]:
                self.miners[address].fault = fault
            chosen = chosen[n:]

    @staticmethod
    def _descriptors(count: int) -> int:
        """Raise the descriptor limit for ``count`` miners; the new limit (a ConfigError when too few)."""
        needed = count * _LISTENERS_PER_MINER + _FD_HEADROOM
        limit = raise_nofile_limit(needed + count)
        if needed > limit:
            raise ConfigError(
                f"count: {count} miners need about {needed} file descriptors; "
                f"RLIMIT_NOFILE allows {limit} (raise the hard limit, e.g. ulimit -Hn)"
            )
        return limit

    async def start(self) -> None:
        """Raise the descriptor limit and open both listeners of every miner."""
        count = len(self.miners)
        needed = count * _LISTENERS_PER_MINER + _FD_HEADROOM
        limit = self._descriptors(count)
        if limit < needed + count:
            self.fd_warning = (
                f"RLIMIT_NOFILE {limit} leaves {limit - needed} descriptors for connections to {count} miners; "
                "a client that keeps one connection per miner alive will exhaust them"
            )
        await asyncio.gather(*(self._open(m) for m in self.miners.values()))

    async def _open(self, miner: EmulatedMiner) -> None:
        servers = [
            await self._listen(miner, self.config.rpc_port, cgminer_api.handle_connection),
            await self._listen(miner, self.config.web_port, web_api.handle_connection),
        ]
        self._servers[miner.address] = servers

    async def _listen(self, miner: EmulatedMiner, port: int, handler: _Handler) -> asyncio.Server:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._tasks.add(task)
            try:
                await handler(miner, reader, writer)
            except asyncio.CancelledError:
                writer.close()
            finally:
                if task is not None:
                    self._tasks.discard(task)

        return await asyncio.start_server(
            serve, host=miner.address, port=port, reuse_address=True, backlog=512
        )

    def _on_reboot(self, miner: EmulatedMiner) -> None:
        for server in self._servers.pop(miner.address, []):
            server.close()
        asyncio.get_running_loop().call_later(
            self.clock.wall_s(miner.spec.reboot_s), lambda: self._reopen(miner)
        )

    def _reopen(self, miner: EmulatedMiner) -> None:
        if self._stopped or miner.address in self._servers:
            return
        left_s = miner.state.down_until_s - miner.now_s()
        if left_s > 0:  # rebooted again meanwhile: wait for the later reboot's end
            asyncio.get_running_loop().call_later(self.clock.wall_s(left_s), lambda: self._reopen(miner))
            return
        task = asyncio.get_running_loop().create_task(self._open(miner))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Close every listener and every open connection."""
        self._stopped = True
        servers = [s for group in self._servers.values() for s in group]
        self._servers.clear()
        for server in servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*(s.wait_closed() for s in servers), *self._tasks, return_exceptions=True)
        self._tasks.clear()

    def set_fault(self, address: str, fault: Fault) -> None:
        """Inject ``fault`` into the miner at ``address`` (REBOOT reboots it now)."""
        try:
            self.miners[address].set_fault(fault)
        except KeyError:
            raise ConfigError(f"address: {address} is not an emulated miner") from None

    async def __aenter__(self) -> Fleet:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

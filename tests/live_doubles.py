"""A test double of the device boundary for unit tests of the agent's command path.

``MemoryMiners`` keeps miners in memory and applies a command at once (or not, for the faults a
test asks for), counting every command each miner receives. It stands in for our own
:class:`~powerfirst.live.devices.DeviceDriver` interface, not for a miner protocol: the tests that
need the protocol run the miner emulator through the real miner library.
"""

from __future__ import annotations

import time
from collections import Counter

from powerfirst.live.devices import (
    Action,
    Command,
    CommandOutcome,
    DeviceDriver,
    DeviceInfo,
    DeviceReading,
    DeviceStatus,
)


class MemoryMiners(DeviceDriver):
    kind = "miner"

    def __init__(self, ips: list[str], *, power_w: float = 3250.0, efficiency_j_per_th: float = 29.5) -> None:
        self.ips = list(ips)
        self.power_w = power_w
        self.efficiency = {ip: efficiency_j_per_th for ip in ips}
        self.asleep: set[str] = set()
        self.limit_w = {ip: power_w for ip in ips}
        self.received: Counter[tuple[str, Action]] = Counter()
        self.log: list[Command] = []
        self.unreachable: set[str] = set()
        self.rejecting: set[str] = set()
        self.lagging: set[str] = set()
        """Miners that acknowledge a command but stay TRANSITIONING until :meth:`settle`."""
        self._pending: dict[str, Action] = {}

    async def discover(self) -> list[DeviceInfo]:
        return [
            DeviceInfo(ip, "miner", "Antminer S19j Pro", "stock", self.limit_w[ip], self.efficiency[ip])
            for ip in self.ips
            if ip not in self.unreachable
        ]

    async def send(self, command: Command) -> CommandOutcome:
        ip = command.device_id
        if ip in self.unreachable:
            return CommandOutcome(command.command_id, ip, False, "timed out after 10 s")
        self.received[(ip, command.action)] += 1
        self.log.append(command)
        if ip in self.rejecting:
            return CommandOutcome(command.command_id, ip, False, "rejected: firmware busy")
        if ip in self.lagging:
            self._pending[ip] = command.action
            return CommandOutcome(command.command_id, ip, True, "ok")
        self._apply(ip, command)
        return CommandOutcome(command.command_id, ip, True, "ok")

    def _apply(self, ip: str, command: Command | Action) -> None:
        action = command.action if isinstance(command, Command) else command
        if action is Action.SLEEP:
            self.asleep.add(ip)
        elif action is Action.WAKE:
            self.asleep.discard(ip)
            if isinstance(command, Command) and command.power_limit_w is not None:
                self.limit_w[ip] = command.power_limit_w

    def settle(self) -> None:
        """Lagging miners finish what they were asked."""
        for ip, action in self._pending.items():
            self._apply(ip, action)
        self._pending.clear()

    async def read(self, device_id: str) -> DeviceReading:
        now = time.time()
        if device_id in self.unreachable or device_id not in self.limit_w:
            return DeviceReading(device_id, DeviceStatus.UNAVAILABLE, now, reason="no answer")
        if device_id in self._pending:
            return DeviceReading(device_id, DeviceStatus.TRANSITIONING, now, power_w=self.power_w / 2)
        if device_id in self.asleep:
            return DeviceReading(
                device_id, DeviceStatus.CURTAILED, now, power_w=15.0, power_limit_w=self.limit_w[device_id]
            )
        return DeviceReading(
            device_id,
            DeviceStatus.RUNNING,
            now,
            power_w=self.limit_w[device_id],
            hashrate_ths=104.0,
            power_limit_w=self.limit_w[device_id],
        )

    def running(self) -> set[str]:
        return {ip for ip in self.ips if ip not in self.asleep}

"""The device-driver boundary: what the live agent asks of machines and what it reads back.

One abstract base, :class:`DeviceDriver`, for every kind of machine the agent commands (ASIC miners
through a miner library, GPU jobs through Slurm, GPU power caps through NVML). A driver

- **discovers** its devices (:class:`DeviceInfo`: identity, model, nominal power),
- **sends** one :class:`Command` at a time (the agent journals a command durably *before* it hands
  it to :meth:`DeviceDriver.send`, and bounds how many are in flight), returning a
  :class:`CommandOutcome` — an acknowledgement, never a confirmation, and
- **reads** telemetry (:class:`DeviceReading`): a command counts as done only when a later reading
  confirms the state it asked for.

Drivers never raise for one device's failure: an unreachable or rejecting device is an outcome
(``accepted=False`` with a reason) or a reading with ``status=UNAVAILABLE``, so one silent machine
never blocks the others. Every call is bounded in time by the driver's own per-firmware timeouts.

Units: power in watts [W] at the device (the agent sums to MW), times in seconds since the epoch
(UTC) as floats, hashrate in TH/s. Signs: power drawn is positive.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "Action",
    "Command",
    "CommandOutcome",
    "DeviceDriver",
    "DeviceInfo",
    "DeviceReading",
    "DeviceStatus",
]


class Action(StrEnum):
    """What a command asks of a device."""

    SLEEP = "sleep"
    """Miner: stop hashing, draw idle power (firmware sleep / low-power mode)."""
    WAKE = "wake"
    """Miner: hash again, restoring ``Command.power_limit_w`` when given (its mode before sleep)."""
    SET_POWER_LIMIT = "set_power_limit"
    """Miner or GPU: run at most ``Command.power_limit_w`` [W] (firmware or NVML power target)."""
    CHECKPOINT = "checkpoint"
    """GPU job: signal it to write a checkpoint (it keeps running until requeued)."""
    REQUEUE = "requeue"
    """GPU job: requeue it and hold it pending, releasing its GPUs (after a checkpoint's grace)."""
    RELEASE = "release"
    """GPU job: let a held job be scheduled again (power has returned)."""


class DeviceStatus(StrEnum):
    """A device's state as its telemetry shows it (not as a command asked)."""

    RUNNING = "running"
    """Drawing working power: hashing, or a job running on its GPUs."""
    CURTAILED = "curtailed"
    """Sleeping / held: drawing idle power (or none)."""
    TRANSITIONING = "transitioning"
    """Ramping between the two (a miner waking up, a job checkpointing or being requeued)."""
    UNAVAILABLE = "unavailable"
    """No answer, an error, or unknown to the driver; ``DeviceReading.reason`` says which."""


@dataclass(frozen=True)
class DeviceInfo:
    """One device a driver found."""

    device_id: str
    """Stable identity: a miner's IP address, ``slurm-job:<id>``, ``gpu:<uuid>``."""
    kind: str
    """``miner``, ``gpu_job`` or ``gpu``."""
    model: str
    """Hardware or job description, e.g. ``Antminer S19j Pro`` or a Slurm job name."""
    firmware: str = ""
    nominal_power_w: float = 0.0
    """Working power at the device's current settings [W]."""
    efficiency_j_per_th: float | None = None
    """Miners: energy per terahash [J/TH] (shed the least efficient first); None for others."""
    gpus: int = 0
    """GPU jobs and GPUs: GPUs it holds."""
    protected: bool = False
    """Never curtailed by the agent (e.g. inference in a protected partition)."""


@dataclass(frozen=True)
class Command:
    """One instruction to one device; ``command_id`` is unique and journaled before it is sent."""

    command_id: str
    device_id: str
    action: Action
    power_limit_w: float | None = None
    """SET_POWER_LIMIT: the target [W]; WAKE: the power target to restore (None: firmware default)."""


@dataclass(frozen=True)
class CommandOutcome:
    """The device's answer to a command: acknowledged or not. Not a confirmation of its effect."""

    command_id: str
    device_id: str
    accepted: bool
    message: str = ""
    """Why it was not accepted (timeout, rejected, unreachable), or the device's answer."""
    seconds: float = 0.0
    """Time from sending to the answer [s]."""


@dataclass(frozen=True)
class DeviceReading:
    """What a device's telemetry says at ``observed_at_s``."""

    device_id: str
    status: DeviceStatus
    observed_at_s: float
    """When it was read [s since the epoch, UTC]."""
    power_w: float | None = None
    """Measured power [W] (None: the device does not report it)."""
    hashrate_ths: float | None = None
    """Miners: hashrate [TH/s]."""
    power_limit_w: float | None = None
    """The power target it runs at [W] (None: none set or not reported)."""
    reason: str = ""
    """Why it is UNAVAILABLE (timeout, refused, parse error, …)."""
    extra: dict[str, str] = field(default_factory=dict)
    """Driver-specific facts (Slurm job state, firmware mode) for the audit log."""


class DeviceDriver(ABC):
    """One kind of machine behind one interface (miners, Slurm jobs, GPU power caps)."""

    kind: str = "device"
    max_concurrency: int = 64
    """Commands or reads in flight at once (the agent's :meth:`send_all`/:meth:`read_all` bound)."""

    @abstractmethod
    async def discover(self) -> list[DeviceInfo]:
        """The devices this driver can command now (unreachable ones are left out)."""

    @abstractmethod
    async def send(self, command: Command) -> CommandOutcome:
        """Send one command; bounded in time; never raises for the device's own failure."""

    @abstractmethod
    async def read(self, device_id: str) -> DeviceReading:
        """Read one device's telemetry; bounded in time; UNAVAILABLE (with a reason) on failure."""

    async def send_all(self, commands: Iterable[Command]) -> list[CommandOutcome]:
        """Send many commands, at most :attr:`max_concurrency` at once, outcomes in order."""
        limit = asyncio.Semaphore(self.max_concurrency)

        async def one(command: Command) -> CommandOutcome:
            async with limit:
                return await self.send(command)

        return list(await asyncio.gather(*(one(c) for c in commands)))

    async def read_all(self, device_ids: Sequence[str]) -> dict[str, DeviceReading]:
        """Read many devices, at most :attr:`max_concurrency` at once."""
        limit = asyncio.Semaphore(self.max_concurrency)

        async def one(device_id: str) -> DeviceReading:
            async with limit:
                return await self.read(device_id)

        readings = await asyncio.gather(*(one(d) for d in device_ids))
        return {r.device_id: r for r in readings}

    async def close(self) -> None:
        """Release connections (default: nothing to release)."""
        return None

"""One emulated miner as both of its APIs see it: physics, injected fault, config writes, reboots.

The cgminer API (:mod:`.cgminer_api`) and the web API (:mod:`.web_api`) only render what this object
says; the fleet (:mod:`.fleet`) opens and closes their listeners (a reboot closes both).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from powerfirst.errors import ConfigError
from powerfirst.live.emulator import digest
from powerfirst.live.emulator.model import Clock, Fault, MinerState, ModelSpec, WorkMode

__all__ = ["EmulatedMiner", "FaultTiming", "WriteResult"]

_NONCES_KEPT = 64
"""Nonces a miner accepts at once: enough for pyasic's fresh client per call, many in parallel."""


@dataclass(frozen=True)
class FaultTiming:
    """How long faults last, in wall-clock seconds (they are network behaviour, not physics)."""

    slow_answer_s: float = 2.0
    """A SLOW miner waits this long before each answer [s]."""
    silent_hold_s: float = 30.0
    """A SILENT miner holds a connection open this long without a byte, then closes it [s]."""

    def __post_init__(self) -> None:
        for name in ("slow_answer_s", "silent_hold_s"):
            value = getattr(self, name)
            if not 0 <= value <= 3600:
                raise ConfigError(f"{name}: {value} s is outside 0–3600 s")


@dataclass(frozen=True)
class WriteResult:
    """What ``set_miner_conf`` answers: the stock firmware's ``stats``/``code``/``msg``."""

    ok: bool
    code: str
    msg: str


class EmulatedMiner:
    """One miner at one loopback address."""

    def __init__(
        self,
        address: str,
        spec: ModelSpec,
        clock: Clock,
        timing: FaultTiming,
        on_reboot: Callable[[EmulatedMiner], None] | None = None,
    ) -> None:
        self.address = address
        self.spec = spec
        self.clock = clock
        self.timing = timing
        self.state = MinerState(spec)
        self.fault = Fault.NONE
        self.on_reboot = on_reboot
        self.mac = _mac_for(address)
        self.serial = "JYZZB" + hashlib.sha1(address.encode()).hexdigest()[:10].upper()
        self.blinking = False
        self.writes = 0
        """``set_miner_conf`` calls answered (accepted or refused)."""
        self.modes_written: list[WorkMode | None] = []
        """The mode of each accepted ``set_miner_conf``, in order (what the tests count)."""
        self.config_written: dict[str, Any] | None = None
        """The config body of the last accepted ``set_miner_conf`` (None: never written)."""
        self.nonces: dict[str, None] = {}
        """Digest nonces this miner still accepts, oldest first (at most ``_NONCES_KEPT``); clear it
        to expire them (the next signed request is answered 401 ``stale=true``)."""
        self._write_lock = asyncio.Lock()

    def issue_nonce(self) -> str:
        """A new digest nonce for a 401 challenge; the oldest kept one expires."""
        nonce = digest.new_nonce()
        self.nonces[nonce] = None
        while len(self.nonces) > _NONCES_KEPT:
            del self.nonces[next(iter(self.nonces))]
        return nonce

    def now_s(self) -> float:
        """Emulated seconds on the fleet's clock."""
        return self.clock.now_s()

    def set_fault(self, fault: Fault) -> None:
        """Inject a fault; REBOOT starts a reboot now (then the miner answers normally again)."""
        if fault is Fault.REBOOT:
            self.fault = Fault.NONE
            self.reboot()
            return
        self.fault = fault

    async def before_answer(self) -> bool:
        """Apply the fault to one request: False means close without answering."""
        if self.fault is Fault.SILENT:
            await asyncio.sleep(self.timing.silent_hold_s)
            return False
        if self.fault is Fault.SLOW:
            await asyncio.sleep(self.timing.slow_answer_s)
        return True

    async def write_mode(self, mode: WorkMode | None, conf: dict[str, Any] | None = None) -> WriteResult:
        """``set_miner_conf``: after the firmware's config-write delay, apply ``mode`` (None: keep)
        and keep the posted config ``conf``."""
        async with self._write_lock:
            if self.fault is Fault.REJECT:
                self.writes += 1
                return WriteResult(False, "M001", "config write refused (injected fault)")
            await asyncio.sleep(self.clock.wall_s(self.spec.config_write_s))
            if mode is not None:
                self.state.set_mode(mode, self.now_s())
            self.writes += 1
            self.modes_written.append(mode)
            if conf is not None:
                self.config_written = conf
            return WriteResult(True, "M000", "OK!")

    def reboot(self) -> None:
        """Reboot now: the fleet closes both listeners for ``reboot_s`` and reopens them."""
        self.state.reboot(self.now_s())
        if self.on_reboot is not None:
            self.on_reboot(self)

    def reading(self) -> tuple[float, float]:
        """(power [W], hashrate [TH/s]) now."""
        now = self.now_s()
        return self.state.power_w(now), self.state.hashrate_ths(now)


def _mac_for(address: str) -> str:
    digest = hashlib.sha1(address.encode()).digest()
    return ":".join(f"{b:02X}" for b in (0x02, *digest[:5]))

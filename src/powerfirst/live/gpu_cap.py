"""GPU power caps through NVML (``nvidia-ml-py``): the finer lever where a job may run slower.

A Slurm job that is requeued stops; a GPU whose power limit is lowered keeps working, slower. This
driver sets each GPU's power-management limit (``nvmlDeviceSetPowerManagementLimit``, which needs
root) within the limits the board allows, and reads power draw, the limit in force and
utilisation back. Devices are ``gpu:<uuid>``.

- SET_POWER_LIMIT ``power_limit_w`` caps a GPU (clamped to the board's [min, max] constraint; the
  outcome says so); WAKE restores ``power_limit_w`` or, without one, the board's default limit.
  SLEEP is not a GPU action (an outcome says so).
- Without an NVIDIA driver (no ``libnvidia-ml``), :meth:`GpuPowerCapDriver.discover` finds nothing
  and every reading is UNAVAILABLE with the reason: nothing is pretended.

NVML calls block for microseconds to milliseconds; they run in a worker thread so the agent's
loop never waits on them. Power in W (NVML reports mW).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from powerfirst.live.devices import (
    Action,
    Command,
    CommandOutcome,
    DeviceDriver,
    DeviceInfo,
    DeviceReading,
    DeviceStatus,
)

__all__ = ["GpuPowerCapDriver"]

CAPPED_BELOW_FRACTION = 0.98
"""A GPU whose limit is below this share of its default limit counts as CURTAILED (capped)."""


class GpuPowerCapDriver(DeviceDriver):
    """Every NVIDIA GPU of this machine, through NVML."""

    kind = "gpu"
    max_concurrency = 8

    def __init__(self) -> None:
        self._nvml: Any = None
        self.unavailable_reason = ""
        try:
            import pynvml

            pynvml.nvmlInit()
        except ImportError:
            self.unavailable_reason = "nvidia-ml-py is not installed"
        except Exception as exc:
            self.unavailable_reason = f"no NVIDIA driver ({exc})"
        else:
            self._nvml = pynvml

    @property
    def available(self) -> bool:
        return self._nvml is not None

    def _handles(self) -> dict[str, Any]:
        nv = self._nvml
        out = {}
        for i in range(nv.nvmlDeviceGetCount()):
            handle = nv.nvmlDeviceGetHandleByIndex(i)
            out[f"gpu:{_text(nv.nvmlDeviceGetUUID(handle))}"] = handle
        return out

    def _discover(self) -> list[DeviceInfo]:
        nv = self._nvml
        found = []
        for device_id, handle in self._handles().items():
            default_w = nv.nvmlDeviceGetPowerManagementDefaultLimit(handle) / 1000.0
            found.append(
                DeviceInfo(device_id, "gpu", _text(nv.nvmlDeviceGetName(handle)), "", default_w, gpus=1)
            )
        return found

    async def discover(self) -> list[DeviceInfo]:
        if not self.available:
            return []
        return await asyncio.to_thread(self._discover)

    def _send(self, command: Command) -> CommandOutcome:
        nv = self._nvml
        started = time.perf_counter()
        handle = self._handles().get(command.device_id)
        if handle is None:
            return CommandOutcome(command.command_id, command.device_id, False, "no such GPU")
        if command.action not in (Action.SET_POWER_LIMIT, Action.WAKE):
            return CommandOutcome(
                command.command_id,
                command.device_id,
                False,
                f"{command.action} is not a GPU action (set_power_limit, wake)",
            )
        low_mw, high_mw = nv.nvmlDeviceGetPowerManagementLimitConstraints(handle)
        wanted_mw = (
            nv.nvmlDeviceGetPowerManagementDefaultLimit(handle)
            if command.power_limit_w is None
            else round(command.power_limit_w * 1000)
        )
        limit_mw = min(max(int(wanted_mw), int(low_mw)), int(high_mw))
        try:
            nv.nvmlDeviceSetPowerManagementLimit(handle, limit_mw)
        except Exception as exc:
            return CommandOutcome(
                command.command_id,
                command.device_id,
                False,
                f"NVML refused: {exc}",
                time.perf_counter() - started,
            )
        note = (
            ""
            if limit_mw == wanted_mw
            else f" (clamped to the board's {low_mw / 1000:g}-{high_mw / 1000:g} W)"
        )
        return CommandOutcome(
            command.command_id,
            command.device_id,
            True,
            f"limit {limit_mw / 1000:g} W{note}",
            time.perf_counter() - started,
        )

    async def send(self, command: Command) -> CommandOutcome:
        if not self.available:
            return CommandOutcome(command.command_id, command.device_id, False, self.unavailable_reason)
        return await asyncio.to_thread(self._send, command)

    def _read(self, device_id: str) -> DeviceReading:
        nv = self._nvml
        now = time.time()
        handle = self._handles().get(device_id)
        if handle is None:
            return DeviceReading(device_id, DeviceStatus.UNAVAILABLE, now, reason="no such GPU")
        limit_w = nv.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0
        default_w = nv.nvmlDeviceGetPowerManagementDefaultLimit(handle) / 1000.0
        power_w = nv.nvmlDeviceGetPowerUsage(handle) / 1000.0
        utilisation = nv.nvmlDeviceGetUtilizationRates(handle).gpu
        capped = limit_w < CAPPED_BELOW_FRACTION * default_w
        return DeviceReading(
            device_id,
            DeviceStatus.CURTAILED if capped else DeviceStatus.RUNNING,
            now,
            power_w=power_w,
            power_limit_w=limit_w,
            extra={"default_limit_w": f"{default_w:g}", "utilisation_pct": str(utilisation)},
        )

    async def read(self, device_id: str) -> DeviceReading:
        if not self.available:
            return DeviceReading(
                device_id, DeviceStatus.UNAVAILABLE, time.time(), reason=self.unavailable_reason
            )
        try:
            return await asyncio.to_thread(self._read, device_id)
        except Exception as exc:
            return DeviceReading(device_id, DeviceStatus.UNAVAILABLE, time.time(), reason=f"NVML: {exc}")

    async def close(self) -> None:
        if self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            finally:
                self._nvml = None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

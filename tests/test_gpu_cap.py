"""The NVML power-cap driver: on a machine without an NVIDIA driver it finds nothing and says why;
on a machine with one (the device machine, when lent) it caps a real GPU and restores it."""

from __future__ import annotations

import asyncio

import pytest

from powerfirst.live.devices import Action, Command, DeviceStatus
from powerfirst.live.gpu_cap import GpuPowerCapDriver

driver = GpuPowerCapDriver()


@pytest.mark.skipif(driver.available, reason="this machine has an NVIDIA driver: the real test below runs")
def test_without_an_nvidia_driver_nothing_is_pretended() -> None:
    async def go() -> None:
        assert await driver.discover() == []
        reading = await driver.read("gpu:GPU-0")
        assert reading.status is DeviceStatus.UNAVAILABLE
        assert reading.reason == driver.unavailable_reason and reading.reason.startswith(
            ("no NVIDIA driver", "nvidia-ml-py")
        )
        outcome = await driver.send(Command("c1", "gpu:GPU-0", Action.SET_POWER_LIMIT, 300.0))
        assert not outcome.accepted and outcome.message == driver.unavailable_reason

    asyncio.run(go())


@pytest.mark.skipif(not driver.available, reason=f"no NVIDIA GPU here ({driver.unavailable_reason})")
def test_a_real_gpu_is_capped_and_restored() -> None:
    async def go() -> None:
        gpus = await driver.discover()
        assert gpus
        gpu = gpus[0]
        before = await driver.read(gpu.device_id)
        assert before.power_limit_w is not None
        capped = await driver.send(
            Command("cap", gpu.device_id, Action.SET_POWER_LIMIT, 0.6 * gpu.nominal_power_w)
        )
        assert capped.accepted, capped.message
        during = await driver.read(gpu.device_id)
        assert during.status is DeviceStatus.CURTAILED
        assert during.power_limit_w is not None and during.power_limit_w < before.power_limit_w
        restored = await driver.send(Command("restore", gpu.device_id, Action.WAKE, before.power_limit_w))
        assert restored.accepted, restored.message
        after = await driver.read(gpu.device_id)
        assert after.power_limit_w == pytest.approx(before.power_limit_w)

    asyncio.run(go())

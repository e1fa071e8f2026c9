"""MinerDriver against emulated stock S19j Pros on loopback: discovery, sleep, wake, faults, restarts.

Emulated time runs 50× (a 10 s sleep ramp takes 0.2 s, the 60 s + 240 s warm-up 6 s); every wait is
bounded by a deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from powerfirst.errors import ConfigError
from powerfirst.live.devices import Action, Command, DeviceReading, DeviceStatus
from powerfirst.live.emulator import Fault, FaultTiming, Fleet, FleetConfig, WorkMode
from powerfirst.live.miners import FirmwareTimeouts, MinerDriver, MinerDriverConfig

pytestmark = pytest.mark.anyio
NET = "127.21.2.0/24"
SCALE = 50.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _fleet_config(count: int) -> FleetConfig:
    timing = FaultTiming(slow_answer_s=2.0, silent_hold_s=5.0)
    return FleetConfig(count=count, addresses=NET, time_scale=SCALE, config_write_s=5.0, timing=timing)


_made: list[MinerDriver] = []


@pytest.fixture
async def _close_drivers() -> AsyncIterator[None]:
    """Close every driver a test made (its kept web-API connections)."""
    yield
    while _made:
        await _made.pop().close()


def _driver(fleet: Fleet, extra_ips: tuple[str, ...] = ()) -> MinerDriver:
    timeouts = {"stock": FirmwareTimeouts(read_s=0.6, write_s=1.0)}
    driver = MinerDriver(
        MinerDriverConfig(
            ips=(*fleet.miners, *extra_ips), timeouts=timeouts, retries=1, discover_timeout_s=1.0
        )
    )
    _made.append(driver)
    return driver


@pytest.fixture
async def fleet(_close_drivers: None) -> AsyncIterator[Fleet]:
    async with Fleet(_fleet_config(6)) as running:
        yield running


async def _until(
    driver: MinerDriver, device_id: str, status: DeviceStatus, deadline_s: float
) -> DeviceReading:
    end = time.monotonic() + deadline_s
    while True:
        reading = await driver.read(device_id)
        if reading.status is status or time.monotonic() > end:
            return reading
        await asyncio.sleep(0.05)


async def test_discover_finds_every_miner_with_model_and_efficiency(fleet: Fleet) -> None:
    driver = _driver(fleet, extra_ips=("127.21.3.77",))  # nobody there
    asleep = list(fleet.miners)[2]
    fleet.miners[asleep].state.set_mode(WorkMode.SLEEP, fleet.clock.now_s() - 100.0)  # idle, 15 W
    infos = await asyncio.wait_for(driver.discover(), timeout=10)
    assert sorted(i.device_id for i in infos) == sorted(fleet.miners)
    for info in infos:
        assert info.model == "AntMiner S19j Pro"
        assert info.firmware == "stock"
        # running: measured 3068 W / 104 TH/s; asleep: nameplate 29.5 J/TH × 104 TH/s ideal
        assert info.nominal_power_w == pytest.approx(3068.0)
        assert info.efficiency_j_per_th == pytest.approx(3068.0 / 104.0, rel=1e-3)


async def test_sleep_is_curtailed_only_after_the_ramp(fleet: Fleet) -> None:
    driver = _driver(fleet)
    await driver.discover()
    ip = next(iter(fleet.miners))
    assert (await driver.read(ip)).status is DeviceStatus.RUNNING
    sent = time.monotonic()
    outcome = await driver.send(Command("c1", ip, Action.SLEEP))
    assert outcome.accepted, outcome.message
    assert outcome.seconds >= 5.0 / SCALE  # the firmware's config write
    first = await driver.read(ip)
    assert first.status is DeviceStatus.TRANSITIONING
    assert first.hashrate_ths is not None and first.hashrate_ths > 0
    done = await _until(driver, ip, DeviceStatus.CURTAILED, deadline_s=5)
    assert done.status is DeviceStatus.CURTAILED
    assert time.monotonic() - sent >= (5.0 + 10.0) / SCALE * 0.9  # write, then the 10 s stop ramp
    assert done.power_w == pytest.approx(15.0) and done.hashrate_ths == 0.0
    assert done.extra["work_mode"] == "sleep"


async def test_wake_restores_the_mode_it_slept_from(fleet: Fleet) -> None:
    driver = _driver(fleet)
    await driver.discover()
    ip = list(fleet.miners)[1]
    low = await driver.send(Command("c1", ip, Action.WAKE, power_limit_w=2500.0))  # below normal: low mode
    assert low.accepted and "low" in low.message
    assert fleet.miners[ip].state.mode is WorkMode.LOW
    assert (await driver.send(Command("c2", ip, Action.SLEEP))).accepted
    assert fleet.miners[ip].state.mode is WorkMode.SLEEP
    woke = await driver.send(Command("c3", ip, Action.WAKE))  # no target given: restore the remembered one
    assert woke.accepted and "low" in woke.message
    assert fleet.miners[ip].state.mode is WorkMode.LOW
    reading = await driver.read(ip)
    assert reading.status is DeviceStatus.TRANSITIONING and reading.extra["work_mode"] == "low"
    running = await _until(driver, ip, DeviceStatus.RUNNING, deadline_s=10)
    assert running.status is DeviceStatus.RUNNING
    assert running.power_w is not None and running.power_w == pytest.approx(2150.0, rel=0.1)


async def test_power_limit_on_stock_firmware_is_refused_as_unsupported(fleet: Fleet) -> None:
    driver = _driver(fleet)
    await driver.discover()
    ip = next(iter(fleet.miners))
    outcome = await driver.send(Command("c1", ip, Action.SET_POWER_LIMIT, power_limit_w=2000.0))
    assert not outcome.accepted and "not supported" in outcome.message
    unknown = await driver.send(Command("c2", "127.21.9.9", Action.SLEEP))
    assert not unknown.accepted and "unknown device" in unknown.message


# pyasic's cgminer client does not close its socket when a caller's timeout cancels it (rpc/base.py
# _send_bytes); the garbage collector closes it later with a ResourceWarning. That leak is pyasic's.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_each_fault_is_an_outcome_and_never_blocks_the_others(fleet: Fleet) -> None:
    driver = _driver(fleet)
    await driver.discover()
    ips = list(fleet.miners)
    silent, slow, reject, rebooting = ips[:4]
    healthy = ips[4:]
    for ip, fault in (
        (silent, Fault.SILENT),
        (slow, Fault.SLOW),
        (reject, Fault.REJECT),
        (rebooting, Fault.REBOOT),
    ):
        fleet.set_fault(ip, fault)
    started = time.monotonic()
    outcomes = await driver.send_all(Command(f"s{i}", ip, Action.SLEEP) for i, ip in enumerate(ips))
    took_s = time.monotonic() - started
    assert took_s < 2 * 1.0 + 1.0  # two attempts of the 1 s write limit, all miners in parallel
    by_ip = {o.device_id: o for o in outcomes}
    for ip in healthy:
        assert by_ip[ip].accepted, by_ip[ip].message
    for ip in (silent, slow):
        assert not by_ip[ip].accepted and "no answer within 1 s" in by_ip[ip].message
    assert not by_ip[rebooting].accepted and "connection attempts failed" in by_ip[rebooting].message
    assert not by_ip[reject].accepted and "refused (M001" in by_ip[reject].message
    fleet.set_fault(rebooting, Fault.REBOOT)  # it may be back by now (90 s → 1.8 s): reboot it again
    readings = await driver.read_all(ips)
    for ip in (silent, slow):
        assert (
            readings[ip].status is DeviceStatus.UNAVAILABLE
            and "no answer within 0.6 s" in readings[ip].reason
        )
    assert readings[rebooting].status is DeviceStatus.UNAVAILABLE and readings[rebooting].reason
    assert readings[reject].status is DeviceStatus.RUNNING  # reads still work; only writes are refused
    for ip in healthy:
        assert readings[ip].status in (DeviceStatus.TRANSITIONING, DeviceStatus.CURTAILED)


@pytest.mark.usefixtures("_close_drivers")
async def test_a_rebooted_miner_and_a_restarted_emulator_come_back() -> None:
    config = _fleet_config(2)
    fleet = Fleet(config)
    await fleet.start()
    driver = _driver(fleet)
    await driver.discover()
    ip = next(iter(fleet.miners))
    try:
        fleet.set_fault(ip, Fault.REBOOT)  # 90 s down → 1.8 s
        await asyncio.sleep(0.05)
        down = await driver.read(ip)
        assert down.status is DeviceStatus.UNAVAILABLE and "connection attempts failed" in down.reason
        back = await _until(driver, ip, DeviceStatus.TRANSITIONING, deadline_s=5)
        assert back.status is DeviceStatus.TRANSITIONING and back.hashrate_ths == 0.0  # booted, warming up
    finally:
        await fleet.stop()
    gone = await driver.read(ip)
    assert gone.status is DeviceStatus.UNAVAILABLE
    async with Fleet(config):
        again = await driver.read(ip)
        assert again.status is DeviceStatus.RUNNING, again.reason


def test_bad_driver_settings_name_the_field() -> None:
    with pytest.raises(ConfigError, match="retries: 9"):
        MinerDriverConfig(retries=9)
    with pytest.raises(ConfigError, match="networks: 'nope'"):
        MinerDriverConfig(networks=["nope"]).hosts()
    with pytest.raises(ConfigError, match="read_s: 0"):
        FirmwareTimeouts(read_s=0)
    assert MinerDriverConfig(ips=["127.21.0.2"], networks=["127.21.0.0/30"]).hosts() == [
        "127.21.0.2",
        "127.21.0.1",
    ]


async def test_a_restarted_driver_wakes_a_low_power_miner_to_low_power_from_its_reading(fleet: Fleet) -> None:
    first = _driver(fleet)
    await first.discover()
    ip = list(fleet.miners)[3]
    assert (await first.send(Command("c1", ip, Action.WAKE, power_limit_w=2500.0))).accepted  # low mode
    running = await _until(first, ip, DeviceStatus.RUNNING, deadline_s=10)
    assert running.power_limit_w is not None and running.power_limit_w < 3068.0  # what the journal keeps
    assert (await first.send(Command("c2", ip, Action.SLEEP))).accepted
    restarted = _driver(fleet)  # a new process: nothing remembered but the journal's target
    await restarted.discover()
    woke = await restarted.send(Command("c3", ip, Action.WAKE, power_limit_w=running.power_limit_w))
    assert woke.accepted and "low" in woke.message
    assert fleet.miners[ip].state.mode is WorkMode.LOW

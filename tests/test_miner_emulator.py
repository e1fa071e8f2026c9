"""The miner emulator speaks the real protocols: the libraries' own discovery names the model it claims.

Every server listens on 127.21.x.y (loopback), is started and stopped by a fixture, and every request
is bounded in time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from powerfirst.cli.emulate import parse_faults
from powerfirst.errors import ConfigError
from powerfirst.live.emulator import MODELS, Fault, Fleet, FleetConfig, WorkMode, fleet_addresses
from powerfirst.live.emulator.model import MinerState

pytestmark = pytest.mark.anyio
NET = "127.21.1.0/24"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def fleet() -> AsyncIterator[Fleet]:
    config = FleetConfig(count=4, addresses=NET, time_scale=50.0, config_write_s=2.0)
    async with Fleet(config) as running:
        yield running


async def test_pyasic_discovery_names_the_emulated_model(fleet: Fleet) -> None:
    from powerfirst.live.miners._pyasic import BMMinerS19jPro, MinerFactory

    miners = await asyncio.wait_for(MinerFactory().get_multiple_miners(list(fleet.miners)), timeout=15)
    assert len(miners) == 4
    for miner in miners:
        assert isinstance(miner, BMMinerS19jPro), type(miner)
        assert miner.model == "S19j Pro (Stock)"
    data = await asyncio.wait_for(miners[0].get_data(include=["hashrate", "is_mining", "fw_ver"]), timeout=10)
    assert float(data.hashrate) == pytest.approx(104.0)
    assert data.is_mining is True


async def test_asic_rs_discovery_names_the_emulated_model(fleet: Fleet) -> None:
    from pyasic_rs import MinerFactory

    address = next(iter(fleet.miners))
    miner = await asyncio.wait_for(MinerFactory().get_miner(address), timeout=15)
    assert miner is not None
    assert (miner.make, miner.model, miner.firmware) == ("Antminer", "S19jPro", "AntMiner Stock")
    wattage = await asyncio.wait_for(miner.get_wattage(), timeout=10)
    assert wattage == pytest.approx(3068.0)  # asic-rs reads stats' chain_power; pyasic gives None on stock


async def test_asic_rs_pause_goes_through_the_web_api(fleet: Fleet) -> None:
    from pyasic_rs import MinerFactory

    address = list(fleet.miners)[1]
    miner = await asyncio.wait_for(MinerFactory().get_miner(address), timeout=15)
    assert miner is not None
    assert await asyncio.wait_for(miner.pause(None), timeout=10) is True
    assert fleet.miners[address].state.mode is WorkMode.SLEEP
    assert await asyncio.wait_for(miner.get_is_mining(), timeout=10) is False


async def test_web_api_wants_the_digest_password(fleet: Fleet) -> None:
    address = next(iter(fleet.miners))
    async with httpx.AsyncClient(timeout=5) as client:
        root = await client.get(f"http://{address}/")
        assert root.status_code == 401
        assert 'realm="antMiner' in root.headers["www-authenticate"]
        wrong = await client.get(
            f"http://{address}/cgi-bin/get_system_info.cgi", auth=httpx.DigestAuth("root", "x")
        )
        assert wrong.status_code == 401
        right = await client.get(
            f"http://{address}/cgi-bin/get_system_info.cgi", auth=httpx.DigestAuth("root", "root")
        )
        assert right.json()["minertype"] == "Antminer S19j Pro"
        bad = await client.post(
            f"http://{address}/cgi-bin/set_miner_conf.cgi",
            auth=httpx.DigestAuth("root", "root"),
            json={"miner-mode": 7},
        )
        assert bad.json()["stats"] == "error"
        assert fleet.miners[address].state.mode is WorkMode.NORMAL


async def test_cgminer_api_answers_json_and_refuses_garbage(fleet: Fleet) -> None:
    address = next(iter(fleet.miners))

    async def ask(payload: bytes) -> dict[str, object]:
        reader, writer = await asyncio.open_connection(address, 4028)
        writer.write(payload)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout=5)
        writer.close()
        assert data.endswith(b"\x00")
        parsed: dict[str, object] = json.loads(data[:-1])
        return parsed

    version = await ask(b'{"command":"version"}')
    assert version["VERSION"][0]["Type"] == "Antminer S19j Pro"  # type: ignore[index]
    both = await ask(b'{"command":"summary+stats"}')
    assert set(both) >= {"summary", "stats"}
    garbage = await ask(b"GET /capabilities HTTP/1.1\r\n\r\n")
    assert garbage["STATUS"][0]["STATUS"] == "E"  # type: ignore[index]


async def test_reboot_drops_both_ports_then_they_return() -> None:
    config = FleetConfig(count=2, addresses=NET, time_scale=300.0)  # reboot 90 s → 0.3 s
    async with Fleet(config) as fleet:
        address = next(iter(fleet.miners))
        fleet.set_fault(address, Fault.REBOOT)
        await asyncio.sleep(0.01)
        for port in (4028, 80):
            with pytest.raises(OSError):
                await asyncio.wait_for(asyncio.open_connection(address, port), timeout=2)
        await asyncio.sleep(0.5)
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(address, 4028), timeout=2)
        writer.close()
        assert fleet.miners[address].state.hashrate_ths(fleet.clock.now_s()) < 104.0  # warming up again


def test_physics_sleep_ramp_wake_warmup_and_reboot() -> None:
    spec = MODELS["S19jPro"]
    state = MinerState(spec)
    assert state.power_w(0.0) == spec.power_w[WorkMode.NORMAL]
    state.set_mode(WorkMode.SLEEP, 100.0)
    assert state.power_w(100.0) == pytest.approx(3068.0)
    assert 0 < state.hashrate_ths(100.0 + spec.stop_s / 2) < 104.0
    assert state.power_w(100.0 + spec.stop_s) == spec.idle_power_w
    state.set_mode(WorkMode.LOW, 200.0)
    assert state.hashrate_ths(200.0 + spec.init_s - 1) == 0.0
    assert state.power_w(200.0 + spec.init_s - 1) == spec.init_power_w
    mid = 200.0 + spec.init_s + spec.ramp_s / 2
    assert state.hashrate_ths(mid) == pytest.approx(78.0 / 2)
    assert state.power_w(200.0 + spec.init_s + spec.ramp_s) == pytest.approx(2150.0)
    state.reboot(1000.0)
    assert state.is_down(1000.0 + spec.reboot_s - 1)
    assert not state.is_down(1000.0 + spec.reboot_s)
    assert state.hashrate_ths(1000.0 + spec.reboot_s + 1) == 0.0  # boots, then warms up again


def test_bad_fleet_settings_name_the_field() -> None:
    with pytest.raises(ConfigError, match="not loopback"):
        fleet_addresses("10.0.0.0/24", 3)
    with pytest.raises(ConfigError, match="count: 300"):
        fleet_addresses("127.21.0.0/24", 300)
    with pytest.raises(ConfigError, match="model"):
        Fleet(FleetConfig(count=1, model="S9"))
    with pytest.raises(ConfigError, match="--fault"):
        parse_faults(["silent"])
    assert parse_faults(["silent=2", "slow=1", "silent=1"]) == {Fault.SILENT: 3, Fault.SLOW: 1}


async def test_pyasic_calls_a_refused_sleep_a_success_asic_rs_does_not() -> None:
    """Why the driver reads the firmware's answer code itself (docs/architecture.md)."""
    from pyasic_rs import MinerFactory as RsFactory

    from powerfirst.live.miners._pyasic import MinerFactory

    config = FleetConfig(
        count=2, addresses=NET, time_scale=50.0, config_write_s=1.0, faults={Fault.REJECT: 2}
    )
    async with Fleet(config) as fleet:
        first, second = list(fleet.miners)
        pyasic_miner = await asyncio.wait_for(MinerFactory().get_miner(first), timeout=15)
        assert await asyncio.wait_for(pyasic_miner.stop_mining(), timeout=10) is True
        rs_miner = await asyncio.wait_for(RsFactory().get_miner(second), timeout=15)
        assert rs_miner is not None
        assert await asyncio.wait_for(rs_miner.pause(None), timeout=10) is False
        assert all(m.state.mode is WorkMode.NORMAL and m.writes >= 1 for m in fleet.miners.values())

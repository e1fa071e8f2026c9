"""The stock Antminer fast path of :meth:`MinerDriver.send_all` against emulated S19j Pros on loopback.

One kept connection per miner, the digest nonce reused, the full config posted with the mode
changed; refusals, silence, closed connections and expired nonces are outcomes; anything the fast
path cannot do goes through pyasic. Emulated time runs 50× (config writes 5 s → 0.1 s); every wait
is bounded by a deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from powerfirst.live.devices import Action, Command, DeviceStatus
from powerfirst.live.emulator import Fault, FaultTiming, Fleet, FleetConfig, WorkMode, web_api
from powerfirst.live.miners import FirmwareTimeouts, MinerDriver, MinerDriverConfig
from powerfirst.live.miners._pyasic import pyasic
from powerfirst.live.miners.stock_bulk import BulkError, DigestChallenge, StockBulkClient

pytestmark = pytest.mark.anyio
NET = "127.21.4.0/24"
SCALE = 50.0
POOLS = [{"url": "stratum+tcp://btc.example.invalid:3333", "user": "site7.rack3", "pass": "x"}]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def fleet() -> AsyncIterator[Fleet]:
    timing = FaultTiming(slow_answer_s=2.0, silent_hold_s=5.0)
    config = FleetConfig(count=6, addresses=NET, time_scale=SCALE, config_write_s=5.0, timing=timing)
    async with Fleet(config) as running:
        yield running


async def _driver(fleet: Fleet, write_s: float = 1.0) -> MinerDriver:
    timeouts = {"stock": FirmwareTimeouts(read_s=0.6, write_s=write_s)}
    driver = MinerDriver(
        MinerDriverConfig(ips=tuple(fleet.miners), timeouts=timeouts, retries=1, discover_timeout_s=1.0)
    )
    assert len(await asyncio.wait_for(driver.discover(), timeout=10)) == len(fleet.miners)
    return driver


def _commands(ips: list[str], action: Action, tag: str = "") -> list[Command]:
    return [Command(f"{tag}{action}/{ip}", ip, action) for ip in ips]


async def _settle(driver: MinerDriver, ips: list[str], status: DeviceStatus, deadline_s: float) -> set[str]:
    """The miners whose telemetry shows ``status`` by the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        readings = await driver.read_all(ips)
        done = {ip for ip, r in readings.items() if r.status is status}
        if done == set(ips) or time.monotonic() > end:
            return done
        await asyncio.sleep(0.05)


async def test_bulk_sleep_and_wake_are_confirmed_by_telemetry_over_kept_connections(fleet: Fleet) -> None:
    driver = await _driver(fleet)
    ips = list(fleet.miners)
    await driver.read_all(ips)  # telemetry caches each miner's config
    outcomes = await driver.send_all(_commands(ips, Action.SLEEP))
    assert [o.accepted for o in outcomes] == [True] * len(ips), [o.message for o in outcomes]
    assert {o.message for o in outcomes} == {"miner-mode 1 (sleep)"}
    assert driver.bulk is not None and set(driver.bulk.written_s) == set(ips)
    assert await _settle(driver, ips, DeviceStatus.CURTAILED, 5.0) == set(ips)
    outcomes = await driver.send_all(_commands(ips, Action.WAKE))
    assert all(o.accepted for o in outcomes), [o.message for o in outcomes]
    assert await _settle(driver, ips, DeviceStatus.RUNNING, 15.0) == set(ips)
    for miner in fleet.miners.values():
        assert miner.modes_written == [WorkMode.SLEEP, WorkMode.NORMAL]
    # one connection per miner carried the reads and both commands, a second one after the emulated
    # lighttpd's 100 requests per connection (the ~120 reads of this test)
    assert len(ips) <= driver.bulk.connects <= 2 * len(ips)
    await driver.close()


async def test_the_config_posted_keeps_the_miners_pools(fleet: Fleet) -> None:
    ips = list(fleet.miners)
    for ip in ips:  # what an operator configured before the agent started
        fleet.miners[ip].config_written = {"pools": POOLS, "miner-mode": 0}
    driver = await _driver(fleet)
    await driver.read_all(ips[:3])  # three from the telemetry cache, three read on the command's connection
    outcomes = await driver.send_all(_commands(ips, Action.SLEEP))
    assert all(o.accepted for o in outcomes), [o.message for o in outcomes]
    for ip in ips:
        posted = fleet.miners[ip].config_written
        assert posted is not None and posted["miner-mode"] == 1
        assert posted["pools"][0] == POOLS[0]
        assert all(p["url"] == "" for p in posted["pools"][1:])  # pyasic's three slots, the rest empty
        assert fleet.miners[ip].state.mode is WorkMode.SLEEP
    await driver.close()


async def test_a_refused_write_is_not_accepted_and_a_silent_miner_blocks_nobody(fleet: Fleet) -> None:
    ips = list(fleet.miners)
    driver = await _driver(fleet, write_s=1.0)
    await driver.read_all(ips)
    refusing, silent = ips[0], ips[1]
    fleet.set_fault(refusing, Fault.REJECT)
    fleet.set_fault(silent, Fault.SILENT)  # holds every request 5 s without a byte
    started = time.monotonic()
    outcomes = {o.device_id: o for o in await driver.send_all(_commands(ips, Action.SLEEP))}
    elapsed_s = time.monotonic() - started
    assert not outcomes[refusing].accepted and "M001" in outcomes[refusing].message
    assert not outcomes[silent].accepted and "no answer within 1 s" in outcomes[silent].message
    assert all(outcomes[ip].accepted for ip in ips[2:]), [outcomes[ip].message for ip in ips[2:]]
    assert max(outcomes[ip].seconds for ip in ips[2:]) < 0.8  # the others answered in the 0.1 s write
    assert elapsed_s < 2.0  # the silent one took its timeout, not the emulator's 5 s hold or a retry
    assert fleet.miners[refusing].state.mode is WorkMode.NORMAL
    await driver.close()


async def test_a_closed_connection_is_reopened(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web_api, "_IDLE_TIMEOUT_S", 0.3)  # the emulated lighttpd closes idle connections
    ips = list(fleet.miners)
    driver = await _driver(fleet)
    assert all(o.accepted for o in await driver.send_all(_commands(ips, Action.SLEEP)))
    assert driver.bulk is not None and driver.bulk.connects == len(ips)
    await asyncio.sleep(0.6)  # every kept connection is closed by the miners now
    outcomes = await driver.send_all(_commands(ips, Action.WAKE))
    assert all(o.accepted for o in outcomes), [o.message for o in outcomes]
    assert driver.bulk.connects == 2 * len(ips)
    assert {m.state.mode for m in fleet.miners.values()} == {WorkMode.NORMAL}
    await driver.close()


async def test_an_expired_nonce_is_challenged_again_once(fleet: Fleet) -> None:
    ips = list(fleet.miners)
    driver = await _driver(fleet)
    assert all(o.accepted for o in await driver.send_all(_commands(ips, Action.SLEEP)))
    for miner in fleet.miners.values():
        miner.nonces.clear()  # the firmware forgot every nonce it handed out
    outcomes = await driver.send_all(_commands(ips, Action.WAKE))
    assert all(o.accepted for o in outcomes), [o.message for o in outcomes]
    assert driver.bulk is not None and driver.bulk.connects == len(ips)  # same connections
    assert all(m.modes_written == [WorkMode.SLEEP, WorkMode.NORMAL] for m in fleet.miners.values())
    await driver.close()


async def test_wrong_credentials_fail_the_fast_path_after_one_challenge(fleet: Fleet) -> None:
    ip = next(iter(fleet.miners))
    client = StockBulkClient("root", "wrong")
    with pytest.raises(BulkError, match="401 again"):
        await asyncio.wait_for(client.get_conf(ip), timeout=5)
    await client.close()


def test_digest_challenge_other_than_md5_auth_is_refused() -> None:
    assert DigestChallenge.parse('Digest realm="r", nonce="n", qop="auth,auth-int"').nonce == "n"
    with pytest.raises(BulkError, match="SHA-256"):
        DigestChallenge.parse('Digest realm="r", nonce="n", qop="auth", algorithm=SHA-256')
    with pytest.raises(BulkError, match="not a digest"):
        DigestChallenge.parse('Basic realm="r"')


async def test_a_fast_path_failure_falls_back_to_pyasic(fleet: Fleet) -> None:
    ips = list(fleet.miners)
    driver = await _driver(fleet, write_s=2.0)
    driver.bulk = StockBulkClient("root", "root", port=9)  # nothing listens there: connect refused
    outcomes = await driver.send_all(_commands(ips[:3], Action.SLEEP))
    assert all(o.accepted for o in outcomes), [o.message for o in outcomes]
    assert driver.bulk.written_s == {}  # the fast path wrote nothing: pyasic did it
    assert all(fleet.miners[ip].state.mode is WorkMode.SLEEP for ip in ips[:3])
    await driver.close()


async def test_a_non_stock_miner_goes_through_pyasic(fleet: Fleet) -> None:
    ips = list(fleet.miners)
    driver = await _driver(fleet)
    other = ips[0]  # pyasic's class for the same model on Braiins OS+, at an emulated stock miner
    driver._miners[other] = pyasic.miners.antminer.BOSMinerS19jPro(other)
    outcomes = {o.device_id: o for o in await driver.send_all(_commands(ips, Action.SLEEP))}
    assert driver.bulk is not None and other not in driver.bulk.written_s
    assert not outcomes[other].accepted  # Braiins OS's API is not there: refused through pyasic
    assert fleet.miners[other].state.mode is WorkMode.NORMAL
    assert all(outcomes[ip].accepted for ip in ips[1:])
    await driver.close()


async def test_the_lean_telemetry_read_says_what_pyasic_says(fleet: Fleet) -> None:
    ips = list(fleet.miners)
    fleet.miners[ips[0]].state.set_mode(WorkMode.SLEEP, fleet.clock.now_s() - 100.0)  # asleep, idle
    lean = await _driver(fleet)
    timeouts = {"stock": FirmwareTimeouts(read_s=0.6, write_s=1.0)}
    plain = MinerDriver(MinerDriverConfig(ips=tuple(ips), timeouts=timeouts, bulk_stock=False))
    await plain.discover()
    fast, slow = await lean.read_all(ips), await plain.read_all(ips)
    for ip in ips:
        assert fast[ip].status is slow[ip].status, (fast[ip], slow[ip])
        assert fast[ip].power_w == pytest.approx(slow[ip].power_w, abs=1.0)
        assert fast[ip].extra["work_mode"] == slow[ip].extra["work_mode"]
    assert fast[ips[0]].status is DeviceStatus.CURTAILED and fast[ips[1]].status is DeviceStatus.RUNNING
    assert plain.bulk is None  # the plain driver never used the fast path
    fleet.set_fault(ips[1], Fault.SILENT)
    reading = await lean.read(ips[1])
    assert reading.status is DeviceStatus.UNAVAILABLE and "no answer within 0.6 s" in reading.reason
    await lean.close()

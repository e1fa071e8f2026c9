"""End to end: the agent replays two hours of ERCOT prices on a fast clock against emulated stock
S19j Pros on loopback, found and commanded through pyasic; the miners' telemetry follows what the
backtest of the same strategy decides, interval by interval.

The emulator's physics run at the replay's speed (a 15-minute interval is one second; a miner's
5-minute warm-up a third of it), so each interval's commands have taken effect when the next
interval starts and the agent reads the miners again."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import numpy as np

from powerfirst.backtest.runner import prepare_backtest, run_strategy
from powerfirst.live.emulator import Fleet, FleetConfig
from powerfirst.live.journal import Journal
from powerfirst.live.setup import miner_driver, replay_setup
from test_live_agent import live_site

START, END = "2023-08-10T12:00", "2023-08-10T14:00"  # ERCOT West, a hot afternoon: fleets off and on
SPEED = 900.0
NETS = {"s19-legacy": "127.23.1.0/28", "s19jpro": "127.23.2.0/28", "s19xp-hydro": "127.23.3.0/28"}
PER_FLEET = 8


def test_emulated_miners_found_by_pyasic_follow_the_backtests_decisions(tmp_path: Path) -> None:
    site = live_site()
    data = site.model_dump(exclude_none=True)
    data["live"]["fleets"] = {name: {"addresses": [net], "timeout_s": 2.0} for name, net in NETS.items()}
    from powerfirst.policies.registry import parse_site

    site = parse_site(data, source="west Texas site on emulated miners")
    assert site.live is not None
    backtest = run_strategy(prepare_backtest(site, START, END), "breakeven").run.power_mw
    setup = replay_setup(site, "breakeven", START, END, speed=SPEED)
    driver = miner_driver(site.live)
    assert driver is not None

    async def go():  # type: ignore[no-untyped-def]
        configs = [FleetConfig(count=PER_FLEET, addresses=net, time_scale=SPEED) for net in NETS.values()]
        async with Fleet(configs[0]), Fleet(configs[1]), Fleet(configs[2]):
            agent = setup.agent(site.live, Journal(tmp_path / "j.sqlite"), driver, echo=lambda line: None)  # type: ignore[arg-type]
            await agent.run(setup.start_s, setup.end_s)
            final = await agent.reconciler.read(sorted(agent.devices))
            await driver.close()
            return agent, final

    agent, final = asyncio.run(go())
    # pyasic's own discovery found every emulated miner as the model it claims
    assert len(agent.devices) == 3 * PER_FLEET
    assert {i.model for i in agent.devices.values()} == {"AntMiner S19j Pro"}
    decided = np.array([r.power_mw for r in agent.records]).T
    np.testing.assert_allclose(decided, backtest, atol=1e-9)
    wanted = [r.running for r in agent.records]
    assert wanted[0] == (PER_FLEET,) * 3 and wanted[-1] == (0, 0, 0)  # all hashing, then all asleep
    assert any(a[1] < b[1] for a, b in itertools.pairwise(wanted))  # a fleet woke up again
    for before, after in zip(agent.records, agent.records[1:], strict=False):
        assert after.observed_running == before.running  # the telemetry at each next interval's start
    asleep = sum(1 for r in final.values() if r.status.value == "curtailed")
    assert asleep == 3 * PER_FLEET
    counts = agent.journal.counts_by_state()
    assert set(counts) == {"confirmed"}, counts

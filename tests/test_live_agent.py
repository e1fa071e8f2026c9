"""The live agent's loop: the same policy and plant as the backtest, commands journaled before they
are sent, confirmed from telemetry; watchdog, manual instructions, drift, restarts.

These tests drive the agent against :class:`tests.live_doubles.MemoryMiners` (a double of our own
device boundary) on a replay clock running far faster than real time, so each interval's logic is
checked in milliseconds; the miner emulator tests run the same agent through the real protocol.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from live_doubles import MemoryMiners
from powerfirst.backtest.runner import prepare_backtest, run_strategy
from powerfirst.errors import AgentError, ConfigError
from powerfirst.live.devices import Action, Command
from powerfirst.live.journal import CommandState, Journal
from powerfirst.live.settlement import settlement
from powerfirst.live.setup import replay_setup
from powerfirst.policies.registry import load_site, parse_site
from powerfirst.site.schema import Site

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "west-texas-fixed-block.yaml"
NETS = {"s19-legacy": "127.21.1.0/27", "s19jpro": "127.21.2.0/27", "s19xp-hydro": "127.21.3.0/27"}
DAY = "2023-08-10"  # ERCOT West: prices above every fleet's breakeven in the evening


def live_site(**live: Any) -> Site:
    data = load_site(EXAMPLE).model_dump(exclude_none=True)
    data["live"] = {"fleets": {name: {"addresses": [net]} for name, net in NETS.items()}, **live}
    return parse_site(data, source="west-texas-fixed-block with a live section")


def miner_ips() -> list[str]:
    import ipaddress

    return [str(h) for net in NETS.values() for h in list(ipaddress.ip_network(net).hosts())]


def double() -> MemoryMiners:
    driver = MemoryMiners(miner_ips())
    for n, ip in enumerate(driver.ips):  # efficiencies spread within each fleet: merit order matters
        driver.efficiency[ip] = 25.0 + (n % 30) * 0.2
    return driver


def _always_on_agent(tmp_path: Path, **live: Any):  # type: ignore[no-untyped-def]
    """An always-on agent replaying DAY against the memory double, with its journal in tmp_path;
    returns (setup, agent, driver, journal)."""
    site = live_site(**live)
    setup = replay_setup(site, "always-on", DAY, DAY, speed=1e7)
    assert site.live is not None
    driver = double()
    journal = Journal(tmp_path / "j.sqlite")
    return setup, setup.agent(site.live, journal, driver, echo=lambda line: None), driver, journal


def run_agent(
    site: Site,
    journal: Journal,
    driver: MemoryMiners,
    *,
    strategy: str = "breakeven",
    day: str = DAY,
    **kw: Any,
):  # type: ignore[no-untyped-def]
    setup = replay_setup(site, strategy, day, day, speed=1e7)
    assert site.live is not None
    agent = setup.agent(site.live, journal, driver, echo=lambda line: None, **kw)
    asyncio.run(agent.run(setup.start_s, setup.end_s))
    return agent


def test_replayed_day_decides_what_the_backtest_decides_and_the_miners_follow(tmp_path: Path) -> None:
    site = live_site()
    result = run_strategy(prepare_backtest(site, DAY, DAY), "breakeven")
    driver = double()
    agent = run_agent(site, Journal(tmp_path / "j.sqlite"), driver)
    decided = np.array([r.power_mw for r in agent.records]).T
    assert decided.shape == result.run.power_mw.shape == (3, 96)
    np.testing.assert_allclose(decided, result.run.power_mw, atol=1e-9)
    curtailed = decided.sum(axis=0) < decided[:, 0].sum() - 1e-6
    assert 0 < curtailed.sum() < 96  # the day has both: the test sees the miners switch
    # each interval's miners, as telemetry showed them at the next interval's start, are the ones it wanted
    for before, after in zip(agent.records, agent.records[1:], strict=False):
        assert after.observed_running == before.running
    # shed the least efficient first: the miners asleep are the least efficient of their fleet
    fm = agent.fleet_map
    for f, group in enumerate(fm.fleets):
        want = fm.running(f, float(decided[f, -1]))
        assert driver.running() & {m.device_id for m in group.miners} == set(want)
        ranked = [m.device_id for m in group.miners]
        assert ranked[: len(want)] == want
    # every command was journaled, sent once, acknowledged and confirmed by telemetry
    counts = agent.journal.counts_by_state()
    assert counts == {"confirmed": len(driver.log)}
    assert len({c.command_id for c in driver.log}) == len(driver.log)  # none sent twice


def test_a_restarted_agent_neither_loses_nor_repeats_a_command(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    driver = double()
    journal = Journal(path)
    at = 1_691_625_600.0
    sent = Command("2023-08-10T00:00:00Z/127.21.1.1/sleep", "127.21.1.1", Action.SLEEP)
    lost = Command("2023-08-10T00:00:00Z/127.21.1.2/sleep", "127.21.1.2", Action.SLEEP)
    journal.set_desired([("127.21.1.1", "curtailed", 3250.0), ("127.21.1.2", "curtailed", 3250.0)], at)
    assert journal.journal([sent, lost], reason="policy", at=at) == [sent, lost]
    journal.mark_sent([sent.command_id, lost.command_id], at)
    asyncio.run(driver.send(sent))  # the first went out before the kill, the second did not
    journal.close()  # killed: the answers were never written

    journal = Journal(path)
    assert {j.command.command_id for j in journal.open_commands()} == {sent.command_id, lost.command_id}
    assert journal.journal([sent], reason="policy", at=at) == []  # the same decision is not journaled twice
    setup = replay_setup(live_site(), "breakeven", DAY, DAY, speed=1e7)
    agent = setup.agent(live_site().live, journal, driver, echo=lambda line: None)  # type: ignore[arg-type]
    asyncio.run(agent.start())
    assert driver.received[("127.21.1.1", Action.SLEEP)] == 1  # delivered before: not repeated
    assert driver.received[("127.21.1.2", Action.SLEEP)] == 1  # never delivered: sent now, once
    asyncio.run(agent.reconciler.confirm_once())
    assert journal.command(sent.command_id).state is CommandState.CONFIRMED  # type: ignore[union-attr]
    assert journal.command(lost.command_id).state is CommandState.CONFIRMED  # type: ignore[union-attr]
    assert journal.command(lost.command_id).attempts == 2  # type: ignore[union-attr]


def test_one_agent_per_journal(tmp_path: Path) -> None:
    first = Journal(tmp_path / "j.sqlite")
    with pytest.raises(AgentError, match="another agent holds this journal"):
        Journal(tmp_path / "j.sqlite")
    reader = Journal(tmp_path / "j.sqlite", owner=False)  # the CLI's instruct command
    reader.queue_instruction("hold", 0.0)
    assert [i.kind for i in first.take_instructions(1.0)] == ["hold"]
    assert first.take_instructions(2.0) == []  # taken once


def test_events_are_taken_once(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    assert journal.record_event("ercot-ers", "evt-17", "curtail", {"mw": 5}, 1.0)
    assert not journal.record_event("ercot-ers", "evt-17", "curtail", {"mw": 5}, 2.0)
    assert journal.record_event("utility", "evt-17", "curtail", {"mw": 5}, 3.0)
    kinds = [k for _, k, _ in journal.audit_log()]
    assert kinds.count("event") == 2 and kinds.count("event_repeated") == 1


def test_a_silent_miner_never_blocks_the_others_and_a_rejection_is_reported(tmp_path: Path) -> None:
    site = live_site()
    driver = double()
    silent, busy = driver.ips[29], driver.ips[28]  # the least efficient two of the first fleet: shed first
    driver.rejecting.add(busy)
    driver.unreachable.add(silent)
    journal = Journal(tmp_path / "j.sqlite")
    agent = run_agent(site, journal, driver)
    assert silent not in agent.devices  # not found at start: not commanded, not counted
    rejected = [d for _, _, d in journal.audit_log("rejected")]
    assert rejected and {d["device_id"] for d in rejected} == {busy}
    assert all("firmware busy" in d["message"] for d in rejected)
    assert agent.device_states()[busy] in ("failed", "restore-failed")
    # every other miner followed the last decision
    fm = agent.fleet_map
    for f, group in enumerate(fm.fleets):
        want = set(fm.running(f, float(agent.records[-1].power_mw[f])))
        for m in group.miners:
            if m.device_id != busy:
                assert (m.device_id in driver.running()) == (m.device_id in want), m.device_id


def test_a_stale_feed_puts_the_site_in_its_safe_state_within_one_interval(tmp_path: Path) -> None:
    site = live_site(safe_state="curtail")
    setup = replay_setup(site, "always-on", DAY, DAY, speed=1e7)
    assert site.live is not None
    driver = double()
    agent = setup.agent(site.live, Journal(tmp_path / "j.sqlite"), driver, echo=lambda line: None)
    real_poll = setup.source.poll
    outage_from = setup.start_s + 8 * 900

    async def poll(now_s: float):  # type: ignore[no-untyped-def]
        settled = await real_poll(min(now_s, outage_from))  # nothing settles after the outage starts
        return settled

    setup.source.poll = poll  # type: ignore[method-assign]
    asyncio.run(agent.run(setup.start_s, setup.start_s + 16 * 900))
    bases = [r.basis for r in agent.records]
    assert bases[:10] == ["policy"] * 10
    # the price of interval 8 would settle at the start of 9; stale once 2 intervals (1800 s) pass
    assert all(b.startswith("safe state: no price settled") for b in bases[11:])
    must_run = np.array([f.min_power_mw for f in agent.site.fleets])
    np.testing.assert_allclose(agent.records[-1].power_mw, must_run)
    kept = {
        m.device_id
        for f, g in enumerate(agent.fleet_map.fleets)
        for m in g.miners[: agent.records[-1].running[f]]
    }
    assert driver.running() == kept  # only the must-run share still hashes


def test_a_failing_policy_puts_the_site_in_its_safe_state(tmp_path: Path) -> None:
    site = live_site(safe_state="curtail")
    setup = replay_setup(site, "breakeven", DAY, DAY, speed=1e7)
    assert site.live is not None

    def broken(obs):  # type: ignore[no-untyped-def]
        raise RuntimeError("forecast service down")

    setup.policy.decide = broken  # type: ignore[method-assign]
    agent = setup.agent(site.live, Journal(tmp_path / "j.sqlite"), double(), echo=lambda line: None)
    asyncio.run(agent.run(setup.start_s, setup.start_s + 2 * 900))
    assert all("the policy failed (RuntimeError: forecast service down)" in r.basis for r in agent.records)
    assert [k for _, k, _ in agent.journal.audit_log("watchdog")]


def test_manual_hold_curtail_and_release_override_the_policy(tmp_path: Path) -> None:
    site = live_site()
    setup = replay_setup(site, "always-on", DAY, DAY, speed=1e7)
    assert site.live is not None
    journal = Journal(tmp_path / "j.sqlite")
    agent = setup.agent(site.live, journal, double(), echo=lambda line: None)
    full = float(agent.site.max_power_mw.sum())

    async def go() -> None:
        await agent.start()
        await agent.step(0, setup.start_s)
        Journal(tmp_path / "j.sqlite", owner=False).queue_instruction("curtail", setup.start_s, mw=10.0)
        await agent.step(1, setup.start_s + 900)
        await agent.step(2, setup.start_s + 1800)  # still curtailed: an instruction holds until released
        Journal(tmp_path / "j.sqlite", owner=False).queue_instruction("release", setup.start_s)
        await agent.step(3, setup.start_s + 2700)

    asyncio.run(go())
    totals = [float(r.power_mw.sum()) for r in agent.records]
    assert totals[0] == pytest.approx(full)
    assert totals[1] == pytest.approx(full - 10.0) and agent.records[1].basis == "curtail 10 MW"
    assert totals[2] == pytest.approx(full - 10.0)  # held at that level until released
    # released: back to the policy (always-on), as far as anti-cycling lets the units switched off return
    assert agent.records[3].basis == "policy" and totals[2] < totals[3] <= full
    # the least efficient fleet gave the power
    worst = max(range(3), key=lambda f: agent.site.fleets[f].efficiency_j_per_th)
    assert agent.records[1].power_mw[worst] == pytest.approx(agent.site.fleets[worst].max_power_mw - 10.0)


def _woken_during_a_curtailment(tmp_path: Path, **live: Any):  # type: ignore[no-untyped-def]
    """Curtail 5 MW, confirm, then wake one sleeping miner behind the agent's back (at its web
    page) and run the next interval; returns (agent, driver, journal, the miner woken)."""
    setup, agent, driver, journal = _always_on_agent(tmp_path, **live)

    async def go() -> str:
        await agent.start()
        Journal(tmp_path / "j.sqlite", owner=False).queue_instruction("curtail", setup.start_s, mw=5.0)
        await agent.step(0, setup.start_s)
        await agent.reconciler.confirm_once()
        asleep = sorted(driver.asleep)[0]
        driver.asleep.discard(asleep)
        await agent.step(1, setup.start_s + 900)
        return asleep

    return agent, driver, journal, asyncio.run(go())


def test_a_miner_that_wakes_during_a_curtailment_is_put_back_to_sleep(tmp_path: Path) -> None:
    _, driver, journal, woke = _woken_during_a_curtailment(tmp_path)
    assert woke in driver.asleep
    assert driver.received[(woke, Action.SLEEP)] == 2
    assert any(d["device_id"] == woke for _, _, d in journal.audit_log("drifted"))


def test_cycling_limit_per_device(tmp_path: Path) -> None:
    # putting the woken miner back to sleep would be its second change within the hour
    agent, driver, journal, woke = _woken_during_a_curtailment(tmp_path, max_changes_per_device_per_hour=1)
    assert all(n == 1 for n in driver.received.values())
    assert [d["device_id"] for _, _, d in journal.audit_log("cycling_limit")] == [woke]
    assert agent.device_states()[woke] == "drifted"  # reported, not hidden


def test_dry_run_sends_nothing(tmp_path: Path) -> None:
    site = live_site()
    driver = double()
    lines: list[str] = []
    setup = replay_setup(site, "breakeven", DAY, DAY, speed=1e7)
    assert site.live is not None
    agent = setup.agent(site.live, Journal(tmp_path / "j.sqlite"), driver, dry_run=True, echo=lines.append)
    asyncio.run(agent.run(setup.start_s, setup.end_s))
    assert not driver.log
    assert any(line.startswith("dry run: sleep 127.21.") for line in lines)


def test_the_live_section_is_checked() -> None:
    data = load_site(EXAMPLE).model_dump(exclude_none=True)
    data["live"] = {"fleets": {"s19": {"addresses": ["127.21.1.0/27"]}}}
    with pytest.raises(ConfigError, match=re.escape("live.fleets names 's19', not a fleet of this site")):
        parse_site(data, source="x")
    data["live"] = {"fleets": {"s19jpro": {"addresses": ["127.21.1.300"]}}}
    with pytest.raises(ConfigError, match=re.escape("127.21.1.300' is not an IP address or CIDR range")):
        parse_site(data, source="x")


def test_a_grid_event_is_taken_once_held_for_its_minutes_and_logged_for_settlement(tmp_path: Path) -> None:
    site = live_site()
    setup = replay_setup(site, "always-on", DAY, DAY, speed=1e7)
    assert site.live is not None
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    driver = double()
    agent = setup.agent(site.live, journal, driver, echo=lambda line: None)
    queue = Journal(path, owner=False)
    for _ in range(2):  # the utility sends the same call twice
        queue.queue_instruction(
            "curtail", setup.start_s, 10.0, source="utility", event_id="DR-0810-1", minutes=30
        )

    async def go() -> None:
        await agent.start()
        for n in range(4):
            await agent.step(n, setup.start_s + n * 900)
            await agent._confirm_once()  # what the confirmation loop does between intervals

    asyncio.run(go())
    bases = [r.basis for r in agent.records]
    assert bases[:2] == ["grid event utility/DR-0810-1: curtail 10 MW"] * 2
    assert bases[2:] == ["policy", "policy"]  # 30 minutes: over at the third interval
    assert [d["event_id"] for _, _, d in journal.audit_log("event_repeated")] == ["DR-0810-1"]
    record = settlement(journal, "utility", "DR-0810-1")
    assert record["commands"] > 0 and record["deviations"] == []
    assert record["seconds_to_last_confirmed"] is not None and record["seconds_to_last_confirmed"] >= 0
    shed_w = sum(
        3250.0 for c, _, _ in journal.event_commands("DR-0810-1") if c.command.action is Action.SLEEP
    )
    assert record["baseline_mw"] == pytest.approx(len(driver.ips) * 3250.0 / 1e6)
    assert record["min_site_power_mw"] == pytest.approx(
        record["baseline_mw"] - shed_w / 1e6 + 15.0 * shed_w / 3250.0 / 1e6
    )
    with pytest.raises(AgentError, match="no grid event 'DR-x' from 'utility'"):
        settlement(journal, "utility", "DR-x")


def test_a_policy_that_hangs_puts_the_site_in_its_safe_state_and_never_stops_the_loop(tmp_path: Path) -> None:
    import threading

    site = live_site(safe_state="curtail")
    setup = replay_setup(site, "always-on", DAY, DAY, speed=1e7)
    assert site.live is not None
    release = threading.Event()
    real_decide = setup.policy.decide

    def hangs_once(obs):  # type: ignore[no-untyped-def]
        if obs.step == 1:
            release.wait(timeout=10)  # stuck until the test lets it go
        return real_decide(obs)

    setup.policy.decide = hangs_once  # type: ignore[method-assign]
    agent = setup.agent(site.live, Journal(tmp_path / "j.sqlite"), double(), echo=lambda line: None)
    agent.min_policy_wait_real_s = 0.2

    async def go() -> None:
        await agent.start()
        for n in range(3):
            await agent.step(n, setup.start_s + n * 900)
        release.set()
        await asyncio.sleep(0.2)  # the stuck call returns; the next interval asks the policy again
        await agent.step(3, setup.start_s + 3 * 900)

    asyncio.run(go())
    bases = [r.basis for r in agent.records]
    assert bases[0] == "policy" and bases[3] == "policy"
    assert bases[1] == "safe state: the policy did not answer within 0.2 s"
    assert bases[2] == "safe state: the policy has not answered the previous interval yet"
    must_run = np.array([f.min_power_mw for f in agent.site.fleets])
    np.testing.assert_allclose(agent.records[1].power_mw, must_run)


def test_a_file_that_is_not_a_journal_is_never_written(tmp_path: Path) -> None:
    import sqlite3

    text = tmp_path / "notes.sqlite"
    text.write_text("operator notes\n")
    with pytest.raises(
        AgentError, match=r"is not a powerfirst agent journal \(file is not a database\); it is left"
    ):
        Journal(text)
    assert text.read_text() == "operator notes\n"
    other = tmp_path / "inventory.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE racks (id INTEGER)")
    before = other.read_bytes()
    with pytest.raises(AgentError, match="is not a powerfirst agent journal"):
        Journal(other)
    assert other.read_bytes() == before
    Journal(tmp_path / "j.sqlite").close()
    Journal(tmp_path / "j.sqlite").close()  # its own journal opens again


def test_structured_logs_and_prometheus_metrics_on_loopback(tmp_path: Path) -> None:
    import io
    import json
    import socket

    import httpx

    from powerfirst.live.logs import LOGGER, use_json_logs
    from powerfirst.live.metrics import AgentMetrics

    site = live_site()
    setup = replay_setup(site, "breakeven", DAY, DAY, speed=1e7)
    assert site.live is not None
    stream = io.StringIO()
    handler = use_json_logs(stream)
    metrics = AgentMetrics()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    metrics.serve(port)
    try:
        agent = setup.agent(
            site.live, Journal(tmp_path / "j.sqlite"), double(), echo=lambda line: None, metrics=metrics
        )
        asyncio.run(agent.run(setup.start_s, setup.end_s))
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5.0).text
    finally:
        LOGGER.removeHandler(handler)
        metrics.stop()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    intervals = [line for line in lines if line["event"] == "interval"]
    assert len(intervals) == 96 and intervals[0]["basis"] == "policy" and len(intervals[0]["power_mw"]) == 3
    waves = [line for line in lines if line["event"] == "commands"]
    assert waves and sum(w["sent"] for w in waves) == sum(r.commands for r in agent.records)
    assert 'powerfirst_fleet_miners_wanted{fleet="s19jpro"}' in scraped
    sent = sum(
        float(line.split()[-1])
        for line in scraped.splitlines()
        if line.startswith("powerfirst_commands_sent_total")
    )
    assert sent == sum(r.commands for r in agent.records)


def test_commands_go_out_in_waves_of_at_most_max_step_mw_least_efficient_first(tmp_path: Path) -> None:
    # 10 kW a wave: three 3.25 kW miners
    setup, agent, driver, journal = _always_on_agent(tmp_path, max_step_mw=0.01, stagger_s=30.0)

    async def go() -> None:
        await agent.start()
        Journal(tmp_path / "j.sqlite", owner=False).queue_instruction("curtail", setup.start_s, mw=30.0)
        await agent.step(0, setup.start_s)

    asyncio.run(go())
    sleeps = [c for c in driver.log if c.action is Action.SLEEP]
    assert len(sleeps) >= 9
    sent_at = [journal.command(c.command_id).sent_at for c in sleeps]  # type: ignore[union-attr]
    waves = sorted(set(sent_at))
    assert len(waves) == -(-len(sleeps) // 3)  # three miners a wave, one wave after the other
    assert all(b - a >= 30.0 for a, b in itertools.pairwise(waves))  # the stagger, on the agent's clock
    eff = double().efficiency
    order = [eff[c.device_id] for c in sleeps if c.device_id.startswith("127.21.1.")]
    assert order == sorted(order, reverse=True)  # within a fleet, the least efficient first


def test_a_restarted_agent_keeps_a_grid_event_in_force(tmp_path: Path) -> None:
    site = live_site()
    assert site.live is not None
    path = tmp_path / "j.sqlite"
    setup = replay_setup(site, "always-on", DAY, DAY, speed=1e7)
    journal = Journal(path)
    agent = setup.agent(site.live, journal, double(), echo=lambda line: None)
    Journal(path, owner=False).queue_instruction(
        "curtail", setup.start_s, 10.0, source="utility", event_id="E9", minutes=60
    )

    async def first() -> None:
        await agent.start()
        await agent.step(0, setup.start_s)

    asyncio.run(first())
    held = agent.records[0].power_mw
    journal.close()  # the agent stops (or is killed) during the event

    setup = replay_setup(site, "always-on", DAY, DAY, speed=1e7)
    again = setup.agent(site.live, Journal(path), double(), echo=lambda line: None)

    async def second() -> None:
        await again.start()
        await again.step(1, setup.start_s + 900)
        await again.step(4, setup.start_s + 4 * 900)  # the event's 60 minutes are over

    asyncio.run(second())
    assert again.records[0].basis == "grid event utility/E9: curtail 10 MW"
    np.testing.assert_allclose(again.records[0].power_mw, held)
    assert again.records[1].basis == "policy"

"""Kill the agent (SIGKILL) at every step of the command path, restart it, and prove the end state:
every emulated miner received each mode change the strategy decided exactly once — none lost,
none repeated.

The agent runs as a real process (``powerfirst agent --replay``) against emulated stock S19j Pros
served from this test process (a background thread). ``POWERFIRST_FAULT_AT=<step>:SIGKILL`` makes
the agent kill itself the first time it reaches the step: after journaling a wave of commands,
after marking it sent, after sending it (answers not yet written), after writing the answers, and
after confirming. The restart replays the rest of the window from the interval it was killed in,
with the same journal."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from powerfirst.backtest.runner import prepare_backtest, run_strategy
from powerfirst.interrupt import FAULT_ENV
from powerfirst.live.emulator import Fleet, FleetConfig, WorkMode
from powerfirst.policies.registry import load_site, parse_site

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "west-texas-fixed-block.yaml"
START, END = "2023-08-10T12:00", "2023-08-10T14:00"
SPEED = 1800.0
NETS = {"s19-legacy": "127.24.1.0/29", "s19jpro": "127.24.2.0/29", "s19xp-hydro": "127.24.3.0/29"}
PER_FLEET = 3
STEPS = ["agent-journaled", "agent-marked-sent", "agent-sent", "agent-answered", "agent-confirmed"]


class _Emulator:
    """Emulated fleets served by an event loop in a background thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.fleets: list[Fleet] = []
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> _Emulator:
        self.thread.start()
        for net in NETS.values():
            fleet = Fleet(FleetConfig(count=PER_FLEET, addresses=net, time_scale=SPEED))
            asyncio.run_coroutine_threadsafe(fleet.start(), self.loop).result(timeout=30)
            self.fleets.append(fleet)
        return self

    def __exit__(self, *exc: object) -> None:
        for fleet in self.fleets:
            asyncio.run_coroutine_threadsafe(fleet.stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    def writes(self) -> dict[str, list[WorkMode | None]]:
        return {a: list(m.modes_written) for fleet in self.fleets for a, m in fleet.miners.items()}


@pytest.fixture
def emulator() -> Iterator[_Emulator]:
    with _Emulator() as running:
        yield running


def _site_file(tmp_path: Path) -> Path:
    data = load_site(EXAMPLE).model_dump(exclude_none=True)
    data["live"] = {
        "fleets": {name: {"addresses": [net], "timeout_s": 2.0} for name, net in NETS.items()},
        "journal": str(tmp_path / "journal.sqlite"),
    }
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _agent(site: Path, *, fault: str | None, resume: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    if fault:
        env[FAULT_ENV] = f"{fault}:SIGKILL"
    argv = [sys.executable, "-m", "powerfirst", "agent", str(site), "--strategy", "breakeven", "--replay",
            "--start", START, "--end", END, "--speed", str(SPEED)] + (["--resume"] if resume else [])  # fmt: skip
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)


def _expected_writes() -> dict[str, list[WorkMode]]:
    """Each fleet's mode changes in the backtest of the same window: one write per change per miner."""
    site = parse_site(load_site(EXAMPLE).model_dump(exclude_none=True), source="example")
    power = run_strategy(prepare_backtest(site, START, END), "breakeven").run.power_mw
    out = {}
    for f, name in enumerate(NETS):
        modes, on = [], True
        for mw in power[f]:
            if (mw > 0) != on:
                on = mw > 0
                modes.append(WorkMode.NORMAL if on else WorkMode.SLEEP)
        out[name] = modes
    return out


@pytest.mark.parametrize("step", STEPS)
def test_killed_at_any_step_of_the_command_path_no_command_is_lost_or_repeated(
    step: str, emulator: _Emulator, tmp_path: Path
) -> None:
    site = _site_file(tmp_path)
    killed = _agent(site, fault=step)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    with sqlite3.connect(tmp_path / "journal.sqlite") as db:
        (journaled,) = db.execute("SELECT COUNT(*) FROM commands").fetchone()
    assert journaled > 0  # it was killed on the command path, after commands were journaled
    finished = _agent(site, fault=None, resume=True)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "open commands from before the restart" in finished.stdout or step == "agent-confirmed"
    expected = _expected_writes()
    assert expected["s19jpro"] == [WorkMode.SLEEP, WorkMode.NORMAL, WorkMode.SLEEP]  # the window's shape
    writes = emulator.writes()
    for fleet, name in zip(emulator.fleets, NETS, strict=True):
        for address in fleet.miners:
            got = [WorkMode(m) for m in writes[address] if m is not None]
            assert got == expected[name], (
                f"{step}: {address} ({name}) received {got}, decided {expected[name]}"
            )

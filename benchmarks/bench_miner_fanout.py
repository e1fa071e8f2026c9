"""Measure how fast SLEEP reaches N emulated stock Antminers, and where the time goes.

The emulator runs in its own process (``powerfirst emulate-miners``, config writes answered at once
so the firmware's 20 s write delay does not hide the cost of the client); this process then

1. discovers the fleet with :class:`MinerDriver` (pyasic's factory),
2. sends SLEEP to every miner through :meth:`MinerDriver.send_all` (pyasic: ``get_miner_conf`` then
   ``set_miner_conf``, each a digest-authenticated request on a fresh httpx client: 4 HTTP
   exchanges on 2 TCP connections per miner),
3. sends the same through asic-rs's bindings (``pause``: one digest POST, 2 exchanges),

and reports wall time, this process's CPU time and the emulator's CPU time for each step.
``--profile`` prints the top functions of step 2 (cProfile, this process only).

    .venv/bin/python benchmarks/bench_miner_fanout.py [--count 1000] [--concurrency 256] [--profile]

Nothing is written to BENCHMARKS.md yet.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from powerfirst.live.devices import Action, Command
from powerfirst.live.miners import FirmwareTimeouts, MinerDriver, MinerDriverConfig

NET = "127.22.0.0/16"


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _timed(label: str, emulator_pid: int, work: Callable[[], Awaitable[Any]]) -> Any:
    wall0, cpu0, emu0 = time.perf_counter(), time.process_time(), _cpu_s(emulator_pid)
    result = await work()
    wall, cpu, emu = time.perf_counter() - wall0, time.process_time() - cpu0, _cpu_s(emulator_pid) - emu0
    print(f"{label:<38} wall {wall:7.2f} s   client CPU {cpu:6.2f} s   emulator CPU {emu:6.2f} s", flush=True)
    return result


async def main(count: int, concurrency: int, profile: bool) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "powerfirst", "emulate-miners", "--count", str(count), "--addresses", NET]
    emulator = subprocess.Popen([*cmd, "--config-write-s", "0"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert emulator.stdout is not None
        line = emulator.stdout.readline()
        if not line.startswith("listening"):
            raise SystemExit(f"emulator did not start: {line!r}")
        ips = [f"127.22.{(i + 1) // 256}.{(i + 1) % 256}" for i in range(count)]
        timeouts = {"stock": FirmwareTimeouts(read_s=30.0, write_s=60.0)}
        driver = MinerDriver(
            MinerDriverConfig(ips=ips, timeouts=timeouts, max_concurrency=concurrency, discover_timeout_s=10)
        )
        infos = await _timed(f"discover {count} (pyasic factory)", emulator.pid, driver.discover)
        print(f"  found {len(infos)}")
        commands = [Command(f"c{i}", info.device_id, Action.SLEEP) for i, info in enumerate(infos)]
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        outcomes = await _timed(
            f"SLEEP {count} (driver, pyasic)", emulator.pid, lambda: driver.send_all(commands)
        )
        if profiler:
            profiler.disable()
        print(
            f"  accepted {sum(o.accepted for o in outcomes)}; failures {[o.message for o in outcomes if not o.accepted][:3]}"
        )
        wake = [Command(f"w{i}", info.device_id, Action.WAKE) for i, info in enumerate(infos)]
        await _timed(f"WAKE {count} (driver, pyasic)", emulator.pid, lambda: driver.send_all(wake))

        from pyasic_rs import MinerFactory

        factory = MinerFactory()
        limit = asyncio.Semaphore(concurrency)

        async def rs_get(ip: str) -> Any:
            async with limit:
                return await factory.get_miner(ip)

        rs_miners = await _timed(
            f"discover {count} (asic-rs)", emulator.pid, lambda: asyncio.gather(*map(rs_get, ips))
        )

        async def rs_pause(miner: Any) -> bool:
            async with limit:
                return bool(await miner.pause(None))

        paused = await _timed(
            f"SLEEP {count} (asic-rs pause)", emulator.pid, lambda: asyncio.gather(*map(rs_pause, rs_miners))
        )
        print(f"  accepted {sum(paused)}")
        if profiler:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--no-sniffio-search",
        action="store_true",
        help="sniffio is not installed here, so httpcore's `import sniffio` searches sys.path again on every "
        "request; this marks it absent (sys.modules) to measure what that search costs.",
    )
    args = parser.parse_args()
    if args.no_sniffio_search:
        sys.modules["sniffio"] = None  # type: ignore[assignment]
    asyncio.run(main(args.count, args.concurrency, args.profile))

"""Issue 12: from a grid instruction to the last command out, acknowledged and confirmed, for N miners.

For each fleet size N and each emulated config-write delay, this script

1. starts ``powerfirst emulate-miners`` in separate processes (shards of at most ``--shard`` miners,
   one loopback /16 each: a process holds two listeners per miner plus one kept connection per
   miner, and RLIMIT_NOFILE may cap it at 20,000), real time (``time_scale`` 1);
2. in this process builds the agent's command path from its real parts: :class:`MinerDriver`
   (pyasic discovery, the stock fast path for commands), :class:`Journal` (SQLite on disk),
   :class:`FleetMap` and :class:`Reconciler`; reads every miner once (the agent reads telemetry
   at the start of each interval, which also caches each miner's config), freezes the setup's
   objects out of the collector's way as the agent's start does (``live/heap.py``) and, unless
   ``--warm``, waits until the emulator has closed every idle kept connection (its keep-alive
   idle timeout, 10 s; lighttpd's is 5 s): a grid instruction arriving minutes after the last
   read finds every connection closed, so every command opens a new one (the worst case);
3. queues a grid instruction (``curtail`` of the whole fleet, with a source and event id) in the
   journal's instruction queue and, from that instant t0, does what the agent's interval does with
   it: takes it, decides that no miner runs, and :meth:`Reconciler.command` journals every SLEEP
   durably, marks them sent, sends them (``send_all``) and records the answers;
4. confirms from telemetry (:meth:`Reconciler.confirm_once`, one sweep of every unconfirmed miner
   after another) until every command is confirmed.

Reported per run, from t0: **out** (the last request written to its socket), **acked** (every
answer recorded in the journal: the firmware answers a config write after its write delay), and
**confirmed** (the last command confirmed: telemetry shows the miner asleep, hashrate gone and power
at idle, which the emulated S19j Pro reaches 10 s after the write takes effect); and the CPU time of
this process (the agent) and of the emulator processes from t0 to the last confirmation.

Delays: ``--write-delays 0 20`` (0: the protocol cost alone; 20 s: the stock firmware's config
write, the emulator's default). ``--pyasic`` adds a run per size with the fast path off.
``--cores`` pins every process to those CPUs (default: two of this process's).

    python benchmarks/bench_agent_fanout.py [--counts 1000 10000] [--write-delays 0 20] [--write BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import math
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from powerfirst.live import eventloop
from powerfirst.live.clock import WallClock
from powerfirst.live.emulator import raise_nofile_limit
from powerfirst.live.fleet_map import FleetMap
from powerfirst.live.heap import freeze_setup
from powerfirst.live.journal import CommandState, Journal
from powerfirst.live.miners import FirmwareTimeouts, MinerDriver, MinerDriverConfig
from powerfirst.live.reconcile import Reconciler
from powerfirst.site.live import LiveConfig

ROOT = Path(__file__).resolve().parents[1]
SECTION = "agent-fanout"
FIRST_NET = 40
"""Shard k emulates 127.(FIRST_NET + k).0.0/16."""
TARGET_OUT_S = 5.0
PROFILE = "--profile" in sys.argv
"""Profile the command phase (this process; slows it down) and print the top functions."""
COLD = "--warm" not in sys.argv
IDLE_CLOSE_S = 10.0
"""The emulator's keep-alive idle timeout (``live/emulator/web_api.py``; lighttpd's default is 5 s)."""
"""Move what exists after discovery and the first read out of the garbage collector's scans (an
experiment: the agent does not do this)."""


@dataclass
class Run:
    count: int
    write_delay_s: float
    path: str
    discover_s: float
    found: int
    first_read_s: float
    journaled_s: float
    """From the instruction until ``send_all`` starts (taken, journaled, marked sent) [s]."""
    connects: int
    """TCP connections the fast path opened for the commands (kept ones the miners had closed)."""
    out_s: float
    acked_s: float
    confirmed_s: float | None
    confirmed: int
    accepted: int
    agent_cpu_acked_s: float
    """The agent's CPU from the instruction to the last answer recorded [s]."""
    emulator_cpu_acked_s: float
    agent_cpu_s: float
    emulator_cpu_s: float
    sweeps: int


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_emulators(
    count: int, shard: int, write_delay_s: float, cores: set[int]
) -> list[subprocess.Popen[str]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    shards: list[subprocess.Popen[str]] = []
    left, k = count, 0
    while left > 0:
        n = min(shard, left)
        cmd = [sys.executable, "-m", "powerfirst", "emulate-miners", "--count", str(n)]
        cmd += ["--addresses", f"127.{FIRST_NET + k}.0.0/16", "--config-write-s", f"{write_delay_s:g}"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
        os.sched_setaffinity(proc.pid, cores)
        shards.append(proc)
        left, k = left - n, k + 1
    for proc in shards:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("listening"):
            _stop(shards)
            raise SystemExit(f"emulator did not start: {line!r}")
    return shards


def _stop(shards: list[subprocess.Popen[str]]) -> None:
    for proc in shards:
        proc.terminate()
    for proc in shards:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def _ips(count: int, shard: int) -> list[str]:
    out = []
    for i in range(count):
        k, j = divmod(i, shard)
        out.append(f"127.{FIRST_NET + k}.{(j + 1) // 256}.{(j + 1) % 256}")
    return out


async def _measure(
    count: int,
    shard: int,
    write_delay_s: float,
    bulk: bool,
    concurrency: int,
    cores: set[int],
    confirm_limit_s: float,
) -> Run:
    shards = _start_emulators(count, shard, write_delay_s, cores)
    driver: MinerDriver | None = None
    try:
        timeouts = {"stock": FirmwareTimeouts(read_s=30.0, write_s=max(60.0, 3 * write_delay_s))}
        driver = MinerDriver(
            MinerDriverConfig(
                ips=_ips(count, shard),
                timeouts=timeouts,
                max_concurrency=concurrency,
                discover_timeout_s=10.0,
                bulk_stock=bulk,
            )
        )
        started = time.perf_counter()
        infos = await driver.discover()
        discover_s = time.perf_counter() - started
        ids = [i.device_id for i in infos]
        started = time.perf_counter()
        readings = await driver.read_all(ids)  # the interval's telemetry read (caches each config)
        first_read_s = time.perf_counter() - started
        freeze_setup()  # as the agent's start does (live/heap.py)
        if COLD:  # every kept connection closed by the emulator's idle timeout first, as a real
            await asyncio.sleep(IDLE_CLOSE_S + 1.0)  # miner's web server closes idle ones (5 s)
        with tempfile.TemporaryDirectory() as tmp:
            journal = Journal(Path(tmp) / "journal.sqlite")
            clock = WallClock()
            config = LiveConfig()
            reconciler = Reconciler(journal, driver, config, clock, lambda line: None, None)
            total_mw = sum(i.nominal_power_w for i in infos) / 1e6
            fleet_map = FleetMap([("bench", total_mw, infos)])
            journal.queue_instruction("curtail", clock.now(), total_mw, source="bench", event_id="e1")
            bulk_client = driver.bulk
            written0 = dict(bulk_client.written_s) if bulk_client is not None else {}
            connects0 = bulk_client.connects if bulk_client is not None else 0
            send_all = driver.send_all
            send_started: list[float] = []

            async def timed_send_all(commands: Any) -> Any:
                send_started.append(time.monotonic())
                return await send_all(commands)

            driver.send_all = timed_send_all  # type: ignore[method-assign]
            emu0 = sum(_cpu_s(p.pid) for p in shards)
            cpu0 = time.process_time()
            t0 = time.monotonic()
            at = clock.now()
            taken = journal.take_instructions(at)  # the agent's interval: take the instruction …
            assert taken and taken[0].kind == "curtail"
            journal.record_event("bench", "e1", "curtail", {"mw": total_mw}, at)
            profiler = cProfile.Profile() if PROFILE else None
            if profiler is not None:
                profiler.enable()
            sent = await reconciler.command([[]], fleet_map, readings, at, "grid event bench/e1", "e1")
            if profiler is not None:
                profiler.disable()
                pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
            acked_s = time.monotonic() - t0
            agent_cpu_acked = time.process_time() - cpu0
            emulator_cpu_acked = sum(_cpu_s(p.pid) for p in shards) - emu0
            journaled_s = send_started[0] - t0 if send_started else float("nan")
            connects = (driver.bulk.connects - connects0) if driver.bulk is not None else 0
            if driver.bulk is not None:
                new = [t for ip, t in driver.bulk.written_s.items() if written0.get(ip) != t]
                out_s = max(new) - t0 if new else acked_s
            else:
                out_s = float("nan")  # pyasic's writes are not instrumented
            counts = journal.counts_by_state()
            accepted = sent - counts.get(str(CommandState.REJECTED), 0)
            confirmed_s: float | None = None
            sweeps = 0
            while time.monotonic() - t0 < confirm_limit_s:
                await reconciler.confirm_once()
                sweeps += 1
                if not any(j.state is CommandState.ACKED for j in journal.open_commands()):
                    confirmed_s = time.monotonic() - t0
                    break
                await asyncio.sleep(reconciler.poll_real_s)
            agent_cpu = time.process_time() - cpu0
            emulator_cpu = sum(_cpu_s(p.pid) for p in shards) - emu0
            confirmed = journal.counts_by_state().get(str(CommandState.CONFIRMED), 0)
            journal.close()
        return Run(
            count,
            write_delay_s,
            "fast path" if bulk else "pyasic",
            discover_s,
            len(infos),
            first_read_s,
            journaled_s,
            connects,
            out_s,
            acked_s,
            confirmed_s,
            confirmed,
            accepted,
            agent_cpu_acked,
            emulator_cpu_acked,
            agent_cpu,
            emulator_cpu,
            sweeps,
        )
    finally:
        if driver is not None:
            await driver.close()
        _stop(shards)


def _table(runs: list[Run]) -> list[str]:
    lines = [
        "| miners | emulated config write | command path | journaled s | out s | acked s | confirmed s | "
        "accepted / confirmed | CPU to acked s (agent / emulator) | CPU to confirmed s (agent / emulator) | "
        "connections opened | confirmation sweeps | discovery s | first read s |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        confirmed = "not within the limit" if r.confirmed_s is None else f"{r.confirmed_s:.2f}"
        out = "n/a" if math.isnan(r.out_s) else f"{r.out_s:.2f}"
        lines.append(
            f"| {r.count:,} | {r.write_delay_s:g} s | {r.path} | {r.journaled_s:.2f} | {out} | "
            f"{r.acked_s:.2f} | {confirmed} | {r.accepted:,} / {r.confirmed:,} | "
            f"{r.agent_cpu_acked_s:.1f} / {r.emulator_cpu_acked_s:.1f} | {r.agent_cpu_s:.1f} / {r.emulator_cpu_s:.1f} | "
            f"{r.connects:,} | {r.sweeps} | "
            f"{r.discover_s:.1f} | {r.first_read_s:.1f} |"
        )
    return lines


def _report(runs: list[Run], argv: list[str], cores: set[int], other_cpu: str, wall_s: float) -> str:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_dispatch import cpu_model, package_version, ram_gib

    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True)
    out_10k = [r for r in runs if r.count >= 10_000 and r.path == "fast path"]
    verdict = (
        ", ".join(f"{r.out_s:.2f} s ({'met' if r.out_s <= TARGET_OUT_S else 'missed'})" for r in out_10k)
        if out_10k
        else "no 10,000-miner run"
    )
    lines = [
        "## Agent fan-out: grid instruction to commands out and confirmed (issue 12)",
        "",
        f"- machine: {cpu_model()}, {platform.machine()}, {ram_gib() or 0:.0f} GiB RAM, {os.cpu_count()} cores; "
        f"agent and emulator pinned to CPUs {sorted(cores)}",
        f"- Python {platform.python_version()}, pyasic {package_version('pyasic')}, h11 {package_version('h11')}, "
        f"event loop {eventloop.loop_name()} (agent and emulator); "
        f"run {dt.date.today().isoformat()}",
        f"- command: `python benchmarks/bench_agent_fanout.py {' '.join(argv)}` at {head.stdout.strip()}"
        + (" (with uncommitted changes in src)" if dirty.stdout.strip() else ""),
        f"- CPU time used by other processes during the run: {other_cpu} over {wall_s:.0f} s of wall time",
        "- emulated stock S19j Pros (`powerfirst emulate-miners`, real time, separate processes of at most "
        "5,000 miners); the agent's command path in one process: a grid instruction queued in the journal, "
        "taken, every miner's SLEEP journaled durably, marked sent, sent (`MinerDriver.send_all`), answers "
        "recorded, then confirmed from telemetry sweeps (`Reconciler.confirm_once`)",
        (
            "- connections: the instruction comes after the emulator has closed every idle kept connection "
            "(each command opens a new one: the worst case)"
            if COLD
            else "- connections: the instruction comes right after the first read (`--warm`: the kept "
            "connections still open are reused)"
        )
        + "; the setup's objects frozen out of the garbage collector's way (`live/heap.py`, as the agent does)",
        "- from the instruction: **out** the last request written to its socket, **acked** every answer "
        "recorded (the firmware answers after its config write), **confirmed** the last command confirmed by "
        "telemetry (asleep: hashrate gone, power at idle, 10 s after the write takes effect on the emulated "
        "S19j Pro); CPU from the instruction to the last confirmation",
        f"- target: 10,000 commands out within {TARGET_OUT_S:g} s on 2 cores, the emulator included: {verdict}",
        "",
        *_table(runs),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--write-delays", type=float, nargs="+", default=[0.0, 20.0])
    parser.add_argument("--shard", type=int, default=5000, help="miners per emulator process")
    parser.add_argument("--concurrency", type=int, default=256, help="MinerDriverConfig.max_concurrency")
    parser.add_argument("--pyasic", action="store_true", help="also run each size with the fast path off")
    parser.add_argument("--cores", type=str, default="", help="CPUs to pin to, e.g. 0,1 (default: two)")
    parser.add_argument("--confirm-limit-s", type=float, default=300.0)
    parser.add_argument(
        "--warm",
        action="store_true",
        help="send right after the first read (connections it left open are reused) instead of after the "
        "emulator has closed every idle connection (the default: a grid instruction finds them closed)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the command phase (slower)")
    parser.add_argument("--write", type=Path, default=None, help="replace the agent-fanout section there")
    args = parser.parse_args(argv)
    for name in ("counts", "write_delays"):
        if any(v < 0 for v in getattr(args, name)):
            raise SystemExit(f"--{name.replace('_', '-')}: values must be ≥ 0")
    if not 1 <= args.shard <= 9000:
        raise SystemExit(f"--shard: {args.shard} miners per process is outside 1–9000 (descriptors)")
    cores = (
        {int(c) for c in args.cores.split(",")} if args.cores else set(sorted(os.sched_getaffinity(0))[:2])
    )
    os.sched_setaffinity(0, cores)
    raise_nofile_limit()
    children0 = _children_cpu_s()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_dispatch import cpu_busy_seconds

    busy0, wall0, own0 = cpu_busy_seconds(), time.perf_counter(), time.process_time()
    runs: list[Run] = []
    for count in args.counts:
        for delay in args.write_delays:
            for bulk in (True, False) if args.pyasic else (True,):
                run = eventloop.run(
                    _measure(count, args.shard, delay, bulk, args.concurrency, cores, args.confirm_limit_s)
                )
                print("\n".join(_table([run])[2:]), file=sys.stderr, flush=True)
                runs.append(run)
    busy1, wall = cpu_busy_seconds(), time.perf_counter() - wall0
    ours = time.process_time() - own0 + _children_cpu_s() - children0
    other = "unknown" if busy0 is None or busy1 is None else f"{max(0.0, busy1 - busy0 - ours):.0f} s"
    text = _report(runs, argv, cores, other, wall)
    print(text)
    if args.write is not None:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from bench_dispatch import write_section

        write_section(args.write if args.write.is_absolute() else Path.cwd() / args.write, SECTION, text)
        print(f"wrote {args.write}", file=sys.stderr)


def _children_cpu_s() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main(sys.argv[1:])

"""Measure how fast SLEEP reaches N emulated stock Antminers, and where the time goes.

The emulator runs in its own process (``powerfirst emulate-miners``, config writes answered at once
so the firmware's 20 s write delay does not hide the cost of the client); this process then

1. discovers the fleet with :class:`MinerDriver` (pyasic's factory),
2. sends SLEEP to every miner through :meth:`MinerDriver.send_all` (pyasic: ``get_miner_conf`` then
   ``set_miner_conf``, each a digest-authenticated request on a fresh httpx client: 4 HTTP
   exchanges on 2 TCP connections per miner),
3. sends ``{"miner-mode": 1}`` then ``0`` over one shared httpx client, one ``DigestAuth`` kept per
   miner (httpx reuses its last challenge, so after the first request one exchange per command on a
   kept-alive connection): the lean path a driver could take,
4. does the same over raw asyncio streams (one per miner, kept; the floor of a lean Python client),
5. sends the same through asic-rs's bindings (``pause``: one digest POST, 2 exchanges),

and reports wall time, this process's CPU time and the emulator's CPU time for each step.
``--profile`` prints the top functions of step 2 (cProfile, this process only).

    .venv/bin/python benchmarks/bench_miner_fanout.py [--count 1000] [--concurrency 256] [--profile] [--raw-only]

Nothing is written to BENCHMARKS.md yet.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
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


async def _raw_fanout(ips: list[str], concurrency: int, emulator_pid: int) -> None:
    """A floor for the lean path: one kept-alive stream per miner, the digest nonce of its first 401
    reused with a counting ``nc``, the request written as bytes, the answer split by hand."""
    gate = asyncio.Semaphore(concurrency)
    streams: dict[str, tuple[asyncio.StreamReader, asyncio.StreamWriter]] = {}
    nonces: dict[str, str] = {}
    counts: dict[str, int] = {}
    ha1 = hashlib.md5(b"root:antMiner Configuration:root").hexdigest()
    ha2 = hashlib.md5(b"POST:/cgi-bin/set_miner_conf.cgi").hexdigest()

    async def exchange(ip: str, head: bytes, body: bytes) -> tuple[bytes, bytes]:
        reader, writer = streams[ip]
        writer.write(head + body)
        headers = await reader.readuntil(b"\r\n\r\n")
        length = int(headers.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        return headers, await reader.readexactly(length)

    async def command(ip: str, mode: int) -> bool:
        async with gate:
            body = b'{"miner-mode": %d}' % mode
            base = (
                b"POST /cgi-bin/set_miner_conf.cgi HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                % (ip.encode(), len(body))
            )
            if ip not in streams:
                streams[ip] = await asyncio.open_connection(ip, 80)
                headers, _ = await exchange(ip, base + b"\r\n", body)
                nonces[ip] = headers.split(b'nonce="')[1].split(b'"')[0].decode()
            counts[ip] = counts.get(ip, 0) + 1
            nc, cnonce = f"{counts[ip]:08x}", "0a4f113b"
            response = hashlib.md5(f"{ha1}:{nonces[ip]}:{nc}:{cnonce}:auth:{ha2}".encode()).hexdigest()
            auth = (
                f'Authorization: Digest username="root", realm="antMiner Configuration", nonce="{nonces[ip]}", '
                f'uri="/cgi-bin/set_miner_conf.cgi", qop=auth, nc={nc}, cnonce="{cnonce}", response="{response}"\r\n\r\n'
            )
            _, answer = await exchange(ip, base + auth.encode(), body)
            return b'"M000"' in answer

    for label, mode in (("cold: connect + challenge", 1), ("warm: kept stream and nonce", 0)):
        oks = await _timed(
            f"raw {len(ips)} ({label})",
            emulator_pid,
            lambda m=mode: asyncio.gather(*(command(ip, m) for ip in ips)),
        )
        print(f"  accepted {sum(oks)}")
    for _, writer in streams.values():
        writer.close()


async def main(count: int, concurrency: int, profile: bool, raw_only: bool) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "powerfirst", "emulate-miners", "--count", str(count), "--addresses", NET]
    emulator = subprocess.Popen([*cmd, "--config-write-s", "0"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert emulator.stdout is not None
        line = emulator.stdout.readline()
        if not line.startswith("listening"):
            raise SystemExit(f"emulator did not start: {line!r}")
        ips = [f"127.22.{(i + 1) // 256}.{(i + 1) % 256}" for i in range(count)]
        if raw_only:
            await _raw_fanout(ips, concurrency, emulator.pid)
            return
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

        import httpx

        auths = {ip: httpx.DigestAuth("root", "root") for ip in ips}
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=60.0) as client:
            gate = asyncio.Semaphore(concurrency)

            async def lean(ip: str, mode: int) -> bool:
                async with gate:
                    url = f"http://{ip}/cgi-bin/set_miner_conf.cgi"
                    answer = await client.post(url, json={"miner-mode": mode}, auth=auths[ip])
                    return bool(answer.json().get("code") == "M000")

            for label, mode in (("cold: challenge + connect", 1), ("warm: kept nonce + connection", 0)):
                oks = await _timed(
                    f"lean {count} ({label})",
                    emulator.pid,
                    lambda m=mode: asyncio.gather(*(lean(ip, m) for ip in ips)),
                )
                print(f"  accepted {sum(oks)}")

        await _raw_fanout(ips, concurrency, emulator.pid)

        from pyasic_rs import MinerFactory

        factory = MinerFactory()
        limit = asyncio.Semaphore(concurrency)

        async def rs_get(ip: str) -> Any:
            async with limit:
                return await factory.get_miner(ip)

        found = await _timed(
            f"discover {count} (asic-rs)", emulator.pid, lambda: asyncio.gather(*map(rs_get, ips))
        )
        rs_miners = [m for m in found if m is not None]
        print(f"  found {len(rs_miners)}")

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
        try:
            emulator.wait(timeout=30)
        except subprocess.TimeoutExpired:
            emulator.kill()
            emulator.wait(timeout=30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--raw-only", action="store_true", help="only step 4 (the raw-stream floor)")
    parser.add_argument(
        "--no-sniffio-search",
        action="store_true",
        help="sniffio is not installed here, so httpcore's `import sniffio` searches sys.path again on every "
        "request; this marks it absent (sys.modules) to measure what that search costs.",
    )
    args = parser.parse_args()
    if args.no_sniffio_search:
        sys.modules["sniffio"] = None  # type: ignore[assignment]
    asyncio.run(main(args.count, args.concurrency, args.profile, args.raw_only))

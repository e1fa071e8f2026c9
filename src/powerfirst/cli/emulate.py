"""``powerfirst emulate-miners``: a fleet of emulated stock Antminers on loopback, until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Annotated

import typer

from powerfirst.cli.common import console, fail
from powerfirst.errors import ConfigError, PowerfirstError
from powerfirst.live import eventloop
from powerfirst.live.emulator import MODELS, Fault, Fleet, FleetConfig
from powerfirst.live.heap import freeze_setup

__all__ = ["emulate_miners", "parse_faults"]


def parse_faults(items: list[str]) -> dict[Fault, int]:
    """``["silent=3", "slow=10"]`` → how many miners get each fault; a clear error otherwise."""
    kinds = ", ".join(f.value for f in Fault if f is not Fault.NONE)
    out: dict[Fault, int] = {}
    for item in items:
        name, sep, count = item.partition("=")
        try:
            fault = Fault(name.strip().lower())
            n = int(count)
        except ValueError:
            raise ConfigError(f"--fault: {item!r} is not KIND=COUNT with KIND one of {kinds}") from None
        if not sep or fault is Fault.NONE or n < 0:
            raise ConfigError(f"--fault: {item!r} is not KIND=COUNT (COUNT ≥ 0) with KIND one of {kinds}")
        out[fault] = out.get(fault, 0) + n
    return out


async def _serve(config: FleetConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with Fleet(config) as fleet:
        first, last = next(iter(fleet.miners)), list(fleet.miners)[-1]
        faulty = sum(1 for m in fleet.miners.values() if m.fault is not Fault.NONE)
        console.print(
            f"listening: {len(fleet.miners)} × {fleet.spec.name} at {first} … {last} "
            f"(cgminer API :{config.rpc_port}, web API :{config.web_port}, time ×{config.time_scale:g}, "
            f"{faulty} faulty); Ctrl-C stops",
            highlight=False,
        )
        if fleet.fd_warning:
            console.print(f"warning: {fleet.fd_warning}", highlight=False)
        freeze_setup()  # the emulated miners out of the collector's way (live/heap.py)
        await stop.wait()


def emulate_miners(
    count: Annotated[int, typer.Option(help="Number of emulated miners (one loopback address each).")] = 10,
    addresses: Annotated[
        str, typer.Option(help="Loopback network they take addresses from.")
    ] = "127.21.0.0/16",
    model: Annotated[str, typer.Option(help=f"Emulated model ({', '.join(sorted(MODELS))}).")] = "S19jPro",
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault",
            help="KIND=COUNT: that many miners (chosen by --seed) are silent, slow, reject commands or "
            "reboot at start (repeatable).",
        ),
    ] = None,
    time_scale: Annotated[
        float, typer.Option(help="Emulated seconds per real second (60: a 5-minute warm-up takes 5 s).")
    ] = 1.0,
    config_write_s: Annotated[
        float | None,
        typer.Option(
            help="Delay of a config write before it answers [emulated s] (default: the model's, 20 s)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Chooses which miners get the faults.")] = 0,
) -> None:
    """Emulate stock Antminers (cgminer API on 4028, digest web API on 80) on loopback until Ctrl-C."""
    try:
        config = FleetConfig(
            count=count,
            addresses=addresses,
            model=model,
            time_scale=time_scale,
            config_write_s=config_write_s,
            faults=parse_faults(fault or []),
            seed=seed,
        )
        eventloop.run(_serve(config))
    except PowerfirstError as exc:
        fail(exc)
    except OSError as exc:
        fail(ConfigError(f"addresses: cannot listen on {addresses} ports 4028/80 ({exc})"))

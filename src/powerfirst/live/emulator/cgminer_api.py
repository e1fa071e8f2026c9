"""The cgminer-style JSON API on TCP 4028, as stock Antminer bmminer answers it.

Protocol (what pyasic and asic-rs send): the client writes one JSON object
``{"command": "summary"}`` (``"a+b"`` asks several at once) without a newline, then reads to the end
of the stream; the server answers one JSON object followed by a NUL byte and closes. Replies carry
``STATUS[0].STATUS == "S"`` on success, ``"E"`` with ``Msg`` on error. Anything that is not JSON
(an HTTP probe for another firmware on this port) gets the error reply.

Hashrates are in GH/s as bmminer reports them; ``chain_power`` is the ``"<W> W"`` string newer stock
firmware adds to ``stats``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from powerfirst.live.emulator.miner import EmulatedMiner
from powerfirst.live.emulator.model import WorkMode

__all__ = ["COMPILE_TIME", "FIRMWARE_VERSION", "handle_connection", "reply"]

FIRMWARE_VERSION = "49.0.1.3"
COMPILE_TIME = "Thu Dec  9 11:19:26 CST 2021"
_READ_LIMIT_BYTES = 65_536
_READ_TIMEOUT_S = 5.0
_CHAINS = 3


def _status(command: str, ok: bool = True, msg: str = "") -> list[dict[str, Any]]:
    return [
        {
            "STATUS": "S" if ok else "E",
            "When": int(time.time()),
            "Code": 11 if ok else 14,
            "Msg": msg or command.capitalize(),
            "Description": "cgminer 1.0.0",
        }
    ]


def _version(miner: EmulatedMiner) -> dict[str, Any]:
    return {
        "STATUS": _status("version", msg="CGMiner versions"),
        "VERSION": [
            {
                "BMMiner": "1.0.0",
                "API": "3.1",
                "Miner": FIRMWARE_VERSION,
                "CompileTime": COMPILE_TIME,
                "Type": miner.spec.name,
            }
        ],
        "id": 1,
    }


def _summary(miner: EmulatedMiner) -> dict[str, Any]:
    hashrate_ths = miner.reading()[1]
    ghs = round(hashrate_ths * 1000.0, 2)
    return {
        "STATUS": _status("summary"),
        "SUMMARY": [
            {
                "Elapsed": int(miner.state.uptime_s(miner.now_s())),
                "GHS 5s": ghs,
                "GHS av": ghs,
                "GHS 30m": ghs,
                "Found Blocks": 0,
                "Accepted": 0,
                "Rejected": 0,
                "Hardware Errors": 0,
                "Best Share": 0,
            }
        ],
        "id": 1,
    }


def _stats(miner: EmulatedMiner) -> dict[str, Any]:
    now = miner.now_s()
    power_w, hashrate_ths = miner.reading()
    state = miner.state
    mode = state.mode if state.mode is not WorkMode.SLEEP else state.awake_mode
    ideal_ghs = miner.spec.hashrate_ths[mode] * 1000.0
    hashing = hashrate_ths > 0
    body: dict[str, Any] = {
        "STATS": 0,
        "ID": "BC50",
        "Elapsed": int(state.uptime_s(now)),
        "Calls": 0,
        "Wait": 0.0,
        "Max": 0.0,
        "Min": 99999999.0,
        "GHS 5s": round(hashrate_ths * 1000.0, 2),
        "GHS av": round(hashrate_ths * 1000.0, 2),
        "rate_unit": "GH",
        "miner_count": _CHAINS,
        "frequency": 525 if hashing else 0,
        "fan_num": 4,
        "temp_num": _CHAINS,
        "total_rateideal": round(ideal_ghs, 2),
        "total_freqavg": 525 if hashing else 0,
        "total_acn": 126 * _CHAINS,
        "total rate": round(hashrate_ths * 1000.0, 2),
        "chain_power": f"{round(power_w)} W",
        "miner_version": FIRMWARE_VERSION,
        "CompileTime": COMPILE_TIME,
    }
    for fan in range(1, 5):
        body[f"fan{fan}"] = 5400 if hashing else 0
    for chain in range(1, _CHAINS + 1):
        body[f"chain_rate{chain}"] = f"{hashrate_ths * 1000.0 / _CHAINS:.2f}"
        body[f"chain_rateideal{chain}"] = round(ideal_ghs / _CHAINS, 2)
        body[f"chain_acn{chain}"] = 126
        body[f"chain_acs{chain}"] = " " + "o" * 126
        body[f"temp_pcb{chain}"] = "55-60-55-60" if hashing else "30-30-30-30"
        body[f"temp_chip{chain}"] = "70-75-70-75" if hashing else "30-30-30-30"
    head = {
        "BMMiner": "1.0.0",
        "Miner": FIRMWARE_VERSION,
        "CompileTime": COMPILE_TIME,
        "Type": miner.spec.name,
    }
    return {"STATUS": _status("stats"), "STATS": [head, body], "id": 1}


def _pools(miner: EmulatedMiner) -> dict[str, Any]:
    alive = miner.reading()[1] > 0
    pool = {
        "POOL": 0,
        "URL": "stratum+tcp://pool.invalid:3333",
        "Status": "Alive" if alive else "Dead",
        "Priority": 0,
        "Accepted": 0,
        "Rejected": 0,
        "Get Failures": 0,
        "Remote Failures": 0,
        "User": "powerfirst." + miner.address.replace(".", "x"),
        "Stratum Active": alive,
    }
    return {"STATUS": _status("pools"), "POOLS": [pool], "id": 1}


def _devdetails(miner: EmulatedMiner) -> dict[str, Any]:
    devs = [
        {"DEVDETAILS": i, "Name": "BC50", "ID": i, "Driver": "bitmain", "Model": miner.spec.name}
        for i in range(_CHAINS)
    ]
    return {"STATUS": _status("devdetails"), "DEVDETAILS": devs, "id": 1}


_COMMANDS = {
    "version": _version,
    "summary": _summary,
    "stats": _stats,
    "pools": _pools,
    "devdetails": _devdetails,
}


def reply(miner: EmulatedMiner, request: bytes) -> dict[str, Any]:
    """The JSON answer to one request (``a+b`` answers ``{"a": [..], "b": [..]}``)."""
    try:
        parsed = json.loads(request.rstrip(b"\x00").decode("utf-8"))
        command = str(parsed["command"])
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        return {"STATUS": _status("", ok=False, msg="Invalid JSON"), "id": 1}
    names = command.split("+")
    unknown = [n for n in names if n not in _COMMANDS]
    if unknown:
        return {"STATUS": _status(command, ok=False, msg=f"Invalid command {unknown[0]}"), "id": 1}
    if len(names) == 1:
        return _COMMANDS[names[0]](miner)
    return {name: [_COMMANDS[name](miner)] for name in names} | {"id": 1}


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    """Read until the bytes parse as JSON, EOF, the size limit or the time limit."""
    data = b""
    deadline = asyncio.get_running_loop().time() + _READ_TIMEOUT_S
    while len(data) < _READ_LIMIT_BYTES:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            break
        try:
            chunk = await asyncio.wait_for(reader.read(4096), timeout=left)
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
        if data.lstrip()[:1] != b"{":
            break
        try:
            json.loads(data.rstrip(b"\x00"))
        except ValueError:
            continue
        break
    return data


async def handle_connection(
    miner: EmulatedMiner, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Serve one connection: one request, one answer, close."""
    try:
        request = await _read_request(reader)
        if request and await miner.before_answer() and not miner.state.is_down(miner.now_s()):
            writer.write(json.dumps(reply(miner, request)).encode() + b"\x00")
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()

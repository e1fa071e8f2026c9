"""The stock Antminer web API on TCP 80: CGI endpoints behind HTTP digest auth (root/root).

What the libraries use: ``GET /`` answers 401 with ``WWW-Authenticate: Digest realm="antMiner
Configuration"`` (both pyasic and asic-rs identify a stock Antminer by that realm);
``/cgi-bin/get_system_info.cgi`` names the model (``minertype``); ``get_miner_conf.cgi`` reports
``bitmain-work-mode`` (0 normal, 1 sleep, 3 low power); ``POST set_miner_conf.cgi`` with JSON
``{"miner-mode": 1}`` sleeps and ``0`` wakes, answering ``{"stats": "success", "code": "M000"}``
after the config write (the posted config is kept: its ``pools`` are what ``get_miner_conf`` reports
from then on, as the firmware replaces its config with what it is sent); ``summary.cgi`` carries ``INFO.CompileTime`` (asic-rs's firmware version);
``reboot.cgi`` reboots. Every other path is 404.

HTTP/1.1 framing is :mod:`h11`'s (keep-alive, so a digest client's challenge and retry share one
connection); every connection is bounded in requests and idle time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import h11

from powerfirst.live.emulator import digest
from powerfirst.live.emulator.cgminer_api import COMPILE_TIME, FIRMWARE_VERSION
from powerfirst.live.emulator.miner import EmulatedMiner
from powerfirst.live.emulator.model import WorkMode

__all__ = ["USERNAME", "handle_connection", "route"]

USERNAME = "root"
PASSWORD = "root"
_IDLE_TIMEOUT_S = 10.0
_MAX_REQUESTS = 100
_MAX_BODY_BYTES = 65_536


def _system_info(miner: EmulatedMiner) -> dict[str, Any]:
    return {
        "minertype": miner.spec.name,
        "nettype": "DHCP",
        "netdevice": "eth0",
        "macaddr": miner.mac,
        "hostname": "Antminer",
        "ipaddress": miner.address,
        "netmask": "255.255.0.0",
        "gateway": "",
        "dnsservers": "",
        "system_mode": "GNU/Linux",
        "system_kernel_version": "Linux 4.9.38 #1 SMP PREEMPT",
        "system_filesystem_version": COMPILE_TIME,
        "firmware_type": "Release",
        "serinum": miner.serial,
    }


DEFAULT_POOLS: list[dict[str, str]] = [
    {"url": "stratum+tcp://pool.invalid:3333", "user": "powerfirst", "pass": "x"}
]
"""The pools a miner reports until a config write replaces them."""


def _miner_conf(miner: EmulatedMiner) -> dict[str, Any]:
    pools = miner.config_written.get("pools") if miner.config_written else None
    return {
        "pools": pools if isinstance(pools, list) else DEFAULT_POOLS,
        "api-listen": True,
        "api-network": True,
        "api-groups": "A:stats:pools:devs:summary:version",
        "api-allow": "A:0/0,W:*",
        "bitmain-fan-ctrl": False,
        "bitmain-fan-pwm": "100",
        "bitmain-use-vil": True,
        "bitmain-freq": "525",
        "bitmain-voltage": "1320",
        "bitmain-ccdelay": "0",
        "bitmain-pwth": "0",
        "bitmain-work-mode": str(int(miner.state.mode)),
        "bitmain-freq-level": "100",
    }


def _web_summary(miner: EmulatedMiner) -> dict[str, Any]:
    hashrate_ths = miner.reading()[1]
    state = miner.state
    ideal_mode = state.mode if state.mode is not WorkMode.SLEEP else state.awake_mode
    return {
        "STATUS": {"STATUS": "S", "when": 0, "Msg": "summary", "api_version": "1.0.0"},
        "INFO": {"miner_version": FIRMWARE_VERSION, "CompileTime": COMPILE_TIME, "type": miner.spec.name},
        "SUMMARY": [
            {
                "elapsed": int(state.uptime_s(miner.now_s())),
                "rate_5s": round(hashrate_ths * 1000.0, 2),
                "rate_30m": round(hashrate_ths * 1000.0, 2),
                "rate_avg": round(hashrate_ths * 1000.0, 2),
                "rate_ideal": round(miner.spec.hashrate_ths[ideal_mode] * 1000.0, 2),
                "rate_unit": "GH/s",
                "hw_all": 0,
                "bestshare": 0,
                "status": [
                    {"type": "rate", "status": "s" if hashrate_ths > 0 else "w", "code": 0, "msg": ""},
                    {"type": "network", "status": "s", "code": 0, "msg": ""},
                    {"type": "fans", "status": "s", "code": 0, "msg": ""},
                    {"type": "temp", "status": "s", "code": 0, "msg": ""},
                ],
            }
        ],
    }


def _parse_conf(body: bytes) -> tuple[WorkMode | str | None, dict[str, Any]]:
    """The requested work mode (None when the body sets none; an error text when it is invalid) and
    the posted config."""
    try:
        conf = json.loads(body or b"{}")
    except ValueError:
        return "body is not JSON", {}
    if not isinstance(conf, dict):
        return None, {}
    if "miner-mode" not in conf:
        return None, conf
    try:
        return WorkMode(int(conf["miner-mode"])), conf
    except (TypeError, ValueError):
        return f"miner-mode {conf['miner-mode']!r} is not 0, 1 or 3", conf


async def route(
    miner: EmulatedMiner, method: str, path: str, body: bytes
) -> tuple[int, dict[str, Any] | None]:
    """Status code and JSON body of one authenticated request (None body: 404 page)."""
    name = path.split("?", 1)[0]
    if name in ("/", "/index.html"):
        return 200, {"page": "antMiner"}
    if not (name.startswith("/cgi-bin/") and name.endswith(".cgi")):
        return 404, None
    cgi = name[len("/cgi-bin/") : -len(".cgi")]
    if cgi == "get_system_info":
        return 200, _system_info(miner)
    if cgi == "get_miner_conf":
        return 200, _miner_conf(miner)
    if cgi == "summary":
        return 200, _web_summary(miner)
    if cgi == "get_blink_status":
        return 200, {"blink": miner.blinking}
    if cgi == "miner_type":
        return 200, {"miner_type": miner.spec.name, "subtype": miner.spec.subtype}
    if cgi == "set_miner_conf" and method == "POST":
        mode, conf = _parse_conf(body)
        if isinstance(mode, str):
            return 200, {"stats": "error", "code": "M001", "msg": mode}
        result = await miner.write_mode(mode, conf)
        return 200, {"stats": "success" if result.ok else "error", "code": result.code, "msg": result.msg}
    if cgi == "blink" and method == "POST":
        miner.blinking = b"true" in body
        return 200, {"code": "B000" if miner.blinking else "B100"}
    if cgi == "reboot":
        asyncio.get_running_loop().call_later(0.05, miner.reboot)
        return 200, {"stats": "success", "code": "R000", "msg": "rebooting"}
    return 404, None


def _response(
    conn: h11.Connection, status: int, payload: bytes, content_type: str, extra: list[tuple[str, str]]
) -> bytes:
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(payload))),
        ("Server", "lighttpd/1.4.32"),
        *extra,
    ]
    return (conn.send(h11.Response(status_code=status, headers=headers)) or b"") + (
        (conn.send(h11.Data(data=payload)) or b"") + (conn.send(h11.EndOfMessage()) or b"")
    )


async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader) -> Any:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        data = await asyncio.wait_for(reader.read(16_384), timeout=_IDLE_TIMEOUT_S)
        conn.receive_data(data)


async def handle_connection(
    miner: EmulatedMiner, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Serve one keep-alive connection: at most ``_MAX_REQUESTS`` requests, each bounded in time."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_BODY_BYTES)
    try:
        for _ in range(_MAX_REQUESTS):
            request = await _next_event(conn, reader)
            if not isinstance(request, h11.Request):
                break
            body = b""
            while isinstance(event := await _next_event(conn, reader), h11.Data):
                body += event.data
                if len(body) > _MAX_BODY_BYTES:
                    return
            if not await miner.before_answer() or miner.state.is_down(miner.now_s()):
                return
            method = request.method.decode()
            target = request.target.decode()
            auth = dict(request.headers).get(b"authorization", b"").decode()
            if not digest.verify(auth, method, USERNAME, PASSWORD, nonces=miner.nonces):
                page = b"<html><body><h1>401 - Unauthorized</h1></body></html>"
                nonce = miner.issue_nonce()
                stale = digest.verify(auth, method, USERNAME, PASSWORD)  # right password, old nonce
                header = digest.challenge(nonce=nonce, stale=stale)
                out = _response(conn, 401, page, "text/html", [("WWW-Authenticate", header)])
            else:
                status, payload = await route(miner, method, target, body)
                if payload is None:
                    out = _response(
                        conn, status, b"<html><body>404 - Not Found</body></html>", "text/html", []
                    )
                else:
                    out = _response(conn, status, json.dumps(payload).encode(), "application/json", [])
            writer.write(out)
            await writer.drain()
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                break
            conn.start_next_cycle()
    except (TimeoutError, h11.ProtocolError, ConnectionError, OSError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()

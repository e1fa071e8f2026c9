"""A lean read of the cgminer-style JSON API (TCP 4028) for telemetry sweeps of many miners.

The protocol is one JSON object ``{"command": "summary+stats"}`` written on a new connection, one
JSON answer (bmminer ends it with a NUL byte) read to the end of the stream, and the server closes.
pyasic does the same with more machinery per call; this is the floor for a sweep of 10,000 miners.
Firmware whose ``a+b`` multicommand is refused (pyasic notes some S19 builds) gets each command on
its own connection; an answer that is not strict JSON (older bmminer builds emit broken JSON that
pyasic repairs) raises :class:`RpcError`, and the driver reads that miner through pyasic instead.
Times in seconds; the caller bounds each call with its own timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

__all__ = ["RpcError", "multicommand", "query"]

_MAX_ANSWER_BYTES = 1_048_576


class RpcError(Exception):
    """The lean read could not get a usable answer (the driver falls back to pyasic)."""


async def query(ip: str, command: str, port: int = 4028) -> dict[str, Any]:
    """One command (``summary``, ``summary+stats``) and its parsed answer."""
    try:
        reader, writer = await asyncio.open_connection(ip, port)
    except OSError as exc:
        raise RpcError(f"connect {ip}:{port}: {exc}") from None
    try:
        writer.write(json.dumps({"command": command}).encode())
        await writer.drain()
        data = b""
        while chunk := await reader.read(65_536):
            data += chunk
            if len(data) > _MAX_ANSWER_BYTES:
                raise RpcError(f"{command}: answer over {_MAX_ANSWER_BYTES} bytes")
    except (ConnectionError, OSError) as exc:
        raise RpcError(f"{command}: {type(exc).__name__}: {exc}") from None
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()
    try:
        answer = json.loads(data.rstrip(b"\x00 \r\n").decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise RpcError(f"{command}: no answer or not strict JSON ({len(data)} bytes)") from None
    if not isinstance(answer, dict):
        raise RpcError(f"{command}: answer is not a JSON object")
    return answer


async def multicommand(ip: str, *commands: str, port: int = 4028) -> dict[str, list[dict[str, Any]]]:
    """``{"summary": [answer], "stats": [answer]}`` as bmminer's ``a+b`` answers it; one connection
    per command where the firmware refuses the combined form."""
    answer = await query(ip, "+".join(commands), port)
    if all(isinstance(answer.get(c), list) for c in commands):
        return {c: answer[c] for c in commands}
    answers = await asyncio.gather(*(query(ip, c, port) for c in commands))
    return {c: [a] for c, a in zip(commands, answers, strict=True)}

"""A lean web-API client for stock Antminer firmware: one kept-alive connection per miner.

pyasic's stock path opens a fresh httpx client for every call and digest-authenticates each one
from scratch (a 401 challenge, then the request): four HTTP exchanges on two new connections per
mode change, 4–6 ms of CPU each, so 10,000 miners take tens of seconds of CPU. This client keeps
one TCP connection per miner open between requests (reopened when the miner closed it), frames
HTTP/1.1 with :mod:`h11`, and reuses the miner's digest nonce with an increasing nonce count, so a
command is one POST and one answer.

Digest authentication (RFC 7616, MD5, ``qop=auth``): the first request of a miner goes out without
credentials and its ``401`` carries the challenge (realm, nonce, opaque); every later request signs
with that nonce and ``nc`` 1, 2, 3, … A ``401`` to a signed request (a stale or forgotten nonce)
takes the new challenge from that answer and is re-sent once; a second ``401`` is a failure.
Other algorithms (SHA-256, ``-sess``) or a challenge without ``qop=auth`` are failures too, which the
driver answers by falling back to pyasic.

What a command posts is the miner's *full* config (pools included) as pyasic writes it
(``MinerConfig.from_am_modern(conf).as_am_modern()``) with ``miner-mode`` changed: the firmware
replaces its config with what it is sent, so posting the mode alone could lose the pools. ``conf``
is the ``get_miner_conf`` answer of the last read (the driver caches every telemetry read), or read
on the kept connection first when none is cached.

Unknowns on real firmware (tested only against :mod:`powerfirst.live.emulator`):

- **nonce reuse**: lighttpd's ``mod_auth`` accepts a nonce for a while and then answers 401
  (``stale=true`` on newer builds); that costs one extra exchange, handled above. Whether a
  particular Antminer build rejects reused nonces outright is not known; then every command costs
  the re-challenge (still one connection, no new TCP handshake).
- **idle connections**: lighttpd closes idle keep-alive connections (``server.max-keep-alive-idle``,
  5 s by default) and after ``max-keep-alive-requests`` requests. A connection found closed before a
  request is reopened; a request on a *reused* connection that fails before any answer arrives is
  re-sent once on a new one. The request is a full config write, so sending it twice sets the same
  state (idempotent).
- **one request at a time**: requests to one miner are serialised on its connection; a read while a
  20 s config write is in flight is not queued behind it (:meth:`StockBulkClient.get_conf` answers
  None and the caller uses another connection).

Times are seconds; ``written_s`` holds :func:`time.monotonic` instants.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import h11

__all__ = ["BulkError", "DigestChallenge", "StockBulkClient", "digest_authorization"]

_CONF_PATH = "/cgi-bin/get_miner_conf.cgi"
_SET_PATH = "/cgi-bin/set_miner_conf.cgi"
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^\s,]+))')
_MAX_BODY_BYTES = 1_048_576


class BulkError(Exception):
    """The fast path could not complete a request (the driver falls back to pyasic)."""


@dataclass
class DigestChallenge:
    """A server's digest challenge and how often this client has used its nonce."""

    realm: str
    nonce: str
    opaque: str | None = None
    nc: int = 0
    """Requests signed with this nonce so far."""

    @classmethod
    def parse(cls, header: str) -> DigestChallenge:
        """From a ``WWW-Authenticate`` value; :class:`BulkError` when it is not MD5 with ``qop=auth``."""
        scheme, _, rest = header.partition(" ")
        if scheme.lower() != "digest":
            raise BulkError(f"WWW-Authenticate: {scheme!r} is not a digest challenge")
        params = {m.group(1).lower(): m.group(2) or m.group(3) or "" for m in _PARAM.finditer(rest)}
        algorithm = params.get("algorithm", "MD5").upper()
        qops = {q.strip() for q in params.get("qop", "").split(",")}
        if algorithm != "MD5" or "auth" not in qops or "nonce" not in params:
            raise BulkError(f"digest challenge: algorithm {algorithm}, qop {sorted(qops)} (need MD5, auth)")
        return cls(params.get("realm", ""), params["nonce"], params.get("opaque"))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def digest_authorization(
    challenge: DigestChallenge, username: str, password: str, method: str, uri: str
) -> str:
    """The ``Authorization`` value for the next request under ``challenge`` (counts its ``nc`` up)."""
    challenge.nc += 1
    nc, cnonce = f"{challenge.nc:08x}", secrets.token_hex(8)
    ha1 = _md5(f"{username}:{challenge.realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    response = _md5(f"{ha1}:{challenge.nonce}:{nc}:{cnonce}:auth:{ha2}")
    value = (
        f'Digest username="{username}", realm="{challenge.realm}", nonce="{challenge.nonce}", '
        f'uri="{uri}", algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}", response="{response}"'
    )
    return value + (f', opaque="{challenge.opaque}"' if challenge.opaque is not None else "")


@dataclass
class _Miner:
    """One miner's kept connection and digest state."""

    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    http: h11.Connection | None = None
    challenge: DigestChallenge | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def drop(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = self.http = None


class StockBulkClient:
    """Requests to many stock Antminers' web APIs over kept connections (see the module docstring).

    ``max_concurrency`` bounds the connects and request writes in progress at once; waiting for
    answers is bounded by one request per miner (and the caller's timeout).
    """

    def __init__(self, username: str, password: str, *, port: int = 80, max_concurrency: int = 256) -> None:
        self.username = username
        self.password = password
        self.port = port
        self._gate = asyncio.Semaphore(max_concurrency)
        self._miners: dict[str, _Miner] = {}
        self.written_s: dict[str, float] = {}
        """When each miner's last request was handed to its socket [monotonic s]."""
        self.connects = 0
        """TCP connections opened (tests and benchmarks count reconnects)."""

    def _miner(self, ip: str) -> _Miner:
        miner = self._miners.get(ip)
        if miner is None:
            miner = self._miners[ip] = _Miner()
        return miner

    async def get_conf(self, ip: str) -> dict[str, Any] | None:
        """``get_miner_conf`` on the kept connection; None when a request to this miner is in flight."""
        miner = self._miner(ip)
        if miner.lock.locked():
            return None
        async with miner.lock:
            return await self._request(ip, miner, "GET", _CONF_PATH, b"")

    async def set_conf(self, ip: str, conf: dict[str, Any] | None, payload: Any) -> dict[str, Any]:
        """POST ``set_miner_conf`` with ``payload(conf)``; ``conf`` None: read it first on the same
        connection. Returns the firmware's JSON answer (``{"stats": …, "code": "M000", …}``)."""
        miner = self._miner(ip)
        async with miner.lock:
            if conf is None:
                conf = await self._request(ip, miner, "GET", _CONF_PATH, b"")
            body = json.dumps(payload(conf)).encode()
            return await self._request(ip, miner, "POST", _SET_PATH, body)

    async def _request(self, ip: str, miner: _Miner, method: str, path: str, body: bytes) -> dict[str, Any]:
        """One authenticated request; a cancelled or failed exchange drops the connection."""
        try:
            challenged = reopened = False
            for _ in range(3):
                reused = miner.http is not None
                status, headers, answer = await self._exchange(ip, miner, method, path, body)
                if status == 401:
                    if challenged:
                        raise BulkError(f"{method} {path}: 401 again after a fresh challenge (credentials?)")
                    miner.challenge = DigestChallenge.parse(headers.get("www-authenticate", ""))
                    challenged = True
                    continue
                if status is None:  # the kept connection was closed under us: once more on a new one
                    if reused and not reopened:
                        reopened = True
                        continue
                    raise BulkError(f"{method} {path}: connection closed without an answer")
                if status != 200:
                    raise BulkError(f"{method} {path}: HTTP {status}")
                try:
                    parsed = json.loads(answer)
                except ValueError:
                    raise BulkError(f"{method} {path}: answer is not JSON") from None
                if not isinstance(parsed, dict):
                    raise BulkError(f"{method} {path}: answer is not a JSON object")
                return parsed
            raise BulkError(f"{method} {path}: no answer after a reconnect and a re-challenge")
        except BaseException:
            miner.drop()
            raise

    async def _exchange(
        self, ip: str, miner: _Miner, method: str, path: str, body: bytes
    ) -> tuple[int | None, dict[str, str], bytes]:
        """Write one request and read its answer: (status or None if closed first, headers, body)."""
        headers = [("Host", ip), ("Content-Length", str(len(body)))]
        if body:
            headers.append(("Content-Type", "application/json"))
        if miner.challenge is not None:
            auth = digest_authorization(miner.challenge, self.username, self.password, method, path)
            headers.append(("Authorization", auth))
        async with self._gate:
            if miner.http is None or miner.reader is None or miner.reader.at_eof():
                miner.drop()
                try:
                    miner.reader, miner.writer = await asyncio.open_connection(ip, self.port)
                except OSError as exc:
                    raise BulkError(f"connect {ip}:{self.port}: {exc}") from None
                miner.http = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_BODY_BYTES)
                self.connects += 1
            http, writer = miner.http, miner.writer
            assert writer is not None
            data = http.send(h11.Request(method=method, target=path, headers=headers)) or b""
            data += (http.send(h11.Data(data=body)) or b"") if body else b""
            data += http.send(h11.EndOfMessage()) or b""
            try:
                writer.write(data)
                await writer.drain()
            except (ConnectionError, OSError):
                miner.drop()
                return None, {}, b""
            self.written_s[ip] = time.monotonic()
        return await self._answer(miner, http)

    async def _answer(self, miner: _Miner, http: h11.Connection) -> tuple[int | None, dict[str, str], bytes]:
        assert miner.reader is not None
        status: int | None = None
        headers: dict[str, str] = {}
        chunks: list[bytes] = []
        while True:
            try:
                event = http.next_event()
            except h11.RemoteProtocolError as exc:
                if status is None:
                    miner.drop()
                    return None, {}, b""
                raise BulkError(f"HTTP framing: {exc}") from None
            if event is h11.NEED_DATA:
                try:
                    data = await miner.reader.read(65_536)
                except (ConnectionError, OSError):
                    data = b""
                http.receive_data(data)
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                headers = {k.decode().lower(): v.decode("latin-1") for k, v in event.headers}
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                miner.drop()
                return None, {}, b""
        if http.our_state is h11.DONE and http.their_state is h11.DONE:
            http.start_next_cycle()
        else:  # the server will close (Connection: close, HTTP/1.0): open a new one next time
            miner.drop()
        return status, headers, b"".join(chunks)

    async def close(self) -> None:
        """Close every kept connection."""
        writers = [m.writer for m in self._miners.values() if m.writer is not None]
        for miner in self._miners.values():
            miner.drop()
        for writer in writers:
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

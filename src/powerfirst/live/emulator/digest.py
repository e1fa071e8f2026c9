"""HTTP digest authentication, server side (RFC 7616 with MD5 and ``qop=auth``, as lighttpd on stock
Antminers asks for it).

The server side is a challenge and one hash comparison; clients (httpx in pyasic, diqwest in
asic-rs) do the rest. Nonces are random per challenge; the caller may pass the nonces it still
accepts (the web API keeps each miner's last few, as lighttpd expires old ones): a request signed
with another nonce fails and is answered with a fresh challenge marked ``stale=true``. The nonce
count is not checked for replay.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Container

__all__ = ["REALM", "challenge", "new_nonce", "verify"]

REALM = "antMiner Configuration"
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^\s,]+))')


def new_nonce() -> str:
    """A random server nonce."""
    return secrets.token_hex(16)


def challenge(realm: str = REALM, nonce: str | None = None, *, stale: bool = False) -> str:
    """The ``WWW-Authenticate`` value of a 401 answer (``stale``: the client's nonce expired)."""
    value = f'Digest realm="{realm}", nonce="{nonce or new_nonce()}", qop="auth"'
    return value + (", stale=true" if stale else "")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def verify(
    authorization: str,
    method: str,
    username: str,
    password: str,
    realm: str = REALM,
    nonces: Container[str] | None = None,
) -> bool:
    """Whether an ``Authorization: Digest …`` header proves ``username``/``password`` (under one of
    ``nonces`` when given)."""
    scheme, _, rest = authorization.partition(" ")
    if scheme.lower() != "digest":
        return False
    params = {
        m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _PARAM.finditer(rest)
    }
    try:
        if params["username"] != username or params.get("realm", realm) != realm:
            return False
        if nonces is not None and params["nonce"] not in nonces:
            return False
        ha1 = _md5(f"{username}:{realm}:{password}")
        ha2 = _md5(f"{method}:{params['uri']}")
        qop = params.get("qop")
        if qop:
            expected = _md5(f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:{qop}:{ha2}")
        else:
            expected = _md5(f"{ha1}:{params['nonce']}:{ha2}")
    except KeyError:
        return False
    return hmac.compare_digest(expected, params.get("response", ""))

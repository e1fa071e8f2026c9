"""HTTP digest authentication, server side (RFC 7616 with MD5 and ``qop=auth``, as lighttpd on stock
Antminers asks for it).

The server side is a challenge and one hash comparison; clients (httpx in pyasic, diqwest in
asic-rs) do the rest. Nonces are random per challenge and not tracked: the emulator checks the
password, not replay.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

__all__ = ["REALM", "challenge", "verify"]

REALM = "antMiner Configuration"
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^\s,]+))')


def challenge(realm: str = REALM) -> str:
    """The ``WWW-Authenticate`` value of a 401 answer."""
    return f'Digest realm="{realm}", nonce="{secrets.token_hex(16)}", qop="auth"'


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def verify(authorization: str, method: str, username: str, password: str, realm: str = REALM) -> bool:
    """Whether an ``Authorization: Digest …`` header proves ``username``/``password``."""
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

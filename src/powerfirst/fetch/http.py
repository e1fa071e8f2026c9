"""One HTTP client for every fetcher: timeouts, bounded retries, one-line errors.

Tests inject an ``httpx.MockTransport`` that replays recorded responses; nothing here touches
the network unless a real transport is used.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from powerfirst.errors import DataError

__all__ = ["MAX_RETRY_AFTER_S", "RETRY_STATUSES", "HttpClient", "HttpStatusError"]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""HTTP statuses worth retrying: rate limits and transient server errors."""
MAX_RETRY_AFTER_S = 60.0
"""Longest wait a server's ``Retry-After`` header may ask for before the next try [s]."""


class HttpStatusError(DataError):
    """The server answered with an HTTP error status that is not worth retrying (e.g. 401, 403, 404)."""

    def __init__(self, message: str, *, status: int) -> None:
        self.status = status
        super().__init__(message)


class HttpClient:
    """GET/POST JSON with a timeout per request [s] and at most ``attempts`` tries per request.

    Between tries it waits ``backoff_s`` × 2^(try − 1) seconds, or what the server's ``Retry-After``
    asks for when that is longer (at most :data:`MAX_RETRY_AFTER_S`); ``sleep`` is injectable for tests.
    Every failure ends in one :class:`DataError` line naming the method, the URL and the status.
    """

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 30.0,
        attempts: int = 3,
        backoff_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts = {attempts}: need at least 1")
        self._client = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout_s),
            headers={"User-Agent": "powerfirst-data-fetch", "Accept": "application/json"},
            follow_redirects=True,
        )
        self.attempts = attempts
        self.backoff_s = backoff_s
        self._sleep = sleep

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_json(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return self._json("GET", url, params=params, headers=headers, data=None)

    def post_form_json(self, url: str, *, data: Mapping[str, str]) -> Any:
        return self._json("POST", url, params=None, headers=None, data=data)

    def _json(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None,
        headers: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
    ) -> Any:
        shown = str(httpx.URL(url, params=dict(params or {})))
        problem = ""
        asked_s = 0.0
        for attempt in range(1, self.attempts + 1):
            if attempt > 1:
                self._sleep(max(self.backoff_s * 2 ** (attempt - 2), asked_s))
                asked_s = 0.0
            try:
                response = self._client.request(method, url, params=params, headers=headers, data=data)
            except httpx.TimeoutException:
                problem = "timed out"
                continue
            except httpx.HTTPError as exc:
                problem = f"failed: {type(exc).__name__}: {exc}"
                continue
            if response.status_code in RETRY_STATUSES:
                problem = f"HTTP {response.status_code} {response.reason_phrase}"
                asked_s = _retry_after_s(response)
                continue
            if response.is_error:
                raise HttpStatusError(
                    f"{method} {shown}: HTTP {response.status_code} {response.reason_phrase}"
                    f"{_detail(response)}",
                    status=response.status_code,
                )
            try:
                return response.json()
            except ValueError:
                raise DataError(
                    f"{method} {shown}: HTTP {response.status_code} but the body is not JSON "
                    f"(starts {response.text[:60]!r})"
                ) from None
        raise DataError(f"{method} {shown}: {problem} (gave up after {self.attempts} tries)")


def _detail(response: httpx.Response) -> str:
    """A short reason from an error body, on one line."""
    text = " ".join(response.text.split())[:160]
    return f" ({text})" if text else ""


def _retry_after_s(response: httpx.Response) -> float:
    """The wait a ``Retry-After: <seconds>`` header asks for, capped at MAX_RETRY_AFTER_S (0 if none)."""
    try:
        seconds = float(response.headers.get("Retry-After", "0"))
    except ValueError:
        return 0.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)

"""The REST transport shared by the POS, commerce and WMS connectors: one httpx client per instance.

It turns every way a call can fail into the hub's error classes: 429, 5xx, timeouts and broken
connections are transient (with the peer's Retry-After), other 4xx permanent, and it keeps
secrets out of every message it builds.
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from pydantic import Field

from hub.errors import PermanentError, TransientError
from hub.sdk import ConnectorConfig, SecretRef
from hub.tracing import inject_traceparent

MAX_BODY_IN_ERROR = 2000
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")


class RestPeerConfig(ConnectorConfig):
    """Fields of every connector that calls a REST peer."""

    base_url: str = Field(description="Base URL of the peer's API, e.g. https://shop.example.com/api.")
    token: SecretRef | None = Field(default=None, description="Bearer token for the peer (env:NAME or file:/path).")
    timeout_seconds: float = Field(default=10.0, gt=0, le=300, description="Read / write timeout of one call.")
    connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60, description="Timeout to open a connection.")
    max_connections: int = Field(default=10, ge=1, le=200, description="Open connections kept to the peer.")


@dataclass(frozen=True, slots=True)
class RestCall:
    """One call to make, as pure translation describes it; the client makes it."""

    method: str
    path: str
    json: dict[str, Any] | None = None
    idempotency_key: str | None = None


class RestClient:
    """Calls one peer; every failure comes out as TransientError or PermanentError naming the call."""

    def __init__(self, config: RestPeerConfig, *, peer: str, extra_secrets: Iterable[str] = ()) -> None:
        token = config.token.reveal() if config.token else None
        self._secrets = [s for s in (token, *extra_secrets) if s]
        self._peer = peer
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(
            base_url=config.base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(config.timeout_seconds, connect=config.connect_timeout_seconds),
            limits=httpx.Limits(max_connections=config.max_connections),
            event_hooks={"request": [inject_traceparent]},  # the delivered event's trace, when delivering
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def call(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
                   idempotency_key: str | None = None) -> httpx.Response:
        """One call; returns a 2xx response, raises TransientError or PermanentError otherwise."""
        what = f"{method} {path}"
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        body = orjson.dumps(json) if json is not None else None
        if body is not None:
            headers = {**(headers or {}), "Content-Type": "application/json"}
        try:
            response = await self._client.request(method, path, content=body, params=params, headers=headers)
        except httpx.TimeoutException as exc:
            raise TransientError(f"calling {self._peer} {what}: timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise TransientError(f"calling {self._peer} {what}: {self.redact(str(exc)) or type(exc).__name__}") from None
        self._raise_for_status(what, response)
        return response

    async def send(self, call: RestCall) -> httpx.Response:
        return await self.call(call.method, call.path, json=call.json, idempotency_key=call.idempotency_key)

    def json_of(self, response: httpx.Response) -> Any:
        """The JSON of a 2xx answer; a body that is not JSON is a PermanentError naming the byte."""
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            request = response.request
            raise PermanentError(
                f"calling {self._peer} {request.method} {request.url.path}: answer is not JSON "
                f"({exc.msg} at byte {exc.pos}): {self._shown_body(response)}"
            ) from None

    def redact(self, text: str) -> str:
        """`text` with every secret of this client and any bearer token replaced by ***."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return _BEARER.sub(r"\1***", text)

    def _raise_for_status(self, what: str, response: httpx.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        message = f"calling {self._peer} {what}: answered {status}: {self._shown_body(response)}"
        if status == 429 or status >= 500 or status == 408:
            raise TransientError(message, retry_after=retry_after_seconds(response.headers.get("Retry-After")))
        raise PermanentError(message)

    def _shown_body(self, response: httpx.Response) -> str:
        text = response.content[:MAX_BODY_IN_ERROR].decode("utf-8", errors="replace")
        return self.redact(text) or "(empty body)"


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))

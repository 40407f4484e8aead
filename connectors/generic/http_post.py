"""`http.post`: POSTs each delivered event as JSON to a URL with an Idempotency-Key header.

Connection errors, timeouts, 408, 429 (honouring Retry-After) and 5xx are transient; any other
4xx is permanent (409 counts as already applied: the target has seen that key).
"""

from __future__ import annotations

import email.utils
import time

import httpx
from pydantic import Field

from canonical import Envelope
from hub.errors import PermanentError, TransientError
from hub.sdk import ConnectorConfig, SecretRef, Sink


class HttpPostConfig(ConnectorConfig):
    url: str = Field(description="Where to POST each event.", examples=["http://127.0.0.1:8080/events"])
    timeout: float = Field(default=10.0, gt=0, description="Seconds for the whole request.")
    bearer_token: SecretRef | None = Field(default=None, description="Sent as Authorization: Bearer.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")


class HttpPost(Sink):
    config_model = HttpPostConfig
    summary = "POSTs each event as JSON to a URL, with an Idempotency-Key header."
    config: HttpPostConfig

    async def start(self) -> None:
        headers = {"content-type": "application/json", **self.config.headers}
        if self.config.bearer_token:
            headers["authorization"] = f"Bearer {self.config.bearer_token.reveal()}"
        self.client = httpx.AsyncClient(timeout=self.config.timeout, headers=headers)

    async def stop(self) -> None:
        await self.client.aclose()

    async def check(self) -> str:
        try:
            response = await self.client.request("OPTIONS", self.config.url)
        except httpx.HTTPError as exc:
            raise TransientError(f"{self.config.url} does not answer: {exc!r}") from None
        return f"{self.config.url} answered {response.status_code}"

    async def deliver(self, event: Envelope, attempt: int) -> None:
        headers = {"idempotency-key": event.idempotency_key}
        if event.trace:
            headers["traceparent"] = event.trace
        try:
            response = await self.client.post(self.config.url, content=event.model_dump_json(), headers=headers)
        except httpx.TimeoutException as exc:
            raise TransientError(f"POST {self.config.url}: timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise TransientError(f"POST {self.config.url}: {type(exc).__name__}: {exc}") from None
        status = response.status_code
        if status < 300 or status == 409:
            return
        detail = f"POST {self.config.url}: HTTP {status}: {response.text[:300]}"
        if status in (408, 429) or status >= 500:
            raise TransientError(detail, retry_after=_retry_after(response.headers.get("retry-after")))
        raise PermanentError(detail)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())

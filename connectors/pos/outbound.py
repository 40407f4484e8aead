"""commerce.rest: availability per SKU and fulfilment node, and marketplace exposure holds, to a commerce platform."""

from __future__ import annotations

from typing import ClassVar

from canonical import Envelope
from connectors.pos.http import RestClient, RestPeerConfig
from connectors.pos.translate import outbound_calls
from hub.sdk import ConnectorConfig, ConnectorContext, Sink

ACCEPTED_TYPES = frozenset({"availability.published", "task.raised"})


class CommerceRestConfig(RestPeerConfig):
    """A commerce platform's REST API, called with a bearer token and an Idempotency-Key on every call."""


class CommerceRest(Sink):
    """Outbound to a commerce platform: availability is set (PUT), exposure held or released (POST).

    429 and 5xx answers, timeouts and broken connections raise TransientError (with Retry-After);
    other 4xx raise PermanentError carrying the peer's answer with secrets stripped.
    """

    type_name: ClassVar[str] = "commerce.rest"
    config_model: ClassVar[type[ConnectorConfig]] = CommerceRestConfig
    summary: ClassVar[str] = "publish availability and hold / release marketplace exposure on a commerce platform"
    config: CommerceRestConfig

    def __init__(self, name: str, config: ConnectorConfig, ctx: ConnectorContext) -> None:
        super().__init__(name, config, ctx)
        self._client: RestClient | None = None

    def accepts(self, event_type: str) -> bool:
        return event_type in ACCEPTED_TYPES

    async def start(self) -> None:
        self._client = RestClient(self.config, peer=self.name)

    async def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def deliver(self, event: Envelope, attempt: int) -> None:
        if self._client is None:
            raise RuntimeError(f"connector {self.name} is not started")
        for call in outbound_calls(event):
            await self._client.send(call)
        self.ctx.count("delivered", event_type=event.type)

    async def check(self) -> str:
        if self._client is None:
            raise RuntimeError(f"connector {self.name} is not started")
        await self._client.call("GET", "/v1/health")
        return f"commerce platform answers at {self.config.base_url}"

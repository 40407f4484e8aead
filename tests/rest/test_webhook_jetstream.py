"""Webhook intake storing into a real JetStream stream: 2xx only once stored, 503 while NATS is away."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import nats
import pytest
from nats.js import JetStreamContext

from canonical import Envelope, parse_event
from connectors.pos import PosRest
from hub.natsserver import NatsServer
from hub.sdk import IngestResult
from hub.testing import RecordingContext
from sim.commerce import CommercePeer

from .conftest import feed_config

STREAM = "EVENTS_TEST"


class StreamIngestContext(RecordingContext):
    """A connector context whose ingest publishes to JetStream and returns only after the PubAcks."""

    def __init__(self, js: JetStreamContext) -> None:
        super().__init__("pos")
        self.js = js

    async def ingest(self, events: Sequence[Envelope | dict[str, Any]], *, raw: bytes | None = None,
                     origin: str = "") -> IngestResult:
        result = IngestResult()
        for item in events:
            event = item if isinstance(item, Envelope) else parse_event(item)
            ack = await self.js.publish(f"inv.{event.type}", event.model_dump_json().encode(), timeout=0.5,
                                        headers={**event.nats_headers(), "Nats-Msg-Id": event.idempotency_key})
            if ack.duplicate:
                result.duplicates += 1
            else:
                result.stored += 1
        return result


@pytest.fixture
async def jetstream(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_server.url, reconnect_time_wait=0.2, max_reconnect_attempts=-1)
    js = nc.jetstream()
    await js.add_stream(name=STREAM, subjects=["inv.>"])
    yield js
    await nc.close()


async def stored(js: JetStreamContext) -> int:
    return (await js.stream_info(STREAM)).state.messages


@pytest.mark.fault
async def test_a_webhook_is_answered_2xx_only_after_its_events_are_in_the_stream(
        nats_server: NatsServer, jetstream: JetStreamContext, commerce_peer: CommercePeer, secrets_env: None) -> None:
    ctx = StreamIngestContext(jetstream)
    source = PosRest("pos", PosRest.config_model.model_validate(feed_config("pos.rest", commerce_peer.url)), ctx)
    await source.start()
    commerce_peer.webhook_url = source.webhook_url
    try:
        await commerce_peer.sale("STORE-001", [("SKU-00001", 1), ("SKU-00002", 2)])
        assert commerce_peer.sent_webhooks[0].statuses == [200]
        assert await stored(jetstream) == 2

        nats_server.stop()
        await commerce_peer.sale("STORE-001", [("SKU-00003", 1)])
        outage = commerce_peer.sent_webhooks[1]
        assert outage.statuses == [503] * commerce_peer.webhook_attempts
        assert ctx.counted("webhook_failed") == commerce_peer.webhook_attempts

        nats_server.start()
        async with httpx.AsyncClient() as client:
            retried = await client.post(source.webhook_url, content=outage.body, headers=outage.headers, timeout=10)
        assert retried.status_code == 200
        # nats-py keeps a timed-out publish in its reconnect buffer and sends it once NATS is back, so
        # the retry may find its event already stored: the Nats-Msg-Id window makes that a duplicate.
        answer = retried.json()
        assert answer["stored"] + answer["duplicates"] == 1
        assert await stored(jetstream) == 3
        # Polling finds all three again: the stream's dedupe window drops them by idempotency key.
        await commerce_peer.sale("STORE-002", [("SKU-00004", 1)], webhook=False)
        await source.poll_once()
        assert await stored(jetstream) == 4
    finally:
        await source.stop()

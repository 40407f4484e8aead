"""pos.rest webhook intake against the simulated commerce platform: signed deliveries in, refusals counted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import orjson
import pytest

from canonical import Envelope
from connectors.generic.webhook import TIMESTAMP_HEADER, signed_headers
from connectors.pos import PosRest
from hub.errors import PermanentError
from hub.natsserver import free_port
from hub.sdk import IngestResult
from hub.testing import RecordingContext
from sim.commerce import CommercePeer

from .conftest import SECRET, feed_config, recorded


def refused(ctx: RecordingContext, reason: str) -> float:
    return ctx.metrics.get(("webhook_refused", (("reason", reason),)), 0)


async def test_a_sale_webhook_becomes_stock_adjustments(commerce_peer: CommercePeer, pos_source: PosRest) -> None:
    await commerce_peer.sale("STORE-001", [("SKU-00001", 2), ("SKU-00002", 1)])
    [sent] = commerce_peer.sent_webhooks
    assert sent.statuses == [200]
    ctx = recorded(pos_source)
    assert [(e.type, e.subject, e.data["delta"]) for e in ctx.events] == [
        ("stock.adjusted", "SKU-00001@STORE-001", -2), ("stock.adjusted", "SKU-00002@STORE-001", -1)]
    assert ctx.counted("webhook_accepted") == 1


async def test_returns_and_reservations_arrive_as_their_canonical_events(
        commerce_peer: CommercePeer, pos_source: PosRest) -> None:
    await commerce_peer.return_("STORE-002", [("SKU-00003", 1)], restocked=True)
    await commerce_peer.reserve("ORD-1", "WEB-01", [("SKU-00004", 2)])
    await commerce_peer.cancel("ORD-1", "WEB-01", [("SKU-00004", 2)])
    assert [e.type for e in recorded(pos_source).events] == [
        "return.received", "stock.adjusted", "reservation.changed", "reservation.changed"]
    assert [e.data.get("action") for e in recorded(pos_source).events[2:]] == ["reserve", "release"]


async def test_a_replayed_webhook_is_refused_with_409_and_counted(
        commerce_peer: CommercePeer, pos_source: PosRest) -> None:
    await commerce_peer.sale("STORE-001", [("SKU-00001", 1)])
    sent = commerce_peer.sent_webhooks[0]
    async with httpx.AsyncClient() as client:
        again = await client.post(pos_source.webhook_url, content=sent.body, headers=sent.headers)
    assert again.status_code == 409
    assert again.json()["error"] == "replay"
    ctx = recorded(pos_source)
    assert len(ctx.events) == 1
    assert refused(ctx, "replay") == 1


async def test_forged_unsigned_and_stale_webhooks_get_401_and_are_counted(
        commerce_peer: CommercePeer, pos_source: PosRest) -> None:
    await commerce_peer.sale("STORE-001", [("SKU-00001", 1)], webhook=False)
    body = orjson.dumps({"events": commerce_peer.feed.items})
    forged_body = body.replace(b'"quantity":1', b'"quantity":90')
    async with httpx.AsyncClient() as client:
        post = client.post
        forged = await post(pos_source.webhook_url, content=forged_body, headers=signed_headers(SECRET, "w1", body))
        wrong_key = await post(pos_source.webhook_url, content=body, headers=signed_headers("guess", "w2", body))
        unsigned = await post(pos_source.webhook_url, content=body, headers={"Content-Type": "application/json"})
        stale_headers = signed_headers(SECRET, "w3", body, now=1_000_000_000)
        stale = await post(pos_source.webhook_url, content=body, headers=stale_headers)
    assert [r.status_code for r in (forged, wrong_key, unsigned, stale)] == [401, 401, 401, 401]
    assert [r.json()["error"] for r in (forged, wrong_key, unsigned, stale)] == [
        "bad_signature", "bad_signature", "unsigned", "stale"]
    ctx = recorded(pos_source)
    assert ctx.events == []
    assert (refused(ctx, "bad_signature"), refused(ctx, "unsigned"), refused(ctx, "stale")) == (2, 1, 1)
    assert stale_headers[TIMESTAMP_HEADER] == "1000000000"


async def test_a_refused_webhook_does_not_use_up_its_id(commerce_peer: CommercePeer, pos_source: PosRest) -> None:
    """A forged request carrying a real id must not block the genuine delivery of that id."""
    await commerce_peer.sale("STORE-001", [("SKU-00001", 1)], webhook=False)
    body = orjson.dumps({"events": commerce_peer.feed.items})
    async with httpx.AsyncClient() as client:
        forged = await client.post(pos_source.webhook_url, content=body,
                                   headers=signed_headers("guess", "wh_evt_00000001", body))
    assert forged.status_code == 401
    await commerce_peer.send_webhook(commerce_peer.feed.items)
    assert commerce_peer.sent_webhooks[-1].statuses == [200]
    assert len(recorded(pos_source).events) == 1


class FlakyContext(RecordingContext):
    """A context whose first `failures` ingests fail as if the event stream were unreachable."""

    def __init__(self, failures: int) -> None:
        super().__init__("pos")
        self.failures = failures

    async def ingest(self, events: Sequence[Envelope | dict[str, Any]], *, raw: bytes | None = None,
                     origin: str = "") -> IngestResult:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("no responders for the EVENTS stream")
        return await super().ingest(events, raw=raw, origin=origin)


async def test_a_webhook_that_cannot_be_stored_gets_503_and_the_retry_is_accepted(
        commerce_peer: CommercePeer, secrets_env: None) -> None:
    ctx = FlakyContext(failures=2)
    source = PosRest("pos", PosRest.config_model.model_validate(feed_config("pos.rest", commerce_peer.url)), ctx)
    await source.start()
    try:
        commerce_peer.webhook_url = source.webhook_url
        await commerce_peer.sale("STORE-001", [("SKU-00001", 1)])
    finally:
        await source.stop()
    assert commerce_peer.sent_webhooks[0].statuses == [503, 503, 200]
    assert len(ctx.events) == 1
    assert ctx.counted("webhook_failed") == 2


async def test_a_signed_body_that_is_not_json_is_dead_lettered_and_answered_422(pos_source: PosRest) -> None:
    body = b'{"events": [{"id": "evt_1", "type": "sale",'
    async with httpx.AsyncClient() as client:
        response = await client.post(pos_source.webhook_url, content=body,
                                     headers=signed_headers(SECRET, "wh_bad", body))
    assert response.status_code == 422
    assert "malformed JSON" in response.json()["error"]
    [dead] = recorded(pos_source).dead_letters
    assert dead["raw"] == body and dead["origin"] == "webhook:wh_bad" and dead["error_class"] == "permanent"


async def test_one_bad_item_is_dead_lettered_and_the_others_are_stored(
        commerce_peer: CommercePeer, pos_source: PosRest) -> None:
    good = await commerce_peer.sale("STORE-001", [("SKU-00001", 1)], webhook=False)
    unknown = {**good, "id": "evt_x", "type": "gift_card.sold"}
    broken = {**good, "id": "evt_y", "data": {**good["data"], "lines": [{"line": 1, "sku": "SKU-00002"}]}}
    await commerce_peer.send_webhook([good, unknown, broken])
    [sent] = commerce_peer.sent_webhooks
    assert sent.statuses == [200]
    ctx = recorded(pos_source)
    assert len(ctx.events) == 1
    assert [(d["error_class"], d["reason"].split(":")[0]) for d in ctx.dead_letters] == [
        ("contract", "events[1].type"), ("permanent", "events[2].data.lines[0].quantity")]
    assert orjson.loads(ctx.dead_letters[0]["raw"])["id"] == "evt_x"


@pytest.mark.parametrize("path", ["/other", "/hooks/"])
async def test_only_the_configured_path_is_served(pos_source: PosRest, path: str) -> None:
    url = pos_source.webhook_url.removesuffix("/hooks") + path
    async with httpx.AsyncClient() as client:
        response = await client.post(url, content=b"{}")
    assert response.status_code == 404


async def test_a_webhook_port_already_taken_is_a_clear_start_error(
        commerce_peer: CommercePeer, secrets_env: None) -> None:
    port = free_port()
    webhook = {"secret": "env:REST_TEST_WEBHOOK_SECRET", "port": port}
    config = PosRest.config_model.model_validate(feed_config("pos.rest", commerce_peer.url, webhook=webhook))
    first = PosRest("pos", config, RecordingContext("pos"))
    await first.start()
    second = PosRest("pos2", config, RecordingContext("pos2"))
    try:
        with pytest.raises(PermanentError, match=f"starting webhook listener on 127.0.0.1:{port}"):
            await second.start()
    finally:
        await first.stop()

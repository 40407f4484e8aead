"""Accepted webhook ids are claim marks in the TTL'd `hub_dedupe` bucket: they expire instead of piling up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from connectors.generic.webhook import ID_HEADER, once_key, signed_headers
from connectors.pos import PosRest
from hub import bus
from hub.config import parse_config
from hub.ingest import IngestContext
from hub.metrics import Metrics
from hub.runtime import Hub
from hub.testing import RecordingContext
from sim.commerce import CommercePeer

from .conftest import SECRET, feed_config


@asynccontextmanager
async def running_hub(tmp_path: Path, nats_url: str, peer: CommercePeer, *, dedupe_seconds: float,
                      tolerance: float) -> AsyncIterator[Hub]:
    """A hub whose one connector is a pos.rest webhook source for `peer`."""
    webhook = {"secret": "env:REST_TEST_WEBHOOK_SECRET", "path": "/hooks", "tolerance_seconds": tolerance}
    config = parse_config({"hub": {"dedupe_hours": dedupe_seconds / 3600},
                           "connectors": {"pos": feed_config("pos.rest", peer.url, webhook=webhook)},
                           "status": {"enabled": False}}, tmp_path / "hub.toml")
    hub = Hub(config, data_dir=tmp_path / "data", nats_url=nats_url)
    await hub.start()
    try:
        yield hub
    finally:
        await hub.stop()


def pos_of(hub: Hub) -> PosRest:
    assert hub.instances is not None
    connector = hub.instances.instances["pos"].connector
    assert isinstance(connector, PosRest)
    return connector


async def keys(hub: Hub, bucket: str) -> list[str]:
    return await bus.kv_keys(await hub.bus.kv(bucket), ">")


async def resend(url: str, webhook_id: str, body: bytes) -> int:
    """Post `body` again under `webhook_id`, freshly signed (inside the tolerance, unlike a captured copy)."""
    async with httpx.AsyncClient() as client:
        response = await client.post(url, content=body, headers=signed_headers(SECRET, webhook_id, body))
    return response.status_code


async def accepted_then_replayed(hub: Hub, commerce_peer: CommercePeer) -> str:
    """A sale's webhook, accepted (200) and then refused when sent again (409); returns its id."""
    source = pos_of(hub)
    commerce_peer.webhook_url = source.webhook_url
    await commerce_peer.sale("STORE-001", [("SKU-00001", 1)])
    [sent] = commerce_peer.sent_webhooks
    assert sent.statuses == [200]
    webhook_id = sent.headers[ID_HEADER]
    assert await resend(source.webhook_url, webhook_id, sent.body) == 409
    return webhook_id


async def test_an_accepted_webhook_id_is_marked_in_the_dedupe_bucket_not_in_hub_state(
        tmp_path: Path, nats_url: str, commerce_peer: CommercePeer, secrets_env: None) -> None:
    async with running_hub(tmp_path, nats_url, commerce_peer, dedupe_seconds=3600, tolerance=300) as hub:
        webhook_id = await accepted_then_replayed(hub, commerce_peer)

        mark = once_key(webhook_id)
        dedupe_marks = [k for k in await keys(hub, bus.KV_DEDUPE) if k.endswith(mark)]
        assert len(dedupe_marks) == 1
        assert not [k for k in await keys(hub, bus.KV_STATE) if k.endswith(mark)]


async def test_a_webhook_id_is_forgotten_when_the_dedupe_bucket_ttl_has_passed(
        tmp_path: Path, nats_url: str, commerce_peer: CommercePeer, secrets_env: None) -> None:
    async with running_hub(tmp_path, nats_url, commerce_peer, dedupe_seconds=4, tolerance=2) as hub:
        source = pos_of(hub)
        webhook_id = await accepted_then_replayed(hub, commerce_peer)
        [sent] = commerce_peer.sent_webhooks

        [mark] = [k for k in await keys(hub, bus.KV_DEDUPE) if k.endswith(once_key(webhook_id))]
        deadline = time.monotonic() + 15
        while mark in await keys(hub, bus.KV_DEDUPE):
            assert time.monotonic() < deadline, f"{mark} still in {bus.KV_DEDUPE} after 15 s"
            await asyncio.sleep(0.2)
        assert await resend(source.webhook_url, webhook_id, sent.body) == 200


async def test_a_tolerance_longer_than_the_dedupe_ttl_stops_the_connector_from_starting(
        tmp_path: Path, nats_url: str, commerce_peer: CommercePeer, secrets_env: None) -> None:
    async with running_hub(tmp_path, nats_url, commerce_peer, dedupe_seconds=3600, tolerance=7200) as hub:
        [row] = hub.status()["connectors"]
        assert row["state"] == "failed"
        assert "tolerance_seconds is 7200s" in row["last_error"]
        assert "remembered for only 3600s" in row["last_error"]
        assert "at most 1800" in row["last_error"]
        assert pos_of(hub).webhook_url == ""
        assert pos_of(hub)._client is None  # the REST client opened before the refusal was closed again


async def test_a_released_claim_can_be_taken_again_and_instances_claim_apart(tmp_path: Path, nats_url: str) -> None:
    b = await bus.connect(nats_url)
    try:
        await b.declare(dedupe_hours=1)
        state = bus.KvState(await b.kv(bus.KV_STATE), "connector.test")
        pos, wms = (IngestContext(name, b, state, partitions=1, base_dir=tmp_path, data_dir=tmp_path,
                                  metrics=Metrics()) for name in ("pos", "wms"))
        assert [await pos.claim_once("wh.1"), await pos.claim_once("wh.1")] == [True, False]
        assert await wms.claim_once("wh.1")
        await pos.release_claim("wh.1")
        assert [await pos.claim_once("wh.1"), await pos.claim_once("wh.1")] == [True, False]
        assert await pos.claim_ttl_seconds() == 3600
    finally:
        await b.close()


async def test_marks_an_earlier_version_left_in_hub_state_are_swept_at_start(
        tmp_path: Path, nats_url: str, commerce_peer: CommercePeer, secrets_env: None) -> None:
    b = await bus.connect(nats_url, name="legacy-writer")
    try:
        await b.declare()
        state = bus.KvState(await b.kv(bus.KV_STATE), "connector.pos")
        for n in range(300):
            await state.create(once_key(f"old-{n}"), 1764200000 + n)
        await state.put("cursor", {"after": "42"})
        other = bus.KvState(await b.kv(bus.KV_STATE), "connector.erp")
        await other.create(once_key("old-erp"), 1)
        assert len(await state.keys("wh")) == 300
    finally:
        await b.close()

    async with running_hub(tmp_path, nats_url, commerce_peer, dedupe_seconds=3600, tolerance=300) as hub:
        left = await keys(hub, bus.KV_STATE)
        assert not [k for k in left if k.startswith("connector.pos.wh.")]
        assert "connector.pos.cursor" in left  # the connector's other state stays
        assert f"connector.erp.{once_key('old-erp')}" in left  # and so do other connectors' keys
        await accepted_then_replayed(hub, commerce_peer)  # the intake works as before


async def test_a_sweep_that_fails_does_not_keep_the_webhook_source_from_starting(
        commerce_peer: CommercePeer, secrets_env: None, caplog) -> None:
    ctx = RecordingContext("pos")

    async def unreachable(prefix: str) -> int:
        raise TimeoutError("nats: timeout")

    ctx.state.purge = unreachable  # type: ignore[method-assign]
    source = PosRest("pos", PosRest.config_model.model_validate(feed_config("pos.rest", commerce_peer.url)), ctx)
    with caplog.at_level("WARNING"):
        await source.start()
    try:
        assert "webhook id marks of an earlier version not removed" in caplog.text and "nats: timeout" in caplog.text
        commerce_peer.webhook_url = source.webhook_url
        await commerce_peer.sale("STORE-001", [("SKU-00001", 1)])
        assert commerce_peer.sent_webhooks[0].statuses == [200]
    finally:
        await source.stop()

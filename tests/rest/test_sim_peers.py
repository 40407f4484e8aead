"""The simulated peers on their own: auth, pagination, rate limits, idempotent replay, faults and seeding."""

from __future__ import annotations

import random

import httpx
import pytest

from connectors.generic.webhook import verify
from sim.commerce import CommercePeer
from sim.http_peer import RateLimit, decode_cursor, encode_cursor
from sim.wms import WmsPeer

from .conftest import SECRET, TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_calls_without_the_bearer_token_are_refused(commerce_peer: CommercePeer) -> None:
    async with httpx.AsyncClient(base_url=commerce_peer.url) as client:
        missing = await client.get("/v1/events")
        wrong = await client.get("/v1/events", headers={"Authorization": "Bearer nope"})
        right = await client.get("/v1/events", headers=AUTH)
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)


async def test_the_feed_pages_through_an_opaque_cursor(commerce_peer: CommercePeer) -> None:
    for n in range(5):
        await commerce_peer.sale("STORE-001", [(f"SKU-{n + 1:05d}", 1)], webhook=False)
    seen, cursor = [], None
    async with httpx.AsyncClient(base_url=commerce_peer.url, headers=AUTH) as client:
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/v1/events", params=params)).json()
            seen += [item["id"] for item in page["events"]]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        bad = await client.get("/v1/events", params={"cursor": "not-ours"})
        too_many = await client.get("/v1/events", params={"limit": 5000})
    assert seen == [item["id"] for item in commerce_peer.feed.items]
    assert (bad.status_code, too_many.status_code) == (400, 400)
    assert "invalid cursor" in bad.json()["error"]


def test_cursors_round_trip_and_refuse_foreign_values() -> None:
    assert decode_cursor(encode_cursor(1234)) == 1234
    for foreign in ("", "abc", encode_cursor(1)[:-1] + "!"):
        with pytest.raises(ValueError, match="invalid cursor"):
            decode_cursor(foreign)


async def test_a_repeated_idempotency_key_replays_the_first_answer(commerce_peer: CommercePeer) -> None:
    async with httpx.AsyncClient(base_url=commerce_peer.url, headers=AUTH) as client:
        path = "/v1/availability/SKU-00001/WEB-01"
        first = await client.put(path, json={"available": 4}, headers={"Idempotency-Key": "k"})
        again = await client.put(path, json={"available": 9}, headers={"Idempotency-Key": "k"})
        fresh = await client.put(path, json={"available": 9}, headers={"Idempotency-Key": "k2"})
    assert first.json() == again.json() and again.headers["Idempotent-Replayed"] == "true"
    assert fresh.json()["available"] == 9
    assert commerce_peer.availability_writes == 2


async def test_the_rate_limit_answers_429_with_retry_after(commerce_peer: CommercePeer) -> None:
    commerce_peer.rate_limit = RateLimit(limit=3, window=10.0)
    async with httpx.AsyncClient(base_url=commerce_peer.url, headers=AUTH) as client:
        statuses = [(await client.get("/v1/events")).status_code for _ in range(5)]
        limited = await client.get("/v1/events")
    assert statuses == [200, 200, 200, 429, 429]
    assert 1 <= int(limited.headers["Retry-After"]) <= 10


async def test_injected_faults_count_down_and_the_peer_comes_back_on_its_port(commerce_peer: CommercePeer) -> None:
    commerce_peer.faults.fail_next(2, status=502)
    async with httpx.AsyncClient(base_url=commerce_peer.url, headers=AUTH) as client:
        statuses = [(await client.get("/v1/events")).status_code for _ in range(3)]
        port = commerce_peer.port
        await commerce_peer.go_down()
        with pytest.raises(httpx.ConnectError):
            await client.get("/v1/events")
        await commerce_peer.come_up()
        back = await client.get("/v1/events")
    assert statuses == [502, 502, 200]
    assert (commerce_peer.port, back.status_code) == (port, 200)


async def test_webhooks_are_signed_and_a_hub_that_is_away_is_retried(commerce_peer: CommercePeer) -> None:
    commerce_peer.webhook_url = "http://127.0.0.1:9/hooks"  # discard port: nothing listens
    sent = await commerce_peer.sale("STORE-001", [("SKU-00001", 1)])
    [webhook] = commerce_peer.sent_webhooks
    assert webhook.statuses == [0] * commerce_peer.webhook_attempts and not webhook.delivered
    assert verify(webhook.headers, webhook.body, SECRET, tolerance=60) == "wh_" + sent["id"]


async def test_a_commerce_peer_seeds_a_demo_sized_catalogue_and_simulates_traffic() -> None:
    peer = CommercePeer(token=TOKEN)
    peer.seed(skus=500, stores=20)
    assert (len(peer.skus), len(peer.nodes)) == (500, 21)
    await peer.start()
    try:
        items = await peer.simulate(200, random.Random(7))
    finally:
        await peer.stop()
    kinds = {item["type"] for item in items}
    assert len(peer.feed.items) == 200 and kinds == {"sale", "return", "order.reserved"}
    assert peer.sent_webhooks == [], "no webhook target was set"


async def test_wms_requests_are_idempotent_by_document_id(wms_peer: WmsPeer) -> None:
    body = {"transfer_id": "TR-1", "sku": "SKU-00001", "from_location": "DC-01", "to_location": "STORE-001",
            "quantity": 5}
    async with httpx.AsyncClient(base_url=wms_peer.url, headers=AUTH) as client:
        created = await client.post("/v1/transfer-requests", json=body)
        same = await client.post("/v1/transfer-requests", json=body)
        changed = await client.post("/v1/transfer-requests", json={**body, "quantity": 6})
        incomplete = await client.post("/v1/count-tasks", json={"task_id": "T1"})
        not_json = await client.post("/v1/count-tasks", content=b"{", headers={"Content-Type": "application/json"})
    assert [r.status_code for r in (created, same, changed, incomplete, not_json)] == [201, 200, 409, 422, 400]
    assert "sku, location" in incomplete.json()["error"]
    assert wms_peer.transfers["TR-1"]["quantity"] == 5


async def test_wms_stock_follows_its_activity(wms_peer: WmsPeer) -> None:
    await wms_peer.receipt("DC-01", [("SKU-00001", 10)], webhook=False)
    await wms_peer.ship("TR-1", "DC-01", "STORE-001", [("SKU-00001", 4)], webhook=False)
    await wms_peer.adjust("DC-01", "SKU-00001", -1, "SHR", webhook=False)
    assert wms_peer.stock[("SKU-00001", "DC-01")] == 105
    count = await wms_peer.count("DC-01", [("SKU-00001", 100)], webhook=False)
    assert count["data"]["lines"][0]["system_quantity"] == 105
    assert wms_peer.stock[("SKU-00001", "DC-01")] == 100

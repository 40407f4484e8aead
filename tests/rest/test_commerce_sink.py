"""commerce.rest against the simulated commerce platform: availability set, exposure held, failures classified."""

from __future__ import annotations

import asyncio
import time

import pytest

from canonical import Envelope, new_event
from connectors.pos import CommerceRest, PosRest
from hub.errors import ContractError, PermanentError, TransientError
from sim.commerce import CommercePeer
from sim.http_peer import RateLimit

from .conftest import recorded


def availability(sku: str, node: str, available: int, channel: str = "web") -> Envelope:
    return new_event("availability.published", {"sku": sku, "location": node, "available": available,
                                                "channel": channel},
                     source="urn:hub:routes", subject=f"{sku}@{node}", idempotency_key=f"avail:{sku}:{node}:{available}")


def exposure_task(kind: str, sku: str, task_id: str) -> Envelope:
    return new_event("task.raised", {"task_id": task_id, "kind": kind, "title": "phantom stock suspected",
                                     "sku": sku, "evidence": {"channel": "marketplace"}},
                     source="urn:hub:hooks", subject=sku, idempotency_key=task_id)


async def deliver_with_retries(sink: CommerceRest, event: Envelope, max_attempts: int = 20) -> int:
    """What the delivery engine does with a sink: retry transient failures after Retry-After (or 0.1 s)."""
    for attempt in range(1, max_attempts + 1):
        try:
            await sink.deliver(event, attempt)
            return attempt
        except TransientError as exc:
            await asyncio.sleep(exc.retry_after if exc.retry_after is not None else 0.1)
    raise AssertionError(f"{event.subject} not delivered in {max_attempts} attempts")


async def test_availability_is_set_per_sku_and_node(commerce_peer: CommercePeer, commerce_sink: CommerceRest) -> None:
    await commerce_sink.deliver(availability("SKU-00001", "WEB-01", 7), 1)
    await commerce_sink.deliver(availability("SKU-00001", "WEB-01", 5), 1)
    await commerce_sink.deliver(availability("SKU-00002", "STORE-001", 3, channel="marketplace"), 1)
    assert commerce_peer.availability[("SKU-00001", "WEB-01")]["available"] == 5
    assert commerce_peer.availability[("SKU-00002", "STORE-001")] == {
        "sku": "SKU-00002", "node": "STORE-001", "available": 3, "channel": "marketplace"}


async def test_a_redelivery_carries_the_same_idempotency_key_and_is_harmless(
        commerce_peer: CommercePeer, commerce_sink: CommerceRest) -> None:
    event = availability("SKU-00001", "WEB-01", 7)
    await commerce_sink.deliver(event, 1)
    await commerce_sink.deliver(event, 2)
    assert commerce_peer.availability_writes == 1, "the peer saw the key again and replayed its first answer"
    assert commerce_peer.availability[("SKU-00001", "WEB-01")]["available"] == 7


async def test_exposure_is_held_and_released_on_the_channel(
        commerce_peer: CommercePeer, commerce_sink: CommerceRest) -> None:
    await commerce_sink.deliver(exposure_task("exposure_hold", "SKU-00004", "T1"), 1)
    hold = commerce_peer.holds[("SKU-00004", "marketplace")]
    assert (hold.reason, hold.task_id) == ("phantom stock suspected", "T1")
    await commerce_sink.deliver(exposure_task("exposure_release", "SKU-00004", "T2"), 1)
    assert ("SKU-00004", "marketplace") not in commerce_peer.holds


async def test_a_burst_that_hits_the_rate_limit_is_delivered_in_full_late_but_complete(
        commerce_peer: CommercePeer, commerce_sink: CommerceRest) -> None:
    commerce_peer.rate_limit = RateLimit(limit=15, window=1.0)
    events = [availability(f"SKU-{n:05d}", "WEB-01", n) for n in range(1, 41)]
    started = time.monotonic()
    attempts = await asyncio.gather(*(deliver_with_retries(commerce_sink, e) for e in events))
    elapsed = time.monotonic() - started
    assert {sku: r["available"] for (sku, _), r in commerce_peer.availability.items()} == {
        f"SKU-{n:05d}": n for n in range(1, 41)}
    assert commerce_peer.status_count(429) >= 25
    assert max(attempts) >= 2
    assert elapsed >= 2.0, "40 calls at 15 per second cannot finish inside two windows"


async def test_429_carries_the_peers_retry_after(commerce_peer: CommercePeer, commerce_sink: CommerceRest) -> None:
    commerce_peer.rate_limit = RateLimit(limit=1, window=30.0)
    await commerce_sink.deliver(availability("SKU-00001", "WEB-01", 1), 1)
    with pytest.raises(TransientError, match="answered 429") as caught:
        await commerce_sink.deliver(availability("SKU-00002", "WEB-01", 1), 1)
    assert 29 <= (caught.value.retry_after or 0) <= 30


async def test_5xx_and_a_peer_that_went_down_are_transient_and_retried(
        commerce_peer: CommercePeer, commerce_sink: CommerceRest) -> None:
    commerce_peer.faults.fail_next(2, status=503)
    event = availability("SKU-00001", "WEB-01", 9)
    assert await deliver_with_retries(commerce_sink, event) == 3
    await commerce_peer.go_down()
    with pytest.raises(TransientError, match="calling shop-out PUT /v1/availability/SKU-00002/WEB-01"):
        await commerce_sink.deliver(availability("SKU-00002", "WEB-01", 4), 1)
    await commerce_peer.come_up()
    await commerce_sink.deliver(availability("SKU-00002", "WEB-01", 4), 2)
    assert commerce_peer.availability[("SKU-00002", "WEB-01")]["available"] == 4


async def test_a_slow_answer_times_out_as_transient(commerce_peer: CommercePeer, commerce_sink: CommerceRest) -> None:
    commerce_peer.faults.delay_next(1, 1.5)
    with pytest.raises(TransientError, match="timed out"):
        await commerce_sink.deliver(availability("SKU-00001", "WEB-01", 2), 1)
    await commerce_sink.deliver(availability("SKU-00001", "WEB-01", 3), 2)
    assert commerce_peer.availability[("SKU-00001", "WEB-01")]["available"] == 3


async def test_other_4xx_are_permanent_with_the_peers_answer(
        commerce_peer: CommercePeer, commerce_sink: CommerceRest) -> None:
    with pytest.raises(PermanentError, match="answered 404: .*unknown node WEB-99"):
        await commerce_sink.deliver(availability("SKU-00001", "WEB-99", 2), 1)
    commerce_peer.token = "rotated"
    with pytest.raises(PermanentError, match="answered 401"):
        await commerce_sink.deliver(availability("SKU-00001", "WEB-01", 2), 1)


async def test_events_it_cannot_take_are_contract_errors(commerce_sink: CommerceRest) -> None:
    assert commerce_sink.accepts("availability.published") and not commerce_sink.accepts("stock.adjusted")
    count = new_event("task.raised", {"task_id": "T9", "kind": "count", "title": "count"},
                      source="urn:hub", subject="x")
    with pytest.raises(ContractError):
        await commerce_sink.deliver(count, 1)


async def test_webhook_to_canonical_events_to_availability_published_back(
        commerce_peer: CommercePeer, pos_source: PosRest, commerce_sink: CommerceRest) -> None:
    """The availability loop: sales arrive by webhook, availability is recomputed and set on the platform."""
    on_hand = {("SKU-00001", "STORE-001"): 10, ("SKU-00002", "STORE-001"): 4}
    await commerce_peer.sale("STORE-001", [("SKU-00001", 3), ("SKU-00002", 1)])
    await commerce_peer.return_("STORE-001", [("SKU-00001", 1)], restocked=True)
    await commerce_peer.sale("STORE-001", [("SKU-00002", 1)], webhook=False)
    await pos_source.poll_once()
    for event in recorded(pos_source).events:
        if event.type == "stock.adjusted":
            on_hand[(event.data["sku"], event.data["location"])] += event.data["delta"]
    for (sku, store), quantity in on_hand.items():
        await commerce_sink.deliver(new_event(
            "availability.published", {"sku": sku, "location": store, "available": quantity},
            source="urn:hub:routes:availability", subject=f"{sku}@{store}",
            causation_id=recorded(pos_source).events[-1].id), 1)
    assert commerce_peer.availability[("SKU-00001", "STORE-001")]["available"] == 8
    assert commerce_peer.availability[("SKU-00002", "STORE-001")]["available"] == 2

"""pos.rest polling fallback: cursor pagination, missed webhooks caught, rate limits waited out."""

from __future__ import annotations

import asyncio
import time

import pytest

from connectors.pos import PosRest
from connectors.pos.intake import CURSOR_KEY
from hub.errors import TransientError
from hub.testing import RecordingContext
from sim.commerce import CommercePeer
from sim.http_peer import RateLimit

from .conftest import feed_config, recorded


async def test_a_missed_webhook_is_caught_by_polling(commerce_peer: CommercePeer, pos_source: PosRest) -> None:
    await commerce_peer.sale("STORE-001", [("SKU-00001", 1)])
    await commerce_peer.sale("STORE-002", [("SKU-00002", 3)], webhook=False)
    ctx = recorded(pos_source)
    assert len(ctx.events) == 1
    report = await pos_source.poll_once()
    assert (report.items, report.stored, report.duplicates) == (2, 1, 1)
    assert [e.subject for e in ctx.events] == ["SKU-00001@STORE-001", "SKU-00002@STORE-002"]


async def test_polling_walks_every_page_and_resumes_from_the_stored_cursor(
        commerce_peer: CommercePeer, pos_source: PosRest) -> None:
    for n in range(45):
        await commerce_peer.sale("STORE-001", [(f"SKU-{n + 1:05d}", 1)], webhook=False)
    first = await pos_source.poll_once()
    assert (first.pages, first.items, first.stored) == (3, 45, 45)
    cursor = await recorded(pos_source).state.get(CURSOR_KEY)
    assert cursor
    await commerce_peer.sale("STORE-001", [("SKU-00001", 5)], webhook=False)
    second = await pos_source.poll_once()
    assert (second.items, second.stored) == (1, 1)
    assert len(recorded(pos_source).events) == 46


async def test_a_new_connector_instance_resumes_from_the_cursor_in_state(
        commerce_peer: CommercePeer, secrets_env: None) -> None:
    for n in range(5):
        await commerce_peer.sale("STORE-001", [(f"SKU-{n + 1:05d}", 1)], webhook=False)
    ctx = RecordingContext("pos")
    config = PosRest.config_model.model_validate(feed_config("pos.rest", commerce_peer.url, webhook=None))
    first = PosRest("pos", config, ctx)
    await first.start()
    await first.poll_once()
    await first.stop()
    await commerce_peer.sale("STORE-003", [("SKU-00009", 2)], webhook=False)
    # A restart forgets the in-memory dedupe: only the cursor keeps it from re-reading old pages.
    second = PosRest("pos", config, ctx)
    await second.start()
    report = await second.poll_once()
    await second.stop()
    assert (report.items, report.stored) == (1, 1)


async def test_a_burst_that_hits_the_rate_limit_is_polled_in_full(
        commerce_peer: CommercePeer, pos_source: PosRest) -> None:
    for n in range(100):
        await commerce_peer.sale("STORE-001", [(f"SKU-{n % 50 + 1:05d}", 1)], webhook=False)
    commerce_peer.rate_limit = RateLimit(limit=2, window=1.0)
    started = time.monotonic()
    report = await pos_source.poll_once()
    elapsed = time.monotonic() - started
    assert (report.pages, report.stored) == (5, 100)
    assert report.rate_limited >= 1
    assert commerce_peer.status_count(429) == report.rate_limited
    assert elapsed >= 1.0, "the Retry-After wait was not honoured"
    assert len({e.idempotency_key for e in recorded(pos_source).events}) == 100


async def test_a_peer_that_is_down_fails_the_poll_and_the_next_poll_catches_up(
        commerce_peer: CommercePeer, pos_source: PosRest) -> None:
    await commerce_peer.sale("STORE-001", [("SKU-00001", 1)], webhook=False)
    await commerce_peer.go_down()
    with pytest.raises(TransientError, match="calling pos GET /v1/events"):
        await pos_source.poll_once()
    await commerce_peer.come_up()
    commerce_peer.faults.fail_next(1, status=502)
    with pytest.raises(TransientError, match="answered 502"):
        await pos_source.poll_once()
    report = await pos_source.poll_once()
    assert report.stored == 1


async def test_the_polling_loop_runs_on_its_interval_and_survives_a_failed_poll(
        commerce_peer: CommercePeer, secrets_env: None) -> None:
    ctx = RecordingContext("pos")
    config = PosRest.config_model.model_validate(
        feed_config("pos.rest", commerce_peer.url, webhook=None, poll_interval_seconds=0.05))
    commerce_peer.faults.fail_next(2, status=500)
    source = PosRest("pos", config, ctx)
    await source.start()
    try:
        await commerce_peer.sale("STORE-001", [("SKU-00001", 1)], webhook=False)
        for _ in range(100):
            if ctx.events:
                break
            await asyncio.sleep(0.02)
    finally:
        await source.stop()
    assert len(ctx.events) == 1
    assert ctx.counted("poll_failed") >= 1

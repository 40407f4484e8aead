"""Guards against the NATS / FastStream traps in NATS-NOTES, each shown on a real nats-server.

1. A batch fetch must never drop delivered messages (a later ack would turn that into loss).
2. A failed delivery is retried (NAK with a delay), never terminated by an ack policy.
3. A NAK carries its delay; a plain NAK would ignore the consumer's backoff.
4. Publish acknowledgements that answer with an API error resolve; no future hangs.
"""

from __future__ import annotations

import asyncio
import time

import nats
import pytest
from nats.js import api

from hub.publisher import AsyncPublisher, PublishError, gather_acks
from hub.pull import PullReader, ack, deliveries, nak


async def _stream(nc, name: str = "T", subjects: tuple[str, ...] = ("t.>",)):
    js = nc.jetstream()
    await js.add_stream(api.StreamConfig(name=name, subjects=list(subjects), storage=api.StorageType.FILE))
    return js


async def _consumer(js, durable: str, ack_wait: float = 30.0) -> None:
    await js.add_consumer("T", api.ConsumerConfig(durable_name=durable, ack_policy=api.AckPolicy.EXPLICIT,
                                                  ack_wait=ack_wait, max_ack_pending=10_000))


async def test_reader_hands_out_every_delivered_message_without_waiting_for_ack_wait(nats_url):
    nc = await nats.connect(nats_url)
    js = await _stream(nc)
    await _consumer(js, "c", ack_wait=30.0)
    reader = PullReader(nc, "T", "c", batch=64, expires=0.5)
    await reader.start()
    publisher = await AsyncPublisher(nc).start()
    seen: set[int] = set()
    started = time.monotonic()

    async def produce() -> None:
        for i in range(3000):
            await publisher.publish(f"t.{i % 7}", str(i).encode())
            if i % 500 == 0:
                await asyncio.sleep(0.05)  # bursts and gaps, so requests expire half-filled

    producer = asyncio.create_task(produce())
    while len(seen) < 3000 and time.monotonic() - started < 20:
        for msg in await reader.next_batch(17, wait=0.2):  # smaller than the request: leftovers stay buffered
            seen.add(int(msg.data))
            await ack(nc, msg)
    await producer
    elapsed = time.monotonic() - started
    await reader.stop()
    await nc.close()
    assert seen == set(range(3000))
    assert elapsed < 15, "messages were only recovered by AckWait redelivery"


async def test_nak_with_delay_redelivers_after_the_delay_not_before(nats_url):
    nc = await nats.connect(nats_url)
    js = await _stream(nc)
    await _consumer(js, "c")
    await js.publish("t.1", b"x")
    reader = PullReader(nc, "T", "c", batch=8, expires=0.5)
    await reader.start()
    first = (await reader.next_batch(1, wait=2.0))[0]
    assert deliveries(first) == 1
    naked_at = time.monotonic()
    await nak(nc, first, delay=1.5)
    again: list = []
    while not again and time.monotonic() - naked_at < 5:
        again = await reader.next_batch(1, wait=0.2)
    waited = time.monotonic() - naked_at
    await ack(nc, again[0])
    await reader.stop()
    await nc.close()
    assert deliveries(again[0]) == 2, "the failed message was not delivered again"
    assert 1.3 <= waited < 4.0, f"redelivered after {waited:.2f}s, not after the 1.5s delay"


async def test_api_error_replies_resolve_their_futures(nats_url):
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.create_key_value(api.KeyValueConfig(bucket="k"))
    publisher = await AsyncPublisher(nc).start()
    header = {"Nats-Expected-Last-Subject-Sequence": "0"}
    first = await publisher.publish("$KV.k.key", b"1", header)
    second = await publisher.publish("$KV.k.key", b"2", header)
    nowhere = await publisher.publish("no.stream.here", b"3")
    outcomes = await gather_acks([first, second, nowhere], timeout=5.0)
    await publisher.stop()
    await nc.close()
    assert outcomes[0].seq == 1
    assert isinstance(outcomes[1], PublishError) and outcomes[1].err_code == 10071
    assert isinstance(outcomes[2], PublishError)


@pytest.mark.parametrize("status", [503])
async def test_a_failing_delivery_is_retried_not_terminated(tmp_path, nats_url, status):
    """A target that fails once gets the event on the next attempt; nothing reaches the DLQ."""
    from aiohttp import web

    from hub import bus
    from hub.config import parse_config
    from hub.runtime import Hub
    from hub.testing import start_loopback_app

    calls: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        calls.append(request.headers["idempotency-key"])
        return web.Response(status=status if len(calls) == 1 else 201, headers={"Retry-After": "1"})

    app = web.Application()
    app.router.add_post("/events", handler)
    runner, base = await start_loopback_app(app)
    config = parse_config({
        "connectors": {"web": {"type": "http.post", "url": f"{base}/events",
                               "retry": {"in_process_attempts": 1, "backoff": [0.5]}}},
        "routes": [{"name": "all", "match": "*", "targets": ["web"]}],
        "status": {"enabled": False},
    }, tmp_path / "hub.toml")
    hub = Hub(config, data_dir=tmp_path / "data", nats_url=nats_url)
    await hub.start()
    try:
        from canonical.examples import example_event
        from hub.ingest import publish_events

        await publish_events(hub.bus, [example_event("stock.adjusted")], partitions=4, connector="test")
        deadline = time.monotonic() + 15
        while len(calls) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        dlq_depth = (await hub.bus.js.stream_info(bus.DLQ)).state.messages
    finally:
        await hub.stop()
        await runner.cleanup()
    assert len(calls) == 2 and calls[0] == calls[1]
    assert dlq_depth == 0

"""Baseline 2: the same two hops with FastStream's default per-message subscribers.

The stage subscriber takes one validated event (a pydantic-typed argument), publishes one result to the
OUT stream with a Nats-Msg-Id and awaits its PubAck; FastStream acks the input when the handler returns.
A second subscriber acks what arrives on OUT. The streams are made up front with file storage.
"""

from __future__ import annotations

import asyncio
import time

import nats
from faststream.nats import JStream, NatsBroker
from nats.js import api

from bench.common import event_bodies, fresh_server, wait_until
from bench.raw_two_hop import AdjustmentEvent

IN, OUT = "FSIN", "FSOUT"


async def run(count: int) -> dict[str, float]:
    """Events per second through both hops, from the broker's start until the last event is handled."""
    with fresh_server() as server:
        await _prepare(server.url, event_bodies(count, prefix="F"))
        broker = NatsBroker(server.url, logger=None)
        finished = 0

        @broker.subscriber("fs.in", stream=JStream(IN, declare=False), durable="stage")
        async def stage(event: AdjustmentEvent) -> None:
            await broker.publish(event.model_dump_json().encode(), "fs.out", stream=OUT,
                                 headers={"Nats-Msg-Id": event.id})

        @broker.subscriber("fs.out", stream=JStream(OUT, declare=False), durable="final")
        async def final(body: dict) -> None:
            nonlocal finished
            finished += 1

        started = time.monotonic()
        await broker.start()
        try:
            done = await wait_until(lambda: finished >= count, timeout=max(60.0, count / 100),
                                    what=f"{count} events through FastStream")
        finally:
            await broker.stop()
    return {"faststream_per_message_events_per_s": count / (done - started)}


async def _prepare(url: str, bodies: list[bytes]) -> None:
    nc = await nats.connect(url, name="bench-faststream-preload")
    try:
        js = nc.jetstream()
        for name, subject in ((IN, "fs.in"), (OUT, "fs.out")):
            await js.add_stream(api.StreamConfig(name=name, subjects=[subject], storage=api.StorageType.FILE,
                                                 duplicate_window=120.0))
        for start in range(0, len(bodies), 1000):
            futures = [await js.publish_async("fs.in", body) for body in bodies[start:start + 1000]]
            await asyncio.gather(*futures)
    finally:
        await nc.close()

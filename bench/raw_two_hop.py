"""Baseline 1: the hub's two hops written as carefully as a plain nats-py program can.

IN stream -> stage (batch pull, pydantic validation, one result per event published pipelined to the
OUT stream with a Nats-Msg-Id, one ack for the whole batch once every PubAck is in) -> OUT stream ->
final consumer (batch pull, one ack per batch). Both consumers use AckPolicy.ALL. Pulls go through
one persistent inbox per consumer instead of nats-py's `fetch()`, whose cost is per message.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import nats
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import api
from pydantic import BaseModel, ConfigDict

from bench.common import event_bodies, fresh_server
from canonical.events import StockAdjusted

BATCH = 500
IN, OUT = "RAWIN", "RAWOUT"


class AdjustmentEvent(BaseModel):
    """The same event the hub reads, validated by one pydantic model (envelope and data together)."""

    model_config = ConfigDict(extra="forbid")

    specversion: str
    id: str
    type: str
    source: str
    time: datetime
    subject: str
    schema_version: int
    idempotency_key: str
    data: StockAdjusted


class BatchPuller:
    """Pull requests of up to `BATCH` messages answered into one subscription that lives as long as this."""

    def __init__(self, nc: Client, stream: str, consumer: str) -> None:
        self._nc = nc
        self._api = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._inbox = nc.new_inbox()
        self._msgs: list[Msg] = []
        self._want = 0
        self._done = asyncio.Event()

    async def start(self) -> BatchPuller:
        await self._nc.subscribe(self._inbox, cb=self._on_msg, pending_msgs_limit=-1, pending_bytes_limit=-1)
        return self

    async def fetch(self, expires: float = 0.05) -> list[Msg]:
        self._msgs, self._want = [], BATCH
        self._done.clear()
        await self._nc.publish(self._api, orjson.dumps({"batch": BATCH, "expires": int(expires * 1e9)}),
                               reply=self._inbox)
        await self._done.wait()
        return self._msgs

    async def _on_msg(self, msg: Msg) -> None:
        if msg.headers and "Status" in msg.headers and not msg.data:
            self._done.set()  # 408 / 404: this request is over with what it brought
            return
        self._msgs.append(msg)
        if len(self._msgs) >= self._want:
            self._done.set()


async def run(count: int) -> dict[str, float]:
    """Events per second through both hops, from the consumers' start until the last event is acked."""
    with fresh_server() as server:
        nc = await nats.connect(server.url, name="bench-raw")
        try:
            js = nc.jetstream()
            for name, subject in ((IN, "raw.in"), (OUT, "raw.out")):
                await js.add_stream(api.StreamConfig(name=name, subjects=[subject], storage=api.StorageType.FILE,
                                                     duplicate_window=120.0))
                await js.add_consumer(name, api.ConsumerConfig(durable_name=f"{name}-c", ack_policy=api.AckPolicy.ALL,
                                                               max_ack_pending=4 * BATCH))
            await _preload(js, event_bodies(count, prefix="R"))
            stage = await BatchPuller(nc, IN, f"{IN}-c").start()
            final = await BatchPuller(nc, OUT, f"{OUT}-c").start()
            started, cpu = time.monotonic(), time.process_time()
            await asyncio.gather(_stage(nc, js, stage, count), _final(nc, final, count))
            elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
        finally:
            await nc.close()
    return {"raw_two_hop_events_per_s": count / elapsed, "raw_two_hop_cpu_us_per_event": cpu / count * 1e6}


async def _preload(js, bodies: list[bytes]) -> None:
    for start in range(0, len(bodies), 1000):
        futures = [await js.publish_async("raw.in", body) for body in bodies[start:start + 1000]]
        await asyncio.gather(*futures)


async def _stage(nc: Client, js, puller: BatchPuller, count: int) -> None:
    done = 0
    while done < count:
        msgs = await puller.fetch()
        if not msgs:
            continue
        futures = []
        for msg in msgs:
            event = AdjustmentEvent.model_validate_json(msg.data)
            futures.append(await js.publish_async("raw.out", event.model_dump_json().encode(),
                                                  headers={"Nats-Msg-Id": event.id}))
        await asyncio.wait_for(asyncio.gather(*futures), timeout=10.0)
        await nc.publish(msgs[-1].reply, b"")  # AckPolicy.ALL: acks the whole batch, after its outputs are stored
        done += len(msgs)


async def _final(nc: Client, puller: BatchPuller, count: int) -> None:
    done = 0
    while done < count:
        msgs = await puller.fetch()
        if msgs:
            await nc.publish(msgs[-1].reply, b"")
            done += len(msgs)

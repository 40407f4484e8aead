"""Scale out: the drain rate of pre-loaded events with one `hub up` worker process, then with two, against
one nats-server. On this 2-core machine the workers share the cores with the server and each other.

The workers start on empty streams and settle their partition leases; the pipeline consumers are
paused while the events are loaded and resumed together, so the clock runs only while the workers
drain: from the resume until the null sink's consumer has acked every delivery.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nats.js.errors import NotFoundError

from bench.common import event_bodies, fresh_server
from bench.hub_pipeline import CONFIG_TOML, SINK, hub_config, preload
from hub import bus
from hub.delivery import consumer_name as delivery_consumer
from hub.pipeline import consumer_name as pipeline_consumer
from hub.testing import HubProcess

PARTITIONS = hub_config().hub.partitions


async def run(count: int, worker_counts: tuple[int, ...] = (1, 2)) -> dict[str, float]:
    results: dict[str, float] = {}
    for workers in worker_counts:
        results[f"scale_{workers}_worker_events_per_s"] = await drain_rate(workers, count)
    if 1 in worker_counts and 2 in worker_counts:
        results["scale_2_vs_1"] = results["scale_2_worker_events_per_s"] / results["scale_1_worker_events_per_s"]
    return results


async def drain_rate(workers: int, count: int) -> float:
    with fresh_server() as server, tempfile.TemporaryDirectory(prefix="hub-bench-scale-") as tmp:
        config = Path(tmp) / "hub.toml"
        config.write_text(CONFIG_TOML)
        procs = [HubProcess(config, nats_url=server.url, data_dir=Path(tmp) / f"w{i}") for i in range(workers)]
        b = await bus.connect(server.url, name="bench-scale")
        try:
            for proc in procs:
                await asyncio.to_thread(proc.start)
            await _until_leases_settle(b, workers)
            consumers = [pipeline_consumer(p) for p in range(PARTITIONS)]
            until = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            for name in consumers:
                await b.js.pause_consumer(bus.EVENTS, name, until)
            await preload(server.url, event_bodies(count, prefix=f"S{workers}"), PARTITIONS)
            started = time.monotonic()
            for name in consumers:
                await b.js.resume_consumer(bus.EVENTS, name)
            finished = await _until_delivered(b, count)
        finally:
            await b.close()
            for proc in procs:
                await asyncio.to_thread(proc.stop)
    return count / (finished - started)


async def _until_leases_settle(b: bus.Bus, workers: int) -> None:
    """Every partition owned, by `workers` distinct workers (a newcomer takes its share within seconds)."""
    kv = await b.kv(bus.KV_LEASES)
    owners: dict[int, bytes] = {}

    async def poll() -> None:
        while True:
            owners.clear()
            for partition in range(PARTITIONS):
                try:
                    owners[partition] = (await kv.get(f"partition.{partition}")).value or b""
                except NotFoundError:  # not claimed yet, or just released
                    break
            if len(owners) == PARTITIONS and len(set(owners.values())) == workers:
                return
            await asyncio.sleep(0.2)

    await asyncio.wait_for(poll(), timeout=60.0)


async def _until_delivered(b: bus.Bus, count: int) -> float:
    """The time the null sink's consumer has acked all `count` deliveries (one per event)."""
    deadline = time.monotonic() + max(120.0, count / 200)
    while True:
        info = await b.js.consumer_info(bus.OUTBOX, delivery_consumer(SINK))
        if info.ack_floor and info.ack_floor.stream_seq >= count:
            return time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"benchmark gave up waiting for {count} deliveries by the workers")
        await asyncio.sleep(0.05)

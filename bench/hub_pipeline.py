"""The hub's own pipeline, measured as it runs: validation, dedupe, upcasting, the built-in hooks with their
AUDIT records, a route, and delivery to a `null` sink that writes nowhere.

Two measures: the drain rate of pre-loaded events (ingress to delivery, events per second) and the
ingress-to-delivery latency at a fixed offered load.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

from bench.common import event_bodies, fresh_server, use_uvloop, wait_until
from canonical import parse_event, upcast
from hub import bus
from hub.config import HubConfig, parse_config
from hub.hooks import auditlog, build_hook_stage
from hub.hooks.registry import BUILTIN
from hub.ingest import publish_events
from hub.runtime import Hub, settle_heap

SINK = "null"
_PRELOAD_CHUNK = 1_000


# The worker's config: one route sending every event to the null sink; every built-in hook on, recording only.
CONFIG_TOML = f"""
[hub]
name = "bench"
partitions = 4

[status]
enabled = false

[connectors.{SINK}]
type = "null"
batch_size = 256

[[routes]]
name = "everything-to-null"
match = "*"
targets = ["{SINK}"]

[hooks]
enabled = {sorted(BUILTIN)!r}

[hooks.policy]
version = "bench"
default = "shadow"
""".replace("'", '"')


def hub_config(*, record_arrivals: int = 0, hooks: bool = True) -> HubConfig:
    raw = tomllib.loads(CONFIG_TOML)
    raw["connectors"][SINK]["record_arrivals"] = record_arrivals
    if not hooks:
        del raw["hooks"]
    return parse_config(raw)


async def preload(url: str, bodies: list[bytes], partitions: int) -> None:
    """Store events in EVENTS through the ingest path (`publish_events`), before any hub worker runs."""
    b = await bus.connect(url, name="bench-preload")
    try:
        await b.declare()
        events = [parse_event(body) for body in bodies]
        for start in range(0, len(events), _PRELOAD_CHUNK):
            await publish_events(b, events[start:start + _PRELOAD_CHUNK], partitions=partitions, connector="bench")
    finally:
        await b.close()


async def throughput(count: int, hooks: bool = True) -> dict[str, float]:
    """Events per second from the start of a hub worker until the null sink has all `count` pre-loaded events.

    `hooks=False` runs the same pipeline without the hook stage, to show what the hooks cost.
    """
    config = hub_config(hooks=hooks)
    with fresh_server() as server, tempfile.TemporaryDirectory(prefix="hub-bench-data-") as data:
        await preload(server.url, event_bodies(count), config.hub.partitions)
        hub = Hub(config, data_dir=Path(data), nats_url=server.url)
        await hub.start()
        settle_heap()  # what `hub up` does once its worker has started
        try:
            sink = _sink(hub)
            started, cpu, before = time.monotonic(), time.process_time(), sink.delivered
            finished = await wait_until(lambda: sink.delivered >= count, timeout=max(60.0, count / 500),
                                        what=f"{count} deliveries to the null sink")
            cpu = time.process_time() - cpu
            messages = (await hub.bus.js.stream_info(bus.AUDIT)).state.messages
            records = len(await auditlog.latest(hub.bus.js, last=sys.maxsize))  # a message holds a run of records
        finally:
            await hub.stop()
    return {"pipeline_events_per_s": (count - before) / (finished - started),
            "pipeline_cpu_us_per_event": cpu / (count - before) * 1e6,
            "pipeline_audit_records_per_event": records / count,
            "pipeline_audit_records_per_message": records / messages if messages else 0.0}


async def latency(rate: float, seconds: float, warmup: float = 1.0) -> dict[str, float]:
    """Ingress-to-delivery latency (ms) at `rate` events per second offered by an inbound source in the worker.

    The source publishes a small batch every tick through `publish_events`, as a connector's
    `ctx.ingest` does, and notes the time; the null sink notes each event's arrival.
    """
    count = int(rate * (seconds + warmup))
    config = hub_config(record_arrivals=count)
    events = [parse_event(body) for body in event_bodies(count, prefix="L")]
    tick = 0.01
    per_tick = max(1, round(rate * tick))
    sent: dict[str, float] = {}
    with fresh_server() as server, tempfile.TemporaryDirectory(prefix="hub-bench-data-") as data:
        hub = Hub(config, data_dir=Path(data), nats_url=server.url)
        await hub.start()
        settle_heap()  # what `hub up` does once its worker has started
        try:
            assert hub.bus is not None
            sink = _sink(hub)
            began, cpu = time.monotonic(), time.process_time()
            for n, start in enumerate(range(0, count, per_tick)):
                await asyncio.sleep(max(0.0, began + n * tick - time.monotonic()))
                chunk = events[start:start + per_tick]
                now = time.time()
                sent.update((event.id, now) for event in chunk)
                await publish_events(hub.bus, chunk, partitions=config.hub.partitions, connector="bench")
            offered = count / (time.monotonic() - began)
            await wait_until(lambda: sink.delivered >= count, timeout=60.0, what=f"{count} deliveries")
            cpu = time.process_time() - cpu
        finally:
            await hub.stop()
    skip = int(rate * warmup)
    latencies = sorted((arrived - sent[event_id]) * 1000 for event_id, arrived in list(sink.arrivals)[skip:])
    return {"p50_ms": _quantile(latencies, 0.50), "p99_ms": _quantile(latencies, 0.99),
            "latency_offered_events_per_s": offered, "latency_cpu_us_per_event": cpu / count * 1e6}


def _quantile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def _sink(hub: Hub) -> Any:
    assert hub.instances is not None
    return hub.instances.instances[SINK].connector


def stage_alone(count: int) -> dict[str, float]:
    """CPU per event of the worker's hook stage alone over the drain's events, with the enriched event's
    serialisation: what the hooks cost without NATS, to hold against the drain with and without hooks."""
    events = [upcast(parse_event(body)) for body in event_bodies(count)]
    stage = build_hook_stage(tomllib.loads(CONFIG_TOML)["hooks"])
    settle_heap()
    cpu = time.process_time()
    for event in events:
        stage.process(event).event.model_dump_json()
    return {"stage_cpu_us_per_event": (time.process_time() - cpu) / count * 1e6}


def main(argv: list[str]) -> None:
    """`python -m bench.hub_pipeline [EVENTS] [--no-hooks | --stage-only]`: one drain run (e.g. under
    `py-spy record`), or the hook stage alone over the same events."""
    use_uvloop()
    count = int(next((a for a in argv if a.isdigit()), "30000"))
    if "--stage-only" in argv:
        print(stage_alone(count))
        return
    print(asyncio.run(throughput(count, hooks="--no-hooks" not in argv)))


if __name__ == "__main__":
    main(sys.argv[1:])

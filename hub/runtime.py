"""`hub up`: the embedded or external NATS, the streams and buckets, connectors, pipeline and delivery.

On SIGINT / SIGTERM the hub drains: sources stop taking new input, the pipeline finishes and acks
the batches in hand, deliverers finish theirs, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from hub import bus
from hub.config import HubConfig
from hub.hooks import build_hook_stage
from hub.instances import InstanceManager
from hub.metrics import Metrics
from hub.natsserver import NatsServer, write_url
from hub.pipeline import Pipeline
from hub.router import Router
from hub.schemas import SchemaMonitor
from hub.secrets import reveal

log = logging.getLogger("hub")


class Hub:
    """One hub worker. Several of them against one NATS share the work."""

    def __init__(self, config: HubConfig, *, data_dir: Path | None = None, nats_url: str | None = None) -> None:
        self.config = config
        self.data_dir = data_dir or config.data_dir()
        self.nats_url = config.nats_url(nats_url)
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.metrics = Metrics()
        self.server: NatsServer | None = None
        self.bus: bus.Bus | None = None
        self.instances: InstanceManager | None = None
        self.pipeline: Pipeline | None = None
        self.started_at = time.time()
        self._status_task: asyncio.Task | None = None
        self._extras: list[Any] = []
        self.schemas: SchemaMonitor | None = None

    async def start(self) -> None:
        url = self.nats_url
        if not url:
            self.server = NatsServer(store_dir=self.data_dir / "nats", port=self.config.nats.port)
            await asyncio.to_thread(self.server.start)
            url = self.server.url
            write_url(self.data_dir, url)
            log.info("embedded nats-server on %s (storage %s)", url, self.server.store_dir)
        nats_cfg = self.config.nats
        self.bus = await bus.connect(url, name=f"hub-{self.worker_id}", user=nats_cfg.user,
                                     password=reveal(nats_cfg.password), token=reveal(nats_cfg.token),
                                     replicas=nats_cfg.replicas)
        await self.bus.declare(self.config.hub.dedupe_hours)
        self.instances = InstanceManager(self.bus, self.config, self.metrics, self.data_dir)
        hooks = build_hook_stage(self.config.hooks)
        await hooks.start(bus.KvState(await self.bus.kv(bus.KV_STATE), "hooks"))
        router = Router.from_config(self.config, self.instances.targets_for_role)
        # Registers the code's schemas (refusing incompatible ones), restores usage counts, flushes them.
        self.schemas = SchemaMonitor(await self.bus.kv(bus.KV_SCHEMAS), flush_seconds=5.0)
        await self.schemas.start()
        self.pipeline = Pipeline(self.bus, router, partitions=self.config.hub.partitions,
                                 batch_size=self.config.hub.batch_size, hooks=hooks, metrics=self.metrics,
                                 observers=[self.schemas.observe_event])
        await self.instances.start()
        await self.pipeline.start(self.worker_id)
        self._status_task = asyncio.create_task(self._publish_status(), name="worker-status")
        log.info("hub %s up: worker %s, %d connector(s), partitions %s", self.config.hub.name, self.worker_id,
                 len(self.instances.instances), sorted(self.pipeline.owned))

    async def stop(self) -> None:
        """Drain: stop intake, finish and ack what is in hand, then close."""
        if self._status_task:
            self._status_task.cancel()
        try:
            if self.instances:
                await self.instances.stop_sources()
            if self.pipeline:
                await self.pipeline.stop()
                await self.pipeline.hooks.stop()
            if self.schemas:
                await self.schemas.stop()
            if self.instances:
                await self.instances.stop()
            await self._clear_status()
        finally:
            if self.bus:
                await self.bus.close()
            if self.server:
                await asyncio.to_thread(self.server.stop)

    def status(self) -> dict[str, Any]:
        return {
            "worker": self.worker_id,
            "hub": self.config.hub.name,
            "pid": os.getpid(),
            "started_at": self.started_at,
            "updated_at": time.time(),
            "partitions": sorted(self.pipeline.owned) if self.pipeline else [],
            "connectors": self.instances.statuses() if self.instances else [],
            "counters": {name: sum(series.values()) for name, series in self.metrics.counters.items()},
        }

    async def _publish_status(self) -> None:
        assert self.bus is not None
        kv = await self.bus.kv(bus.KV_STATE)
        while True:
            try:
                await kv.put(f"worker.{self.worker_id}", orjson.dumps(self.status()))
            except Exception as exc:  # noqa: BLE001 - a status write may fail during a NATS failover
                log.debug("status not written: %s", exc)
            await asyncio.sleep(2.0)

    async def _clear_status(self) -> None:
        if self.bus and not self.bus.nc.is_closed:
            with contextlib.suppress(Exception):
                await (await self.bus.kv(bus.KV_STATE)).delete(f"worker.{self.worker_id}")


async def run_until_signalled(hub: Hub, ready: asyncio.Event | None = None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await hub.start()
    if ready:
        ready.set()
    print(f"hub up: worker {hub.worker_id}; Ctrl-C to stop", flush=True)
    await stop.wait()
    log.info("signal received: draining")
    await asyncio.wait_for(hub.stop(), timeout=hub.config.hub.drain_seconds + 15)
    log.info("hub stopped")

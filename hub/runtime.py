"""`hub up`: the embedded or external NATS, the streams and buckets, connectors, pipeline and delivery.

On SIGINT / SIGTERM the hub drains: sources stop taking new input, the pipeline finishes and acks
the batches in hand, deliverers finish theirs, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from hub import bus, otel
from hub.config import HubConfig
from hub.hooks import build_hook_stage
from hub.instances import InstanceManager
from hub.kpis import ExceptionTracker, SourceLag
from hub.metrics import Metrics
from hub.natsserver import NatsServer, write_url
from hub.pipeline import Observer, Pipeline
from hub.reconcile import Reconciler, settings_from, system_resolver
from hub.router import Router
from hub.schemas import SchemaMonitor
from hub.secrets import client_options, server_auth, server_tls
from hub.web import StatusServer

log = logging.getLogger("hub")
_BEAT_SECONDS = 2.0
_SNAPSHOT_EVERY_BEATS = 15


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
        self.ready = False
        self.exceptions = ExceptionTracker(self.metrics)
        self.reconciler: Reconciler | None = None
        self.schemas: SchemaMonitor | None = None
        self.web: StatusServer | None = None
        self.status_url: str | None = None

    async def start(self) -> None:
        otel.start(self.config.tracing, default_service=self.config.hub.name)  # nothing when exporter = "none"
        if self.config.status.enabled:  # refuses a binding beyond loopback without a token, before anything starts
            self.web = StatusServer(self, self.config.status, self.data_dir)
        url = self.nats_url
        if not url:
            nats_cfg = self.config.nats
            self.server = NatsServer(store_dir=self.data_dir / "nats", port=nats_cfg.port,
                                     auth=server_auth(nats_cfg), tls=server_tls(nats_cfg, self.config.base_dir))
            await asyncio.to_thread(self.server.start)
            url = self.server.url
            write_url(self.data_dir, url)
            log.info("embedded nats-server on %s (storage %s)", url, self.server.store_dir)
        self.bus = await bus.connect(url, name=f"hub-{self.worker_id}", replicas=self.config.nats.replicas,
                                     **client_options(self.config.nats, self.config.base_dir))
        await self.bus.declare(self.config.hub.dedupe_hours)
        self.instances = InstanceManager(self.bus, self.config, self.metrics, self.data_dir)
        if self.web:
            self.status_url = await self.web.start()
        hooks = build_hook_stage(self.config.hooks, metrics=self.metrics)
        await hooks.start(bus.KvState(await self.bus.kv(bus.KV_STATE), "hooks"))
        router = Router.from_config(self.config, self.instances.targets_for_role)
        self.pipeline = Pipeline(self.bus, router, partitions=self.config.hub.partitions,
                                 batch_size=self.config.hub.batch_size, hooks=hooks, metrics=self.metrics,
                                 observers=await self._observers())
        await self.instances.start()
        await self.pipeline.start(self.worker_id)
        self._status_task = asyncio.create_task(self._publish_status(), name="worker-status")
        self.ready = True
        log.info("hub %s up: worker %s, %d connector(s), partitions %s", self.config.hub.name, self.worker_id,
                 len(self.instances.instances), sorted(self.pipeline.owned))

    async def stop(self) -> None:
        """Drain: stop intake, finish and ack what is in hand, then close."""
        self.ready = False
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
            if self.reconciler:
                await self.reconciler.stop()
            if self.instances:
                await self.instances.stop()
            await self._clear_status()
        finally:
            if self.web:
                await self.web.stop()
            if self.bus:
                await self.bus.close()
            if self.server:
                await asyncio.to_thread(self.server.stop)
            if self.config.tracing.exporter != "none":
                # Sending the last spans may wait on the exporter; tracing is per process, so a hub
                # that never switched it on leaves it alone.
                await asyncio.to_thread(otel.stop)

    def status(self) -> dict[str, Any]:
        return {
            "worker": self.worker_id,
            "hub": self.config.hub.name,
            "pid": os.getpid(),
            "started_at": self.started_at,
            "updated_at": time.time(),
            "partitions": sorted(self.pipeline.owned) if self.pipeline else [],
            "status_url": self.status_url,
            "connectors": self.instances.statuses() if self.instances else [],
            "counters": {name: sum(series.values()) for name, series in self.metrics.counters.items()},
        }

    async def _observers(self) -> list[Observer]:
        """The pipeline's KPI and reconciliation observers."""
        assert self.bus is not None
        settings = settings_from(self.config)
        self.reconciler = Reconciler(await self.bus.kv(bus.KV_STATE),
                                     system_resolver(self._connector_type, settings.systems), settings)
        await self.reconciler.start()
        # Registers the code's schemas (refusing incompatible ones), restores usage counts, flushes them.
        self.schemas = SchemaMonitor(await self.bus.kv(bus.KV_SCHEMAS), flush_seconds=5.0)
        await self.schemas.start()
        return [self.schemas.observe_event, self.exceptions.observe, SourceLag(self.metrics).observe,
                self.reconciler.observe]

    def _connector_type(self, name: str) -> str | None:
        instance = self.instances.instances.get(name) if self.instances else None
        return instance.connector.type_name if instance else None

    async def _publish_status(self) -> None:
        assert self.bus is not None
        kv = await self.bus.kv(bus.KV_STATE)
        beats = 0
        while True:
            try:
                await kv.put(f"worker.{self.worker_id}", orjson.dumps(self.status()))
                beats += 1
                if beats % _SNAPSHOT_EVERY_BEATS == 0 and self.pipeline:
                    await self.pipeline.hooks.snapshot()  # hook state survives a crash, not only a clean stop
            except Exception as exc:  # noqa: BLE001 - a write may fail during a NATS failover; next beat retries
                log.warning("worker status or hook snapshot not written: %s", exc)
            await asyncio.sleep(_BEAT_SECONDS)

    async def _clear_status(self) -> None:
        if self.bus and not self.bus.nc.is_closed:
            with contextlib.suppress(Exception):
                await (await self.bus.kv(bus.KV_STATE)).delete(f"worker.{self.worker_id}")


# A worker allocates (and frees) a few hundred objects per event; with the default first threshold
# of 700 the collector ran several times per batch, about 13 us of CPU per event while draining.
# Cycles are rare on the hot path, so collecting ten times less often costs little memory.
_GC_THRESHOLDS = (10_000, 20, 20)


def settle_heap() -> None:
    """Freeze what the started worker holds and collect less often: what `hub up` does in its process.

    What exists now (config, models, connectors, restored hook state) lives as long as the worker.
    Frozen, it is no longer walked by every full collection, which otherwise stalls the event loop
    for tens of milliseconds at a time and sets the latency tail. Done in the worker process, not in
    the library, so a program embedding a Hub keeps its own collector settings.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLDS)


async def run_until_signalled(hub: Hub, ready: asyncio.Event | None = None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await hub.start()
    settle_heap()
    if ready:
        ready.set()
    if hub.status_url:
        print(f"status page: {hub.status_url}", flush=True)
    print(f"hub up: worker {hub.worker_id}; Ctrl-C to stop", flush=True)
    await stop.wait()
    log.info("signal received: draining")
    try:
        await asyncio.wait_for(hub.stop(), timeout=hub.config.hub.drain_seconds + 15)
    except TimeoutError:
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task() and not task.get_name().startswith("Task-"):
                frames = " <- ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in task.get_stack(limit=6))
                log.error("drain did not finish in time; still running %s at %s", task.get_name(), frames)
        raise
    log.info("hub stopped")

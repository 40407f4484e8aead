"""The schema registry's part in a running hub: register the code's schemas, watch versions, flush counts."""

from __future__ import annotations

import asyncio
import logging

from nats.js.kv import KeyValue

from canonical import Envelope
from hub.schemas.deprecation import deprecation_task
from hub.schemas.registry import register_builtin
from hub.schemas.usage import SchemaUsage

log = logging.getLogger("hub.schemas")


class SchemaMonitor:
    """Started by `hub up`; its `observe_event` is a pipeline observer."""

    def __init__(self, kv: KeyValue, *, flush_seconds: float = 5.0, usage: SchemaUsage | None = None) -> None:
        self.kv = kv
        self.flush_seconds = flush_seconds
        self.usage = usage or SchemaUsage()
        self._flusher: asyncio.Task | None = None

    async def start(self) -> list[str]:
        """Register the code's schemas (SchemaCompatibilityError stops the hub), load deprecations, start flushing."""
        written = await register_builtin(self.kv)
        if written:
            log.info("registered %d schema version(s): %s", len(written), ", ".join(written))
        await self.usage.load(self.kv)
        self._flusher = asyncio.create_task(self._flush_forever(), name="schema-usage-flush")
        return written

    def observe_event(self, source: str, event: Envelope, sent_version: int | None = None) -> list[Envelope]:
        """Count the event under the version its source sent; the deprecation task when one is due.

        Pass `sent_version` when `event` was already upcast. Two workers raising the same task give
        two events with one idempotency key: the pipeline's idempotent consumer keeps one.
        """
        version = sent_version or event.schema_version
        if self.usage.observe(source, event.type, version):
            log.warning("%s sends %s v%s, which is deprecated: raising a task", source, event.type, version)
            return [deprecation_task(source, event.type, version, event)]
        return []

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
            self._flusher = None
        await self.usage.flush(self.kv)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            try:
                await self.usage.flush(self.kv)
            except Exception as exc:  # noqa: BLE001 - NATS may be failing over; the counts wait for the next flush
                log.warning("schema usage not flushed: %s", exc)

"""Ingest: validated canonical events into EVENTS, raw payloads into RAW, the rest into the DLQ.

This is the connector context the hub hands each connector instance.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nats.errors import MaxPayloadError
from nats.js.errors import KeyWrongLastSequenceError

from canonical import Envelope, EventError, parse_event
from hub import bus, dlq, otel
from hub.metrics import Metrics
from hub.sdk import IngestResult
from hub.tracing import ensure_trace

log = logging.getLogger("hub.ingest")
_CLAIM_PREFIX = "once"


async def publish_events(b: bus.Bus, events: Sequence[Envelope], *, partitions: int, connector: str,
                         raw_ref: str | None = None) -> tuple[int, int]:
    """Store events in EVENTS with their idempotency key as Nats-Msg-Id; returns (stored, duplicates)."""
    futures = []
    now = f"{time.time():.6f}"
    for event in events:
        headers = event.nats_headers()
        headers["Nats-Msg-Id"] = event.idempotency_key
        headers["hub-connector"] = connector
        headers["hub-ingress-ts"] = now
        if raw_ref:
            headers["hub-raw"] = raw_ref
        subject = bus.events_subject(event.type, event.schema_version, event.subject, partitions)
        futures.append(await b.js.publish_async(subject, event.model_dump_json().encode(), headers=headers))
    acks = await asyncio.wait_for(asyncio.gather(*futures), timeout=30.0)
    duplicates = sum(1 for a in acks if a.duplicate)
    return len(acks) - duplicates, duplicates


class IngestContext:
    """The ConnectorContext of one connector instance (see hub.sdk.ConnectorContext)."""

    def __init__(self, name: str, b: bus.Bus, state: bus.KvState, *, partitions: int, base_dir: Path,
                 data_dir: Path, metrics: Metrics) -> None:
        self.name = name
        self.log = logging.LoggerAdapter(logging.getLogger(f"hub.connector.{name}"), {"connector": name})
        self.state = state
        self.base_dir = base_dir
        self.data_dir = data_dir
        self._bus = b
        self._partitions = partitions
        self._metrics = metrics

    async def ingest(self, events: Sequence[Envelope | dict[str, Any]], *, raw: bytes | None = None,
                     origin: str = "") -> IngestResult:
        result = IngestResult()
        raw_ref = await self._keep_raw(raw, origin) if raw else None
        valid: list[Envelope] = []
        for index, item in enumerate(events):
            try:
                # A trace starts here when the source sent none, so every hop after can be followed.
                valid.append(ensure_trace(item if isinstance(item, Envelope) else parse_event(item)))
            except EventError as exc:
                where = f"{origin}[{index}]" if origin else f"event {index}"
                body = raw if raw is not None and len(events) == 1 else _dump(item)
                await self.dead_letter(raw=body, reason=f"{where}: {exc}", error_class=exc.error_class, origin=origin)
                result.dead_lettered += 1
                result.errors.append(f"{where}: {exc}")
        if valid:
            began = time.time_ns()
            try:
                result.stored, result.duplicates = await publish_events(
                    self._bus, valid, partitions=self._partitions, connector=self.name, raw_ref=raw_ref)
            except MaxPayloadError:
                # Rare, so only checked when it happens: dead-letter the events too big for one NATS
                # message and store the rest (any already sent are dropped by the Nats-Msg-Id window).
                valid = await self._refuse_oversize(valid, origin, result)
                result.stored, result.duplicates = await publish_events(
                    self._bus, valid, partitions=self._partitions, connector=self.name, raw_ref=raw_ref)
            if otel.spans is not None:
                for event in valid:
                    otel.spans.record("ingest", event.trace, began, {
                        "hub.event.id": event.id, "hub.event.type": event.type, "hub.connector": self.name})
        self._metrics.inc("hub_ingested_events_total", result.stored, connector=self.name)
        return result

    async def _refuse_oversize(self, events: list[Envelope], origin: str, result: IngestResult) -> list[Envelope]:
        limit = self._bus.nc.max_payload - 4096
        fitting = []
        for event in events:
            body = event.model_dump_json().encode()
            if len(body) <= limit:
                fitting.append(event)
                continue
            reason = (f"{origin or 'event'} {event.id}: {len(body)} bytes is over the largest message the NATS "
                      f"server takes ({limit} bytes)")
            await self.dead_letter(raw=body, reason=reason, error_class="permanent", origin=origin)
            result.dead_lettered += 1
            result.errors.append(reason)
        return fitting

    async def dead_letter(self, *, raw: bytes, reason: str, error_class: str, origin: str = "",
                          headers: dict[str, str] | None = None) -> str:
        letter = dlq.DeadLetter.of(stage="ingest", raw=raw, error_class=error_class, error=reason,
                                   headers=headers, connector=self.name, origin=origin)
        await dlq.store(self._bus.js, letter)
        self._metrics.inc("hub_dead_letters_total", connector=self.name, stage="ingest")
        self.log.warning("dead-lettered inbound payload %s: %s", origin or letter.id, reason)
        return letter.id

    def count(self, metric: str, amount: float = 1, **labels: str) -> None:
        self._metrics.inc(f"hub_{metric}", amount, connector=self.name, **labels)

    async def claim_once(self, key: str) -> bool:
        kv = await self._bus.kv(bus.KV_DEDUPE)
        try:
            await kv.create(self._claim_key(key), str(int(time.time())).encode())
        except KeyWrongLastSequenceError:
            return False
        return True

    async def release_claim(self, key: str) -> None:
        await (await self._bus.kv(bus.KV_DEDUPE)).delete(self._claim_key(key))

    async def claim_ttl_seconds(self) -> float:
        ttl = (await (await self._bus.kv(bus.KV_DEDUPE)).status()).ttl
        return ttl or math.inf  # a bucket without a TTL (max_age 0) keeps its marks for ever

    def _claim_key(self, key: str) -> str:
        # The pipeline's idempotency marks are bare hex (bus.kv_key), so a dotted key never meets one;
        # the instance name keeps two connectors' marks of the same key apart.
        return f"{_CLAIM_PREFIX}.{self.name}.{key}"

    async def _keep_raw(self, raw: bytes, origin: str) -> str | None:
        digest = hashlib.sha256(raw).hexdigest()
        limit = self._bus.nc.max_payload - 4096  # room for the headers
        if len(raw) > limit:
            # Too big for one NATS message: the events still flow, only this payload's lineage copy is lost.
            self.log.warning("raw payload %s not kept in RAW: %d bytes is over the server's limit of %d",
                             origin or digest[:12], len(raw), limit)
            return None
        await self._bus.js.publish(f"raw.{self.name}", raw, stream=bus.RAW,
                                   headers={"Nats-Msg-Id": digest, "hub-origin": origin[:200]})
        return digest


def _dump(item: Any) -> bytes:
    if isinstance(item, Envelope):
        return item.model_dump_json().encode()
    try:
        import orjson

        return orjson.dumps(item)
    except TypeError:
        return repr(item).encode()

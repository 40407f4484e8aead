"""The pipeline: EVENTS -> validate -> upcast -> idempotent consumer -> hooks -> router -> OUTBOX.

One sequential reader per owned partition keeps per-item order. A batch is processed in three
steps, each pipelined on the connection: mark idempotency keys in `hub_dedupe`, publish every
output (deliveries, derived events, dead letters, and the batch's audit records in a few AUDIT
messages), then ack each input whose outputs were all stored. Nothing is acked before its
successors are durable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nats.aio.msg import Msg
from nats.js import api as js_api
from nats.js.errors import NotFoundError

from canonical import Envelope, EventError, parse_event, upcast
from hub import bus, dlq, otel
from hub.hooks import HookStage, NoHooks
from hub.hooks.audit import pack
from hub.leases import PartitionLeases
from hub.metrics import Metrics
from hub.publisher import AsyncPublisher, PublishError, gather_acks, outcome, settle
from hub.pull import PullReader, ack_all, deliveries, drained, nak, stream_seq
from hub.router import Router
from routes import Delivery, Derived

log = logging.getLogger("hub.pipeline")

_WRONG_LAST_SEQUENCE = 10071
_ACK_TIMEOUT = 10.0
# Called with (source connector, the event as its source sent it) for every accepted event;
# returns events to publish (a task for a person, say).
Observer = Callable[[str, Envelope], list[Envelope]]


def consumer_name(partition: int) -> str:
    return f"pipeline-p{partition}"


@dataclass
class _Input:
    msg: Msg
    futures: list[asyncio.Future] = field(default_factory=list)
    event: Envelope | None = None
    sent: Envelope | None = None  # as the source sent it, before upcasting: what version monitoring counts
    routes: int = 0  # routes that matched it
    outputs: int = 0  # deliveries and derived events the hooks and those routes made of it


class Pipeline:
    def __init__(self, b: bus.Bus, router: Router, *, partitions: int, batch_size: int = 256,
                 hooks: HookStage | None = None, metrics: Metrics | None = None,
                 observers: list[Observer] | None = None) -> None:
        self.bus = b
        self.router = router
        self.partitions = partitions
        self.batch_size = batch_size
        self.hooks = hooks or NoHooks()
        self.metrics = metrics or Metrics()
        self.observers = observers or []
        self._tasks: dict[int, asyncio.Task] = {}
        self._stopping = asyncio.Event()
        self._leases: PartitionLeases | None = None
        self._lease_task: asyncio.Task | None = None

    async def start(self, worker_id: str | None = None) -> None:
        self._publisher = await AsyncPublisher(self.bus.nc).start()
        for partition in range(self.partitions):
            await self._ensure_consumer(partition)
        self._leases = PartitionLeases(await self.bus.kv(bus.KV_LEASES), self.partitions, worker_id)
        await self._rebalance()
        self._lease_task = asyncio.create_task(self._keep_leases(), name="pipeline-leases")

    async def stop(self) -> None:
        """Finish the batches in hand, ack them, and give the partitions back."""
        self._stopping.set()
        if self._lease_task:
            self._lease_task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
        if self._leases:
            await self._leases.release_all()
        await self._publisher.stop()

    @property
    def owned(self) -> set[int]:
        return set(self._tasks)

    async def _ensure_consumer(self, partition: int) -> None:
        name = consumer_name(partition)
        try:
            await self.bus.js.consumer_info(bus.EVENTS, name)
        except NotFoundError:
            await self.bus.js.add_consumer(bus.EVENTS, js_api.ConsumerConfig(
                durable_name=name, filter_subject=f"inv.*.*.{partition}", ack_policy=js_api.AckPolicy.EXPLICIT,
                ack_wait=30.0, max_ack_pending=4 * self.batch_size, max_deliver=-1,
                num_replicas=self.bus.replicas))

    async def _keep_leases(self) -> None:
        while not self._stopping.is_set():
            await asyncio.sleep(3.0)
            try:
                await self._rebalance()
            except Exception as exc:  # noqa: BLE001 - NATS may be failing over; try again next tick
                log.warning("partition leases not refreshed: %s", exc)

    async def _rebalance(self) -> None:
        assert self._leases is not None
        held = await self._leases.refresh()
        for partition in [p for p, task in self._tasks.items() if task.done()]:
            del self._tasks[partition]
        for partition in held - set(self._tasks):
            self._tasks[partition] = asyncio.create_task(self._run(partition), name=f"pipeline-p{partition}")
        # A partition whose lease is gone is not cancelled: its reader sees that, drains and ends.

    async def _run(self, partition: int) -> None:
        reader = PullReader(self.bus.nc, bus.EVENTS, consumer_name(partition), batch=self.batch_size)
        await reader.start()

        async def handle(msgs: list[Msg]) -> None:
            try:
                await self.process(msgs)
            except Exception:  # noqa: BLE001 - unacked inputs come back after AckWait
                log.exception("pipeline batch failed on partition %d; it will be redelivered", partition)
                await asyncio.sleep(1.0)

        try:
            while not self._stopping.is_set() and partition in self._leases.held:
                msgs = await reader.next_batch(self.batch_size, wait=0.5)
                if msgs:
                    await handle(msgs)
            # Messages already on their way to this reader are processed now, not left for AckWait:
            # a redelivery half a minute later would overtake nothing but would arrive out of order.
            await drained(reader, self.bus.nc, handle, time.monotonic() + 5.0)
        finally:
            await reader.stop()

    async def process(self, msgs: list[Msg]) -> None:
        """Process one batch of EVENTS messages and ack each input whose outputs are stored."""
        started, began = time.monotonic(), time.time_ns()
        inputs = [await self._accept(msg) for msg in msgs]
        await self._drop_duplicates(inputs)
        audit: list[tuple[_Input, dict[str, Any]]] = []
        for item in inputs:
            if item.event is not None:
                audit.extend((item, record) for record in await self._route(item))
        await self._store_audit(audit)
        nc = self.bus.nc
        await settle([f for item in inputs for f in item.futures], _ACK_TIMEOUT)
        stored = []
        for item in inputs:
            failed = [problem for problem in map(_problem, item.futures) if problem]
            if failed:
                log.warning("outputs of %s not stored (%s); it will be redelivered", item.msg.subject, failed[0])
                await nak(nc, item.msg, delay=min(30.0, 2.0 ** deliveries(item.msg)))
            else:
                stored.append(item.msg)
            if otel.spans is not None and item.event is not None:
                # The whole batch is the event's time here: it is deduplicated, routed and acked with it.
                event = item.event
                otel.spans.record("pipeline", event.trace, began, {
                    "hub.event.id": event.id, "hub.event.type": event.type, "hub.event.subject": event.subject,
                    "hub.connector": _connector(item.msg), "hub.routes": item.routes,
                    "hub.outputs": item.outputs},
                    error=f"outputs not stored: {failed[0]}" if failed else None)
        await ack_all(nc, stored)
        self.metrics.observe("hub_pipeline_batch_seconds", time.monotonic() - started)

    async def _accept(self, msg: Msg) -> _Input:
        item = _Input(msg)
        try:
            item.sent = parse_event(msg.data)
            item.event = upcast(item.sent)
        except EventError as exc:
            await self._dead_letter(item, exc.error_class, str(exc))
        return item

    async def _drop_duplicates(self, inputs: list[_Input]) -> None:
        """Idempotent consumer: an idempotency key is taken by the first EVENTS message that carries it."""
        marks: list[tuple[_Input, str, asyncio.Future]] = []
        for item in inputs:
            if item.event is None:
                continue
            key = bus.kv_key(item.event.idempotency_key)
            future = await self._publisher.publish(f"$KV.{bus.KV_DEDUPE}.{key}", _holder(item.msg),
                                                   {"Nats-Expected-Last-Subject-Sequence": "0"})
            marks.append((item, key, future))
        outcomes = await gather_acks([future for _, _, future in marks], timeout=_ACK_TIMEOUT)
        kv = None
        for (item, key, _), answer in zip(marks, outcomes, strict=True):
            if not isinstance(answer, BaseException):
                continue
            if not (isinstance(answer, PublishError) and answer.err_code == _WRONG_LAST_SEQUENCE):
                raise answer
            kv = kv or await self.bus.kv(bus.KV_DEDUPE)
            holder = (await kv.get(key)).value
            if holder != _holder(item.msg):  # a redelivery of the same message goes on; a repeat stops here
                self.metrics.inc("hub_duplicates_dropped_total", connector=_connector(item.msg))
                item.event = None

    async def _route(self, item: _Input) -> list[dict[str, Any]]:
        """Publish what the hooks and routes make of the event; returns its AUDIT records, stored with the batch's."""
        event = item.event
        assert event is not None
        source = _connector(item.msg)
        for observe in self.observers:
            for extra in observe(source, item.sent or event):
                await self._publish_event(item, extra, route="observer")
        self.metrics.inc("hub_events_total", connector=source, type=event.type)
        try:
            out = self.hooks.process(event)
            event = out.event
            outputs = self.router.route(event) + out.extra
            item.routes, item.outputs = len({output.route for output in outputs}), len(outputs)
        except Exception as exc:  # noqa: BLE001 - a broken route dead-letters its event, others flow
            await self._dead_letter(item, "permanent", f"routing {event.type} {event.id}: {exc!r}")
            return []
        body = None
        for output in outputs:
            if isinstance(output, Derived):
                await self._publish_event(item, output.event, route=output.route)
                continue
            if output.event is not event:
                await self._publish_delivery(item, output, output.event.model_dump_json().encode())
                continue
            body = body or event.model_dump_json().encode()
            await self._publish_delivery(item, output, body)
        if not outputs:
            self.metrics.inc("hub_unrouted_events_total", type=event.type)
        return out.audit

    async def _store_audit(self, audit: list[tuple[_Input, dict[str, Any]]]) -> None:
        """The batch's AUDIT records in a few messages (one per run of one kind) instead of one per record;
        each input with a record in a message waits for that message's PubAck before it is acked."""
        for subject, body, held in pack([record for _, record in audit]):
            future = await self._publisher.publish(subject, body)
            owners = {id(audit[index][0]): audit[index][0] for index in held}
            for item in owners.values():
                item.futures.append(future)

    async def _publish_delivery(self, item: _Input, delivery: Delivery, body: bytes) -> None:
        event = delivery.event
        targets = list(self.router.resolve(delivery))
        if not targets:
            self.metrics.inc("hub_unbound_role_total", role=delivery.role or "")
        # What every target's copy carries alike is built once; each copy then differs in its message id only.
        shared = event.nats_headers()
        shared["hub-route"] = delivery.route
        shared["hub-connector"] = _connector(item.msg)
        shared["hub-ingress-ts"] = item.msg.headers.get("hub-ingress-ts", "") if item.msg.headers else ""
        for target in targets:
            headers = {**shared, "Nats-Msg-Id": f"{event.id}:{target}"}
            await self._publish(item, bus.outbox_subject(target, event.type), body, headers)

    async def _publish_event(self, item: _Input, event: Envelope, route: str) -> None:
        headers = event.nats_headers()
        headers["Nats-Msg-Id"] = event.idempotency_key
        headers["hub-connector"] = f"route:{route}"
        subject = bus.events_subject(event.type, event.schema_version, event.subject, self.partitions)
        await self._publish(item, subject, event.model_dump_json().encode(), headers)

    async def _dead_letter(self, item: _Input, error_class: str, error: str) -> None:
        msg = item.msg
        letter = dlq.DeadLetter.of(stage="pipeline", raw=msg.data, headers=dict(msg.headers or {}),
                                   error_class=error_class, error=error, subject=msg.subject,
                                   connector=_connector(msg), attempts=deliveries(msg))
        self.metrics.inc("hub_dead_letters_total", connector=letter.connector, stage="pipeline")
        subject, body, headers = dlq.publish_args(letter)
        await self._publish(item, subject, body, headers)
        item.event = None

    async def _publish(self, item: _Input, subject: str, body: bytes, headers: dict[str, str]) -> None:
        item.futures.append(await self._publisher.publish(subject, body, headers))


def _problem(future: asyncio.Future) -> BaseException | None:
    result = outcome(future)
    return result if isinstance(result, BaseException) else None


def _holder(msg: Msg) -> bytes:
    """What marks an idempotency key as taken: the EVENTS message that carried it first."""
    return str(stream_seq(msg)).encode()


def _connector(msg: Msg) -> str:
    return (msg.headers or {}).get("hub-connector", "")

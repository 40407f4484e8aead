"""Delivery: one durable consumer per target on its OUTBOX subjects, with retries and a breaker.

Each target has its own consumer, retry budget and circuit breaker, so one system's outage never
holds up another's deliveries. A transient failure is retried in process (tenacity), then by
JetStream redelivery after a growing delay; the last allowed attempt dead-letters the message
itself (the MAX_DELIVERIES advisory is not durable). Permanent and contract failures go to the
DLQ at once. While a target's circuit is open its deliveries wait without spending their budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

from nats.aio.msg import Msg
from nats.js import api as js_api
from nats.js.errors import NotFoundError
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from canonical import Envelope, EventError
from canonical.versions import downcast
from hub import bus, dlq
from hub.circuit import CircuitBreaker
from hub.errors import TransientError, classify
from hub.metrics import Metrics
from hub.pull import PullReader, ack, deliveries, drained, nak, stream_seq
from hub.sdk import Sink

log = logging.getLogger("hub.delivery")


def consumer_name(connector: str) -> str:
    return f"deliver-{connector}"


class Deliverer:
    def __init__(self, b: bus.Bus, sink: Sink, metrics: Metrics) -> None:
        self.bus = b
        self.sink = sink
        self.name = sink.name
        self.policy = sink.config.retry
        self.breaker = CircuitBreaker(sink.config.circuit.failure_threshold, sink.config.circuit.open_seconds)
        self.metrics = metrics
        self._held: dict[int, int] = {}  # stream seq -> deliveries that were held back, not attempted
        self._first_failure: dict[int, datetime] = {}  # stream seq -> when its first attempt failed
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.delivered = 0
        self.last_error: str | None = None

    async def start(self) -> None:
        name = consumer_name(self.name)
        try:
            await self.bus.js.consumer_info(bus.OUTBOX, name)
        except NotFoundError:
            await self.bus.js.add_consumer(bus.OUTBOX, js_api.ConsumerConfig(
                durable_name=name, filter_subject=f"out.{self.name}.>", ack_policy=js_api.AckPolicy.EXPLICIT,
                ack_wait=self._ack_wait(), max_deliver=-1, max_ack_pending=4 * self.sink.config.batch_size,
                num_replicas=self.bus.replicas))
        self._task = asyncio.create_task(self._run(), name=f"deliver-{self.name}")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task:
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def state(self) -> str:
        return self.breaker.state

    def _ack_wait(self) -> float:
        policy = self.policy
        quick = policy.in_process_wait * (2 ** policy.in_process_attempts)
        return max(30.0, 4 * quick + 30.0)

    async def _run(self) -> None:
        reader = PullReader(self.bus.nc, bus.OUTBOX, consumer_name(self.name), batch=self.sink.config.batch_size)
        await reader.start()
        try:
            while not self._stopping.is_set():
                if self.breaker.state == "open":
                    await self._sleep(self.breaker.seconds_until_trial())
                    continue
                trial = self.breaker.state == "half_open"
                await self._deliver(await reader.next_batch(1 if trial else self.sink.config.batch_size, wait=0.5))
            await drained(reader, self.bus.nc, self._deliver, time.monotonic() + 5.0)
        finally:
            await reader.stop()

    async def _deliver(self, msgs: list[Msg]) -> None:
        for index, msg in enumerate(msgs):
            if self.breaker.state == "open":
                await self._hold(msgs[index:])
                return
            await self._deliver_one(msg)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=max(0.05, seconds))

    async def _hold(self, msgs: list[Msg]) -> None:
        delay = max(1.0, self.breaker.seconds_until_trial())
        for msg in msgs:
            seq = stream_seq(msg)
            self._held[seq] = self._held.get(seq, 0) + 1
            await nak(self.bus.nc, msg, delay)

    async def _deliver_one(self, msg: Msg) -> None:
        attempt = deliveries(msg) - self._held.get(stream_seq(msg), 0)
        try:
            event = Envelope.model_validate_json(msg.data)
            wanted = self.sink.config.schema_versions.get(event.type)
            if wanted and wanted != event.schema_version:
                event = downcast(event, wanted)
            if not self.sink.accepts(event.type):
                raise EventError(f"{self.name} ({self.sink.type_name}) does not take {event.type}", "type")
            await self._call_with_retries(event, attempt)
        except Exception as exc:  # noqa: BLE001 - every failure is classified: retry or dead letter
            await self._failed(msg, exc, attempt)
            return
        self.breaker.record_success()
        self._held.pop(stream_seq(msg), None)
        self._first_failure.pop(stream_seq(msg), None)
        self.delivered += 1
        self.metrics.inc("hub_delivered_total", connector=self.name)
        ingress = (msg.headers or {}).get("hub-ingress-ts")
        if ingress:
            self.metrics.observe("hub_end_to_end_seconds", time.time() - float(ingress), connector=self.name)
        await ack(self.bus.nc, msg)

    async def _call_with_retries(self, event: Envelope, attempt: int) -> None:
        policy = self.policy
        async for trying in AsyncRetrying(
            stop=stop_after_attempt(policy.in_process_attempts),
            wait=wait_exponential(multiplier=policy.in_process_wait, max=5.0),
            retry=retry_if_exception(_worth_quick_retry), reraise=True,
        ):
            with trying:
                await self.sink.deliver(event, attempt)

    async def _failed(self, msg: Msg, exc: Exception, attempt: int) -> None:
        error_class = classify(exc)
        self._first_failure.setdefault(stream_seq(msg), datetime.now(UTC))
        self.last_error = f"{type(exc).__name__}: {exc}"
        self.metrics.inc("hub_delivery_errors_total", connector=self.name, error_class=error_class)
        if error_class == "transient":
            self.breaker.record_failure()
            if self.breaker.state != "closed" or attempt < self.policy.max_deliveries:
                # While the circuit is open the target is down for everyone: wait, do not spend the budget.
                if self.breaker.state != "closed":
                    seq = stream_seq(msg)
                    self._held[seq] = self._held.get(seq, 0) + 1
                self.metrics.inc("hub_retries_total", connector=self.name)
                await nak(self.bus.nc, msg, self._backoff(attempt, exc))
                return
        await self._dead_letter(msg, exc, error_class, attempt)

    def _backoff(self, attempt: int, exc: Exception) -> float:
        retry_after = getattr(exc, "retry_after", None)
        steps = self.policy.backoff or [1.0]
        delay = steps[min(attempt - 1, len(steps) - 1)]
        if self.breaker.state == "open":
            delay = max(delay, self.breaker.seconds_until_trial())
        return max(delay, retry_after or 0.0)

    async def _dead_letter(self, msg: Msg, exc: Exception, error_class: str, attempt: int) -> None:
        headers = dict(msg.headers or {})
        letter = dlq.DeadLetter.of(stage="deliver", raw=msg.data, headers=headers, error_class=error_class,
                                   error=f"{type(exc).__name__}: {exc}", subject=msg.subject, connector=self.name,
                                   route=headers.get("hub-route") or None, attempts=max(attempt, 1))
        letter.first_failure = self._first_failure.pop(stream_seq(msg), letter.first_failure)
        await dlq.store(self.bus.js, letter)
        self.metrics.inc("hub_dead_letters_total", connector=self.name, stage="deliver")
        log.warning("dead-lettered %s for %s after %d attempt(s): %s", letter.event_id, self.name, attempt, exc)
        self._held.pop(stream_seq(msg), None)
        await ack(self.bus.nc, msg)


def _worth_quick_retry(exc: BaseException) -> bool:
    # A peer that asks for a long pause gets it through JetStream redelivery, not a sleeping worker.
    return isinstance(exc, TransientError) and (exc.retry_after is None or exc.retry_after <= 2.0)

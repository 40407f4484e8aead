"""Delivery: one durable consumer per target on its OUTBOX subjects, with retries and a breaker.

Each target has its own consumer, retry budget and circuit breaker, so one system's outage never
holds up another's deliveries. A batch goes to the sink in one `deliver_batch` call. A transient
failure is retried in process (a few quick tries of that event alone, after the rest of its batch,
so a later event may reach the target first, as it may after any redelivery), then by
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

from canonical import Envelope, EventError
from canonical.versions import downcast
from hub import bus, dlq, otel
from hub.circuit import CircuitBreaker
from hub.errors import TransientError, classify
from hub.metrics import Metrics
from hub.pull import PullReader, ack, ack_all, deliveries, drained, nak, stream_seq
from hub.sdk import Sink
from hub.tracing import traced

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
        """One `deliver_batch` call for the batch; a failed event gets its quick retries on its own, in order."""
        if self.breaker.state == "open":
            await self._hold(msgs)
            return
        began = time.time_ns()
        ready: list[tuple[Msg, Envelope, int]] = []
        for msg in msgs:
            attempt = deliveries(msg) - (self._held.get(stream_seq(msg), 0) if self._held else 0)
            try:
                ready.append((msg, self._event_of(msg), attempt))
            except Exception as exc:  # noqa: BLE001 - an event this target cannot take is classified like any failure
                fate = await self._failed(msg, exc, attempt)
                if otel.spans is not None:
                    self._span(msg, began, attempt, fate, exc)
        if not ready:
            return
        try:
            outcomes = await self.sink.deliver_batch([e for _, e, _ in ready], [a for _, _, a in ready])
        except Exception as exc:  # noqa: BLE001 - a batch that fails as a whole fails for each of its events
            outcomes = [exc] * len(ready)
        if len(outcomes) != len(ready):
            error = RuntimeError(f"{self.name}: deliver_batch returned {len(outcomes)} outcomes for {len(ready)} events")
            outcomes = [error] * len(ready)
        delivered = []
        for (msg, event, attempt), outcome in zip(ready, outcomes, strict=True):
            if outcome is not None and _worth_quick_retry(outcome) and self.breaker.state != "open":
                outcome = await self._retry(event, attempt, outcome)
            if outcome is None:
                delivered.append(msg)
                fate = "delivered"
            else:
                fate = await self._failed(msg, outcome, attempt)
            if otel.spans is not None:
                self._span(msg, began, attempt, fate, outcome)
        await self._succeeded(delivered)

    def _span(self, msg: Msg, began: int, attempt: int, fate: str, error: Exception | None) -> None:
        assert otel.spans is not None
        headers = msg.headers or {}
        otel.spans.record("deliver", headers.get("traceparent"), began, {
            "hub.event.id": headers.get("ce-id", ""), "hub.event.type": headers.get("ce-type", ""),
            "hub.target": self.name, "hub.attempt": attempt, "hub.outcome": fate},
            error=None if error is None else f"{classify(error)}: {type(error).__name__}: {error}")

    def _event_of(self, msg: Msg) -> Envelope:
        event = Envelope.model_validate_json(msg.data)
        wanted = self.sink.config.schema_versions.get(event.type)
        if wanted and wanted != event.schema_version:
            event = downcast(event, wanted)
        if not self.sink.accepts(event.type):
            raise EventError(f"{self.name} ({self.sink.type_name}) does not take {event.type}", "type")
        return event

    async def _succeeded(self, msgs: list[Msg]) -> None:
        if not msgs:
            return
        now = time.time()
        nc = self.bus.nc
        self.breaker.record_success()
        # Both maps are empty unless something failed lately: the happy path skips reading each sequence.
        if self._held or self._first_failure:
            for msg in msgs:
                seq = stream_seq(msg)
                self._held.pop(seq, None)
                self._first_failure.pop(seq, None)
        for msg in msgs:
            ingress = msg.headers.get("hub-ingress-ts") if msg.headers else None
            if ingress:
                self.metrics.observe("hub_end_to_end_seconds", now - float(ingress), connector=self.name)
        await ack_all(nc, msgs)
        self.delivered += len(msgs)
        self.metrics.inc("hub_delivered_total", len(msgs), connector=self.name)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=max(0.05, seconds))

    async def _hold(self, msgs: list[Msg]) -> None:
        delay = max(1.0, self.breaker.seconds_until_trial())
        for msg in msgs:
            seq = stream_seq(msg)
            self._held[seq] = self._held.get(seq, 0) + 1
            await nak(self.bus.nc, msg, delay)

    async def _retry(self, event: Envelope, attempt: int, error: Exception) -> Exception | None:
        """The quick retries of one event whose first try in its batch failed; None once it is delivered.

        Only failures come here, so the happy path pays nothing for retry machinery.
        """
        policy = self.policy
        for tried in range(1, policy.in_process_attempts):
            if not _worth_quick_retry(error):
                return error
            await asyncio.sleep(min(5.0, policy.in_process_wait * 2 ** (tried - 1)))
            try:
                with traced(event):
                    await self.sink.deliver(event, attempt)
            except Exception as exc:  # noqa: BLE001 - classified by the caller
                error = exc
            else:
                return None
        return error

    async def _failed(self, msg: Msg, exc: Exception, attempt: int) -> str:
        """Retry or dead-letter a failed delivery; returns which ("retry" or "dead_lettered")."""
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
                return "retry"
        await self._dead_letter(msg, exc, error_class, attempt)
        return "dead_lettered"

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

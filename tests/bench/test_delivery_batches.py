"""Delivery in batches on a real nats-server: one `deliver_batch` call per pulled batch, a transient failure
retried on its own, a refused event dead-lettered, and every message acked exactly when it is settled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from canonical import Envelope, parse_event
from hub import bus
from hub.delivery import Deliverer, consumer_name
from hub.errors import PermanentError, TransientError
from hub.metrics import Metrics
from hub.sdk import ConnectorConfig, RetryPolicy, Sink
from hub.testing import RecordingContext
from tests.core.helpers import adjustments


class FlakySink(Sink):
    """Fails event T-3 once (transient) and refuses T-5 (permanent); records every call."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.batches: list[list[str]] = []
        self.singles: list[str] = []
        self.delivered: list[str] = []
        self._failed_once = False

    async def deliver(self, event: Envelope, attempt: int) -> None:
        self.singles.append(event.id)
        self._take(event)

    async def deliver_batch(self, events: Sequence[Envelope], attempts: Sequence[int]) -> list[BaseException | None]:
        self.batches.append([e.id for e in events])
        outcomes: list[BaseException | None] = []
        for event in events:
            try:
                self._take(event)
            except Exception as exc:  # noqa: BLE001 - handed back as the outcome, as the SDK asks
                outcomes.append(exc)
            else:
                outcomes.append(None)
        return outcomes

    def _take(self, event: Envelope) -> None:
        if event.id == "T-3" and not self._failed_once:
            self._failed_once = True
            raise TransientError("busy, try again")
        if event.id == "T-5":
            raise PermanentError("refused: unknown item")
        self.delivered.append(event.id)


async def test_a_batch_is_one_call_and_each_message_is_settled_on_its_own(nats_url):
    b = await bus.connect(nats_url, name="test-delivery")
    await b.declare()
    config = ConnectorConfig(type="flaky", batch_size=50, retry=RetryPolicy(in_process_attempts=3, in_process_wait=0.01))
    sink = FlakySink("flaky", config, RecordingContext("flaky"))
    events = [parse_event(e) for e in adjustments(10, items=10)]
    for event in events:
        await b.js.publish(bus.outbox_subject("flaky", event.type), event.model_dump_json().encode(),
                           headers={**event.nats_headers(), "hub-ingress-ts": f"{time.time():.6f}"})
    metrics = Metrics()
    deliverer = Deliverer(b, sink, metrics)
    await deliverer.start()
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            info = await b.js.consumer_info(bus.OUTBOX, consumer_name("flaky"))
            if info.ack_floor.stream_seq == 10 and info.num_ack_pending == 0:
                break
            await asyncio.sleep(0.05)
        dead = (await b.js.stream_info(bus.DLQ)).state.messages
    finally:
        await deliverer.stop()
        await b.close()
    assert [i for batch in sink.batches for i in batch] == [e.id for e in events]
    assert len(sink.batches) < len(events), "events were handed over one call each, not in batches"
    assert sink.singles == ["T-3"], "only the failed event is retried, once"
    assert sorted(sink.delivered) == sorted(e.id for e in events if e.id != "T-5")
    assert info.ack_floor.stream_seq == 10 and info.num_ack_pending == 0 and info.num_redelivered == 0
    assert dead == 1
    assert metrics.total("hub_delivered_total") == 9
    assert metrics.histograms["hub_end_to_end_seconds"][(("connector", "flaky"),)].count == 9

"""`null`: a sink that writes nowhere; it counts what it is given and, if asked, when it arrived.

It measures the hub's own cost: the benchmark routes every event to it, and a smoke test of a new
hub deployment can do the same without touching a real system.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence

from pydantic import Field

from canonical import Envelope
from hub.sdk import ConnectorConfig, Sink


class NullSinkConfig(ConnectorConfig):
    record_arrivals: int = Field(
        default=0, ge=0, le=10_000_000,
        description="Keep (event id, arrival unix time) of the last N deliveries in memory; 0 keeps none.")


class NullSink(Sink):
    config_model = NullSinkConfig
    summary = "Accepts every event and writes it nowhere (for benchmarks and smoke tests)."
    config: NullSinkConfig

    async def start(self) -> None:
        self.delivered = 0
        self.arrivals: deque[tuple[str, float]] = deque(maxlen=self.config.record_arrivals or 1)

    async def check(self) -> str:
        return "writes nowhere"

    async def deliver(self, event: Envelope, attempt: int) -> None:
        await self.deliver_batch([event], [attempt])

    async def deliver_batch(self, events: Sequence[Envelope], attempts: Sequence[int]) -> list[BaseException | None]:
        self.delivered += len(events)
        if self.config.record_arrivals:
            now = time.time()
            self.arrivals.extend((event.id, now) for event in events)
        return [None] * len(events)

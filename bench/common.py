"""What every throughput benchmark shares: a fresh nats-server with file storage, the same events, uvloop."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from hub.natsserver import NatsServer

ITEMS = 2_000
LOCATIONS = ("STORE-001", "STORE-002", "STORE-003", "DC-01")
_START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


@contextlib.contextmanager
def fresh_server() -> Iterator[NatsServer]:
    """A nats-server of its own on a free loopback port, JetStream on file storage as in production."""
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        server = NatsServer(store_dir=Path(tmp) / "nats").start()
        try:
            yield server
        finally:
            server.stop()


def event_bodies(count: int, prefix: str = "B") -> list[bytes]:
    """`count` stock.adjusted v1 events (about 330 bytes of JSON each) over ITEMS item-locations.

    Version 1 on purpose: the hub upcasts each to the latest version, as it would an old source's events.
    Times advance a minute per event, so the demand hooks see days open and close.
    """
    out = []
    for i in range(count):
        sku, location = f"SKU-{i % ITEMS:05d}", LOCATIONS[(i // ITEMS) % len(LOCATIONS)]
        out.append(orjson.dumps({
            "specversion": "1.0", "id": f"{prefix}-{i}", "type": "stock.adjusted", "source": "urn:bench:pos",
            "time": (_START + timedelta(minutes=i)).isoformat(), "subject": f"{sku}@{location}",
            "schema_version": 1, "idempotency_key": f"{prefix}-key-{i}",
            "data": {"sku": sku, "location": location, "delta": -1 - i % 3, "reason": "sale",
                     "reference": f"POS-{i:08d}"},
        }))
    return out


def use_uvloop() -> None:
    """The event loop the hub itself runs on (`hub up` installs uvloop where it is available)."""
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


async def wait_until(done: Callable[[], bool], timeout: float, what: str, poll: float = 0.005) -> float:
    """Wait for `done()`; returns the monotonic time it became true. Raises naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"benchmark gave up waiting for {what} after {timeout:.0f}s")
        await asyncio.sleep(poll)
    return time.monotonic()

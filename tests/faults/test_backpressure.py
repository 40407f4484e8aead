"""Inbound much faster than a slow target: the backlog waits in JetStream, the hub's memory stays flat."""

from __future__ import annotations

import asyncio
import threading
import time

import nats
import pytest

from hub.natsserver import free_port
from hub.testing import HubProcess, wait_until
from tests.core.helpers import adjustments, read_ndjson, write_ndjson
from tests.faults.helpers import RecordingTarget, dead_letters, rss_mb, write_config

pytestmark = pytest.mark.fault


def _pending(nats_url: str, stream: str, consumer: str) -> int:
    async def ask() -> int:
        nc = await nats.connect(nats_url)
        try:
            info = await nc.jetstream().consumer_info(stream, consumer)
            return info.num_pending + info.num_ack_pending
        finally:
            await nc.close()

    return asyncio.run(ask())


class _MemoryWatch(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.25):
            try:
                self.samples.append(rss_mb(self.pid))
            except (OSError, AssertionError):
                return


def _backpressure(tmp_path, nats_url: str, count: int, delay: float) -> None:
    port = free_port()
    config = write_config(tmp_path / "hub", web_url=f"http://127.0.0.1:{port}/events")
    outbox = config.parent / "outbox" / "events.ndjson"
    events = adjustments(count, items=200, prefix="S")
    with RecordingTarget(port, delay=delay) as target:
        hub = HubProcess(config, nats_url=nats_url).start()
        watch = _MemoryWatch(hub.process.pid)
        try:
            time.sleep(1.0)
            baseline = rss_mb(hub.process.pid)
            watch.start()
            started = time.monotonic()
            # Files of 500, all at once: the input arrives fast, and no single file is big enough to
            # weigh on memory by itself (a file is parsed whole).
            for part in range(0, count, 500):
                write_ndjson(config.parent / "inbox" / f"part-{part:06d}.ndjson", events[part:part + 500])
            wait_until(lambda: len(read_ndjson(outbox)) == count, timeout=60, what="the fast target")
            inbound_seconds = time.monotonic() - started
            backlog = _pending(nats_url, "OUTBOX", "deliver-web")
            wait_until(lambda: len(target.applied) == count, timeout=30 + count * delay * 3, interval=0.5,
                       what="the slow target to catch up")
            target_seconds = time.monotonic() - started
        finally:
            watch.done.set()
            assert hub.stop() == 0, hub.log_tail()
    peak = max(watch.samples)
    inbound_rate, target_rate = count / inbound_seconds, count / target_seconds
    print(f"\nback-pressure, {count} events: inbound {inbound_rate:.0f}/s, slow target {target_rate:.0f}/s "
          f"({inbound_rate / target_rate:.0f}x); backlog in OUTBOX when inbound finished: {backlog}; "
          f"hub RSS {baseline:.0f} MB at start, peak {peak:.0f} MB (+{peak - baseline:.0f} MB)")
    assert inbound_rate > 10 * target_rate
    assert backlog > count // 2  # the backlog waits in the stream, not in the hub
    assert peak - baseline < 60, "the hub's memory grew with the backlog"
    assert set(target.applied) == {e["idempotency_key"] for e in events}
    assert dead_letters(nats_url) == []


def test_slow_target_backlog_stays_in_the_stream(tmp_path, nats_url):
    _backpressure(tmp_path, nats_url, 2_000, delay=0.005)


@pytest.mark.slow
def test_slow_target_large_backlog(tmp_path, nats_url):
    _backpressure(tmp_path, nats_url, 20_000, delay=0.005)

"""A hub worker SIGKILLed while events flow, then started again: nothing lost, each key applied once."""

from __future__ import annotations

import signal
import time

import pytest

from hub.natsserver import free_port
from hub.testing import HubProcess, wait_until
from tests.core.helpers import adjustments, read_ndjson, write_ndjson
from tests.faults.helpers import RecordingTarget, dead_letters, write_config

pytestmark = pytest.mark.fault


def _crash_and_restart(tmp_path, nats_url: str, count: int) -> None:
    port = free_port()
    config = write_config(tmp_path / "hub", web_url=f"http://127.0.0.1:{port}/events")
    inbox, outbox = config.parent / "inbox", config.parent / "outbox" / "events.ndjson"
    events = adjustments(count, items=500, prefix="K")
    with RecordingTarget(port) as target:
        hub = HubProcess(config, nats_url=nats_url).start()
        started = time.monotonic()
        for part in range(0, count, 1000):
            write_ndjson(inbox / f"part-{part:06d}.ndjson", events[part:part + 1000])
        wait_until(lambda: len(target.applied) >= count // 5, timeout=120, what="a fifth of the deliveries")
        assert hub.kill() == -signal.SIGKILL
        at_kill = len(target.applied), len(read_ndjson(outbox))
        restarted = HubProcess(config, nats_url=nats_url).start()
        try:
            wait_until(lambda: len(target.applied) == count and len(read_ndjson(outbox)) == count,
                       timeout=60 + count / 200, interval=0.5, what=f"all {count} events at both targets")
            elapsed = time.monotonic() - started
            time.sleep(1.0)  # anything still in flight would show up as an extra POST or line now
        finally:
            assert restarted.stop() == 0, restarted.log_tail()
        written = [e["idempotency_key"] for e in read_ndjson(outbox)]
        print(f"\nSIGKILL with {count} events: killed at {at_kill[0]} (web) / {at_kill[1]} (file) delivered; "
              f"all delivered in {elapsed:.1f}s; web target: {sum(target.posts.values())} POSTs, "
              f"{target.duplicates} duplicates absorbed by its idempotency key; file.outbox: {len(written)} lines")
        assert at_kill[0] < count, "the kill came too late to be mid-stream"
        assert set(target.applied) == {e["idempotency_key"] for e in events}
        assert len(written) == len(set(written)) == count  # file.outbox dropped every repeat itself
        assert dead_letters(nats_url) == []


def test_sigkill_mid_stream_loses_nothing(tmp_path, nats_url):
    _crash_and_restart(tmp_path, nats_url, 5_000)


@pytest.mark.slow
def test_sigkill_mid_stream_of_50k_loses_nothing(tmp_path, nats_url):
    _crash_and_restart(tmp_path, nats_url, 50_000)

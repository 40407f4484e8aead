"""`hub up` stopped mid-stream (SIGTERM drains; SIGKILL does not) and started again: nothing is lost."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from hub.testing import HubProcess, wait_until
from tests.core.helpers import adjustments, assert_per_item_order, copy_example, read_ndjson, write_ndjson


def _produce(inbox, events: list[dict], files: int, pause: float) -> threading.Thread:
    """Drops the events as `files` files, one every `pause` seconds, whether or not a hub is running."""
    size = len(events) // files

    def run() -> None:
        for part in range(files):
            write_ndjson(inbox / f"part-{part:02d}.ndjson", events[part * size:(part + 1) * size])
            time.sleep(pause)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_stopped_mid_stream_then_restarted_loses_nothing(tmp_path, nats_url, sig):
    config = copy_example("quickstart", tmp_path)
    inbox, outbox = config.parent / "inbox", config.parent / "outbox" / "events.ndjson"
    events = adjustments(6000, items=200, prefix="R")
    hub = HubProcess(config, nats_url=nats_url).start()
    producer = _produce(inbox, events, files=24, pause=0.4)
    wait_until(lambda: len(read_ndjson(outbox)) >= 500, timeout=30, what="deliveries to start")
    mid_stream = producer.is_alive()
    code = hub.stop(sig)
    stopped_at = len(read_ndjson(outbox))
    assert code == (0 if sig == signal.SIGTERM else -signal.SIGKILL), hub.log_tail()
    assert mid_stream, "the producer finished before the stop: not mid-stream"
    restarted = HubProcess(config, nats_url=nats_url).start()
    try:
        producer.join()
        wait_until(lambda: len(read_ndjson(outbox)) >= len(events), timeout=90, what="all events after restart")
    finally:
        assert restarted.stop() == 0, restarted.log_tail()
    delivered = read_ndjson(outbox)
    keys = [e["idempotency_key"] for e in delivered]
    assert stopped_at < len(events)
    assert len(keys) == len(set(keys)) == len(events)
    if sig == signal.SIGTERM:
        assert_per_item_order(delivered)  # a drained stop leaves nothing to redeliver out of order

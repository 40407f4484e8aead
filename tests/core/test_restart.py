"""`hub up` stopped mid-stream (SIGTERM drains; SIGKILL does not) and started again: nothing is lost."""

from __future__ import annotations

import signal

import pytest

from hub.testing import HubProcess, wait_until
from tests.core.helpers import adjustments, assert_per_item_order, copy_example, read_ndjson, write_ndjson


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_stopped_mid_stream_then_restarted_loses_nothing(tmp_path, nats_url, sig):
    config = copy_example("quickstart", tmp_path)
    inbox, outbox = config.parent / "inbox", config.parent / "outbox" / "events.ndjson"
    events = adjustments(6000, items=200, prefix="R")
    hub = HubProcess(config, nats_url=nats_url).start()
    for part in range(6):
        write_ndjson(inbox / f"part-{part}.ndjson", events[part * 1000:(part + 1) * 1000])
    wait_until(lambda: len(read_ndjson(outbox)) >= 300, timeout=30, what="deliveries to start")
    code = hub.stop(sig)
    stopped_at = len(read_ndjson(outbox))
    assert code == (0 if sig == signal.SIGTERM else -signal.SIGKILL), hub.log_tail()
    assert stopped_at < len(events), "the stop came too late to be mid-stream"
    restarted = HubProcess(config, nats_url=nats_url).start()
    try:
        wait_until(lambda: len(read_ndjson(outbox)) >= len(events), timeout=90, what="all events after restart")
    finally:
        assert restarted.stop() == 0, restarted.log_tail()
    delivered = read_ndjson(outbox)
    keys = [e["idempotency_key"] for e in delivered]
    assert len(keys) == len(set(keys)) == len(events)
    if sig == signal.SIGTERM:
        assert_per_item_order(delivered)  # a drained stop leaves nothing to redeliver out of order

"""The `null` sink on a real hub: every routed event arrives once, in order per item, and is recorded."""

from __future__ import annotations

import asyncio
import time

import pytest

from canonical import parse_event
from hub.config import parse_config
from hub.ingest import publish_events
from hub.instances import validate_instance
from hub.runtime import Hub
from tests.core.helpers import adjustments


async def test_routed_events_reach_the_null_sink_once_in_order(tmp_path, nats_url):
    config = parse_config({
        "connectors": {"void": {"type": "null", "record_arrivals": 1000}},
        "routes": [{"name": "all", "match": "*", "targets": ["void"]}],
        "status": {"enabled": False},
    }, tmp_path / "hub.toml")
    events = [parse_event(e) for e in adjustments(200, items=10)]
    hub = Hub(config, data_dir=tmp_path / "data", nats_url=nats_url)
    await hub.start()
    try:
        assert hub.bus is not None and hub.instances is not None
        before = time.time()
        await publish_events(hub.bus, events, partitions=config.hub.partitions, connector="test")
        await publish_events(hub.bus, events[:50], partitions=config.hub.partitions, connector="test")  # repeats
        sink = hub.instances.instances["void"].connector
        deadline = time.monotonic() + 20
        while sink.delivered < 200 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # a repeat that slipped through would arrive now
    finally:
        await hub.stop()
    arrivals = list(sink.arrivals)
    assert sink.delivered == 200
    assert sorted(event_id for event_id, _ in arrivals) == sorted(e.id for e in events)
    assert all(before <= at <= time.time() for _, at in arrivals)
    by_id = {e.id: e for e in events}
    last: dict[str, int] = {}
    for event_id, _ in arrivals:
        data = by_id[event_id].data
        assert data["delta"] > last.get(data["sku"], 0), f"{data['sku']} out of order"
        last[data["sku"]] = data["delta"]


def test_null_sink_config_is_checked_like_any_connector():
    with pytest.raises(Exception, match="record_arrivals"):
        validate_instance("void", {"type": "null", "record_arrivals": -1}, "hub.toml")

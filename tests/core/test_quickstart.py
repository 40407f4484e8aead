"""End to end through `hub up` with the embedded nats-server: the quickstart example."""

from __future__ import annotations

import json
import subprocess
import sys

from hub.testing import HubProcess, wait_until
from tests.core.helpers import adjustments, assert_per_item_order, copy_example, read_ndjson, write_ndjson


def hub_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, timeout=60,
                          cwd=cwd)


def test_thousand_events_delivered_once_in_order(tmp_path):
    config = copy_example("quickstart", tmp_path)
    inbox, outbox = config.parent / "inbox", config.parent / "outbox" / "events.ndjson"
    hub = HubProcess(config).start()
    try:
        events = adjustments(1000)
        write_ndjson(inbox / "a.ndjson", events[:500])
        write_ndjson(inbox / "b.ndjson", events[500:])
        wait_until(lambda: len(read_ndjson(outbox)) >= 1000, timeout=60, what="1000 deliveries")
        wait_until(lambda: _delivered_by(config, "outbox") == 1000, timeout=15, what="the status to catch up")
    finally:
        assert hub.stop() == 0, hub.log_tail()
    delivered = read_ndjson(outbox)
    assert len(delivered) == 1000
    assert {e["idempotency_key"] for e in delivered} == {e["idempotency_key"] for e in events}
    assert_per_item_order(delivered)
    assert sorted(p.name for p in (inbox / ".done").iterdir()) == ["a.ndjson", "b.ndjson"]


def _delivered_by(config, name: str) -> int:
    status = json.loads(hub_cli("status", "--json", "--config", str(config)).stdout)
    row = next(c for c in status["connectors"] if c["name"] == name)
    assert row["state"] == "running"
    return row["delivered"]


def test_invalid_events_are_dead_lettered_and_valid_ones_flow(tmp_path):
    config = copy_example("quickstart", tmp_path)
    inbox, outbox = config.parent / "inbox", config.parent / "outbox" / "events.ndjson"
    good = adjustments(20, prefix="G")
    missing = dict(good[0], id="M-1", idempotency_key="M-1")
    missing["data"] = {k: v for k, v in good[0]["data"].items() if k != "delta"}
    unknown = dict(good[1], id="U-1", idempotency_key="U-1", type="stock.teleported")
    hub = HubProcess(config).start()
    try:
        (inbox / "broken.json").write_text('{"id": "x", "type": ')
        write_ndjson(inbox / "mixed.ndjson", good[:10] + [missing, unknown] + good[10:])
        wait_until(lambda: len(read_ndjson(outbox)) >= 20, timeout=30, what="the valid events")
        listing = hub_cli("dlq", "list", "--json", "--config", str(config))
        letters = json.loads(listing.stdout)
        shown = hub_cli("dlq", "show", letters[0]["id"], "--config", str(config))
    finally:
        assert hub.stop() == 0, hub.log_tail()
    assert len(read_ndjson(outbox)) == 20
    errors = sorted(letter["error"] for letter in letters)
    assert len(letters) == 3, errors
    assert any("broken.json" in e and "malformed JSON" in e for e in errors)
    assert any("data.delta" in e and "Field required" in e for e in errors)
    assert any("stock.teleported" in e for e in errors)
    assert {letter["error_class"] for letter in letters} == {"permanent", "contract"}
    assert json.loads(shown.stdout)["stage"] == "ingest"
    assert (inbox / ".error" / "broken.json.reason").read_text().startswith("byte")

"""End to end through `hub up` on a real nats-server: a spike routed with its enrichment, an auto action
delivered to its target, a review action producing a task, a shadow hook leaving only audit records."""

from __future__ import annotations

import asyncio

import nats

from hub.hooks import auditlog
from hub.testing import HubProcess, wait_until
from tests.core.helpers import read_ndjson, write_ndjson

from .factory import at, day_of_sales, event, sale, snapshot

CONFIG = """
[hub]
name = "hooks-e2e"

[status]
enabled = false

[connectors.inbox]
type = "file.inbox"
path = "inbox"

[connectors.store]
type = "file.outbox"
path = "store"

[connectors.commerce]
type = "file.outbox"
path = "commerce"
roles = ["commerce"]

[connectors.planner]
type = "file.outbox"
path = "planner"

[[routes]]
name = "stock-to-store"
match = "stock.*"
targets = ["store"]

[[routes]]
name = "tasks-to-planner"
match = "task.raised"
targets = ["planner"]

[hooks]
enabled = ["demand", "phantom", "triage"]
budget_ms = 1000

[hooks.policy]
version = "e2e-1"
default = "shadow"

[[hooks.policy.rules]]
name = "hold-constrained"
hook = "demand"
action = "hold_marketplace_exposure"
mode = "auto"

[[hooks.policy.rules]]
name = "recount-by-planner"
hook = "phantom"
action = "recount"
mode = "review"
"""


def scenario() -> list[dict]:
    events = []
    for d in range(28):
        events += day_of_sales(d, 10, on_hand=20, sku="SPIKY")
    events.append(sale(28, 40, sku="SPIKY", on_hand_after=10))
    for d in range(30):
        events += day_of_sales(d, 5, on_hand=40, sku="GHOST")
    events += [snapshot(d, 20, sku="GHOST") for d in (30, 31)]
    events.append(event("receipt.confirmed", {"receipt_id": "RCV-1", "location": "S1", "lines": [
        {"sku": "SHORT", "quantity_expected": 50, "quantity_received": 10}]}, at(31), "receipt-short"))
    return [e.model_dump(mode="json") for e in events]


async def audit_of(url: str, event_id: str) -> list[dict]:
    nc = await nats.connect(url)
    try:
        return await auditlog.for_event(nc.jetstream(), event_id)
    finally:
        await nc.close()


def test_hooks_through_the_running_hub(tmp_path, nats_url):
    config = tmp_path / "hub.toml"
    config.write_text(CONFIG)
    (tmp_path / "inbox").mkdir()
    events = scenario()
    hub = HubProcess(config, nats_url=nats_url).start()
    try:
        write_ndjson(tmp_path / "inbox" / "day.ndjson", events)
        commerce, planner = tmp_path / "commerce" / "events.ndjson", tmp_path / "planner" / "events.ndjson"
        wait_until(lambda: read_ndjson(commerce) and len(read_ndjson(planner)) >= 1, timeout=60,
                   what="the auto action and the review task")
        stock = tmp_path / "store" / "events.ndjson"
        wait_until(lambda: len(read_ndjson(stock)) >= len(events) - 1, timeout=30, what="the stock events")
        spike_audit = asyncio.run(audit_of(nats_url, "sale-SPIKY-S1-28-0"))
        short_audit = asyncio.run(audit_of(nats_url, "receipt-short"))
    finally:
        assert hub.stop() == 0, hub.log_tail()

    spike = next(e for e in read_ndjson(stock) if e["id"] == "sale-SPIKY-S1-28-0")
    assert spike["enrichments"]["demand"]["reasons"] == ["demand_spike"]
    assert spike["enrichments"]["demand"]["action"] == "hold_marketplace_exposure"

    [hold] = read_ndjson(commerce)
    assert hold["type"] == "availability.published" and hold["causation_id"] == "sale-SPIKY-S1-28-0"
    assert hold["data"] == {"sku": "SPIKY", "location": "S1", "available": 0, "channel": "marketplace"}

    tasks = read_ndjson(planner)
    assert {t["data"]["kind"] for t in tasks} == {"count"}
    assert {t["causation_id"] for t in tasks} == {"snap-GHOST-S1-31"}
    assert tasks[0]["data"]["evidence"]["evidence"]["phantom_stock_suspected"]["days_without_sale"] == 2
    assert tasks[0]["data"]["evidence"]["policy_version"] == "e2e-1"

    assert [(r["kind"], r["decision"], r["rule"]) for r in spike_audit] == [
        ("hook_result", "auto", "hold-constrained"), ("decision", "auto", "hold-constrained")]
    assert spike_audit[1]["outputs"][0]["role"] == "commerce"
    assert [(r["kind"], r["hook"], r["decision"]) for r in short_audit] == [
        ("hook_result", "triage", "shadow"), ("decision", "triage", "shadow")]
    assert short_audit[1]["outputs"] == []
    assert not any(t["data"].get("sku") == "SHORT" for t in tasks)

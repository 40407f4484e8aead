"""Schema usage monitoring on a real nats-server: counts over workers and restarts, one task per source."""

from __future__ import annotations

import asyncio
import itertools

from canonical import new_event
from canonical.examples import EXAMPLE_DATA
from hub.schemas import registry, usage
from hub.schemas.deprecation import deprecation_task
from hub.schemas.monitor import SchemaMonitor
from hub.schemas.usage import SchemaUsage, claim_task, snapshot_all, summarise
from tests.schemas.conftest import open_bucket

V1 = {"sku": "SKU-1", "location": "STORE-1", "delta": -1, "reason": "sale"}


def ticking(start: float):
    counter = itertools.count()
    return lambda: start + next(counter)


def row_of(rows, source, event_type, version):
    (row,) = [r for r in rows if (r["source"], r["type"], r["version"]) == (source, event_type, version)]
    return row


async def test_counts_of_two_workers_add_up_with_first_and_last_seen(nats_url):
    (nc_a, kv_a), (nc_b, kv_b) = await open_bucket(nats_url), await open_bucket(nats_url)
    try:
        worker_a, worker_b = SchemaUsage(clock=ticking(1_000.0)), SchemaUsage(clock=ticking(2_000.0))

        async def run(worker, kv, n):
            for i in range(n):
                worker.observe("pos-1", "stock.adjusted", 1)
                worker.observe("pos/east 2", "stock.adjusted", 2)
                if i % 50 == 0:
                    await worker.flush(kv)  # interleaved flushes contend on the same keys
            await worker.flush(kv)

        await asyncio.gather(run(worker_a, kv_a, 300), run(worker_b, kv_b, 200))
        rows = await snapshot_all(kv_a)
        pos1 = row_of(rows, "pos-1", "stock.adjusted", 1)
        assert pos1["count"] == 500
        assert pos1["first_seen"] == "1970-01-01T00:16:40+00:00"  # worker a's first tick, 1000 s
        assert pos1["last_seen"] == "1970-01-01T00:39:58+00:00"   # worker b's last v1 tick, 2000 + 398 s
        assert row_of(rows, "pos/east 2", "stock.adjusted", 2)["count"] == 500  # odd names survive the key
    finally:
        await nc_a.close()
        await nc_b.close()


async def test_counts_survive_a_restart_of_the_hub_and_of_nats(nats_server):
    nc, kv = await open_bucket(nats_server.url)
    first = SchemaUsage()
    for _ in range(7):
        first.observe("erp", "purchase_order.changed", 1)
    await first.flush(kv)
    await nc.close()

    nats_server.stop()
    nats_server.start()  # same port and store directory

    nc, kv = await open_bucket(nats_server.url)
    try:
        second = SchemaUsage()
        await second.load(kv)
        for _ in range(5):
            second.observe("erp", "purchase_order.changed", 1)
        await second.flush(kv)
        assert row_of(await snapshot_all(kv), "erp", "purchase_order.changed", 1)["count"] == 12
    finally:
        await nc.close()


async def test_counts_not_flushed_because_nats_failed_are_kept_for_the_next_flush(nats_server):
    nc, kv = await open_bucket(nats_server.url)
    worker = SchemaUsage()
    worker.observe("wms", "cycle_count.recorded", 1)
    await worker.flush(kv)
    await nc.close()
    worker.observe("wms", "cycle_count.recorded", 1)
    worker.observe("wms", "cycle_count.recorded", 1)
    try:
        await worker.flush(kv)  # the connection is closed: nothing stored, nothing lost
    except Exception as exc:  # noqa: BLE001 - any connection error will do
        assert "closed" in str(exc).lower() or exc.__class__.__name__.endswith("ClosedError")
    else:
        raise AssertionError("flush on a closed connection must fail")
    nc, kv = await open_bucket(nats_server.url)
    try:
        await worker.flush(kv)
        assert row_of(await snapshot_all(kv), "wms", "cycle_count.recorded", 1)["count"] == 3
    finally:
        await nc.close()


async def test_a_deprecated_version_raises_one_task_per_source_across_workers_and_restarts(nats_url):
    (nc_a, kv_a), (nc_b, kv_b) = await open_bucket(nats_url), await open_bucket(nats_url)
    try:
        await registry.register_builtin(kv_a)
        await registry.deprecate(kv_a, "stock.adjusted", 1)
        worker_a, worker_b = SchemaUsage(), SchemaUsage()
        await worker_a.load(kv_a)
        await worker_b.load(kv_b)
        assert worker_a.deprecated("stock.adjusted", 1) and not worker_a.deprecated("stock.adjusted", 2)

        raised_a = [worker_a.observe("pos-1", "stock.adjusted", 1) for _ in range(100)]
        assert raised_a.count(True) == 1 and raised_a[0]
        assert not any(worker_a.observe("pos-1", "stock.adjusted", 2) for _ in range(10))
        await worker_a.flush(kv_a)  # records the task for pos-1

        await worker_b.flush(kv_b)  # learns of it
        assert not any(worker_b.observe("pos-1", "stock.adjusted", 1) for _ in range(50))
        assert [worker_b.observe("pos-2", "stock.adjusted", 1) for _ in range(3)] == [True, False, False]
        await worker_b.flush(kv_b)

        restarted = SchemaUsage()
        await restarted.load(kv_a)
        assert not restarted.observe("pos-1", "stock.adjusted", 1)
        assert not restarted.observe("pos-2", "stock.adjusted", 1)

        rows = await snapshot_all(kv_a)
        assert row_of(rows, "pos-1", "stock.adjusted", 1)["task_raised"]
        assert row_of(rows, "pos-2", "stock.adjusted", 1)["task_raised"]
        summary = summarise(rows)
        assert summary["events"] == 100 + 10 + 50 + 3  # the restarted worker has not flushed yet
        assert summary["by_version"] == {"stock.adjusted v1": 153, "stock.adjusted v2": 10}
        assert len(summary["warnings"]) == 2
        assert summary["warnings"][0].startswith("pos-1 sends stock.adjusted v1, which is deprecated (150 events")
    finally:
        await nc_a.close()
        await nc_b.close()


async def test_two_workers_claiming_the_same_task_at_once_get_one_claim(nats_url):
    (nc_a, kv_a), (nc_b, kv_b) = await open_bucket(nats_url), await open_bucket(nats_url)
    try:
        claims = await asyncio.gather(*(claim_task(kv, "edi-acme", "shipment.notified", 1)
                                        for kv in (kv_a, kv_b, kv_a, kv_b)))
        assert sorted(claims) == [False, False, False, True]
    finally:
        await nc_a.close()
        await nc_b.close()


def test_the_deprecation_task_is_the_same_whoever_raises_it():
    event = new_event("stock.adjusted", V1, source="urn:pos", subject="SKU-1@STORE-1", schema_version=1)
    other = new_event("stock.adjusted", V1, source="urn:pos", subject="SKU-1@STORE-1", schema_version=1)
    one, two = (deprecation_task("pos-1", "stock.adjusted", 1, e) for e in (event, other))
    assert one.type == "task.raised" and one.schema_version == 1
    assert one.idempotency_key == two.idempotency_key == "schema-deprecated:pos-1:stock.adjusted:v1"
    assert one.data["kind"] == "schema_deprecated"
    assert one.data["recommended_action"] == "move pos-1 to stock.adjusted v2"
    assert one.causation_id == event.id and one.data["evidence"]["first_event_id"] == event.id


async def test_the_monitor_registers_counts_and_raises_in_a_running_hub_shape(kv):
    monitor = SchemaMonitor(kv, flush_seconds=0.05)
    assert len(await monitor.start()) == 16
    await registry.deprecate(kv, "stock.adjusted", 1)
    await asyncio.sleep(0.2)  # a periodic flush re-reads the deprecations
    v1 = new_event("stock.adjusted", EXAMPLE_DATA["stock.adjusted"] | {"delta": -1}, source="urn:pos",
                   subject="SKU-1001@STORE-001", schema_version=1)
    tasks = [monitor.observe_event("pos-1", v1) for _ in range(20)]
    assert [len(t) for t in tasks] == [1] + [0] * 19
    assert tasks[0][0].idempotency_key == "schema-deprecated:pos-1:stock.adjusted:v1"
    upcast_v2 = v1.model_copy(update={"schema_version": 2})
    assert monitor.observe_event("pos-2", upcast_v2, sent_version=1)  # counted as sent, not as upcast
    await monitor.stop()
    rows = await usage.snapshot_all(kv)
    assert row_of(rows, "pos-1", "stock.adjusted", 1)["count"] == 20
    assert row_of(rows, "pos-2", "stock.adjusted", 1)["count"] == 1
    assert all(r["task_raised"] for r in rows)

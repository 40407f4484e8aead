"""Round trips against the reference ERP on loopback: polls into canonical events, posts exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from canonical import new_event
from connectors.erp import ErpSoap
from sim.erp import ReferenceErp
from sim.erp.state import MovementInput
from tests.erp.conftest import MakeConnector, recorded


def adjustment(delta: int = -2, reason: str = "shrink", key: str = "adj-0001", sku: str = "SKU-1001"):
    return new_event("stock.adjusted", {"sku": sku, "location": "STORE-001", "delta": delta, "reason": reason},
                     source="urn:hub:pos", subject=f"{sku}@STORE-001", idempotency_key=key)


async def test_poll_turns_goods_movements_stock_and_orders_into_events(erp: ReferenceErp, make_connector: MakeConnector):
    erp.state.post_goods_movement("pos-sale-1", date(2026, 11, 27), [
        MovementInput("SKU-1001", "STORE-001", "251", 2), MovementInput("SKU-1002", "STORE-002", "551", 1)])
    erp.state.post_goods_movement("tr-1", date(2026, 11, 27), [
        MovementInput("SKU-1003", "DC-01", "301", 6, receiving_plant="STORE-001")])
    connector = await make_connector("sap")
    ctx = recorded(connector)

    stored = await connector.poll_once()

    adjusted = [e for e in ctx.events if e.type == "stock.adjusted"]
    assert [(e.subject, e.data["delta"], e.data["reason"]) for e in adjusted] == [
        ("SKU-1001@STORE-001", -2, "sale"), ("SKU-1002@STORE-002", -1, "shrink"),
        ("SKU-1003@DC-01", -6, "transfer_out"), ("SKU-1003@STORE-001", 6, "transfer_in")]
    snapshots = {e.subject: e.data["status"] for e in ctx.events if e.type == "stock.snapshot"}
    assert len(snapshots) == 4 * 3  # every seeded material at every plant
    row = erp.state.stock[("SKU-1003", "STORE-001")]
    assert snapshots["SKU-1003@STORE-001"]["on_hand"] == row.on_hand
    assert stored == len(ctx.events)
    assert await ctx.state.get("erp.sap.cursor.goods_movements") == "4900000002"
    assert ctx.dead_letters == []


async def test_a_repoll_finds_nothing_new_and_a_reset_cursor_gives_the_same_keys(
        erp: ReferenceErp, make_connector: MakeConnector):
    erp.state.post_goods_movement("pos-sale-1", date(2026, 11, 27), [MovementInput("SKU-1001", "STORE-001", "251", 2)])
    connector = await make_connector("sap")
    ctx = recorded(connector)
    first = await connector.poll_once()
    assert first > 0
    assert await connector.poll_once() == 0

    await ctx.state.delete("erp.sap.cursor.goods_movements")
    assert await connector.poll_operation(connector.config.mapping.inbound[0]) == 0  # all duplicates by key
    assert len(ctx.events) == first


async def test_paging_reads_every_record_once(erp: ReferenceErp, make_connector: MakeConnector):
    for n in range(7):
        erp.state.post_goods_movement(f"ext-{n}", date(2026, 11, 27), [MovementInput("SKU-1001", "STORE-001", "101", 1)])
    connector = await make_connector("sap")
    op = connector.config.mapping.inbound[0].model_copy(update={"page_size": 3})
    assert await connector.poll_operation(op) == 7
    assert len(erp.calls_to("GoodsMovementGetList")) == 3  # 3 + 3 + 1


async def test_purchase_order_status_changes_arrive_as_events(erp: ReferenceErp, make_connector: MakeConnector):
    connector = await make_connector("sap")
    created = new_event("purchase_order.changed", {
        "po_number": "PO-HUB-1", "status": "created", "supplier": "SUP-ACME", "location": "DC-01",
        "expected_date": "2026-12-05",
        "lines": [{"line": 1, "sku": "SKU-1002", "quantity": 48, "unit_price": 3.1}]},
        source="urn:hub:planner", subject="PO-HUB-1", idempotency_key="po-key-1")
    await connector.deliver(created, 1)
    (number,) = erp.state.purchase_orders
    erp.state.set_po_status(number, "02")

    await connector.poll_operation(connector.config.mapping.inbound[2])

    events = [e for e in recorded(connector).events if e.type == "purchase_order.changed"]
    assert [e.data["status"] for e in events] == ["acknowledged"]  # the first poll sees the latest change
    assert events[0].data["lines"] == [{"line": 1, "sku": "SKU-1002", "quantity": 48, "unit_of_measure": "EA",
                                        "unit_price": 3.1}]
    assert events[0].data["expected_date"] == "2026-12-05"
    assert erp.state.stock[("SKU-1002", "DC-01")].on_order == 48


async def test_an_adjustment_is_posted_once_even_when_replayed(erp: ReferenceErp, make_connector: MakeConnector):
    connector = await make_connector("sap")
    event = adjustment()
    before = erp.state.stock[("SKU-1001", "STORE-001")].on_hand

    await connector.deliver(event, 1)
    await connector.deliver(event, 2)  # a JetStream redelivery or a DLQ replay

    lines = erp.state.documents_for(event.idempotency_key)
    assert [(m.movement_type, m.quantity) for m in lines] == [("551", 2)]
    assert erp.state.stock[("SKU-1001", "STORE-001")].on_hand == before - 2
    assert recorded(connector).counted("erp_duplicates") == 1


async def test_a_timed_out_post_that_the_erp_did_book_is_not_booked_twice(
        erp: ReferenceErp, make_connector: MakeConnector):
    connector = await make_connector("sap", timeout=0.3)
    erp.inject("delay", seconds=0.8, operation="GoodsMovementCreate")  # booked, but answered too late
    event = adjustment(key="adj-slow")

    await connector.deliver(event, 1)  # the quick retry meets the duplicate check

    assert len(erp.state.documents_for("adj-slow")) == 1
    assert [c.outcome for c in erp.calls_to("GoodsMovementCreate")] == ["ok, delay", "fault"]
    assert recorded(connector).counted("erp_duplicates") == 1


async def test_a_transfer_request_posts_a_plant_to_plant_movement(erp: ReferenceErp, make_connector: MakeConnector):
    connector = await make_connector("sap")
    event = new_event("transfer.requested", {"sku": "SKU-1004", "location": "DC-01", "to_location": "STORE-002",
                                             "transfer_id": "TR-77", "quantity": 12},
                      source="urn:hub:replenishment", subject="SKU-1004@DC-01", idempotency_key="tr-key-77")
    await connector.deliver(event, 1)
    lines = erp.state.documents_for("tr-key-77")
    assert [(m.plant, m.debit_credit, m.quantity) for m in lines] == [("DC-01", "H", 12), ("STORE-002", "S", 12)]


async def test_a_second_erp_with_another_wsdl_works_from_config_alone(
        erp: ReferenceErp, make_connector: MakeConnector):
    """The NetSuite-style service differs in WSDL, namespace, auth, cursor and error style; only config changes."""
    connector = await make_connector("netsuite", name="erp-suite")
    ctx = recorded(connector)
    event = adjustment(delta=-3, reason="damage", key="ns-adj-1", sku="SKU-1002")

    await connector.deliver(event, 1)
    await connector.deliver(event, 2)
    stored = await connector.poll_once()

    lines = erp.state.documents_for("ns-adj-1")
    assert [(m.movement_type, m.quantity) for m in lines] == [("702", 3)]
    assert ctx.counted("erp_duplicates") == 1 and ctx.counted("erp_posted") == 1
    snapshots = {e.subject: e for e in ctx.events}
    assert stored == len(snapshots) == 12
    changed = snapshots["SKU-1002@STORE-001"]
    assert changed.data["status"]["on_hand"] == erp.state.stock[("SKU-1002", "STORE-001")].on_hand
    assert changed.idempotency_key.startswith("erp-suite:availability:SKU-1002:STORE-001:")
    assert [c.face for c in erp.calls] == ["netsuite"] * len(erp.calls)


async def test_wsdl_by_url_with_digest_passwords(erp: ReferenceErp, make_connector: MakeConnector):
    connector = await make_connector("sap", wsdl=erp.wsdl_url("sap"), endpoint=None,
                                     auth={"mode": "wsse_digest", "username": "hub", "password": "env:ERP_PASSWORD"})
    assert connector.transport.endpoint == erp.endpoint("sap")  # the served WSDL names this server
    await connector.deliver(adjustment(key="digest-1"), 1)
    assert erp.state.documents_for("digest-1")
    assert "operations in the WSDL port" in await connector.check()


async def test_one_connection_is_reused_and_the_wsdl_is_parsed_once(erp: ReferenceErp, make_connector: MakeConnector):
    first = await make_connector("sap", name="erp-a")
    second = await make_connector("sap", name="erp-b")
    accepted = erp.connections_accepted
    for n in range(20):
        await first.deliver(adjustment(key=f"reuse-{n}"), 1)
    assert erp.connections_accepted - accepted == 1
    assert first.transport._document is second.transport._document


async def test_the_poll_loop_runs_on_its_schedule(erp: ReferenceErp, make_connector: MakeConnector):
    connector: ErpSoap = await make_connector("sap", poll=True, poll_interval=0.05)
    ctx = recorded(connector)
    erp.state.post_goods_movement("later-1", datetime.now(UTC).date(), [MovementInput("SKU-1001", "STORE-001", "101", 5)])
    for _ in range(100):
        if any(e.data.get("reference") == "4900000001" for e in ctx.events if e.type == "stock.adjusted"):
            break
        await asyncio.sleep(0.05)
    assert any(e.type == "stock.adjusted" and e.data["delta"] == 5 for e in ctx.events)

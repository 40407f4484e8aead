"""wms.rest against the simulated WMS: the warehouse feed in by webhook and polling, requests out idempotently."""

from __future__ import annotations

import pytest

from canonical import Envelope, new_event
from connectors.wms import WmsRest
from hub.errors import ContractError, PermanentError, TransientError
from sim.wms import WmsPeer

from .conftest import recorded


async def test_warehouse_activity_arrives_by_webhook_as_canonical_events(
        wms_peer: WmsPeer, wms_connector: WmsRest) -> None:
    await wms_peer.receipt("DC-01", [("SKU-00001", 120), ("SKU-00002", 24)], po_number="PO-1")
    await wms_peer.ship("TR-1", "DC-01", "STORE-001", [("SKU-00001", 30)])
    await wms_peer.count("DC-02", [("SKU-00003", 97)])
    await wms_peer.adjust("DC-01", "SKU-00004", -2, "DMG")
    assert all(sent.statuses == [200] for sent in wms_peer.sent_webhooks)
    events = recorded(wms_connector).events
    assert [(e.type, e.subject) for e in events] == [
        ("receipt.confirmed", "RCV-000001@DC-EAST"),
        ("transfer.shipped", "SKU-00001@DC-EAST"),
        ("cycle_count.recorded", "SKU-00003@DC-WEST"),
        ("stock.adjusted", "SKU-00004@DC-EAST"),
    ]
    assert events[0].data["po_number"] == "PO-1" and len(events[0].data["lines"]) == 2
    assert events[2].data["counted"] == 97 and events[2].data["recorded"] == 100
    assert (events[3].data["delta"], events[3].data["reason"]) == (-2, "damage")


async def test_a_snapshot_missed_by_webhook_is_caught_by_polling(wms_peer: WmsPeer, wms_connector: WmsRest) -> None:
    await wms_peer.adjust("DC-01", "SKU-00001", -5, "SHR")
    await wms_peer.snapshot("DC-01", webhook=False)
    report = await wms_connector.poll_once()
    assert (report.items, report.duplicates) == (2, 1)
    snapshots = [e for e in recorded(wms_connector).events if e.type == "stock.snapshot"]
    assert len(snapshots) == 20
    first = next(e for e in snapshots if e.data["sku"] == "SKU-00001")
    assert first.data["status"]["on_hand"] == 95


def transfer(transfer_id: str, quantity: int = 24) -> Envelope:
    return new_event("transfer.requested", {"sku": "SKU-00001", "location": "DC-EAST", "to_location": "STORE-001",
                                            "transfer_id": transfer_id, "quantity": quantity, "priority": 2},
                     source="urn:hub:routes:replenishment", subject="SKU-00001@DC-EAST",
                     idempotency_key=f"{transfer_id}:{quantity}")


async def test_a_transfer_request_is_created_once_with_peer_location_ids(
        wms_peer: WmsPeer, wms_connector: WmsRest) -> None:
    await wms_connector.deliver(transfer("TR-9"), 1)
    await wms_connector.deliver(transfer("TR-9"), 2)
    assert wms_peer.transfers["TR-9"] == {"transfer_id": "TR-9", "sku": "SKU-00001", "from_location": "DC-01",
                                          "to_location": "STORE-001", "quantity": 24, "priority": 2}
    assert [s for m, p, s in wms_peer.requests if p == "/v1/transfer-requests"] == [201, 201]


async def test_a_different_request_under_an_existing_transfer_id_is_a_permanent_refusal(
        wms_peer: WmsPeer, wms_connector: WmsRest) -> None:
    await wms_connector.deliver(transfer("TR-9", 24), 1)
    with pytest.raises(PermanentError, match="answered 409: .*TR-9 already exists with different content"):
        await wms_connector.deliver(transfer("TR-9", 30), 1)


async def test_a_count_task_is_raised_in_the_wms(wms_peer: WmsPeer, wms_connector: WmsRest) -> None:
    task = new_event("task.raised", {"task_id": "TASK-7", "kind": "count", "title": "Recount SKU-00005",
                                     "sku": "SKU-00005", "location": "DC-WEST", "priority": 1},
                     source="urn:hub:hooks:phantom", subject="SKU-00005@DC-WEST", idempotency_key="TASK-7")
    await wms_connector.deliver(task, 1)
    assert wms_peer.count_tasks["TASK-7"]["location"] == "DC-02"
    review = new_event("task.raised", {"task_id": "TASK-8", "kind": "review", "title": "Look"},
                       source="urn:hub", subject="x")
    assert wms_connector.accepts("task.raised") and not wms_connector.accepts("stock.adjusted")
    with pytest.raises(ContractError):
        await wms_connector.deliver(review, 1)


async def test_wms_outages_are_transient(wms_peer: WmsPeer, wms_connector: WmsRest) -> None:
    wms_peer.faults.fail_next(1, status=500)
    with pytest.raises(TransientError, match="answered 500"):
        await wms_connector.deliver(transfer("TR-1"), 1)
    await wms_connector.deliver(transfer("TR-1"), 2)
    assert "TR-1" in wms_peer.transfers


async def test_check_reports_the_feed_and_fails_when_the_peer_is_down(
        wms_peer: WmsPeer, wms_connector: WmsRest) -> None:
    assert "wms1 feed answers" in await wms_connector.check()
    await wms_peer.go_down()
    with pytest.raises(TransientError):
        await wms_connector.check()

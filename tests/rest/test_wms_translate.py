"""Pure translation of WMS payloads to canonical events and of transfer / count requests to WMS calls."""

from __future__ import annotations

from typing import Any

import pytest

from canonical import ContractError, EventError, new_event
from connectors.pos.feed import SourceInfo
from connectors.wms.translate import REASON_CODES, outbound_calls, translate_item

SOURCE = SourceInfo("wms1", {"W1": "DC-EAST"})


def item(event_type: str, data: dict[str, Any], item_id: str = "wev_1") -> dict[str, Any]:
    return {"id": item_id, "type": event_type, "created_at": "2026-11-27T09:30:00Z", "data": data}


def test_a_receipt_is_one_receipt_confirmed_with_all_lines() -> None:
    [event] = translate_item(item("receipt", {
        "receipt_id": "RCV-1", "warehouse": "W1", "po_number": "PO-9",
        "lines": [{"line": 1, "sku": "A", "received": 10, "damaged": 1, "expected": 12},
                  {"line": 2, "sku": "B", "received": 5}]}), SOURCE)
    assert (event.type, event.subject, event.idempotency_key) == (
        "receipt.confirmed", "RCV-1@DC-EAST", "wms1:wev_1:all:receipt.confirmed")
    assert event.data["po_number"] == "PO-9"
    assert event.data["lines"][0] == {"sku": "A", "quantity_received": 10, "quantity_damaged": 1,
                                      "quantity_expected": 12}
    assert event.data["lines"][1]["quantity_received"] == 5


def test_a_shipment_is_a_transfer_shipped_per_line_with_both_locations_mapped() -> None:
    events = translate_item(item("shipment", {
        "shipment_id": "SHP-1", "transfer_id": "TR-1", "warehouse": "W1", "to_location": "STORE-001",
        "carrier": "UPS", "lines": [{"line": 1, "sku": "A", "quantity": 6}, {"line": 2, "sku": "B", "quantity": 2}]}),
        SOURCE)
    assert [(e.type, e.subject, e.data["to_location"], e.data["quantity"]) for e in events] == [
        ("transfer.shipped", "A@DC-EAST", "STORE-001", 6), ("transfer.shipped", "B@DC-EAST", "STORE-001", 2)]
    assert events[0].data["carrier"] == "UPS" and "tracking" not in events[0].data


def test_a_cycle_count_records_counted_against_the_system_quantity() -> None:
    [event] = translate_item(item("cycle_count", {
        "count_id": "CNT-1", "warehouse": "W2", "counter": "ana",
        "lines": [{"line": 1, "sku": "A", "counted": 40, "system_quantity": 44}]}), SOURCE)
    assert event.type == "cycle_count.recorded"
    assert event.data == {"sku": "A", "location": "W2", "counted": 40, "recorded": 44, "count_id": "CNT-1",
                          "counter": "ana"}


@pytest.mark.parametrize(("code", "reason"), sorted(REASON_CODES.items()))
def test_adjustment_reason_codes_map_to_canonical_reasons(code: str, reason: str) -> None:
    [event] = translate_item(item("adjustment", {
        "adjustment_id": "ADJ-1", "warehouse": "W1",
        "lines": [{"line": 1, "sku": "A", "delta": -3, "reason_code": code}]}), SOURCE)
    assert (event.type, event.data["delta"], event.data["reason"], event.data["reference"]) == (
        "stock.adjusted", -3, reason, "ADJ-1")


def test_an_unknown_reason_code_names_the_line() -> None:
    with pytest.raises(EventError) as caught:
        translate_item(item("adjustment", {"adjustment_id": "ADJ-1", "warehouse": "W1", "lines": [
            {"line": 1, "sku": "A", "delta": 1, "reason_code": "DMG"},
            {"line": 2, "sku": "B", "delta": 1, "reason_code": "ZZZ"}]}), SOURCE)
    assert caught.value.where == "data.lines[1].reason_code"
    assert "'ZZZ'" in str(caught.value)


def test_a_snapshot_is_an_absolute_stock_snapshot_per_sku() -> None:
    events = translate_item(item("inventory_snapshot", {
        "warehouse": "W1", "as_of": "2026-11-27T06:00:00+00:00",
        "lines": [{"sku": "A", "on_hand": 12, "available": 10, "allocated": 2},
                  {"sku": "B", "on_hand": 0, "available": 0}]}), SOURCE)
    assert [(e.type, e.subject, e.data["status"]["on_hand"], e.data["status"]["reserved"]) for e in events] == [
        ("stock.snapshot", "A@DC-EAST", 12, 2), ("stock.snapshot", "B@DC-EAST", 0, 0)]
    assert events[0].idempotency_key == "wms1:wev_1:A:stock.snapshot"


def test_an_unknown_wms_type_is_a_contract_error() -> None:
    with pytest.raises(ContractError, match="unknown WMS event type 'putaway'"):
        translate_item(item("putaway", {}), SOURCE)


def test_a_transfer_request_is_posted_with_peer_location_ids_and_the_event_key() -> None:
    event = new_event("transfer.requested", {"sku": "A", "location": "DC-EAST", "to_location": "STORE-001",
                                             "transfer_id": "TR-7", "quantity": 24, "priority": 1,
                                             "needed_by": "2026-12-01"},
                      source="urn:hub", subject="A@DC-EAST", idempotency_key="k-tr")
    [call] = outbound_calls(event, SOURCE.locations)
    assert (call.method, call.path, call.idempotency_key) == ("POST", "/v1/transfer-requests", "k-tr")
    assert call.json == {"transfer_id": "TR-7", "sku": "A", "from_location": "W1", "to_location": "STORE-001",
                         "quantity": 24, "priority": 1, "needed_by": "2026-12-01"}


def test_a_count_task_is_posted_and_other_tasks_are_refused() -> None:
    count = new_event("task.raised", {"task_id": "T1", "kind": "count", "title": "Recount A", "sku": "A",
                                      "location": "DC-EAST", "priority": 2},
                      source="urn:hub", subject="A@DC-EAST", idempotency_key="k-t1")
    [call] = outbound_calls(count, SOURCE.locations)
    assert (call.path, call.json) == ("/v1/count-tasks", {"task_id": "T1", "sku": "A", "location": "W1",
                                                          "priority": 2, "title": "Recount A"})
    review = new_event("task.raised", {"task_id": "T2", "kind": "review", "title": "Look"},
                       source="urn:hub", subject="x")
    with pytest.raises(ContractError, match="kind 'review'"):
        outbound_calls(review, {})
    no_location = new_event("task.raised", {"task_id": "T3", "kind": "count", "title": "Count", "sku": "A"},
                            source="urn:hub", subject="x")
    with pytest.raises(ContractError, match="must name a location"):
        outbound_calls(no_location, {})

"""One valid example of each event type's data, for `hub events example` and for tests."""

from __future__ import annotations

from typing import Any

from canonical.envelope import Envelope, new_event

EXAMPLE_DATA: dict[str, dict[str, Any]] = {
    "stock.snapshot": {"sku": "SKU-1001", "location": "STORE-001",
                       "status": {"on_hand": 12, "available": 10, "reserved": 2}},
    "stock.adjusted": {"sku": "SKU-1001", "location": "STORE-001", "delta": -1, "reason": "sale",
                       "reference": "POS-TXN-88121"},
    "reservation.changed": {"sku": "SKU-1001", "location": "WEB-01", "order_id": "ORD-5521",
                            "action": "reserve", "quantity": 1},
    "cycle_count.recorded": {"sku": "SKU-1001", "location": "DC-01", "counted": 40, "recorded": 44},
    "transfer.requested": {"sku": "SKU-1001", "location": "DC-01", "to_location": "STORE-001",
                           "transfer_id": "TR-1", "quantity": 24},
    "transfer.shipped": {"sku": "SKU-1001", "location": "DC-01", "to_location": "STORE-001",
                         "transfer_id": "TR-1", "quantity": 24},
    "transfer.received": {"sku": "SKU-1001", "location": "STORE-001", "transfer_id": "TR-1",
                          "from_location": "DC-01", "quantity_expected": 24, "quantity_received": 24},
    "purchase_order.changed": {"po_number": "PO-4500012", "status": "created", "supplier": "SUP-ACME",
                               "location": "DC-01",
                               "lines": [{"line": 1, "sku": "SKU-1001", "quantity": 120, "unit_price": 4.2}]},
    "shipment.notified": {"asn_id": "ASN-77", "supplier": "SUP-ACME", "location": "DC-01",
                          "po_number": "PO-4500012", "lines": [{"sku": "SKU-1001", "quantity": 120}]},
    "receipt.confirmed": {"receipt_id": "RCV-9", "location": "DC-01", "asn_id": "ASN-77",
                          "lines": [{"sku": "SKU-1001", "quantity_received": 118, "quantity_damaged": 2}]},
    "return.received": {"sku": "SKU-1001", "location": "STORE-001", "return_id": "RET-31", "quantity": 1,
                        "reason_code": "wrong_size", "condition": "new"},
    "return.dispositioned": {"sku": "SKU-1001", "location": "STORE-001", "return_id": "RET-31", "quantity": 1,
                             "disposition": "restock", "reasons": ["condition new", "local demand high"]},
    "availability.published": {"sku": "SKU-1001", "location": "WEB-01", "available": 57},
    "task.raised": {"task_id": "TASK-1", "kind": "count", "title": "Recount SKU-1001 at STORE-001",
                    "sku": "SKU-1001", "location": "STORE-001", "recommended_action": "recount"},
    "partner.acknowledged": {"partner": "ACME", "standard": "x12", "interchange_control": "000000101",
                             "group_control": "101", "document_type": "856", "status": "accepted"},
}


def example_event(event_type: str, source: str = "urn:hub:example") -> Envelope:
    data = EXAMPLE_DATA[event_type]
    sku, location = data.get("sku"), data.get("location")
    subject = f"{sku}@{location}" if sku and location else next(iter(data.values()))
    return new_event(event_type, data, source=source, subject=str(subject))

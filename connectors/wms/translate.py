"""Pure translation between a warehouse system's JSON and canonical events, both directions.

In: receipt -> receipt.confirmed; shipment (picked and shipped) -> transfer.shipped per line;
cycle_count -> cycle_count.recorded per line; adjustment -> stock.adjusted per line (WMS reason
codes mapped); inventory_snapshot -> stock.snapshot per line.
Out: transfer.requested -> POST a transfer request; task.raised of kind count -> POST a count task.
Location ids are mapped with the connector's `locations` table (peer id -> hub id) both ways.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import AwareDatetime, Field

from canonical import ContractError, Envelope, EventError, item_subject, new_event
from connectors.pos.feed import FeedItem, RawModel, SourceInfo, parse_raw
from connectors.pos.http import RestCall

# The WMS's adjustment reason codes and the canonical reason each one means.
REASON_CODES: dict[str, str] = {
    "DMG": "damage",
    "SHR": "shrink",
    "CC": "count_correction",
    "RCV": "receipt",
    "TRI": "transfer_in",
    "TRO": "transfer_out",
    "OTH": "other",
}


class _ReceiptLine(RawModel):
    line: int = Field(ge=1)
    sku: str = Field(min_length=1, max_length=64)
    received: int = Field(ge=0)
    damaged: int = Field(default=0, ge=0)
    expected: int | None = Field(default=None, ge=0)


class Receipt(RawModel):
    receipt_id: str = Field(min_length=1)
    warehouse: str = Field(min_length=1)
    asn_id: str | None = None
    po_number: str | None = None
    lines: list[_ReceiptLine] = Field(min_length=1)


class _Line(RawModel):
    line: int = Field(ge=1)
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=0)


class Shipment(RawModel):
    shipment_id: str = Field(min_length=1)
    transfer_id: str = Field(min_length=1)
    warehouse: str = Field(min_length=1)
    to_location: str = Field(min_length=1)
    carrier: str | None = None
    tracking: str | None = None
    lines: list[_Line] = Field(min_length=1)


class _CountLine(RawModel):
    line: int = Field(ge=1)
    sku: str = Field(min_length=1, max_length=64)
    counted: int = Field(ge=0)
    system_quantity: int


class CycleCount(RawModel):
    count_id: str = Field(min_length=1)
    warehouse: str = Field(min_length=1)
    counter: str | None = None
    lines: list[_CountLine] = Field(min_length=1)


class _AdjustmentLine(RawModel):
    line: int = Field(ge=1)
    sku: str = Field(min_length=1, max_length=64)
    delta: int
    reason_code: str = Field(min_length=1)


class Adjustment(RawModel):
    adjustment_id: str = Field(min_length=1)
    warehouse: str = Field(min_length=1)
    lines: list[_AdjustmentLine] = Field(min_length=1)


class _SnapshotLine(RawModel):
    sku: str = Field(min_length=1, max_length=64)
    on_hand: int
    available: int
    allocated: int = 0
    damaged: int = 0
    in_transit: int = 0


class InventorySnapshot(RawModel):
    warehouse: str = Field(min_length=1)
    as_of: AwareDatetime
    lines: list[_SnapshotLine] = Field(min_length=1)


def translate_item(item: Mapping[str, Any], source: SourceInfo) -> list[Envelope]:
    """Canonical events of one WMS feed item; an EventError (ContractError for an unknown type) naming the field."""
    head = parse_raw(FeedItem, item)
    handler = _INBOUND.get(head.type)
    if handler is None:
        raise ContractError(f"unknown WMS event type {head.type!r} (known: {', '.join(_INBOUND)})", "type")
    return handler(head, source)


def _receipt(head: FeedItem, source: SourceInfo) -> list[Envelope]:
    receipt = parse_raw(Receipt, head.data, "data")
    location = source.location(receipt.warehouse)
    data = {"receipt_id": receipt.receipt_id, "location": location, "asn_id": receipt.asn_id,
            "po_number": receipt.po_number,
            "lines": [{"sku": line.sku, "quantity_received": line.received, "quantity_damaged": line.damaged,
                       "quantity_expected": line.expected} for line in receipt.lines]}
    return [_event(head, source, "receipt.confirmed", "all", data, item_subject(receipt.receipt_id, location))]


def _shipment(head: FeedItem, source: SourceInfo) -> list[Envelope]:
    shipment = parse_raw(Shipment, head.data, "data")
    location = source.location(shipment.warehouse)
    return [
        _event(head, source, "transfer.shipped", line.line, {
            "sku": line.sku, "location": location, "transfer_id": shipment.transfer_id,
            "to_location": source.location(shipment.to_location), "quantity": line.quantity,
            "carrier": shipment.carrier, "tracking": shipment.tracking,
        })
        for line in shipment.lines
    ]


def _cycle_count(head: FeedItem, source: SourceInfo) -> list[Envelope]:
    count = parse_raw(CycleCount, head.data, "data")
    location = source.location(count.warehouse)
    return [
        _event(head, source, "cycle_count.recorded", line.line, {
            "sku": line.sku, "location": location, "counted": line.counted, "recorded": line.system_quantity,
            "count_id": count.count_id, "counter": count.counter,
        })
        for line in count.lines
    ]


def _adjustment(head: FeedItem, source: SourceInfo) -> list[Envelope]:
    adjustment = parse_raw(Adjustment, head.data, "data")
    location = source.location(adjustment.warehouse)
    events = []
    for index, line in enumerate(adjustment.lines):
        reason = REASON_CODES.get(line.reason_code)
        if reason is None:
            raise EventError(f"unknown reason code {line.reason_code!r} (known: {', '.join(REASON_CODES)})",
                             f"data.lines[{index}].reason_code")
        events.append(_event(head, source, "stock.adjusted", line.line, {
            "sku": line.sku, "location": location, "delta": line.delta, "reason": reason,
            "reference": adjustment.adjustment_id,
        }))
    return events


def _snapshot(head: FeedItem, source: SourceInfo) -> list[Envelope]:
    snapshot = parse_raw(InventorySnapshot, head.data, "data")
    location = source.location(snapshot.warehouse)
    return [
        _event(head, source, "stock.snapshot", line.sku, {
            "sku": line.sku, "location": location, "as_of": snapshot.as_of.isoformat(),
            "status": {"on_hand": line.on_hand, "available": line.available, "reserved": line.allocated,
                       "damaged": line.damaged, "in_transit": line.in_transit},
        })
        for line in snapshot.lines
    ]


_INBOUND: dict[str, Callable[[FeedItem, SourceInfo], list[Envelope]]] = {
    "receipt": _receipt,
    "shipment": _shipment,
    "cycle_count": _cycle_count,
    "adjustment": _adjustment,
    "inventory_snapshot": _snapshot,
}


def _event(head: FeedItem, source: SourceInfo, event_type: str, line: int | str, data: dict[str, Any],
           subject: str | None = None) -> Envelope:
    data = {k: v for k, v in data.items() if v is not None}
    return new_event(event_type, data, source=source.uri,
                     subject=subject or item_subject(data["sku"], data["location"]),
                     idempotency_key=source.key(head, line, event_type), time=head.created_at)


def outbound_calls(event: Envelope, locations: Mapping[str, str]) -> list[RestCall]:
    """The WMS API calls that deliver `event`; `locations` maps peer ids to hub ids (reversed here)."""
    to_peer = {hub: peer for peer, hub in locations.items()}
    if event.type == "transfer.requested":
        return [transfer_call(event, to_peer)]
    if event.type == "task.raised" and event.data.get("kind") == "count":
        return [count_task_call(event, to_peer)]
    what = event.type + (f" of kind {event.data.get('kind')!r}" if event.type == "task.raised" else "")
    raise ContractError(f"wms.rest cannot deliver {what}", "type")


def transfer_call(event: Envelope, to_peer: Mapping[str, str]) -> RestCall:
    data = event.data
    body = {"transfer_id": data["transfer_id"], "sku": data["sku"],
            "from_location": to_peer.get(data["location"], data["location"]),
            "to_location": to_peer.get(data["to_location"], data["to_location"]),
            "quantity": data["quantity"], "priority": data.get("priority", 3)}
    if data.get("needed_by"):
        body["needed_by"] = data["needed_by"]
    return RestCall("POST", "/v1/transfer-requests", body, event.idempotency_key)


def count_task_call(event: Envelope, to_peer: Mapping[str, str]) -> RestCall:
    data = event.data
    for field in ("sku", "location"):
        if not data.get(field):
            raise ContractError(f"a count task must name a {field}", f"data.{field}")
    body = {"task_id": data["task_id"], "sku": data["sku"], "location": to_peer.get(data["location"], data["location"]),
            "priority": data.get("priority", 3), "title": data["title"]}
    return RestCall("POST", "/v1/count-tasks", body, event.idempotency_key)

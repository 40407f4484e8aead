"""Version 1 of every canonical event type's data."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from canonical.master import InventoryStatus, UnitOfMeasure


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _ItemAtLocation(_Data):
    sku: str = Field(min_length=1, max_length=64)
    location: str = Field(min_length=1, max_length=64)


class StockSnapshot(_ItemAtLocation):
    """The absolute stock of an item at a location, as a system of record sees it."""

    status: InventoryStatus
    as_of: datetime | None = None


class AdjustmentReason(StrEnum):
    SALE = "sale"
    RETURN = "return"
    RECEIPT = "receipt"
    SHRINK = "shrink"
    DAMAGE = "damage"
    COUNT_CORRECTION = "count_correction"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"
    OTHER = "other"


class StockAdjusted(_ItemAtLocation):
    """A change in on-hand stock (negative for stock that left)."""

    delta: int
    reason: AdjustmentReason
    reference: str | None = Field(default=None, max_length=100, description="Source document (receipt, sale, ...).")
    on_hand_after: int | None = None


class ReservationAction(StrEnum):
    RESERVE = "reserve"
    RELEASE = "release"
    CONSUME = "consume"


class ReservationChanged(_ItemAtLocation):
    order_id: str = Field(min_length=1)
    channel: str = "web"
    action: ReservationAction
    quantity: int = Field(ge=0)


class CycleCountRecorded(_ItemAtLocation):
    counted: int = Field(ge=0, description="Units physically counted.")
    recorded: int = Field(description="Units on the record when the count was taken.")
    count_id: str | None = None
    counter: str | None = None


class TransferRequested(_ItemAtLocation):
    """`location` is the source; `to_location` the destination."""

    transfer_id: str = Field(min_length=1)
    to_location: str = Field(min_length=1)
    quantity: int = Field(gt=0)
    priority: int = Field(default=3, ge=1, le=5, description="1 is most urgent.")
    needed_by: date | None = None


class TransferShipped(_ItemAtLocation):
    transfer_id: str = Field(min_length=1)
    to_location: str = Field(min_length=1)
    quantity: int = Field(ge=0)
    carrier: str | None = None
    tracking: str | None = None


class TransferReceived(_ItemAtLocation):
    """`location` is where the transfer arrived."""

    transfer_id: str = Field(min_length=1)
    from_location: str | None = None
    quantity_expected: int | None = Field(default=None, ge=0)
    quantity_received: int = Field(ge=0)


class OrderLine(_Data):
    line: int = Field(ge=1)
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=0)
    unit_of_measure: UnitOfMeasure = UnitOfMeasure.EACH
    unit_price: float | None = Field(default=None, ge=0)


class PurchaseOrderStatus(StrEnum):
    CREATED = "created"
    ACKNOWLEDGED = "acknowledged"
    CHANGED = "changed"
    SHIPPED = "shipped"
    RECEIVED = "received"
    INVOICED = "invoiced"
    CANCELLED = "cancelled"


class PurchaseOrderChanged(_Data):
    po_number: str = Field(min_length=1, max_length=64)
    status: PurchaseOrderStatus
    supplier: str = Field(min_length=1)
    location: str = Field(min_length=1, description="Ship-to location.")
    lines: list[OrderLine] = Field(default_factory=list)
    expected_date: date | None = None


class ShipmentLine(_Data):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=0)
    gtin: str | None = None
    lot: str | None = None
    po_number: str | None = None


class ShipmentNotified(_Data):
    """An advance ship notice (ASN): goods on their way to `location`."""

    asn_id: str = Field(min_length=1)
    supplier: str = Field(min_length=1)
    location: str = Field(min_length=1)
    po_number: str | None = None
    shipped_at: datetime | None = None
    expected_at: datetime | None = None
    carrier: str | None = None
    tracking: str | None = None
    lines: list[ShipmentLine] = Field(min_length=1)


class ReceiptLine(_Data):
    sku: str = Field(min_length=1, max_length=64)
    quantity_received: int = Field(ge=0)
    quantity_damaged: int = Field(default=0, ge=0)
    quantity_expected: int | None = Field(default=None, ge=0)


class ReceiptConfirmed(_Data):
    receipt_id: str = Field(min_length=1)
    location: str = Field(min_length=1)
    asn_id: str | None = None
    po_number: str | None = None
    lines: list[ReceiptLine] = Field(min_length=1)


class ReturnCondition(StrEnum):
    NEW = "new"
    OPENED = "opened"
    DAMAGED = "damaged"
    DEFECTIVE = "defective"


class ReturnReceived(_ItemAtLocation):
    return_id: str = Field(min_length=1)
    quantity: int = Field(gt=0)
    reason_code: str = Field(min_length=1)
    condition: ReturnCondition = ReturnCondition.NEW
    channel: str = "store"
    order_id: str | None = None
    refund_amount: float | None = Field(default=None, ge=0)


class Disposition(StrEnum):
    RESTOCK = "restock"
    ROUTE_TO_DC = "route_to_dc"
    DISCOUNT = "discount"
    LIQUIDATE = "liquidate"
    RETURN_TO_VENDOR = "return_to_vendor"
    DESTROY = "destroy"


class ReturnDispositioned(_ItemAtLocation):
    return_id: str = Field(min_length=1)
    quantity: int = Field(gt=0)
    disposition: Disposition
    destination: str | None = None
    reasons: list[str] = Field(default_factory=list)


class AvailabilityPublished(_ItemAtLocation):
    """Sellable quantity of an item at a fulfilment node (`location`), set, not incremented."""

    available: int = Field(ge=0)
    channel: str = "web"


class TaskRaised(_Data):
    task_id: str = Field(min_length=1)
    kind: str = Field(min_length=1, description="count, review, replenishment, ack_overdue, schema_deprecated, ...")
    title: str = Field(min_length=1)
    priority: int = Field(default=3, ge=1, le=5)
    sku: str | None = None
    location: str | None = None
    assignee_role: str = "planner"
    recommended_action: str | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)


class AckStatus(StrEnum):
    ACCEPTED = "accepted"
    ACCEPTED_WITH_ERRORS = "accepted_with_errors"
    REJECTED = "rejected"


class AckError(_Data):
    segment: str | None = None
    position: int | None = None
    element: int | None = None
    code: str
    text: str = ""


class PartnerAcknowledged(_Data):
    partner: str = Field(min_length=1)
    standard: str = Field(pattern="^(x12|edifact)$")
    interchange_control: str = Field(min_length=1)
    group_control: str | None = None
    document_type: str | None = None
    status: AckStatus
    errors: list[AckError] = Field(default_factory=list)


V1_MODELS: dict[str, type[BaseModel]] = {
    "stock.snapshot": StockSnapshot,
    "stock.adjusted": StockAdjusted,
    "reservation.changed": ReservationChanged,
    "cycle_count.recorded": CycleCountRecorded,
    "transfer.requested": TransferRequested,
    "transfer.shipped": TransferShipped,
    "transfer.received": TransferReceived,
    "purchase_order.changed": PurchaseOrderChanged,
    "shipment.notified": ShipmentNotified,
    "receipt.confirmed": ReceiptConfirmed,
    "return.received": ReturnReceived,
    "return.dispositioned": ReturnDispositioned,
    "availability.published": AvailabilityPublished,
    "task.raised": TaskRaised,
    "partner.acknowledged": PartnerAcknowledged,
}

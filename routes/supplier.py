"""Supplier events: ship notices become expected receipts; receipts and acknowledgements are booked."""

from __future__ import annotations

from routes.workflow import WorkflowRoute

ROUTE = WorkflowRoute(
    name="supplier",
    by_type={
        "shipment.notified": ["wms", "erp"],
        "receipt.confirmed": ["erp"],
        "partner.acknowledged": ["erp"],
    },
)

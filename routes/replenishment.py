"""Replenishment: orders to suppliers and the ERP, transfers to the warehouse, tasks to planners."""

from __future__ import annotations

from routes.workflow import WorkflowRoute

ROUTE = WorkflowRoute(
    name="replenishment",
    by_type={
        "purchase_order.changed": ["erp", "supplier"],
        "transfer.requested": ["wms", "3pl", "erp"],
        "transfer.shipped": ["erp"],
        "transfer.received": ["erp"],
    },
    by_task_kind={
        "*": ["planner"],
        "count": ["wms"],
        "exposure_hold": ["commerce"],
        "exposure_release": ["commerce"],
        "replenishment": ["erp"],
    },
)

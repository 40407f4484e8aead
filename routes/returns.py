"""Returns: a return is credited in the ERP; its disposition goes where the goods must go."""

from __future__ import annotations

from routes.workflow import WorkflowRoute

ROUTE = WorkflowRoute(
    name="returns",
    by_type={
        "return.received": ["erp"],
        "return.dispositioned": ["erp", "wms"],
    },
)

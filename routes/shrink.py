"""Shrink: a cycle count that disagrees with the record books the difference in the ERP.

The correction is a derived `stock.adjusted` (reason `count_correction`) for the `erp` role; the
phantom-stock hook decides separately whether a recount is worth a person's time.
"""

from __future__ import annotations

from canonical import Envelope, new_event
from routes import Derived
from routes.workflow import WorkflowRoute, derived_key


def _correction(event: Envelope) -> list[Derived]:
    data = event.data
    difference = data["counted"] - data["recorded"]
    if difference == 0:
        return []
    fields = {"sku": data["sku"], "location": data["location"], "delta": difference, "reason": "count_correction",
              "reference": data.get("count_id") or event.id, "on_hand_after": data["counted"]}
    correction = new_event("stock.adjusted", fields, source="urn:hub:route:shrink", subject=event.subject,
                           time=event.time, idempotency_key=derived_key(event, "count-correction"),
                           correlation_id=event.correlation_id, causation_id=event.id, trace=event.trace)
    return [Derived(correction, route="shrink")]


ROUTE = WorkflowRoute(
    name="shrink",
    by_type={"stock.adjusted": ["erp"], "stock.snapshot": ["erp"], "cycle_count.recorded": ["erp", "planner"]},
    derivers={"cycle_count.recorded": [_correction]},
)

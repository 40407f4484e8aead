"""Availability: keep the web shop's sellable quantity true for every item and fulfilment node.

Stock snapshots, adjustments with a known on-hand, and reservations change what can be sold;
each change derives an `availability.published` (a set, not an increment, so a retry is
harmless) for the `commerce` role. The per-item figures live in this worker's memory: each
EVENTS partition has one owner, so the owner sees every event of its items in order; after a
restart the next snapshot sets them again.
"""

from __future__ import annotations

from canonical import Envelope, new_event
from routes import Derived
from routes.workflow import WorkflowRoute, derived_key

_levels: dict[str, list[int]] = {}  # subject -> [on_hand, reserved]


def _publish(event: Envelope, sku: str, location: str) -> list[Derived]:
    on_hand, reserved = _levels[event.subject]
    available = max(0, on_hand - reserved)
    published = new_event("availability.published", {"sku": sku, "location": location, "available": available},
                          source="urn:hub:route:availability", subject=event.subject, time=event.time,
                          idempotency_key=derived_key(event, "availability"), correlation_id=event.correlation_id,
                          causation_id=event.id, trace=event.trace)
    return [Derived(published, route="availability")]


def _from_snapshot(event: Envelope) -> list[Derived]:
    data = event.data
    status = data["status"]
    _levels[event.subject] = [status.get("on_hand", 0), status.get("reserved", 0)]
    return _publish(event, data["sku"], data["location"])


def _from_adjustment(event: Envelope) -> list[Derived]:
    data = event.data
    level = _levels.get(event.subject)
    if "on_hand_after" in data:
        _levels[event.subject] = [int(data["on_hand_after"] * data.get("units_per_uom", 1)), level[1] if level else 0]
    elif level is not None:
        level[0] += int(data["delta"] * data.get("units_per_uom", 1))
    else:
        return []  # no baseline yet: the next snapshot sets it
    return _publish(event, data["sku"], data["location"])


def _from_reservation(event: Envelope) -> list[Derived]:
    data = event.data
    level = _levels.get(event.subject)
    if level is None:
        return []
    change = {"reserve": 1, "release": -1, "consume": -1}[data["action"]] * data["quantity"]
    level[1] = max(0, level[1] + change)
    if data["action"] == "consume":
        level[0] -= data["quantity"]
    return _publish(event, data["sku"], data["location"])


ROUTE = WorkflowRoute(
    name="availability",
    by_type={"availability.published": ["commerce"]},
    derivers={"stock.snapshot": [_from_snapshot], "stock.adjusted": [_from_adjustment],
              "reservation.changed": [_from_reservation]},
)

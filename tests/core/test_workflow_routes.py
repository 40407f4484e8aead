"""Workflow routes on their own: which roles each event reaches, and what they derive."""

from __future__ import annotations

from canonical import new_event
from routes import Delivery, Derived, availability, replenishment, shrink


def _adjusted(sku: str, delta: int, key: str, **extra):
    return new_event("stock.adjusted", {"sku": sku, "location": "WEB-01", "delta": delta, "reason": "sale", **extra},
                     source="urn:test", subject=f"{sku}@WEB-01", idempotency_key=key)


def test_availability_follows_snapshot_adjustments_and_reservations():
    snapshot = new_event("stock.snapshot", {"sku": "A1", "location": "WEB-01",
                                            "status": {"on_hand": 10, "reserved": 2}},
                         source="urn:test", subject="A1@WEB-01", idempotency_key="s1")
    published = [availability.ROUTE.route(snapshot)[0]]
    published += availability.ROUTE.route(_adjusted("A1", -3, "a1"))
    published += availability.ROUTE.route(new_event(
        "reservation.changed", {"sku": "A1", "location": "WEB-01", "order_id": "O1", "action": "reserve",
                                "quantity": 4}, source="urn:test", subject="A1@WEB-01", idempotency_key="r1"))
    assert all(isinstance(p, Derived) and p.event.type == "availability.published" for p in published)
    assert [p.event.data["available"] for p in published] == [8, 5, 1]
    assert published[1].event.idempotency_key == "a1/availability"  # the same input derives the same key
    assert availability.ROUTE.route(_adjusted("UNSEEN", -1, "u1")) == []  # no baseline, nothing invented
    forwarded = availability.ROUTE.route(published[0].event)
    assert forwarded == [Delivery(published[0].event, role="commerce", route="availability")]


def test_cycle_count_disagreement_derives_a_correction_for_the_erp():
    count = new_event("cycle_count.recorded", {"sku": "B2", "location": "DC-01", "counted": 7, "recorded": 10},
                      source="urn:test", subject="B2@DC-01", idempotency_key="c1")
    out = shrink.ROUTE.route(count)
    roles = {o.role for o in out if isinstance(o, Delivery)}
    corrections = [o.event for o in out if isinstance(o, Derived)]
    assert roles == {"erp", "planner"}
    assert len(corrections) == 1 and corrections[0].data["delta"] == -3
    assert corrections[0].data["reason"] == "count_correction" and corrections[0].causation_id == count.id
    agreeing = count.model_copy(update={"data": dict(count.data, counted=10)})
    assert [o for o in shrink.ROUTE.route(agreeing) if isinstance(o, Derived)] == []


def test_replenishment_sends_orders_to_supplier_and_erp():
    from canonical.examples import example_event

    order = example_event("purchase_order.changed")
    assert {d.role for d in replenishment.ROUTE.route(order)} == {"erp", "supplier"}
    assert replenishment.ROUTE.route(example_event("stock.adjusted")) == []


def test_tasks_go_to_the_roles_of_their_kind():
    def task(kind: str):
        return new_event("task.raised", {"task_id": f"T-{kind}", "kind": kind, "title": kind}, source="urn:test",
                         subject="A1@DC-01", idempotency_key=f"t-{kind}")

    def roles(kind: str) -> set[str]:
        return {d.role for d in replenishment.ROUTE.route(task(kind))}

    assert roles("count") == {"wms", "planner"}
    assert roles("exposure_hold") == {"commerce", "planner"}
    assert roles("review") == {"planner"}

"""Task events as the hub's hooks make them: the safety-stock action and a planner's review task."""

from __future__ import annotations

from canonical import Envelope, new_event
from hub.hooks.actions import auto_deliveries, review_task
from hub.hooks.result import HookResult


def sale(sku: str = "SKU-1001", location: str = "STORE-001", key: str = "sale-1") -> Envelope:
    return new_event("stock.adjusted", {"sku": sku, "location": location, "delta": -9, "reason": "sale"},
                     source="urn:hub:pos", subject=f"{sku}@{location}", idempotency_key=key)


def safety_stock_result(sku: str, location: str, safety_stock: int, reorder_point: int,
                        action: str = "raise_safety_stock") -> HookResult:
    evidence = {"safety_stock_change": {"safety_stock": safety_stock, "reorder_point": reorder_point,
                                        "previous_safety_stock": 16}}
    return HookResult(hook="safety_stock", model_version="test", config_hash="0", key=f"{sku}@{location}",
                      score=0.25, reasons=("safety_stock_change",), evidence=evidence, action=action,
                      confidence=0.9, details={"safety_stock": safety_stock, "reorder_point": reorder_point})


def raise_task(sku: str = "SKU-1001", location: str = "STORE-001", safety_stock: int = 20,
               reorder_point: int = 41, key: str = "sale-1") -> Envelope:
    """The task.raised the hub sends to the ERP role when it raises safety stock on its own."""
    (delivery,) = auto_deliveries(sale(sku, location, key), safety_stock_result(sku, location, safety_stock,
                                                                                 reorder_point), {})
    assert delivery.role == "erp"
    return delivery.event


def review(sku: str = "SKU-1001", location: str = "STORE-001") -> Envelope:
    """The planner's review task of the same recommendation: for a person, not for the ERP."""
    return review_task(sale(sku, location), safety_stock_result(sku, location, 20, 41), "p1", "rule").event

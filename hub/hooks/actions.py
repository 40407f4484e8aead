"""Governed actions as canonical events: what the hub sends when it acts (auto) or asks a person (review).

Ids, idempotency keys and times derive from the input event and the hook, never from a clock or uuid4, so
a replay of the same events produces the same actions and a sink drops the repeats.

What each auto action sends:
- raise_safety_stock: a task.raised of kind `replenishment` to the ERP role, carrying the new safety stock
  and reorder point in its evidence (the canonical model has no parameter-change event; the ERP connector
  maps the task to its replenishment-parameter call).
- hold_marketplace_exposure: availability.published with available=0 on channel `marketplace` (commerce).
- reprioritise_transfer: the transfer.requested again, same transfer id, priority 1 (WMS).
- route_return: return.dispositioned with the disposition and destination (WMS).
- recount: a task.raised of kind `count` to the WMS role.
- auto_resolve: nothing is sent; the decision is the AUDIT record.
"""

from __future__ import annotations

import hashlib
from typing import Any

from canonical import Envelope, new_event
from hub.hooks.result import HookResult
from routes import Delivery, Derived

DEFAULT_ROLES: dict[str, str] = {"raise_safety_stock": "erp", "hold_marketplace_exposure": "commerce",
                                 "reprioritise_transfer": "wms", "route_return": "wms", "recount": "wms"}
TASK_KINDS: dict[str, str] = {"recount": "count", "raise_safety_stock": "replenishment",
                              "escalate": "replenishment", "auto_resolve": "replenishment",
                              "reprioritise_transfer": "replenishment", "hold_marketplace_exposure": "review",
                              "route_return": "review", "review": "review"}


def derived_id(event: Envelope, hook: str, what: str) -> str:
    digest = hashlib.sha256(f"{event.id}\x00{hook}\x00{what}".encode()).hexdigest()[:32]
    return f"hook-{hook}-{digest}"


def auto_deliveries(event: Envelope, result: HookResult, roles: dict[str, str]) -> list[Delivery]:
    """The deliveries that carry out `result.action` (none for auto_resolve)."""
    if result.action == "auto_resolve":
        return []
    action_event = _action_event(event, result)
    return [Delivery(action_event, role=roles.get(result.action, DEFAULT_ROLES.get(result.action)),
                     route=f"hook:{result.hook}")]


def review_task(event: Envelope, result: HookResult, policy_version: str, rule: str) -> Derived:
    """A task.raised for a planner with everything needed to decide: evidence, score, versions, the event."""
    sku, location = _item(event, result)
    evidence = {"reasons": list(result.reasons), "evidence": result.evidence, "score": result.score,
                "confidence": result.confidence, "hook": result.hook, "model_version": result.model_version,
                "config_hash": result.config_hash, "policy_version": policy_version, "rule": rule,
                "event_id": event.id, "event_type": event.type, "details": result.details}
    title = f"{result.hook}: {', '.join(result.reasons)} on {result.key} - recommended {result.action}"
    task = _new(event, result, "task", "task.raised", {
        "task_id": derived_id(event, result.hook, "task"), "kind": TASK_KINDS.get(result.action, "review"),
        "title": title[:200], "priority": 2 if result.confidence >= 0.8 else 3, "sku": sku, "location": location,
        "assignee_role": "planner", "recommended_action": _recommended(result), "evidence": evidence})
    return Derived(task, route=f"hook:{result.hook}")


def _action_event(event: Envelope, result: HookResult) -> Envelope:
    sku, location = _item(event, result)
    d = result.details
    if result.action == "hold_marketplace_exposure":
        return _new(event, result, "action", "availability.published",
                    {"sku": sku, "location": location, "available": 0, "channel": "marketplace"})
    if result.action == "reprioritise_transfer":
        data = {k: v for k, v in event.data.items() if k != "priority"}
        return _new(event, result, "action", "transfer.requested", {**data, "priority": d["priority"]})
    if result.action == "route_return":
        return _new(event, result, "action", "return.dispositioned", {
            "sku": sku, "location": location, "return_id": event.data["return_id"],
            "quantity": event.data["quantity"], "disposition": d["disposition"], "destination": d["destination"],
            "reasons": [f"{d['table_version']} {d['table_row']}", *result.reasons]})
    kind = TASK_KINDS[result.action]
    title = f"{result.action.replace('_', ' ')}: {result.key}"
    if result.action == "raise_safety_stock":
        title = f"Set safety stock of {sku} at {location} to {d['safety_stock']} (reorder point {d['reorder_point']})"
    return _new(event, result, "action", "task.raised", {
        "task_id": derived_id(event, result.hook, "action"), "kind": kind, "title": title, "sku": sku,
        "location": location, "assignee_role": "system", "recommended_action": result.action,
        "evidence": {"reasons": list(result.reasons), "evidence": result.evidence, **d}})


def _new(event: Envelope, result: HookResult, what: str, event_type: str, data: dict[str, Any]) -> Envelope:
    event_id = derived_id(event, result.hook, what)
    built = new_event(event_type, data, source=f"urn:hub:hooks:{result.hook}", subject=event.subject,
                      idempotency_key=event_id, time=event.time, correlation_id=event.correlation_id or event.id,
                      causation_id=event.id, trace=event.trace)
    return built.model_copy(update={"id": event_id})


def _item(event: Envelope, result: HookResult) -> tuple[str | None, str | None]:
    sku, _, location = result.key.partition("@")
    if not location:
        sku, location = event.data.get("sku", sku), event.data.get("location")
    return sku.removeprefix("item."), location


def _recommended(result: HookResult) -> str:
    return str(result.details.get("recommended_action", result.action)) if result.action == "escalate" \
        else result.action

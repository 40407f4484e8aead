"""Canonical events for hook tests, validated like real ones, with readable deterministic ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from canonical import Envelope, new_event

DAY0 = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


def at(day: int, hour: int = 12, minute: int = 0) -> datetime:
    return DAY0 + timedelta(days=day, hours=hour, minutes=minute)


def event(event_type: str, data: dict[str, Any], when: datetime, event_id: str) -> Envelope:
    subject = f"{data['sku']}@{data['location']}" if "sku" in data and "location" in data else data.get(
        "location", "x")
    built = new_event(event_type, data, source="urn:test", subject=subject, time=when, idempotency_key=event_id)
    return built.model_copy(update={"id": event_id})


def sale(day: int, units: int, sku: str = "SKU-1", location: str = "S1", n: int = 0,
         on_hand_after: int | None = None) -> Envelope:
    data: dict[str, Any] = {"sku": sku, "location": location, "delta": -units, "reason": "sale"}
    if on_hand_after is not None:
        data["on_hand_after"] = on_hand_after
    return event("stock.adjusted", data, at(day, 10, n), f"sale-{sku}-{location}-{day}-{n}")


def snapshot(day: int, on_hand: int, sku: str = "SKU-1", location: str = "S1") -> Envelope:
    return event("stock.snapshot", {"sku": sku, "location": location,
                                    "status": {"on_hand": on_hand, "available": on_hand}},
                 at(day, 23, 59), f"snap-{sku}-{location}-{day}")


def day_of_sales(day: int, units: int, on_hand: int = 500, sku: str = "SKU-1", location: str = "S1") -> list[Envelope]:
    """One day: the units as a single sale (if any), then the day-end snapshot."""
    events = [sale(day, units, sku, location)] if units else []
    return [*events, snapshot(day, on_hand, sku, location)]

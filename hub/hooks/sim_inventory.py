"""A seeded inventory-record simulator: the record and the shelf drift apart, and the truth is known.

Each item-location sells against physical stock (demand beyond it is lost), loses units to unrecorded
shrink (now and then all of them: misplaced in the back room, stolen), reorders when the *record* falls
to its reorder point (some receipts come short), and is cycle counted now and then (the count resets the
record). Ground truth: a
phantom day is one that ends with no physical stock while the record is positive.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from canonical import Envelope
from hub.hooks.sampling import negative_binomial
from hub.hooks.sim_demand import WEEK_SHAPE

START = date(2025, 1, 6)


@dataclass(slots=True)
class ItemTrace:
    sku: str
    location: str
    phantom: list[bool] = field(default_factory=list)
    events: list[tuple[int, str, dict]] = field(default_factory=list)  # (day, type, data without sku/location)

    @property
    def key(self) -> str:
        return f"{self.sku}@{self.location}"


def simulate_inventory(seed: int, items: int = 300, days: int = 364, shrink_wipe_p: float = 0.004,
                       count_every_days: int = 60, short_receipt_p: float = 0.1) -> list[ItemTrace]:
    rng = random.Random(seed)
    return [_item(rng, i, days, shrink_wipe_p, count_every_days, short_receipt_p) for i in range(items)]


def _item(rng: random.Random, i: int, days: int, wipe_p: float, count_every: int,
          short_receipt_p: float) -> ItemTrace:
    t = ItemTrace(sku=f"SKU-{i:05d}", location=f"STORE-{i % 20:03d}")
    rate = min(max(math.exp(rng.gauss(math.log(3.0), 0.8)), 0.3), 40.0)
    dispersion = 1.0 if rng.random() < 0.5 else rng.uniform(1.3, 2.5)
    lead = rng.randint(2, 6)
    order_qty = max(2, round(rate * 14))
    reorder_point = math.ceil(rate * (lead + 1) + 2.0 * math.sqrt(rate * dispersion * (lead + 1)))
    physical = record = reorder_point + order_qty
    arrivals: dict[int, int] = {}
    next_count = rng.randrange(count_every // 2, count_every)
    for d in range(days):
        if d in arrivals:
            ordered = arrivals.pop(d)
            qty = ordered if rng.random() >= short_receipt_p else rng.randint(0, ordered - 1)
            physical += qty
            record += qty
            t.events.append((d, "receipt.confirmed", {"receipt_id": f"RCV-{i}-{d}", "lines": [
                {"sku": t.sku, "quantity_expected": ordered, "quantity_received": qty}]}))
            t.events.append((d, "stock.adjusted", {"delta": qty, "reason": "receipt"}))
        demand = negative_binomial(rng, rate * WEEK_SHAPE[(START.toordinal() + d) % 7], dispersion)
        sold = min(demand, physical)
        physical -= sold
        record -= sold
        t.events.extend((d, "stock.adjusted", {"delta": -u, "reason": "sale"}) for u in _transactions(rng, sold))
        if physical > 0 and rng.random() < wipe_p:
            physical = 0
        elif physical > 0 and rng.random() < 0.03:
            physical -= rng.randint(1, min(2, physical))
        if d >= next_count:
            t.events.append((d, "cycle_count.recorded", {"counted": physical, "recorded": record}))
            record = physical
            next_count = d + rng.randint(count_every // 2, count_every * 3 // 2)
        if record + sum(arrivals.values()) <= reorder_point:
            arrivals[d + lead] = arrivals.get(d + lead, 0) + order_qty
        t.events.append((d, "stock.snapshot", {"status": {"on_hand": max(record, 0), "available": max(record, 0)}}))
        t.phantom.append(physical == 0 and record > 0)
    return t


def _transactions(rng: random.Random, units: int) -> Iterator[int]:
    while units > 0:
        size = min(units, rng.randint(1, 3))
        units -= size
        yield size


def inventory_events(traces: list[ItemTrace]) -> Iterator[Envelope]:
    """All items' events in time order (within a day each item's events keep their order)."""
    by_day: dict[int, list[tuple[ItemTrace, int, str, dict]]] = {}
    for t in traces:
        for n, (d, event_type, data) in enumerate(t.events):
            by_day.setdefault(d, []).append((t, n, event_type, data))
    for d in sorted(by_day):
        day = datetime.combine(START + timedelta(days=d), datetime.min.time(), UTC)
        for t, n, event_type, data in by_day[d]:
            minute = 1439 if event_type == "stock.snapshot" else 480 + n % 900
            event_id = f"{t.key}-{n}"
            yield Envelope.model_construct(
                id=event_id, type=event_type, source="urn:hub:sim", time=day + timedelta(minutes=minute),
                subject=t.key, schema_version=1, idempotency_key=event_id,
                data=_with_item(event_type, t, data), enrichments={}, specversion="1.0",
                datacontenttype="application/json", correlation_id=None, causation_id=None, dataschema=None,
                trace=None)


def _with_item(event_type: str, t: ItemTrace, data: dict) -> dict:
    if event_type == "receipt.confirmed":
        return {"location": t.location, **data}
    return {"sku": t.sku, "location": t.location, **data}

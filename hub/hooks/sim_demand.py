"""A seeded demand stream with labelled anomalies, for evaluating the demand and return-rate hooks.

Each item-location sells a negative binomial (or Poisson) count per day around a level with day-of-week
factors. Injected and labelled: one-day spikes, drops to zero lasting days, persistent level shifts (the
first `SHIFT_LABEL_DAYS` days after one are labelled), variance changes (labelled, but the demand itself is
not anomalous on average, so they count as normal days in the scores) and return bursts.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from canonical import Envelope
from hub.hooks.sampling import binomial, negative_binomial, poisson

START = date(2025, 1, 6)
WEEK_SHAPE = (0.85, 0.8, 0.85, 0.95, 1.1, 1.45, 1.0)  # Monday .. Sunday
SHIFT_LABEL_DAYS = 7
FIRST_INJECTION_DAY = 42
DEMAND_KINDS = ("spike", "drop", "level_shift")
MIN_DAYS = FIRST_INJECTION_DAY + 61  # room for a level shift with a month either side


@dataclass(slots=True)
class Series:
    sku: str
    location: str
    category: str
    sales: list[int] = field(default_factory=list)
    returns: list[int] = field(default_factory=list)
    labels: list[str | None] = field(default_factory=list)
    return_labels: list[bool] = field(default_factory=list)
    normal_mean: list[float] = field(default_factory=list)  # the mean had nothing been injected that day
    dispersion: list[float] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.sku}@{self.location}"


def generate_demand(seed: int, items: int = 300, days: int = 364) -> list[Series]:
    if days < MIN_DAYS:
        raise ValueError(f"the demand simulation needs at least {MIN_DAYS} days, got {days}")
    rng = random.Random(seed)
    return [_series(rng, i, days) for i in range(items)]


def _series(rng: random.Random, i: int, days: int) -> Series:
    category = f"CAT-{i % 5}"
    s = Series(sku=f"SKU-{i:05d}", location=f"STORE-{i % 20:03d}", category=category)
    level = min(max(math.exp(rng.gauss(math.log(6.0), 0.8)), 0.5), 80.0)
    dispersion = 1.0 if rng.random() < 0.5 else rng.uniform(1.5, 3.0)
    week = [f * rng.uniform(0.9, 1.1) for f in WEEK_SHAPE]
    return_p = 0.03 + 0.02 * (i % 5)
    labels: list[str | None] = [None] * days
    factor = [1.0] * days
    normal = [1.0] * days  # a level shift is normal once its labelled window has passed
    disp = [dispersion] * days
    for _ in range(poisson(rng, 3)):
        d = rng.randrange(FIRST_INJECTION_DAY, days)
        labels[d], factor[d] = "spike", rng.uniform(3.0, 6.0)
    for _ in range(poisson(rng, 1)):
        d, length = rng.randrange(FIRST_INJECTION_DAY, days - 7), rng.randint(2, 6)
        for j in range(d, d + length):
            labels[j], factor[j] = "drop", 0.0
    if rng.random() < 0.3:
        d, mult = rng.randrange(FIRST_INJECTION_DAY + 30, days - 30), rng.choice((0.4, 0.5, 2.0, 2.5))
        for j in range(d, days):
            factor[j] *= mult
            if j >= d + SHIFT_LABEL_DAYS:
                normal[j] = mult
            elif labels[j] is None:
                labels[j] = "level_shift"
    if rng.random() < 0.2:
        d = rng.randrange(FIRST_INJECTION_DAY, days - 30)
        for j in range(d, d + 30):
            disp[j] = max(disp[j], 1.0) * 4.0
            labels[j] = labels[j] or "variance_change"
    burst = [False] * days
    if rng.random() < 0.3:
        d = rng.randrange(FIRST_INJECTION_DAY, days - 10)
        for j in range(d, d + 10):
            burst[j] = True
    for d in range(days):
        seasonal = level * week[(START.toordinal() + d) % 7]
        s.normal_mean.append(seasonal * normal[d])
        sold = negative_binomial(rng, seasonal * factor[d], disp[d])
        s.sales.append(sold)
        s.returns.append(binomial(rng, sold, min(return_p * (5.0 if burst[d] else 1.0), 0.9)))
    s.labels, s.return_labels, s.dispersion = labels, burst, disp
    return s


def demand_events(series: list[Series], with_returns: bool = True) -> Iterator[Envelope]:
    """The series as canonical events in time order: sales in transactions of 1-3 units, returns, and the
    day-end stock snapshot of the record (a stand-in on-hand that is always ample)."""
    rng = random.Random(len(series))
    days = len(series[0].sales) if series else 0
    for d in range(days):
        day = datetime.combine(START + timedelta(days=d), datetime.min.time(), UTC)
        for s in series:
            yield from _day_events(rng, s, d, day, with_returns)


def _day_events(rng: random.Random, s: Series, d: int, day: datetime, with_returns: bool) -> Iterator[Envelope]:
    left, n = s.sales[d], 0
    while left > 0:
        units = min(left, rng.randint(1, 3))
        left -= units
        n += 1
        yield _event("stock.adjusted", s, day + timedelta(hours=9, minutes=n), f"{d}-s{n}",
                     {"delta": -units, "reason": "sale"})
    if with_returns:
        for r in range(s.returns[d]):
            yield _event("return.received", s, day + timedelta(hours=18, minutes=r), f"{d}-r{r}",
                         {"return_id": f"R-{s.sku}-{d}-{r}", "quantity": 1, "reason_code": "changed_mind",
                          "condition": "new"})
    yield _event("stock.snapshot", s, day + timedelta(hours=23, minutes=59), f"{d}-eod",
                 {"status": {"on_hand": 1000, "available": 1000}})


def _event(event_type: str, s: Series, time: datetime, suffix: str, data: dict) -> Envelope:
    event_id = f"{s.key}-{suffix}"
    return Envelope.model_construct(
        id=event_id, type=event_type, source="urn:hub:sim", time=time, subject=s.key, schema_version=1,
        idempotency_key=event_id, data={"sku": s.sku, "location": s.location, **data}, enrichments={},
        specversion="1.0", datacontenttype="application/json", correlation_id=None, causation_id=None,
        dataschema=None, trace=None)

"""Return-rate anomaly per item against its category: are this item's returns more than its sales and the
category's return rate make likely?

Sales and returns are counted per item and per category with exponential decay by day (half-life in
config), so the comparison is about recent weeks. The score is the returns' surprise in standard
deviations against sales x the category's rate (a Poisson tail on the square-root scale).
"""

from __future__ import annotations

import math
from array import array
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from canonical import Envelope
from hub.hooks.catalog import Catalog
from hub.hooks.result import BaseHook, HookResult
from hub.hooks.state import KeyedState
from hub.hooks.stats import count_z, day_iso, day_number

RETURNS, SALES, DAY = range(3)
WIDTH = 3


class ReturnRateParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(default=2.0, gt=0, description="Surprise (sd) of the item's returns that flags it.")
    half_life_days: float = Field(default=2.0, gt=0, description="Half-life of the decayed counts.")
    min_returns: float = Field(default=3.0, ge=0, description="Decayed returns below this are never flagged.")
    prior_sales: float = Field(default=50.0, ge=0, description="Pseudo-sales that pull a thin category's rate "
                                                              "towards `prior_rate`.")
    prior_rate: float = Field(default=0.08, ge=0, le=1)


class ReturnRateHook(BaseHook):
    name: ClassVar[str] = "return_rate"
    model_version: ClassVar[str] = "return-rate-1.0"
    event_types: ClassVar[frozenset[str]] = frozenset({"stock.adjusted", "return.received"})
    params_model: ClassVar[type[BaseModel]] = ReturnRateParams

    p: ReturnRateParams

    def __init__(self, params: ReturnRateParams | None = None, catalog: Catalog | None = None) -> None:
        super().__init__(params, catalog)
        self._decay_per_day = math.log(2.0) / self.p.half_life_days

    def new_state(self) -> KeyedState:
        return KeyedState(WIDTH)

    def score(self, event: Envelope, state: KeyedState) -> HookResult | None:
        data = event.data
        sku = data["sku"]
        day = day_number(event.time)
        category = self.items.category_of(sku)
        item = self._aged(state.get(f"item.{sku}"), day)
        cat = self._aged(state.get(f"category.{category}"), day)
        if event.type == "stock.adjusted":
            if data["reason"] == "sale":
                item[SALES] -= data["delta"]
                cat[SALES] -= data["delta"]
            return None
        item[RETURNS] += data["quantity"]
        cat[RETURNS] += data["quantity"]
        return self._judge(sku, category, day, item, cat)

    def _aged(self, s: array, day: int) -> array:
        last = s[DAY]
        if day > last:
            if last:
                keep = math.exp(-self._decay_per_day * (day - last))
                s[RETURNS] *= keep
                s[SALES] *= keep
            s[DAY] = day
        return s

    def _judge(self, sku: str, category: str, day: int, item: array, cat: array) -> HookResult:
        p = self.p
        rate = (cat[RETURNS] + p.prior_rate * p.prior_sales) / (cat[SALES] + p.prior_sales)
        expected = item[SALES] * rate
        z = count_z(item[RETURNS], expected)
        confidence = item[SALES] / (item[SALES] + p.prior_sales)
        if z < p.threshold or item[RETURNS] < p.min_returns:
            return self.result(sku, max(z, 0.0), (), {}, "none", confidence, category=category)
        evidence = {"return_rate_high": {
            "day": day_iso(day), "observed": round(item[RETURNS], 3), "expected": round(expected, 3),
            "item_sales": round(item[SALES], 3), "category": category, "category_rate": round(rate, 5),
            "spread": round(math.sqrt(max(expected, 1e-9)), 3), "half_life_days": p.half_life_days}}
        return self.result(sku, z, ("return_rate_high",), evidence, "review", confidence, category=category)

"""Safety stock and reorder point from the demand hook's level and spread and a lead time.

SS = z(service level) x daily spread x sqrt(lead time); ROP = mean daily demand x lead time + SS. The hook
reads the demand hook's state for the same item-location (it runs after it on the same event), and
recommends raising safety stock when the new figure exceeds the last one it recommended by a margin;
lowering it is left to a planner (review).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from canonical import Envelope
from hub.hooks import demand
from hub.hooks.catalog import Catalog
from hub.hooks.result import BaseHook, HookResult
from hub.hooks.state import KeyedState
from hub.hooks.stats import day_iso, day_number

LAST_SS, LAST_ROP = range(2)
WIDTH = 2


class SafetyStockParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lead_time_days: float = Field(default=7.0, gt=0, description="Supplier or DC lead time.")
    service_level: float = Field(default=0.95, gt=0.5, lt=1, description="Cycle service level aimed at.")
    min_change: float = Field(default=0.2, gt=0, description="Relative change that is worth recommending.")


class SafetyStockHook(BaseHook):
    name: ClassVar[str] = "safety_stock"
    model_version: ClassVar[str] = "safety-stock-1.0"
    event_types: ClassVar[frozenset[str]] = frozenset({"stock.snapshot"})
    params_model: ClassVar[type[BaseModel]] = SafetyStockParams
    needs: ClassVar[tuple[str, ...]] = ("demand",)

    p: SafetyStockParams

    def __init__(self, params: SafetyStockParams | None = None, catalog: Catalog | None = None) -> None:
        super().__init__(params, catalog)
        self._z = NormalDist().inv_cdf(self.p.service_level)
        self.demand_hook: demand.DemandHook | None = None
        self.demand_state: KeyedState | None = None

    def bind(self, hooks: dict[str, object], states: dict[str, KeyedState]) -> None:
        """Wire the demand hook whose level and spread this hook reads."""
        hook = hooks.get("demand")
        if not isinstance(hook, demand.DemandHook):
            raise ValueError("hook safety_stock needs the demand hook enabled")
        self.demand_hook, self.demand_state = hook, states["demand"]

    def new_state(self) -> KeyedState:
        return KeyedState(WIDTH)

    def score(self, event: Envelope, state: KeyedState) -> HookResult | None:
        if self.demand_hook is None or self.demand_state is None:
            raise RuntimeError("safety_stock scored before bind() gave it the demand hook")
        data = event.data
        key = f"{data['sku']}@{data['location']}"
        d = self.demand_state.peek(key)
        if d is None or d[demand.N] < self.demand_hook.p.warmup_days:
            return None
        mean = max(d[demand.LEVEL], 0.0) * sum(d[demand.DOW:demand.DOW + 7]) / 7.0
        spread = math.sqrt(max(d[demand.DISP], 1.0) * mean)
        lead = self.p.lead_time_days
        ss = math.ceil(self._z * spread * math.sqrt(lead))
        rop = math.ceil(mean * lead + ss)
        s = state.get(key)
        before = s[LAST_SS]
        change = (ss - before) / max(before, 1.0)
        if abs(change) < self.p.min_change:
            return self.result(key, abs(change), (), {}, "none", 1.0)
        s[LAST_SS], s[LAST_ROP] = ss, rop
        confidence = d[demand.N] / (d[demand.N] + self.demand_hook.p.warmup_days)
        evidence = {"safety_stock_change": {
            "day": day_iso(day_number(event.time)), "safety_stock": ss, "reorder_point": rop,
            "previous_safety_stock": before, "mean_daily_demand": round(mean, 4), "daily_spread": round(spread, 4),
            "lead_time_days": lead, "service_level": self.p.service_level, "z": round(self._z, 4),
            "history_days": int(d[demand.N])}}
        return self.result(key, abs(change), ("safety_stock_change",), evidence,
                           "raise_safety_stock" if change > 0 else "review", confidence,
                           safety_stock=ss, reorder_point=rop)

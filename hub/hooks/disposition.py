"""Returns disposition: restock in store, route to a DC, discount or liquidate, from a versioned decision table.

Inputs: the return's condition and reason code, local demand (sales rate at the store), weeks of cover
(on hand / weekly demand) and the category's margin rate. The first row of the table that matches decides,
and the result names the row and the reasons, so a planner sees why.
"""

from __future__ import annotations

from array import array
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from canonical import Envelope
from hub.hooks import sales_rate
from hub.hooks.result import BaseHook, HookResult
from hub.hooks.state import KeyedState

TABLE_VERSION = "disposition-table-1"


class DispositionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unsellable_reason_codes: list[str] = Field(default_factory=lambda: ["defective", "damaged", "broken"],
                                               description="Reason codes that make an item unsellable as new.")
    high_demand_per_week: float = Field(default=3.0, ge=0, description="Weekly store sales that count as high.")
    low_cover_weeks: float = Field(default=2.0, ge=0, description="Cover below this restocks a new item.")
    high_cover_weeks: float = Field(default=8.0, ge=0, description="Cover above this sends a new item away.")
    low_margin_rate: float = Field(default=0.15, ge=0, le=1, description="Margin rate at which liquidating wins.")
    dc: str = Field(default="DC-01", min_length=1, description="Where returns routed to a DC go.")
    alpha_rate: float = Field(default=0.05, gt=0, le=1, description="Smoothing of the daily sales rate.")


class DispositionHook(BaseHook):
    name: ClassVar[str] = "disposition"
    model_version: ClassVar[str] = TABLE_VERSION
    event_types: ClassVar[frozenset[str]] = frozenset({"stock.adjusted", "stock.snapshot", "return.received"})
    params_model: ClassVar[type[BaseModel]] = DispositionParams
    p: DispositionParams

    def new_state(self) -> KeyedState:
        return KeyedState(sales_rate.WIDTH, sales_rate.INITIAL)

    def score(self, event: Envelope, state: KeyedState) -> HookResult | None:
        data = event.data
        key = f"{data['sku']}@{data['location']}"
        s = state.get(key)
        if event.type != "return.received":
            sales_rate.observe(s, event, self.p.alpha_rate)
            return None
        return self._decide(key, s, data)

    def _decide(self, key: str, s: array, data: dict) -> HookResult:
        p = self.p
        weekly = s[sales_rate.RATE] * 7.0
        cover = s[sales_rate.ONHAND] / weekly if weekly > 0 and s[sales_rate.ONHAND] >= 0 else None
        margin = self.items.margin_rate(data["sku"])
        condition = data.get("condition", "new")
        unsellable = condition in ("damaged", "defective") or data["reason_code"] in p.unsellable_reason_codes
        high_demand = weekly >= p.high_demand_per_week
        row, disposition, reasons = self._row(unsellable, condition, high_demand, cover, margin)
        inputs = {"condition": condition, "reason_code": data["reason_code"], "weekly_demand": round(weekly, 3),
                  "weeks_of_cover": None if cover is None else round(cover, 3), "margin_rate": margin,
                  "on_hand": s[sales_rate.ONHAND], "history_days": int(s[sales_rate.N]), "table_row": row}
        evidence = {reason: inputs for reason in reasons}
        destination = p.dc if disposition == "route_to_dc" else data["location"]
        confidence = s[sales_rate.N] / (s[sales_rate.N] + 14.0) if cover is not None or unsellable else 0.0
        return self.result(key, float(data["quantity"]), reasons, evidence, "route_return", confidence,
                           disposition=disposition, destination=destination, table_row=row,
                           table_version=TABLE_VERSION)

    def _row(self, unsellable: bool, condition: str, high_demand: bool, cover: float | None,
             margin: float) -> tuple[str, str, tuple[str, ...]]:
        p = self.p
        if unsellable:
            if margin < p.low_margin_rate:
                return "R1", "liquidate", ("condition_unsellable", "margin_low")
            return "R2", "route_to_dc", ("condition_unsellable",)
        if condition == "opened":
            if high_demand:
                return "R3", "discount", ("condition_opened", "local_demand_high")
            return "R4", "route_to_dc", ("condition_opened", "local_demand_low")
        if cover is not None and cover > p.high_cover_weeks:
            if margin < p.low_margin_rate:
                return "R5", "liquidate", ("cover_high", "margin_low")
            return "R6", "route_to_dc", ("cover_high",)
        if cover is not None and cover < p.low_cover_weeks:
            return "R7", "restock", ("cover_low",)
        if high_demand:
            return "R8", "restock", ("local_demand_high",)
        return "R9", "route_to_dc", ("local_demand_low",)

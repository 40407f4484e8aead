"""Replenishment exception triage: what a short receipt, a cancelled order line or a transfer request puts at
risk, and whether the hub can let it go or a planner must look.

For each affected item-location: service-level impact (the rise in the chance of a stockout over the
horizon, demand Poisson at the learnt daily rate), margin at risk (the rise in expected lost sales x the
unit margin) and a confidence from the history behind the rate. Low risk with high confidence is
auto-resolved; the rest is escalated with the recommended action. A transfer whose destination is likely
to run out before it arrives is recommended for a higher priority.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from canonical import Envelope
from hub.hooks import sales_rate
from hub.hooks.result import BaseHook, HookResult
from hub.hooks.state import KeyedState

_NORMAL = NormalDist()


class TriageParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    horizon_days: float = Field(default=7.0, gt=0, description="Days until the next replenishment can land.")
    transfer_horizon_days: float = Field(default=2.0, gt=0, description="Days a transfer takes to arrive.")
    max_auto_service_risk: float = Field(default=0.05, ge=0, le=1,
                                         description="Stockout-chance increase the hub may accept on its own.")
    max_auto_margin: float = Field(default=50.0, ge=0, description="Margin at risk the hub may accept on its own.")
    min_auto_confidence: float = Field(default=0.7, ge=0, le=1, description="Confidence needed to auto-resolve.")
    reprioritise_risk: float = Field(default=0.3, ge=0, le=1,
                                     description="Destination stockout chance that raises a transfer's priority.")
    alpha_rate: float = Field(default=0.05, gt=0, le=1, description="Smoothing of the daily sales rate.")


class TriageHook(BaseHook):
    name: ClassVar[str] = "triage"
    model_version: ClassVar[str] = "triage-1.0"
    event_types: ClassVar[frozenset[str]] = frozenset({"stock.adjusted", "stock.snapshot", "receipt.confirmed",
                                                       "purchase_order.changed", "transfer.requested"})
    params_model: ClassVar[type[BaseModel]] = TriageParams
    p: TriageParams

    def new_state(self) -> KeyedState:
        return KeyedState(sales_rate.WIDTH, sales_rate.INITIAL)

    def score(self, event: Envelope, state: KeyedState) -> HookResult | None:
        data = event.data
        if event.type in ("stock.adjusted", "stock.snapshot"):
            sales_rate.observe(state.get(f"{data['sku']}@{data['location']}"), event, self.p.alpha_rate)
            return None
        if event.type == "transfer.requested":
            return self._transfer(data, state)
        if event.type == "receipt.confirmed":
            shorts = [(ln["sku"], ln["quantity_expected"], ln["quantity_received"] - ln.get("quantity_damaged", 0))
                      for ln in data["lines"] if ln.get("quantity_expected") is not None]
        elif data["status"] == "cancelled":
            shorts = [(ln["sku"], ln["quantity"], 0) for ln in data["lines"]]
        else:
            return None
        shorts = [(sku, expected, got) for sku, expected, got in shorts if got < expected]
        if not shorts:
            return None
        return max((self._shortfall(sku, data["location"], expected, got, state) for sku, expected, got in shorts),
                   key=lambda r: (r.score, r.key))

    def _shortfall(self, sku: str, location: str, expected: int, got: int, state: KeyedState) -> HookResult:
        p = self.p
        key = f"{sku}@{location}"
        s = state.get(key)
        mean = max(s[sales_rate.RATE], 0.0) * p.horizon_days
        on_hand = max(s[sales_rate.ONHAND], 0.0)
        risk = _stockout(mean, on_hand + got) - _stockout(mean, on_hand + expected)
        lost = _expected_lost(mean, on_hand + got) - _expected_lost(mean, on_hand + expected)
        margin = lost * self.items.unit_margin(sku)
        confidence = s[sales_rate.N] / (s[sales_rate.N] + 14.0)
        evidence: dict[str, dict[str, Any]] = {}
        facts = {"expected_units": expected, "received_units": got, "on_hand": s[sales_rate.ONHAND],
                 "daily_rate": round(s[sales_rate.RATE], 4), "horizon_days": p.horizon_days,
                 "history_days": int(s[sales_rate.N])}
        evidence["service_level_risk"] = {**facts, "stockout_chance_increase": round(risk, 4)}
        evidence["margin_at_risk"] = {**facts, "expected_lost_units": round(lost, 4),
                                      "unit_margin": self.items.unit_margin(sku), "margin_at_risk": round(margin, 2)}
        auto = risk <= p.max_auto_service_risk and margin <= p.max_auto_margin and confidence >= p.min_auto_confidence
        return self.result(key, margin, ("margin_at_risk", "service_level_risk"), evidence,
                           "auto_resolve" if auto else "escalate", confidence,
                           recommended_action="none" if auto else "expedite_replenishment",
                           shortfall_units=expected - got)

    def _transfer(self, data: dict, state: KeyedState) -> HookResult:
        key = f"{data['sku']}@{data['to_location']}"
        s = state.get(key)
        mean = max(s[sales_rate.RATE], 0.0) * self.p.transfer_horizon_days
        risk = _stockout(mean, max(s[sales_rate.ONHAND], 0.0)) if s[sales_rate.ONHAND] >= 0 else 0.0
        confidence = s[sales_rate.N] / (s[sales_rate.N] + 14.0)
        score = -math.log10(max(1.0 - risk, 1e-12))
        if risk < self.p.reprioritise_risk or data.get("priority", 3) <= 1:
            return self.result(key, score, (), {}, "none", confidence)
        evidence = {"transfer_destination_at_risk": {
            "destination_on_hand": s[sales_rate.ONHAND], "daily_rate": round(s[sales_rate.RATE], 4),
            "horizon_days": self.p.transfer_horizon_days, "stockout_chance": round(risk, 4),
            "priority_before": data.get("priority", 3), "history_days": int(s[sales_rate.N])}}
        return self.result(key, score, ("transfer_destination_at_risk",), evidence, "reprioritise_transfer",
                           confidence, priority=1, transfer_id=data["transfer_id"])


def _stockout(mean: float, available: float) -> float:
    """P(demand over the horizon > available), demand ~ Poisson(mean), normal approximation with continuity."""
    if mean <= 0:
        return 0.0
    return 1.0 - _NORMAL.cdf((available + 0.5 - mean) / math.sqrt(mean))


def _expected_lost(mean: float, available: float) -> float:
    """E[(demand - available)+] under the same approximation (the normal loss function)."""
    if mean <= 0:
        return 0.0
    sd = math.sqrt(mean)
    z = (available + 0.5 - mean) / sd
    return sd * (_NORMAL.pdf(z) - z * (1.0 - _NORMAL.cdf(z)))

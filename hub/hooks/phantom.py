"""Shrink and phantom stock: the record says there is stock but sales stopped for longer than the item's rate
makes likely; cycle counts and transfer receipts that disagree with the record.

The sales rate and its dispersion are learnt from completed stretches only: the current run of days
without a sale is what is being tested, so it must not talk the rate down while it lasts. A daily
`stock.snapshot` (the record's on-hand at day end) is where the silence is scored. The score is
-log10 of the chance of the silence if the recorded stock were really on the shelf.
"""

from __future__ import annotations

import math
from array import array
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from canonical import Envelope
from hub.hooks.result import BaseHook, HookResult
from hub.hooks.state import KeyedState
from hub.hooks.stats import day_iso, day_number, zero_day_surprise

DAY, TODAY, RATE, DISP, N, LAST_SALE, ONHAND, FIRST_DAY = range(8)
WIDTH = 8
INITIAL = (0.0, 0.0, 0.0, 1.0, 0.0, 0.0, -1.0, 0.0)
_LOG10_E = math.log10(math.e)


class PhantomParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(default=3.0, gt=0, description="-log10 of the silence's probability that flags it.")
    warmup_days: int = Field(default=21, ge=1, description="Days of history before silence is judged.")
    alpha_rate: float = Field(default=0.03, gt=0, le=1, description="Smoothing of daily sales and their spread.")
    count_tolerance: float = Field(default=0.1, ge=0,
                                   description="A cycle count or receipt may differ from the record by this "
                                               "fraction (at least 1 unit) before it is a mismatch.")


class PhantomHook(BaseHook):
    name: ClassVar[str] = "phantom"
    model_version: ClassVar[str] = "phantom-1.0"
    event_types: ClassVar[frozenset[str]] = frozenset(
        {"stock.adjusted", "stock.snapshot", "cycle_count.recorded", "transfer.received"})
    params_model: ClassVar[type[BaseModel]] = PhantomParams
    p: PhantomParams

    def new_state(self) -> KeyedState:
        return KeyedState(WIDTH, INITIAL)

    def score(self, event: Envelope, state: KeyedState) -> HookResult | None:
        data = event.data
        key = f"{data['sku']}@{data['location']}"
        day = day_number(event.time)
        s = state.get(key)
        if s[FIRST_DAY] == 0:
            s[FIRST_DAY] = s[LAST_SALE] = s[DAY] = day
        if event.type == "stock.adjusted":
            if data.get("on_hand_after") is not None:
                s[ONHAND] = data["on_hand_after"]
            if data["reason"] == "sale":
                self._sale(s, day, -data["delta"])
            return None
        if event.type == "stock.snapshot":
            s[ONHAND] = data["status"]["on_hand"]
            return self._silence(key, s, day)
        if event.type == "cycle_count.recorded":
            return self._count(key, s, day, data["counted"], data["recorded"])
        return self._receipt(key, s, day, data)

    def _sale(self, s: array, day: int, units: int) -> None:
        if day > s[DAY]:
            self._learn(s, day)
        s[TODAY] += units
        s[LAST_SALE] = day

    def _learn(self, s: array, day: int) -> None:
        """Fold the closed days into the rate: the open day's sales, then the empty days up to `day`."""
        a = self.p.alpha_rate
        empty_days = int(day - s[DAY]) - 1
        units = s[TODAY]
        # `max`/`min` spelt out (about 80 ns a builtin call): a sparse key closes its days in runs.
        for _ in range(1 + (366 if empty_days > 366 else empty_days)):
            alpha = 1.0 / (s[N] + 1.0)
            alpha = alpha if alpha > a else a
            if s[N] > 0:
                mu = s[RATE]
                mu = 0.05 if mu < 0.05 else mu
                s[DISP] += alpha * ((units - mu) ** 2 / mu - s[DISP])
            s[RATE] += alpha * (units - s[RATE])
            s[N] += 1
            units = 0.0
        s[DAY], s[TODAY] = day, 0.0

    def _silence(self, key: str, s: array, day: int) -> HookResult:
        history = day - s[FIRST_DAY]
        silent = day - s[LAST_SALE]
        confidence = min(history / (history + self.p.warmup_days), 1.0)
        if history < self.p.warmup_days:
            return self.result(key, 0.0, ("insufficient_history",),
                               {"insufficient_history": {"history_days": history, "needed": self.p.warmup_days}},
                               "none", confidence)
        surprise = silent * zero_day_surprise(max(s[RATE], 0.0), max(s[DISP], 1.0)) * _LOG10_E
        if s[ONHAND] <= 0 or surprise < self.p.threshold:
            return self.result(key, surprise if s[ONHAND] > 0 else 0.0, (), {}, "none", confidence)
        evidence = {"phantom_stock_suspected": {
            "day": day_iso(day), "record_on_hand": s[ONHAND], "days_without_sale": int(silent),
            "daily_rate": round(s[RATE], 4), "dispersion": round(max(s[DISP], 1.0), 4),
            "p_value": float(f"{10 ** -surprise:.6g}"), "history_days": int(history)}}
        return self.result(key, surprise, ("phantom_stock_suspected",), evidence, "recount", confidence)

    def _count(self, key: str, s: array, day: int, counted: int, recorded: int) -> HookResult:
        # A count resets the record, so the silence before it is explained and no longer evidence.
        s[ONHAND] = counted
        s[LAST_SALE] = max(s[LAST_SALE], day)
        return self._mismatch(key, "count_mismatch", day, counted, recorded, "review")

    def _receipt(self, key: str, s: array, day: int, data: dict) -> HookResult | None:
        expected = data.get("quantity_expected")
        if expected is None:
            return None
        return self._mismatch(key, "receipt_mismatch", day, data["quantity_received"], expected, "recount")

    def _mismatch(self, key: str, reason: str, day: int, found: int, expected: int, action: str) -> HookResult:
        gap = found - expected
        score = abs(gap) / math.sqrt(max(expected, 1))
        if abs(gap) <= max(1.0, self.p.count_tolerance * expected):
            return self.result(key, score, (), {}, "none", 1.0)
        evidence = {reason: {"day": day_iso(day), "observed": found, "expected": expected, "difference": gap}}
        return self.result(key, score, (reason,), evidence, action, 1.0)

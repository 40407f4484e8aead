"""Demand / sell-through anomaly per item and location: seasonal level, overdispersed spread, level shifts.

Sales (`stock.adjusted` with reason `sale`) accumulate into the open day; a spike is flagged as soon as the
running total passes the day's upper tail. A day closes when an event of a later day arrives or when the
system of record's daily `stock.snapshot` arrives; a closed day is scored for drops, zero-sales runs and
(CUSUM) level shifts, and then updates the level, the day-of-week factors and the dispersion. A level shift is
reported on every day from its detection until `shift_report_days` after its estimated onset, since the days
of a new regime are all anomalous against the old one, not only the day the evidence became conclusive.
"""

from __future__ import annotations

import math
from array import array
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from canonical import Envelope
from hub.hooks.result import BaseHook, HookResult
from hub.hooks.state import KeyedState
from hub.hooks.stats import count_z, day_iso, day_number

_sqrt, _log = math.sqrt, math.log
_3_8 = 0.375  # Anscombe's 3/8, as in stats.count_z

# Field positions in the per-key state array.
# CUP_DAYS / CDN_DAYS: days since each CUSUM last stood at zero, which dates a shift's onset.
DAY, TODAY, LEVEL, DISP, N, CUP, CDN, RUNMU, ONHAND, FAST, HOLD, CUP_DAYS, CDN_DAYS, DOW = range(14)
WIDTH = DOW + 7
INITIAL = (0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0) + (1.0,) * 7
_MAX_GAP_DAYS = 366
_MIN_MEAN = 0.05
# Two-way maxima and minima are conditional expressions that pick the operand `max(a, b)` / `min(a, b)` would
# (ties and NaN alike): the builtins cost about 80 ns a call, and a sale that closes five days of a sparse key
# made seventy of them.


class DemandParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(default=3.5, gt=0, description="Score (standard deviations) at which a day is flagged.")
    warmup_days: int = Field(default=14, ge=1, description="Closed days before the hook flags anything.")
    alpha_level: float = Field(default=0.05, gt=0, le=1, description="Smoothing of the deseasonalised level.")
    alpha_fast: float = Field(default=0.3, gt=0, le=1, description="Smoothing of the fast level a shift snaps to.")
    alpha_dow: float = Field(default=0.05, gt=0, le=1, description="Smoothing of the day-of-week factors.")
    alpha_dispersion: float = Field(default=0.05, gt=0, le=1, description="Smoothing of variance / mean.")
    winsor: float = Field(default=3.0, gt=0, description="Residuals beyond this many sd are clipped before learning.")
    cusum_k: float = Field(default=0.75, ge=0, description="CUSUM slack per day, in sd.")
    cusum_clip: float = Field(default=3.0, gt=0, description="Daily residuals enter the CUSUM clipped to this, in sd.")
    cusum_h: float = Field(default=5.0, gt=0, description="CUSUM decision level, in sd.")
    shift_report_days: int = Field(default=7, ge=1,
                                   description="A detected level shift is reported on each closed day until this "
                                               "many days after its estimated onset (at least on the day it is "
                                               "detected), so a planner sees a new regime rather than a one-day blip.")
    constrained_cover_days: float = Field(default=3.0, ge=0,
                                          description="On hand below this many days of expected sales makes a "
                                                      "spiking SKU constrained: hold its marketplace exposure.")


class DemandHook(BaseHook):
    name: ClassVar[str] = "demand"
    model_version: ClassVar[str] = "demand-1.1"
    event_types: ClassVar[frozenset[str]] = frozenset({"stock.adjusted", "stock.snapshot"})
    params_model: ClassVar[type[BaseModel]] = DemandParams
    p: DemandParams

    def new_state(self) -> KeyedState:
        return KeyedState(WIDTH, INITIAL)

    def score(self, event: Envelope, state: KeyedState) -> HookResult | None:
        data = event.data
        if event.type == "stock.adjusted":
            on_hand = data.get("on_hand_after")
            if data["reason"] != "sale":
                if on_hand is not None:
                    state.get(_key(data))[ONHAND] = on_hand
                return None
            key = _key(data)
            s = state.get(key)
            if on_hand is not None:
                s[ONHAND] = on_hand
            units = -data["delta"]
            return self._sale(key, s, 0 if units < 0 else units, day_number(event.time))
        if event.type == "stock.snapshot":
            return self._close(data, day_number(event.time), state)
        return None

    def expected(self, s: array, day: int) -> tuple[float, float]:
        """Expected units on `day` and the dispersion, from a key's state (also read by safety stock)."""
        mu = s[LEVEL] * s[DOW + day % 7]
        phi = s[DISP]
        return _MIN_MEAN if mu < _MIN_MEAN else mu, 1.0 if phi < 1.0 else phi

    def _sale(self, key: str, s: array, units: int, day: int) -> HookResult:
        found = self._roll_to(s, day) if s[DAY] != day else []
        s[TODAY] += units
        n = s[N]
        if n < self.p.warmup_days:
            return self._merge(key, s, found, None)
        mu, phi = self.expected(s, int(s[DAY]))
        z = count_z(s[TODAY], mu, phi)
        if z >= self.p.threshold:
            spike = (z, {"demand_spike": self._point_evidence(s, int(s[DAY]), s[TODAY], mu, phi, partial=True)})
            return self._merge(key, s, found, spike)
        # The running day's surprise so far is the score even below the threshold (a sale can only add to it).
        score = 0.0 if z < 0.0 else z
        if not found:
            return self.result(key, score, (), {}, "none", n / (n + self.p.warmup_days))
        return self._merge(key, s, found, (score, {}))

    def _close(self, data: dict, day: int, state: KeyedState) -> HookResult:
        key = _key(data)
        s = state.get(key)
        s[ONHAND] = data["status"]["on_hand"]
        found = self._roll_to(s, day)
        if s[DAY] <= day:
            found.append(self._close_day(s, int(s[DAY]), s[TODAY]))
            s[DAY], s[TODAY] = day + 1, 0.0
        return self._merge(key, s, found, None)

    def _roll_to(self, s: array, day: int) -> list[tuple[float, dict] | None]:
        """Close every day before `day` that is still open; days with no sale at all close with zero."""
        if s[DAY] == 0 or day - s[DAY] > _MAX_GAP_DAYS:
            s[DAY], s[TODAY] = day, 0.0
            return []
        found = []
        close_day = self._close_day
        while s[DAY] < day:
            found.append(close_day(s, int(s[DAY]), s[TODAY]))
            s[DAY] += 1
            s[TODAY] = 0.0
        return found

    def _close_day(self, s: array, day: int, x: float) -> tuple[float, dict] | None:
        """Score a closed day and learn from it: the day on its own (spike, drop), the run of empty days it
        ends or extends (zero_sales_run), and a step in the CUSUMs of its clipped residual (level shifts).

        One function, with `count_z`, `zero_day_surprise` and `expected` written out in it, because a sparse
        key closes several days per sale; each line computes what those functions do, in the same order, so
        results are the same to the last bit. The surprise of a run of empty days is sqrt(2m), m the units
        due during it: P(no sale) = exp(-m), and sqrt(2m) is the normal quantile of that tail up to a log
        term, cheap and monotone."""
        p = self.p
        f = s[DOW + day % 7]
        if s[N] < p.warmup_days:
            alpha = 1.0 / (s[N] + 1.0)
            self._learn(s, day, x, x, f, p.alpha_level if p.alpha_level > alpha else alpha)
            return None
        mu = s[LEVEL] * f
        mu = _MIN_MEAN if mu < _MIN_MEAN else mu
        phi = s[DISP]
        phi = 1.0 if phi < 1.0 else phi
        threshold = p.threshold
        # The day on its own, then the run of empty days.
        z = 2.0 * (_sqrt(x + _3_8) - _sqrt(mu + _3_8)) / _sqrt(phi)
        if x == 0:
            surprise = mu if phi <= 1.0001 else mu * _log(phi) / (phi - 1.0)
            s[RUNMU] += surprise
            # The square-root transform understates how common an empty day is (a Poisson mean of 6 sells
            # nothing one day in 400, not the normal tail's one in 15,000), so a lone empty day is held to
            # the zero-run test's own measure of it.
            lone = -_sqrt(2.0 * (0.0 if surprise < 0.0 else surprise))
            z = lone if lone > z else z
        else:
            s[RUNMU] = 0.0
        evidence: dict[str, dict] = {}
        if z >= threshold:
            evidence["demand_spike"] = self._point_evidence(s, day, x, mu, phi)
        elif z <= -threshold:
            evidence["demand_drop"] = self._point_evidence(s, day, x, mu, phi)
        score = abs(z)
        if x == 0:
            run = s[RUNMU]
            zr = _sqrt(2.0 * (0.0 if run < 0.0 else run))
            if zr >= threshold:
                evidence["zero_sales_run"] = {"day": day_iso(day), "zero_run_surprise": round(run, 4),
                                              "p_value": _exp_neg(run), "history_days": int(s[N])}
                score = zr if zr > score else score
        outlier = bool(evidence)
        # Two-sided CUSUM of the clipped residuals. An empty day flagged as a drop or a zero run has its own
        # reason (often a gap in supply) and must not pull the level down; a spike day does count, clipped,
        # as a step up starts with high days.
        if not (outlier and x == 0):
            clip = p.cusum_clip
            zc = -clip if -clip > z else z
            zc = clip if clip < zc else zc
            up = s[CUP] + zc - p.cusum_k
            s[CUP] = up if up > 0.0 else 0.0
            down = s[CDN] - zc - p.cusum_k
            s[CDN] = down if down > 0.0 else 0.0
            s[CUP_DAYS] = s[CUP_DAYS] + 1.0 if s[CUP] > 0 else 0.0
            s[CDN_DAYS] = s[CDN_DAYS] + 1.0 if s[CDN] > 0 else 0.0
        cup, cdn = s[CUP], s[CDN]
        shift = cdn if cdn > cup else cup
        shift_score = shift * threshold / p.cusum_h
        sd = (phi * mu) ** 0.5
        if shift >= p.cusum_h:
            evidence.update(self._shift_detected(s, day, shift, sd))
        elif s[HOLD] != 0:
            evidence[_shift_reason(s[HOLD])] = {
                "day": day_iso(day), "level": round(s[LEVEL], 4), "spread": round(sd, 4),
                "history_days": int(s[N]), "days_left_to_report": int(abs(s[HOLD])) - 1}
            shift_score = threshold if threshold > shift_score else shift_score
        if s[HOLD] != 0:
            s[HOLD] -= 1 if s[HOLD] > 0 else -1
        # The level keeps learning while a CUSUM builds up: frozen, its small errors grew into false shifts,
        # and a real shift outruns a level that learns at alpha_level anyway.
        bound = p.winsor * sd
        low, high = mu - bound, mu + bound
        clipped = low if low > x else x
        clipped = high if high < clipped else clipped
        self._learn(s, day, clipped if outlier else x, clipped, f, p.alpha_level)
        return shift_score if shift_score > score else score, evidence

    def _shift_detected(self, s: array, day: int, shift: float, sd: float) -> dict:
        """Snap the level to the fast level, restart both CUSUMs and schedule the shift's report."""
        p = self.p
        upward = s[CUP] >= s[CDN]
        since_onset = int(s[CUP_DAYS] if upward else s[CDN_DAYS]) - 1
        report_days = max(p.shift_report_days - since_onset, 1)
        s[HOLD] = report_days if upward else -report_days
        evidence = {_shift_reason(s[HOLD]): {
            "day": day_iso(day), "onset_day": day_iso(day - since_onset), "cusum": round(shift, 4),
            "decision_level": p.cusum_h, "level_before": round(s[LEVEL], 4), "level_after": round(s[FAST], 4),
            "spread": round(sd, 4), "history_days": int(s[N]), "days_left_to_report": report_days - 1}}
        s[LEVEL] = s[FAST]
        s[CUP] = s[CDN] = s[CUP_DAYS] = s[CDN_DAYS] = 0.0
        return evidence

    def _learn(self, s: array, day: int, x: float, clipped: float, f: float, alpha: float) -> None:
        p = self.p
        deseason = clipped / f if f > 0 else clipped
        mu = s[LEVEL] * f
        mu = _MIN_MEAN if mu < _MIN_MEAN else mu
        if s[N] > 0:
            s[DISP] += p.alpha_dispersion * ((clipped - mu) ** 2 / mu - s[DISP])
            if s[LEVEL] > 0:
                slot = DOW + day % 7
                ratio = clipped / s[LEVEL]
                s[slot] += p.alpha_dow * ((5.0 if ratio > 5.0 else ratio) - s[slot])
        s[LEVEL] += alpha * (deseason - s[LEVEL])
        fast = p.alpha_fast if p.alpha_fast > alpha else alpha
        s[FAST] += fast * ((x / f if f > 0 else x) - s[FAST])
        s[N] += 1

    def _point_evidence(self, s: array, day: int, x: float, mu: float, phi: float, partial: bool = False) -> dict:
        return {"day": day_iso(day), "observed": x, "expected": round(mu, 4), "spread": round((phi * mu) ** 0.5, 4),
                "dispersion": round(phi, 4), "dow_factor": round(s[DOW + day % 7], 4),
                "history_days": int(s[N]), "partial_day": partial}

    def _merge(self, key: str, s: array, found: list, spike: tuple[float, dict] | None) -> HookResult:
        score = 0.0
        evidence: dict[str, dict] = {}
        for item in (*found, spike):
            if item is not None:
                score = item[0] if item[0] > score else score
                evidence.update(item[1])
        n = int(s[N])
        confidence = n / (n + self.p.warmup_days)
        if n < self.p.warmup_days:
            return self.result(key, 0.0, ("insufficient_history",),
                               {"insufficient_history": {"history_days": n, "needed": self.p.warmup_days}},
                               "none", confidence)
        reasons = tuple(sorted(evidence))
        return self.result(key, score, reasons, evidence, self._action(s, evidence), confidence)

    def _action(self, s: array, evidence: dict) -> str:
        if not evidence:
            return "none"
        if "demand_spike" in evidence and s[ONHAND] >= 0:
            mu, _ = self.expected(s, int(s[DAY]))
            if s[ONHAND] < self.p.constrained_cover_days * mu:
                return "hold_marketplace_exposure"
        return "review"


def _key(data: dict) -> str:
    return f"{data['sku']}@{data['location']}"


def _shift_reason(hold: float) -> str:
    return "level_shift_up" if hold > 0 else "level_shift_down"


def _exp_neg(m: float) -> float:
    return float(f"{math.exp(-m):.6g}")

"""A per-key daily sales rate and on-hand, learnt from sales and snapshots; shared by the hooks that need a
local demand figure but no anomaly model (returns disposition, replenishment triage)."""

from __future__ import annotations

from array import array

from canonical import Envelope
from hub.hooks.stats import day_number

DAY, TODAY, RATE, N, ONHAND = range(5)
WIDTH = 5
INITIAL = (0.0, 0.0, 0.0, 0.0, -1.0)
_MAX_GAP_DAYS = 366


def observe(s: array, event: Envelope, alpha: float) -> None:
    """Fold a sale, an adjustment's on-hand or a snapshot into the key's state."""
    data = event.data
    if event.type == "stock.snapshot":
        s[ONHAND] = data["status"]["on_hand"]
        return
    if data.get("on_hand_after") is not None:
        s[ONHAND] = data["on_hand_after"]
    if data["reason"] == "sale":
        roll(s, day_number(event.time), alpha)
        s[TODAY] -= data["delta"]


def roll(s: array, day: int, alpha: float) -> None:
    """Close the days before `day` into the smoothed rate (days without sales count as zero)."""
    if s[DAY] == 0:
        s[DAY] = day
        return
    if day <= s[DAY]:
        return
    empty_days = int(day - s[DAY]) - 1
    units = s[TODAY]
    # The open day's sales, then the empty days; `max`/`min` spelt out (about 80 ns a builtin call), as a
    # sparse key closes its days in runs.
    for _ in range(1 + (_MAX_GAP_DAYS if empty_days > _MAX_GAP_DAYS else empty_days)):
        weight = 1.0 / (s[N] + 1.0)
        s[RATE] += (weight if weight > alpha else alpha) * (units - s[RATE])
        s[N] += 1
        units = 0.0
    s[DAY], s[TODAY] = day, 0.0

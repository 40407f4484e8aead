"""AI hook speed and memory: events per second per hook on one core including its AUDIT record, the whole
governed stage, and the RSS of a process holding 100,000 item-locations of state for every hook.

Baseline, measured in the same run on the same events: a bare per-key EWMA + z-score with a minimal JSON
record, the least a streaming scorer can do. Run: python -m bench.hooks_bench [--quick]
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections.abc import Sequence

import orjson

from canonical import Envelope
from hub.hooks import build_hook_stage
from hub.hooks.audit import dumps
from hub.hooks.evaluate import SIM_CATALOG, measure_speed, safety_stock_speed
from hub.hooks.registry import BUILTIN
from hub.hooks.sim_demand import MIN_DAYS, demand_events, generate_demand
from hub.hooks.sim_inventory import inventory_events, simulate_inventory

STATE_KEYS = 100_000
ALL_HOOKS = ["demand", "return_rate", "phantom", "disposition", "triage", "safety_stock"]
STAGE_CONFIG = {"enabled": ALL_HOOKS, "catalog": SIM_CATALOG.model_dump(), "policy": {
    "version": "bench", "default": "shadow", "rules": [
        {"name": "hold", "hook": "demand", "action": "hold_marketplace_exposure", "mode": "auto"},
        {"name": "ask", "hook": "phantom", "mode": "review"}]}}


def run(quick: bool = False) -> dict[str, float]:
    items, days = (60, MIN_DAYS) if quick else (300, 364)
    demand_stream = list(demand_events(generate_demand(11, items, days)))
    inventory_stream = list(inventory_events(simulate_inventory(11, items, days)))
    streams = {"demand": demand_stream, "return_rate": demand_stream, "disposition": demand_stream,
               "phantom": inventory_stream, "triage": inventory_stream}
    out: dict[str, float] = {"baseline_ewma_events_per_s": _baseline(demand_stream)}
    for name, events in streams.items():
        hook = BUILTIN[name](catalog=SIM_CATALOG)
        out[f"{name}_events_per_s"] = measure_speed(hook, events)["events_per_s"]
    out["safety_stock_events_per_s"] = safety_stock_speed(demand_stream)["events_per_s"]
    per_hook = [v for k, v in out.items() if k.endswith("_events_per_s") and not k.startswith("baseline")]
    out["hook_events_per_s"] = min(per_hook)
    out["hook_vs_baseline"] = round(out["hook_events_per_s"] / out["baseline_ewma_events_per_s"], 3)
    out["stage_all_hooks_events_per_s"] = _stage(demand_stream + inventory_stream)
    out.update(_rss_in_subprocess())
    return out


def _baseline(events: Sequence[Envelope]) -> float:
    """Per-key EWMA of the sale size with a z-score and a six-field JSON record per event."""
    state: dict[str, list[float]] = {}
    sales = [e for e in events if e.type == "stock.adjusted"]
    started = time.perf_counter()
    for event in sales:
        data = event.data
        key = f"{data['sku']}@{data['location']}"
        s = state.get(key)
        if s is None:
            s = state[key] = [0.0, 1.0]
        x = -data["delta"]
        z = (x - s[0]) / math.sqrt(s[1])
        s[0] += 0.05 * (x - s[0])
        s[1] += 0.05 * ((x - s[0]) ** 2 - s[1])
        orjson.dumps({"kind": "hook_result", "event_id": event.id, "hook": "ewma", "key": key, "score": z,
                      "reasons": []}, option=orjson.OPT_SORT_KEYS)
    return round(len(sales) / (time.perf_counter() - started))


def _stage(events: Sequence[Envelope]) -> float:
    """The governed stage with every hook: scoring, policy, actions, enrichment and AUDIT serialisation."""
    stage = build_hook_stage(STAGE_CONFIG)
    ordered = sorted(events, key=lambda e: e.time)
    started = time.perf_counter()
    for event in ordered:
        for record in stage.process(event).audit:
            dumps(record)
    return round(len(ordered) / (time.perf_counter() - started))


def _rss_in_subprocess() -> dict[str, float]:
    """RSS of a fresh process before and after filling every hook's state with STATE_KEYS item-locations."""
    proc = subprocess.run([sys.executable, "-m", "bench.hooks_bench", "--hold-keys"], capture_output=True,
                          text=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"measuring RSS in a subprocess failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def _hold_keys() -> dict[str, float]:
    stage = build_hook_stage(STAGE_CONFIG)
    before = _rss_mb()
    for state in stage.states.values():
        for i in range(STATE_KEYS):
            state.get(f"SKU-{i // 20:06d}@STORE-{i % 20:03d}")
    after = _rss_mb()
    return {"rss_mb_before_keys": round(before, 1), "rss_mb_100k_keys": round(after, 1),
            "state_mb_100k_keys_all_hooks": round(after - before, 1),
            "state_bytes_per_key_all_hooks": round((after - before) * 1024 * 1024 / STATE_KEYS, 1)}


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


if __name__ == "__main__":
    if "--hold-keys" in sys.argv:
        print(json.dumps(_hold_keys()))
    else:
        print(json.dumps(run(quick="--quick" in sys.argv), indent=2))

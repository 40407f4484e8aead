"""Replaying a recorded event log reproduces every result and decision byte for byte, also across a restart."""

from pathlib import Path

import orjson

from canonical import parse_event
from hub.hooks import build_hook_stage
from hub.hooks.audit import dumps
from hub.hooks.evaluate import SIM_CATALOG
from hub.hooks.sim_demand import demand_events, generate_demand
from hub.hooks.sim_inventory import inventory_events, simulate_inventory
from hub.hooks.state import shard_of
from routes import Delivery

CONFIG = {
    "budget_ms": 1000,  # a loaded test machine must not turn a result into a timeout in one run only
    "enabled": ["demand", "return_rate", "phantom", "disposition", "triage", "safety_stock"],
    "catalog": SIM_CATALOG.model_dump(),
    "policy": {"version": "replay-1", "default": "shadow", "rules": [
        {"name": "hold", "hook": "demand", "action": "hold_marketplace_exposure", "mode": "auto"},
        {"name": "ss", "hook": "safety_stock", "action": "raise_safety_stock", "mode": "auto", "min_confidence": 0.6},
        {"name": "returns", "hook": "disposition", "mode": "auto", "min_confidence": 0.5},
        {"name": "count", "hook": "phantom", "action": "recount", "mode": "review"},
        {"name": "triage-auto", "hook": "triage", "action": "auto_resolve", "mode": "auto"},
        {"name": "triage-ask", "hook": "triage", "mode": "review"},
    ]},
}


class JsonState:
    """A StateStore that keeps values as JSON bytes, as the KV bucket does."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}

    async def get(self, key):
        raw = self.values.get(key)
        return None if raw is None else orjson.loads(raw)

    async def put(self, key, value):
        self.values[key] = orjson.dumps(value)

    async def create(self, key, value):
        if key in self.values:
            return False
        await self.put(key, value)
        return True

    async def delete(self, key):
        self.values.pop(key, None)


def record_log(path: Path) -> None:
    events = [*demand_events(generate_demand(5, items=12, days=140)),
              *inventory_events(simulate_inventory(5, items=12, days=140))]
    events.sort(key=lambda e: (e.time, e.id))
    path.write_bytes(b"".join(e.model_dump_json().encode() + b"\n" for e in events))


def read_log(path: Path):
    return [parse_event(line) for line in path.read_bytes().splitlines()]


def output_bytes(out) -> list[bytes]:
    lines = [out.event.model_dump_json().encode()]
    for item in out.extra:
        kind = f"delivery:{item.role}:{item.target}" if isinstance(item, Delivery) else "derived"
        lines.append(f"{kind}:{item.route}:".encode() + item.event.model_dump_json().encode())
    lines += [dumps(record) for record in out.audit]
    return lines


async def run(events, store=None, stop_at=None):
    stage = build_hook_stage(CONFIG)
    await stage.start(store or JsonState())
    lines = []
    for event in events[:stop_at]:
        lines += output_bytes(stage.process(event))
    await stage.stop()
    return lines


async def test_replay_reproduces_every_result_and_decision_byte_for_byte(tmp_path):
    log = tmp_path / "events.jsonl"
    record_log(log)
    first = await run(read_log(log))
    second = await run(read_log(log))
    assert first == second
    decisions = [orjson.loads(line) for line in first if b'"kind":"decision"' in line]
    assert {d["decision"] for d in decisions} >= {"auto", "review", "shadow"}
    assert sum(b'"kind":"hook_result"' in line for line in first) > 1000


async def test_a_restart_from_the_snapshot_continues_exactly(tmp_path):
    log = tmp_path / "events.jsonl"
    record_log(log)
    events = read_log(log)
    whole = await run(events)
    store = JsonState()
    half = len(events) // 2
    before = await run(events, store, stop_at=half)
    assert any(k.endswith(".manifest") for k in store.values)
    stage = build_hook_stage(CONFIG)
    await stage.start(store)
    after = []
    for event in events[half:]:
        after += output_bytes(stage.process(event))
    assert before + after == whole


async def test_a_snapshot_of_another_configuration_is_not_restored(tmp_path):
    store = JsonState()
    log = tmp_path / "events.jsonl"
    record_log(log)
    await run(read_log(log)[:2000], store)
    changed = build_hook_stage({**CONFIG, "demand": {"threshold": 9.0}})
    await changed.start(store)
    assert len(changed.states["demand"]) == 0 and len(changed.states["phantom"]) > 0
    assert changed.metrics["hook_state_discarded.demand"] == 1


async def test_workers_sharing_the_bucket_keep_each_others_keys():
    from .factory import day_of_sales

    store = JsonState()
    one, two = build_hook_stage(CONFIG), build_hook_stage(CONFIG)
    await one.start(store)
    await two.start(store)
    for d in range(20):
        for e in day_of_sales(d, 5, sku="ONE"):
            one.process(e)
        for e in day_of_sales(d, 7, sku="TWO-6"):  # in the same shard as ONE@S1
            two.process(e)
    await one.snapshot()
    await two.snapshot()
    for e in day_of_sales(20, 5, sku="ONE"):
        one.process(e)
    await one.snapshot()  # saves ONE again; TWO's saved state stays
    third = build_hook_stage(CONFIG)
    await third.start(store)
    assert shard_of("ONE@S1") == shard_of("TWO-6@S1")
    assert {"ONE@S1", "TWO-6@S1"} <= set(third.states["demand"])
    assert third.states["demand"].peek("ONE@S1")[:-1] == one.states["demand"].peek("ONE@S1")[:-1]
    assert third.states["demand"].peek("TWO-6@S1")[:-1] == two.states["demand"].peek("TWO-6@S1")[:-1]

"""Stock reconciliation: figures learned per system, merged across workers in KV, reported by `hub reconcile`."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from canonical import new_event
from hub import bus
from hub.reconcile import (
    Reconciler,
    ReconcileSettings,
    build_report,
    load_ledger,
    on_hand_of,
    render_report,
    system_resolver,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TYPES = {"sap": "erp.soap", "wh": "wms.rest", "shop": "commerce.rest", "files": "file.inbox"}


def snapshot(sku: str, location: str, on_hand: int, at: datetime = T0):
    return new_event("stock.snapshot", {"sku": sku, "location": location, "status": {"on_hand": on_hand}},
                     source="urn:test", subject=f"{sku}@{location}", time=at)


def counted(sku: str, location: str, units: int, at: datetime = T0):
    return new_event("cycle_count.recorded", {"sku": sku, "location": location, "counted": units, "recorded": 0},
                     source="urn:test", subject=f"{sku}@{location}", time=at)


def adjusted(sku: str, location: str, after: float | None, version: int = 1, at: datetime = T0, **extra):
    data = {"sku": sku, "location": location, "delta": -1, "reason": "sale", **extra}
    if after is not None:
        data["on_hand_after"] = after
    return new_event("stock.adjusted", data, source="urn:test", subject=f"{sku}@{location}", time=at,
                     schema_version=version)


def test_on_hand_comes_from_snapshots_counts_and_adjustments_that_state_it():
    assert on_hand_of(snapshot("A", "S1", 12)) == 12
    assert on_hand_of(counted("A", "S1", 9)) == 9
    assert on_hand_of(adjusted("A", "S1", 4)) == 4
    assert on_hand_of(adjusted("A", "S1", 2, version=2, unit_of_measure="CS", units_per_uom=12)) == 24
    assert on_hand_of(adjusted("A", "S1", None)) is None
    other = new_event("availability.published", {"sku": "A", "location": "S1", "available": 3},
                      source="urn:test", subject="A@S1")
    assert on_hand_of(other) is None


def test_systems_come_from_the_config_first_then_the_connector_type():
    resolve = system_resolver(TYPES.get, {"files": "wms", "sap": "pos"})
    assert [resolve(n) for n in ("sap", "wh", "shop", "files", "unknown")] == ["pos", "wms", "pos", "wms", None]


def test_the_report_compares_each_pair_against_the_tolerance():
    ledger = {
        ("A", "S1"): {"erp": (10.0, 1.0, "e1"), "wms": (10.0, 2.0, "w1"), "pos": (13.0, 3.0, "p1")},
        ("B", "S1"): {"erp": (5.0, 1.0, "e2"), "wms": (6.0, 1.0, "w2")},
        ("C", "S2"): {"pos": (1.0, 1.0, "p3")},
    }
    strict = build_report(ledger, tolerance=0)
    assert (strict["positions"], strict["positions_compared"]) == (3, 2)
    assert (strict["pairs_compared"], strict["pairs_disagreeing"]) == (4, 3)
    assert strict["by_pair"] == {"erp-wms": {"compared": 2, "disagreeing": 1},
                                 "erp-pos": {"compared": 1, "disagreeing": 1},
                                 "wms-pos": {"compared": 1, "disagreeing": 1}}
    assert [(w["sku"], w["max_difference"]) for w in strict["worst"]] == [("A", 3), ("B", 1)]
    assert strict["worst"][0]["figures"]["pos"] == {"on_hand": 13, "as_of": "1970-01-01T00:00:03+00:00",
                                                    "event_id": "p1"}
    lenient = build_report(ledger, tolerance=1)
    assert lenient["pairs_disagreeing"] == 2 and [w["sku"] for w in lenient["worst"]] == ["A"]
    text = render_report(strict)
    assert "pairs compared: 4, disagreeing beyond 0: 3" in text
    assert any(line.split()[:5] == ["A", "S1", "10", "10", "13"] for line in text.splitlines())


async def test_figures_merge_across_workers_in_kv_and_the_latest_wins(nats_url):
    b = await bus.connect(nats_url)
    try:
        await b.declare()
        kv = await b.kv(bus.KV_STATE)
        resolve = system_resolver(TYPES.get, {})
        worker_a, worker_b = Reconciler(kv, resolve), Reconciler(kv, resolve)
        assert worker_a.observe("sap", snapshot("SKU-1", "S1", 40)) == []
        worker_a.observe("sap", snapshot("SKU-1", "S1", 35, at=T0 + timedelta(hours=1)))
        worker_a.observe("sap", snapshot("SKU-1", "S1", 99, at=T0 - timedelta(hours=1)))  # older: ignored
        worker_a.observe("files", snapshot("SKU-1", "S1", 1))  # a source of no known system: ignored
        worker_b.observe("wh", counted("SKU-1", "S1", 30))
        worker_b.observe("shop", adjusted("SKU-2", "S1", 7))
        await worker_a.flush()
        await worker_b.flush()
        worker_b.observe("sap", snapshot("SKU-2", "S1", 7))
        await worker_b.flush()
        ledger = await load_ledger(kv)
    finally:
        await b.close()
    assert {p: {s: f[0] for s, f in figs.items()} for p, figs in ledger.items()} == {
        ("SKU-1", "S1"): {"erp": 35, "wms": 30}, ("SKU-2", "S1"): {"pos": 7, "erp": 7}}
    report = build_report(ledger)
    assert (report["pairs_compared"], report["pairs_disagreeing"]) == (2, 1)


async def test_hub_reconcile_prints_the_report(nats_url):
    b = await bus.connect(nats_url)
    try:
        await b.declare()
        reconciler = Reconciler(await b.kv(bus.KV_STATE), system_resolver(TYPES.get, {}),
                                ReconcileSettings(tolerance=2))
        for i in range(5):
            reconciler.observe("sap", snapshot(f"SKU-{i}", "DC-1", 100))
            reconciler.observe("wh", snapshot(f"SKU-{i}", "DC-1", 100 - i))
        await reconciler.stop()
    finally:
        await b.close()

    def hub(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hub.cli", "reconcile", "--nats-url", nats_url, *args],
                              capture_output=True, text=True, timeout=60)

    report = json.loads(hub("--json", "--tolerance", "2").stdout)
    assert (report["pairs_compared"], report["pairs_disagreeing"]) == (5, 2)
    assert [(w["sku"], w["figures"]["erp"]["on_hand"], w["figures"]["wms"]["on_hand"]) for w in report["worst"]] == [
        ("SKU-4", 100, 96), ("SKU-3", 100, 97)]
    text = hub("--worst", "1")
    assert text.returncode == 0 and "disagreeing beyond 0: 4" in text.stdout and "SKU-4" in text.stdout
    assert "SKU-3" not in text.stdout
    assert hub("--check").returncode == 1 and hub("--check", "--tolerance", "4").returncode == 0


@pytest.mark.parametrize("raw", [{"tolerance": -1}, {"systems": {"x": "mainframe"}}, {"surprise": 1}])
def test_bad_reconcile_settings_name_the_key(raw):
    with pytest.raises(ValueError, match=next(iter(raw))):
        ReconcileSettings.model_validate(raw)

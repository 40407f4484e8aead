"""The exceptions KPI (tasks raised, open, closed), source lag, throughput windows and gauges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from canonical import new_event
from hub.kpis import ExceptionTracker, RateWindow, SourceLag, percentiles_of, render_gauges
from hub.metrics import Metrics

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def task(task_id: str, kind: str = "count", at: datetime = T0, sku: str | None = "SKU-1",
         location: str | None = "STORE-1"):
    data = {"task_id": task_id, "kind": kind, "title": f"{kind} {task_id}"}
    data |= {k: v for k, v in (("sku", sku), ("location", location)) if v}
    return new_event("task.raised", data, source="urn:test", subject=f"{sku}@{location}", time=at)


def count(sku: str, location: str, at: datetime):
    return new_event("cycle_count.recorded", {"sku": sku, "location": location, "counted": 5, "recorded": 7},
                     source="urn:test", subject=f"{sku}@{location}", time=at)


def tracker(now: datetime) -> tuple[ExceptionTracker, Metrics]:
    metrics = Metrics()
    return ExceptionTracker(metrics, clock=lambda: now.timestamp()), metrics


def test_tasks_are_counted_once_aged_and_closed_by_a_closing_task():
    tracked, metrics = tracker(T0 + timedelta(hours=3))
    tracked.observe("wms", task("T-1", "review", sku=None, location=None))
    tracked.observe("wms", task("T-1", "review", sku=None, location=None))  # the same task again: still one
    tracked.observe("wms", task("T-2", "review", at=T0 + timedelta(hours=1)))
    tracked.observe("wms", task("T-1", "resolved", at=T0 + timedelta(minutes=30)))
    snap = tracked.snapshot({"auto": 3, "review": 1})
    assert snap["raised"] == {"review": 2} and snap["closed"] == {"review": 1} and snap["open"] == 1
    assert snap["oldest_age_seconds"] == 2 * 3600
    assert snap["close_seconds"]["p50"] == 1800
    assert snap["decisions"] == {"auto": 3, "review": 1, "auto_share": 0.75}
    assert [t["task_id"] for t in snap["oldest"]] == ["T-2"]
    assert metrics.total("hub_tasks_raised_total", kind="review") == 2
    assert metrics.total("hub_tasks_closed_total") == 1


def test_a_count_task_is_closed_by_a_later_count_of_its_item_only():
    tracked, _ = tracker(T0 + timedelta(days=1))
    tracked.observe("hooks", task("C-1", "count", at=T0))
    tracked.observe("wms", count("SKU-1", "STORE-1", T0 - timedelta(minutes=5)))  # counted before the task
    tracked.observe("wms", count("SKU-1", "STORE-2", T0 + timedelta(hours=1)))  # another location
    assert tracked.snapshot({})["open"] == 1
    tracked.observe("wms", count("SKU-1", "STORE-1", T0 + timedelta(hours=2)))
    snap = tracked.snapshot({})
    assert snap["open"] == 0 and snap["closed"] == {"count": 1}
    assert snap["close_seconds"]["p50"] == 7200
    assert snap["decisions"]["auto_share"] is None


def test_gauges_render_in_prometheus_text():
    tracked, _ = tracker(T0 + timedelta(minutes=10))
    tracked.observe("x", task("A", "count"))
    tracked.observe("x", task("B", "review", at=T0 + timedelta(minutes=5)))
    text = render_gauges(tracked.gauges() | {"hub_empty": {}})
    assert "# TYPE hub_tasks_open gauge\n" in text
    assert 'hub_tasks_open{kind="count"} 1\n' in text and 'hub_tasks_open{kind="review"} 1\n' in text
    assert 'hub_task_oldest_open_age_seconds{kind="count"} 600\n' in text
    assert "hub_empty" not in text


def test_source_lag_is_observed_per_source():
    metrics = Metrics()
    lag = SourceLag(metrics, clock=lambda: (T0 + timedelta(seconds=2)).timestamp())
    event = task("L-1", at=T0)
    assert lag.observe("pos-1", event) == []
    hist = metrics.histograms["hub_source_lag_seconds"][(("connector", "pos-1"),)]
    assert hist.count == 1 and hist.total == 2.0 and hist.quantile(0.5) == 2.5


def test_rates_come_from_counter_deltas_over_the_window():
    window = RateWindow(window_seconds=10)
    assert window.rates() == {}
    for second in range(0, 21, 2):
        window.sample(float(second), {"a": second * 5.0, "b": 7.0})
    rates = window.rates()
    assert rates["a"] == 5.0 and rates["b"] == 0.0


def test_percentiles_of_samples():
    assert percentiles_of([])["p50"] is None
    spread = percentiles_of([float(i) for i in range(1, 101)])
    assert (spread["p50"], spread["p95"], spread["p99"], spread["count"]) == (51.0, 96.0, 100.0, 100)

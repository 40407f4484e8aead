"""The operations KPIs a retailer measures the hub by: exceptions (tasks), source lag, throughput.

Exceptions are tasks: every `task.raised` event the pipeline accepts. A task is *closed* by
- a later `task.raised` with the same `task_id` whose kind is closed, resolved, cancelled or done, or
- for a count task (kind `count`) with a SKU and location, a `cycle_count.recorded` for that SKU and
  location whose event time is at or after the task's.
Age is now minus the task's event time; time to close is the closing event's time minus the task's.
The tracker is per worker and in memory: it sees the partitions this worker owns, since it started.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from canonical import Envelope
from hub.metrics import BUCKETS, Histogram, Metrics, render_labels

CLOSING_KINDS = frozenset({"closed", "resolved", "cancelled", "done"})
_MAX_OPEN = 50_000
_CLOSE_SAMPLES = 2_000


@dataclass(slots=True)
class _OpenTask:
    kind: str
    raised_at: float
    title: str
    sku: str | None
    location: str | None


class ExceptionTracker:
    """A pipeline observer counting tasks raised and closed, with their age and time to close."""

    def __init__(self, metrics: Metrics, clock: Callable[[], float] = time.time) -> None:
        self.metrics = metrics
        self.clock = clock
        self.open: dict[str, _OpenTask] = {}
        self.raised: Counter[str] = Counter()
        self.closed: Counter[str] = Counter()
        self.close_seconds: deque[float] = deque(maxlen=_CLOSE_SAMPLES)
        self.dropped = 0  # open tasks forgotten because the table was full (the oldest go first)

    def observe(self, source: str, event: Envelope) -> list[Envelope]:
        if event.type == "task.raised":
            self._task(event)
        elif event.type == "cycle_count.recorded":
            self._count(event)
        return []

    def _task(self, event: Envelope) -> None:
        data = event.data
        task_id, kind = data["task_id"], data["kind"]
        if kind in CLOSING_KINDS:
            self._close(task_id, event.time.timestamp())
            return
        if task_id in self.open:
            return  # the same task raised again (a replay, another worker's copy): still one task
        if len(self.open) >= _MAX_OPEN:
            self.open.pop(next(iter(self.open)))
            self.dropped += 1
        self.open[task_id] = _OpenTask(kind, event.time.timestamp(), data["title"], data.get("sku"),
                                       data.get("location"))
        self.raised[kind] += 1
        self.metrics.inc("hub_tasks_raised_total", kind=kind)

    def _count(self, event: Envelope) -> None:
        sku, location, counted_at = event.data["sku"], event.data["location"], event.time.timestamp()
        done = [task_id for task_id, task in self.open.items()
                if task.kind == "count" and task.sku == sku and task.location == location
                and task.raised_at <= counted_at]
        for task_id in done:
            self._close(task_id, counted_at)

    def _close(self, task_id: str, closed_at: float) -> None:
        task = self.open.pop(task_id, None)
        if task is None:
            return
        self.closed[task.kind] += 1
        self.close_seconds.append(max(0.0, closed_at - task.raised_at))
        self.metrics.inc("hub_tasks_closed_total", kind=task.kind)

    def snapshot(self, decisions: dict[str, float], limit: int = 20) -> dict[str, Any]:
        """Counts, ages, time to close, and the auto vs escalated share of the hooks' decisions."""
        now = self.clock()
        ages = sorted((now - t.raised_at for t in self.open.values()), reverse=True)
        auto, review = decisions.get("auto", 0), decisions.get("review", 0)
        oldest = sorted(self.open.items(), key=lambda kv: kv[1].raised_at)[:limit]
        return {
            "raised": dict(self.raised), "closed": dict(self.closed), "open": len(self.open),
            "open_by_kind": dict(Counter(t.kind for t in self.open.values())),
            "oldest_age_seconds": ages[0] if ages else None,
            "median_age_seconds": ages[len(ages) // 2] if ages else None,
            "close_seconds": percentiles_of(list(self.close_seconds)),
            "decisions": {"auto": auto, "review": review,
                          "auto_share": auto / (auto + review) if auto + review else None},
            "oldest": [{"task_id": task_id, "kind": t.kind, "title": t.title, "sku": t.sku,
                        "location": t.location, "age_seconds": now - t.raised_at} for task_id, t in oldest],
            "forgotten": self.dropped,
        }

    def gauges(self) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
        now = self.clock()
        open_by_kind = Counter(t.kind for t in self.open.values())
        oldest: dict[str, float] = {}
        for task in self.open.values():
            oldest[task.kind] = max(oldest.get(task.kind, 0.0), now - task.raised_at)
        return {
            "hub_tasks_open": {(("kind", k),): float(v) for k, v in open_by_kind.items()},
            "hub_task_oldest_open_age_seconds": {(("kind", k),): v for k, v in oldest.items()},
        }


class SourceLag:
    """A pipeline observer recording, per source connector, event time -> accepted by the pipeline."""

    def __init__(self, metrics: Metrics, clock: Callable[[], float] = time.time) -> None:
        self.metrics = metrics
        self.clock = clock

    def observe(self, source: str, event: Envelope) -> list[Envelope]:
        self.metrics.observe("hub_source_lag_seconds", max(0.0, self.clock() - event.time.timestamp()),
                             connector=source)
        return []


class RateWindow:
    """Per-key rates from counter samples over a sliding window (throughput from counter deltas)."""

    def __init__(self, window_seconds: float = 10.0) -> None:
        self.window = window_seconds
        self._samples: deque[tuple[float, dict[str, float]]] = deque()

    def sample(self, now: float, values: dict[str, float]) -> None:
        self._samples.append((now, dict(values)))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window:
            self._samples.popleft()

    def rates(self) -> dict[str, float]:
        if len(self._samples) < 2:
            return {}
        (t0, first), (t1, last) = self._samples[0], self._samples[-1]
        span = t1 - t0
        if span <= 0:
            return {}
        return {key: max(0.0, (value - first.get(key, 0.0)) / span) for key, value in last.items()}


def histogram_percentiles(hist: Histogram) -> dict[str, float | str | None]:
    """p50 / p95 / p99 as the upper bound of the bucket each falls in (what a Prometheus histogram allows)."""
    def bound(q: float) -> float | str | None:
        value = hist.quantile(q)
        return ">" + f"{BUCKETS[-1]:g}" if value == float("inf") else value  # JSON has no infinity
    return {"p50": bound(0.5), "p95": bound(0.95), "p99": bound(0.99),
            "count": hist.count, "mean": hist.total / hist.count if hist.count else None}


def percentiles_of(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "count": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    return {"p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "count": len(ordered)}


def render_gauges(gauges: dict[str, dict[tuple[tuple[str, str], ...], float]]) -> str:
    """Gauges in Prometheus text format, beside the counters and histograms of hub.metrics."""
    lines: list[str] = []
    for name, series in sorted(gauges.items()):
        if not series:
            continue
        lines.append(f"# TYPE {name} gauge")
        lines += [f"{name}{render_labels(key)} {value:g}" for key, value in sorted(series.items())]
    return "\n".join(lines) + "\n" if lines else ""

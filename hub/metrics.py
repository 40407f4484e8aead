"""In-process counters and latency histograms, exported in Prometheus text format."""

from __future__ import annotations

import bisect
from collections import defaultdict

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

Labels = tuple[tuple[str, str], ...]


class Histogram:
    __slots__ = ("counts", "total", "count")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, value)] += 1
        self.total += value
        self.count += 1

    def quantile(self, q: float) -> float | None:
        if not self.count:
            return None
        target, seen = q * self.count, 0
        for i, c in enumerate(self.counts):
            seen += c
            if seen >= target:
                return BUCKETS[i] if i < len(BUCKETS) else float("inf")
        return None


class Metrics:
    def __init__(self) -> None:
        self.counters: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self.histograms: dict[str, dict[Labels, Histogram]] = defaultdict(dict)

    def inc(self, name: str, amount: float = 1, **labels: str) -> None:
        self.counters[name][tuple(sorted(labels.items()))] += amount

    def observe(self, name: str, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        hist = self.histograms[name].get(key)
        if hist is None:
            hist = self.histograms[name][key] = Histogram()
        hist.observe(value)

    def total(self, name: str, **labels: str) -> float:
        want = set(labels.items())
        return sum(v for k, v in self.counters.get(name, {}).items() if want <= set(k))

    def render(self) -> str:
        lines: list[str] = []
        for name, series in sorted(self.counters.items()):
            lines.append(f"# TYPE {name} counter")
            lines += [f"{name}{render_labels(k)} {v:g}" for k, v in sorted(series.items())]
        for name, series in sorted(self.histograms.items()):
            lines.append(f"# TYPE {name} histogram")
            for key, hist in sorted(series.items()):
                cumulative = 0
                for bound, count in zip((*BUCKETS, float("inf")), hist.counts, strict=True):
                    cumulative += count
                    le = "+Inf" if bound == float("inf") else f"{bound:g}"
                    lines.append(f"{name}_bucket{render_labels(key + (('le', le),))} {cumulative}")
                lines.append(f"{name}_sum{render_labels(key)} {hist.total:g}")
                lines.append(f"{name}_count{render_labels(key)} {hist.count}")
        return "\n".join(lines) + "\n"


def render_labels(key: Labels) -> str:
    if not key:
        return ""
    inner = ",".join(f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"' for k, v in key)
    return "{" + inner + "}"

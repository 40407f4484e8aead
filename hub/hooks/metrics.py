"""Detection scores over item-days, counted point by point (no point adjustment) plus episode figures."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(slots=True)
class Detection:
    precision: float
    recall: float
    f1: float
    episode_recall: float
    median_delay_days: float | None
    false_alarms_per_1000: float
    item_days: int
    positives: int
    flagged: int
    episodes: int

    def as_dict(self) -> dict[str, float | int | None]:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4), "f1": round(self.f1, 4),
                "episode_recall": round(self.episode_recall, 4),
                "median_delay_days": self.median_delay_days,
                "false_alarms_per_1000": round(self.false_alarms_per_1000, 4), "item_days": self.item_days,
                "positives": self.positives, "flagged": self.flagged, "episodes": self.episodes}


def score_detection(truth: Mapping[str, list[bool]], flags: Mapping[str, set[int]],
                    min_episode_days: int = 1) -> Detection:
    """Score day flags per key against per-day truth.

    Precision, recall and F1 count every item-day on its own. An episode is a run of true days; it is found
    when any of its days is flagged, and its delay is the first flagged day minus its start. Only episodes
    of at least `min_episode_days` count for episode recall and delay. False alarms are flagged days that
    are not true, per 1,000 item-days that are not true.
    """
    tp = fp = positives = negatives = 0
    delays: list[int] = []
    episodes = found = 0
    for key, days in truth.items():
        flagged = flags.get(key, set())
        for d, is_true in enumerate(days):
            hit = d in flagged
            positives += is_true
            negatives += not is_true
            tp += hit and is_true
            fp += hit and not is_true
        for start, end in _runs(days):
            if end - start < min_episode_days:
                continue
            episodes += 1
            first = next((d for d in range(start, end) if d in flagged), None)
            if first is not None:
                found += 1
                delays.append(first - start)
    flagged_total = sum(len(f) for f in flags.values())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Detection(precision, recall, f1, found / episodes if episodes else 0.0,
                     float(statistics.median(delays)) if delays else None,
                     1000.0 * fp / negatives if negatives else 0.0,
                     positives + negatives, positives, flagged_total, episodes)


def _runs(days: list[bool]) -> Iterable[tuple[int, int]]:
    start = None
    for d, is_true in enumerate(days):
        if is_true and start is None:
            start = d
        elif not is_true and start is not None:
            yield start, d
            start = None
    if start is not None:
        yield start, len(days)

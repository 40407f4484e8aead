"""Which schema versions each source sends: counts, first and last seen, summed over workers in KV.

`observe` is on the pipeline's hot path: a dict update in memory. `flush` merges this worker's
counts into `usage.<source>.<type>.v<N>` with revision-checked updates, so workers add up and
counts survive restarts (counts not yet flushed when a worker dies are lost: it is monitoring).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from nats.js.errors import KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

from hub.schemas import keys, registry

_UPDATE_ATTEMPTS = 20
Key = tuple[str, str, int]


@dataclass(slots=True)
class _Tally:
    count: int
    first_seen: float
    last_seen: float


class SchemaUsage:
    """One worker's view: counts since the last flush, deprecated versions, deprecation tasks raised."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._pending: dict[Key, _Tally] = {}
        self._deprecated: frozenset[tuple[str, int]] = frozenset()
        self._raised: set[Key] = set()
        self._unrecorded_tasks: set[Key] = set()

    def observe(self, source: str, event_type: str, version: int) -> bool:
        """Count one event as its source sent it (before upcasting).

        True exactly once per (source, type, version) when that version is deprecated and no task has
        been raised for that source yet: the caller then raises `deprecation_task(...)`.
        """
        key = (source, event_type, version)
        now = self._clock()
        tally = self._pending.get(key)
        if tally is None:
            self._pending[key] = _Tally(1, now, now)
        else:
            tally.count += 1
            tally.last_seen = now
        if (event_type, version) not in self._deprecated or key in self._raised:
            return False
        self._raised.add(key)
        self._unrecorded_tasks.add(key)
        return True

    def deprecated(self, event_type: str, version: int) -> bool:
        return (event_type, version) in self._deprecated

    async def load(self, kv: KeyValue) -> None:
        """Read which versions are deprecated and which deprecation tasks any worker has raised."""
        self._deprecated = frozenset(await registry.deprecated_versions(kv))
        self._raised = await raised_tasks(kv) | self._unrecorded_tasks

    async def flush(self, kv: KeyValue) -> None:
        """Merge this worker's counts into KV, record the tasks it raised, then re-read deprecations."""
        pending, self._pending = self._pending, {}
        try:
            while pending:
                key, tally = next(iter(pending.items()))
                await _merge(kv, key, tally)
                del pending[key]
        finally:
            for key, tally in pending.items():  # not stored: keep them for the next flush
                self._restore(key, tally)
        for key in sorted(self._unrecorded_tasks):
            await claim_task(kv, *key)
            self._unrecorded_tasks.discard(key)
        await self.load(kv)

    def _restore(self, key: Key, tally: _Tally) -> None:
        current = self._pending.get(key)
        if current is None:
            self._pending[key] = tally
        else:
            self._pending[key] = _Tally(current.count + tally.count, min(current.first_seen, tally.first_seen),
                                        max(current.last_seen, tally.last_seen))


async def claim_task(kv: KeyValue, source: str, event_type: str, version: int) -> bool:
    """Record that a deprecation task was raised for this source and version; False if one already was."""
    value = orjson.dumps({"source": source, "type": event_type, "version": version, "at": _iso(time.time())})
    try:
        await kv.create(keys.task_key(source, event_type, version), value)
    except KeyWrongLastSequenceError:
        return False
    return True


async def raised_tasks(kv: KeyValue) -> set[Key]:
    found = set()
    for entry in await keys.live_entries(kv, "task.>"):
        parsed = keys.parse_versioned(entry.key)
        if parsed:
            source, event_type = keys.split_source(parsed[1])
            found.add((source, event_type, parsed[2]))
    return found


async def snapshot_all(kv: KeyValue) -> list[dict[str, Any]]:
    """Every (source, type, version) seen by any worker, with counts and first / last seen (UTC ISO)."""
    deprecated = await registry.deprecated_versions(kv)
    raised = await raised_tasks(kv)
    rows = []
    for entry in await keys.live_entries(kv, "usage.>"):
        parsed = keys.parse_versioned(entry.key)
        if parsed is None:
            continue
        tally = _tally(entry)
        source, event_type = keys.split_source(parsed[1])
        version = parsed[2]
        rows.append({"source": source, "type": event_type, "version": version, "count": tally.count,
                     "first_seen": _iso(tally.first_seen), "last_seen": _iso(tally.last_seen),
                     "deprecated": (event_type, version) in deprecated,
                     "task_raised": (source, event_type, version) in raised})
    return sorted(rows, key=lambda r: (r["source"], r["type"], r["version"]))


async def status_summary(kv: KeyValue) -> dict[str, Any]:
    return summarise(await snapshot_all(kv))


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What `hub status` shows: totals per type and version, and a warning per source on a deprecated version."""
    by_version: dict[str, int] = {}
    for row in rows:
        label = f"{row['type']} v{row['version']}"
        by_version[label] = by_version.get(label, 0) + row["count"]
    warnings = [f"{r['source']} sends {r['type']} v{r['version']}, which is deprecated "
                f"({r['count']} events, last {r['last_seen']})" for r in rows if r["deprecated"]]
    return {"sources": len({r["source"] for r in rows}), "events": sum(r["count"] for r in rows),
            "by_version": dict(sorted(by_version.items())), "warnings": warnings}


async def _merge(kv: KeyValue, key: Key, tally: _Tally) -> None:
    kv_key = keys.usage_key(*key)
    for _ in range(_UPDATE_ATTEMPTS):
        stored = await _read(kv, kv_key)
        if stored is None:
            merged, revision = tally, None
        else:
            current, revision = stored
            merged = _Tally(current.count + tally.count, min(current.first_seen, tally.first_seen),
                            max(current.last_seen, tally.last_seen))
        value = orjson.dumps({"count": merged.count, "first_seen": merged.first_seen, "last_seen": merged.last_seen})
        try:
            if revision is None:
                await kv.create(kv_key, value)
            else:
                await kv.update(kv_key, value, last=revision)
            return
        except KeyWrongLastSequenceError:
            continue  # another worker flushed this key in between: merge with its total
    raise RuntimeError(f"flushing schema usage {kv_key}: {_UPDATE_ATTEMPTS} concurrent updates in a row")


async def _read(kv: KeyValue, kv_key: str) -> tuple[_Tally, int] | None:
    try:
        entry = await kv.get(kv_key)
    except NotFoundError:
        return None
    return _tally(entry), entry.revision


def _tally(entry: KeyValue.Entry) -> _Tally:
    try:
        obj = orjson.loads(entry.value or b"")
        return _Tally(int(obj["count"]), float(obj["first_seen"]), float(obj["last_seen"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"reading {entry.key} from {keys.BUCKET}: not a usage record ({exc})") from None


def _iso(epoch: float) -> str:
    if not math.isfinite(epoch):
        return ""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")

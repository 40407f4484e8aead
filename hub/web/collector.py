"""What the status page shows, gathered from this worker's memory and, every refresh, from NATS.

Local numbers (connectors, counters, latency, tasks) are read on each request. Whatever needs NATS
(workers, stream depths, dead letters, AI decisions, schema usage, EDI acknowledgements, the
reconciliation ledger) is read by one background refresh every couple of seconds, so a page polled
by many browsers costs NATS no more than one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from nats.js.errors import NotFoundError

from hub import bus, dlq
from hub.hooks.audit import unpack
from hub.kpis import RateWindow, histogram_percentiles
from hub.reconcile import build_report, load_ledger
from hub.status import worker_statuses
from hub.web.streams import read_recent

if TYPE_CHECKING:
    from hub.runtime import Hub

log = logging.getLogger("hub.web")

DLQ_WINDOW = 1000  # dead letters grouped on the page: the latest this many
DECISIONS_KEPT = 25
_VOLATILE = re.compile(r"[0-9a-f]{8,}|\d+")


def group_key(letter: dlq.DeadLetter) -> str:
    """Dead letters that failed the same way at the same place share a key (numbers and ids ignored)."""
    pattern = _VOLATILE.sub("#", letter.error[:160])
    raw = f"{letter.stage}\x00{letter.connector}\x00{letter.error_class}\x00{pattern}"
    return hashlib.blake2b(raw.encode(), digest_size=6).hexdigest()


class StatusCollector:
    def __init__(self, hub: Hub, refresh_seconds: float = 2.0) -> None:
        self.hub = hub
        self.refresh_seconds = refresh_seconds
        self.rates = RateWindow()
        self.sections: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.refreshed_at: float | None = None
        self._decisions: deque[dict[str, Any]] = deque(maxlen=DECISIONS_KEPT)
        self._audit_seq = 0
        self._dlq_state: tuple[int, int] | None = None
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._stopped = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._refresh_forever(), name="status-page-refresh")

    async def stop(self) -> None:
        # A flag as well as cancel(): Python 3.11's wait_for can swallow a cancellation that lands
        # as its wait ends, and a refresh loop that missed it would keep the hub from exiting.
        self._stopped = True
        self._wake.set()
        if self._task:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=5.0)

    def refresh_soon(self) -> None:
        """Refresh now rather than at the next tick (after a replay, so the page shows it at once)."""
        self._dlq_state = None
        self._wake.set()

    async def _refresh_forever(self) -> None:
        while not self._stopped:
            await self.refresh()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.refresh_seconds)

    async def refresh(self) -> None:
        self.rates.sample(time.monotonic(), self._throughput_counters())
        if self.hub.bus is None or not self.hub.bus.nc.is_connected:
            self.errors["nats"] = "not connected to NATS"
            return
        self.errors.pop("nats", None)
        steps: dict[str, Callable[[], Awaitable[Any]]] = {
            "workers": self._workers, "streams": self._streams, "dead_letters": self._dead_letters,
            "decisions": self._read_decisions, "schemas": self._schema_usage,
            "acknowledgements": self._acknowledgements, "reconciliation": self._reconciliation,
        }
        for name, step in steps.items():
            try:
                result = await step()
            except Exception as exc:  # noqa: BLE001 - one panel failing must not blank the page
                self.errors[name] = f"{type(exc).__name__}: {exc}"
                log.debug("status page section %s not refreshed: %s", name, exc)
                continue
            self.errors.pop(name, None)
            if result is not None:
                self.sections[name] = result
        self.refreshed_at = time.time()

    # ------------------------------------------------------------ what the page shows
    def snapshot(self) -> dict[str, Any]:
        hub = self.hub
        return {
            "hub": hub.config.hub.name, "worker": hub.worker_id, "ready": hub.ready,
            "started_at": hub.started_at, "now": time.time(), "refreshed_at": self.refreshed_at,
            "partitions": sorted(hub.pipeline.owned) if hub.pipeline else [],
            "connectors": self._connectors(),
            "latency": self._latency(),
            "counters": {name: sum(series.values()) for name, series in hub.metrics.counters.items()},
            "tasks": hub.exceptions.snapshot(self.decision_counts()),
            **{name: self.sections.get(name) for name in (
                "workers", "streams", "dead_letters", "schemas", "acknowledgements", "reconciliation")},
            "decisions": list(reversed(self._decisions)),
            "errors": dict(self.errors),
        }

    def decision_counts(self) -> dict[str, float]:
        counts = getattr(self.hub.pipeline.hooks, "metrics", {}) if self.hub.pipeline else {}
        return {key.split(".", 1)[1]: value for key, value in counts.items() if key.startswith("hook_decisions.")}

    def _connectors(self) -> list[dict[str, Any]]:
        if self.hub.instances is None:
            return []
        metrics, rates = self.hub.metrics, self.rates.rates()
        rows = []
        for row in self.hub.instances.statuses():
            name = row["name"]
            rows.append({**row, "per_second": round(rates.get(name, 0.0), 2),
                         "ingested": metrics.total("hub_ingested_events_total", connector=name),
                         "delivered": metrics.total("hub_delivered_total", connector=name),
                         "errors": metrics.total("hub_delivery_errors_total", connector=name),
                         "retries": metrics.total("hub_retries_total", connector=name),
                         "dead_letters": metrics.total("hub_dead_letters_total", connector=name)})
        return rows

    def _latency(self) -> dict[str, dict[str, Any]]:
        """Per connector: ingress -> delivered for targets, event time -> pipeline for sources."""
        out: dict[str, dict[str, Any]] = {}
        for metric, kind in (("hub_end_to_end_seconds", "delivered"), ("hub_source_lag_seconds", "received")):
            for labels, hist in self.hub.metrics.histograms.get(metric, {}).items():
                connector = dict(labels).get("connector", "")
                out.setdefault(connector, {})[kind] = histogram_percentiles(hist)
        return out

    def _throughput_counters(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for metric in ("hub_delivered_total", "hub_ingested_events_total"):
            for labels, value in self.hub.metrics.counters.get(metric, {}).items():
                connector = dict(labels).get("connector", "")
                totals[connector] = totals.get(connector, 0.0) + value
        return totals

    # ------------------------------------------------------------ sections read from NATS
    def _bus(self) -> bus.Bus:
        assert self.hub.bus is not None
        return self.hub.bus

    async def _workers(self) -> list[dict[str, Any]]:
        return [{"worker": w["worker"], "partitions": w.get("partitions", []), "pid": w.get("pid"),
                 "updated_at": w.get("updated_at"), "status_url": w.get("status_url")}
                for w in await worker_statuses(self._bus())]

    async def _streams(self) -> dict[str, dict[str, int]]:
        out = {}
        for name in (bus.EVENTS, bus.OUTBOX, bus.DLQ, bus.AUDIT):
            try:
                state = (await self._bus().js.stream_info(name)).state
                out[name] = {"messages": state.messages, "bytes": state.bytes}
            except NotFoundError:
                out[name] = {"messages": 0, "bytes": 0}
        return out

    async def _dead_letters(self) -> dict[str, Any] | None:
        js = self._bus().js
        state = (await js.stream_info(bus.DLQ)).state
        if self._dlq_state == (state.messages, state.last_seq):
            return None  # unchanged since the last look
        letters = [dlq.DeadLetter.model_validate_json(m.data)
                   for m in await read_recent(js, bus.DLQ, "dlq.>", limit=DLQ_WINDOW)]
        groups: dict[str, dict[str, Any]] = {}
        for letter in letters:
            key = group_key(letter)
            group = groups.setdefault(key, {"key": key, "stage": letter.stage, "connector": letter.connector,
                                            "error_class": letter.error_class, "error": letter.error[:200],
                                            "count": 0, "last_failure": ""})
            group["count"] += 1
            group["last_failure"] = max(group["last_failure"], letter.last_failure.isoformat(timespec="seconds"))
        self._dlq_state = (state.messages, state.last_seq)
        return {"depth": state.messages, "window": len(letters),
                "top": sorted(groups.values(), key=lambda g: -g["count"])[:10],
                "latest": [dict(letter.summary(), group=group_key(letter)) for letter in reversed(letters[-20:])]}

    async def _read_decisions(self) -> None:
        msgs = await read_recent(self._bus().js, bus.AUDIT, "audit.decision", after_seq=self._audit_seq,
                                 limit=DECISIONS_KEPT * 20)
        for msg in msgs:
            self._audit_seq = msg.metadata.sequence.stream
            for line in unpack(msg.data):  # a message may hold a run of decisions
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                self._decisions.append({k: record.get(k) for k in (
                    "hook", "decision", "action", "score", "confidence", "reasons", "evidence", "event_id",
                    "event_type", "subject", "policy_version", "rule", "model_version", "event_time")})

    async def _schema_usage(self) -> list[dict[str, Any]]:
        from hub.schemas.usage import snapshot_all

        return await snapshot_all(await self._bus().kv(bus.KV_SCHEMAS))

    async def _acknowledgements(self) -> list[dict[str, Any]]:
        try:
            from connectors.edi_3pl.acks import open_acknowledgements
        except ImportError:
            return []
        instances = self.hub.instances.instances if self.hub.instances else {}
        rows = []
        for name, instance in list(instances.items()):
            if instance.connector.type_name != "edi.sftp" or instance.error:
                continue
            for record in await open_acknowledgements(instance.connector.ctx.state):
                rows.append({"connector": name, **{k: record.get(k) for k in (
                    "partner", "control", "document_type", "sent_at", "deadline", "task_raised")}})
        return rows

    async def _reconciliation(self) -> dict[str, Any]:
        settings = self.hub.reconciler.settings if self.hub.reconciler else None
        ledger = await load_ledger(await self._bus().kv(bus.KV_STATE))
        if settings is None:
            return build_report(ledger)
        return build_report(ledger, settings.tolerance, settings.worst)

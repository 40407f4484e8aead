"""What `hub status` and `hub connectors list` show: workers, connectors, streams, dead letters."""

from __future__ import annotations

import time
from typing import Any

import orjson
from nats.js.errors import NotFoundError

from hub import bus
from hub.schemas.keys import live_entries
from hub.schemas.usage import status_summary


async def worker_statuses(b: bus.Bus, fresh_seconds: float = 15.0) -> list[dict[str, Any]]:
    """Every worker whose status beat is fresh.

    The worker keys come from the bucket's stream subject index: one request, where the
    key watcher behind ``KeyValue.keys()`` can end early while other keys are being written.
    """
    workers = []
    for entry in await live_entries(await b.kv(bus.KV_STATE), "worker.>"):  # a stopped worker's key is deleted
        status = orjson.loads(entry.value)
        if time.time() - status.get("updated_at", 0) <= fresh_seconds:
            workers.append(status)
    return workers


async def gather_status(b: bus.Bus, config_path: str | None) -> dict[str, Any]:
    from hub.config import load_config
    from hub.instances import registered

    workers = await worker_statuses(b)
    running: dict[str, dict[str, Any]] = {}
    for worker in workers:
        for row in worker.get("connectors", []):
            merged = running.setdefault(row["name"], dict(row, workers=0, delivered=0))
            merged["workers"] += 1
            merged["delivered"] += row.get("delivered") or 0
            if row["state"] != "running":
                merged["state"] = row["state"]
                merged["last_error"] = row.get("last_error")
    connectors: dict[str, dict[str, Any]] = {}
    if config_path:
        for name, body in load_config(config_path).connectors.items():
            connectors[name] = {"name": name, "type": body.get("type"), "origin": "config", "state": "not running"}
    for name, record in (await registered(b)).items():
        connectors[name] = {"name": name, "type": record["config"].get("type"), "origin": "registry",
                            "state": "not running", "registered_at": record.get("registered_at")}
    for name, row in running.items():
        connectors[name] = {**connectors.get(name, {}), **row}
    streams = {}
    for name in (bus.EVENTS, bus.OUTBOX, bus.DLQ, bus.AUDIT):
        try:
            info = await b.js.stream_info(name)
            streams[name] = {"messages": info.state.messages, "bytes": info.state.bytes}
        except NotFoundError:
            streams[name] = {"messages": 0, "bytes": 0}
    return {"workers": workers, "connectors": sorted(connectors.values(), key=lambda r: r["name"]),
            "streams": streams, "dead_letters": streams[bus.DLQ]["messages"],
            "schemas": await status_summary(await b.kv(bus.KV_SCHEMAS))}


def render_status(data: dict[str, Any]) -> str:
    lines = [f"workers: {len(data['workers'])}"]
    for worker in data["workers"]:
        lines.append(f"  {worker['worker']}  partitions {worker['partitions']}  pid {worker['pid']}")
    lines.append("connectors:")
    for row in data["connectors"]:
        extra = f"  delivered {row['delivered']}" if row.get("delivered") else ""
        error = f"  last error: {row['last_error']}" if row.get("last_error") else ""
        lines.append(f"  {row['name']:<20} {row.get('type') or '?':<14} {row['origin']:<9} {row['state']}{extra}{error}")
    lines.append("streams:")
    for name, info in data["streams"].items():
        lines.append(f"  {name:<8} {info['messages']} messages")
    lines.append(f"dead letters: {data['dead_letters']}")
    schemas = data.get("schemas")
    if schemas:
        versions = ", ".join(f"{label}: {count}" for label, count in schemas["by_version"].items())
        lines.append(f"schema versions seen ({schemas['events']} events from {schemas['sources']} sources): "
                     f"{versions or 'none yet'}")
        lines += [f"  WARNING {warning}" for warning in schemas["warnings"]]
    for section in data.get("sections", []):
        lines.append(section)
    return "\n".join(lines)

"""NATS as the hub's only infrastructure: the connection, the streams and buckets, and subject names.

Every name the hub uses on NATS is defined here, in one place:

| name            | kind   | subjects / keys                                   |
| --------------- | ------ | ------------------------------------------------- |
| EVENTS          | stream | inv.<type>.v<N>.<partition> (type with _ for .)    |
| OUTBOX          | stream | out.<connector>.<type>                            |
| DLQ             | stream | dlq.<stage>.<connector>                           |
| AUDIT           | stream | audit.<kind>                                      |
| RAW             | stream | raw.<connector> (inbound payloads, for lineage)   |
| hub_connectors  | KV     | registered connector instances                    |
| hub_schemas     | KV     | the schema registry                               |
| hub_state       | KV     | cursors, ledgers, breakers, hook snapshots        |
| hub_dedupe      | KV     | idempotency keys seen by the pipeline (TTL)       |
| hub_leases      | KV     | which worker owns which EVENTS partition (TTL)    |
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import BucketNotFoundError, KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

EVENTS, OUTBOX, DLQ, AUDIT, RAW = "EVENTS", "OUTBOX", "DLQ", "AUDIT", "RAW"
KV_CONNECTORS, KV_SCHEMAS, KV_STATE, KV_DEDUPE, KV_LEASES = (
    "hub_connectors", "hub_schemas", "hub_state", "hub_dedupe", "hub_leases")

DAY = 86400.0
_STREAMS: dict[str, dict[str, Any]] = {
    EVENTS: {"subjects": ["inv.>"], "max_age": 7 * DAY, "duplicate_window": 120.0},
    OUTBOX: {"subjects": ["out.>"], "max_age": 7 * DAY, "duplicate_window": 600.0},
    DLQ: {"subjects": ["dlq.>"], "max_age": 30 * DAY, "duplicate_window": 120.0},
    AUDIT: {"subjects": ["audit.>"], "max_age": 90 * DAY, "duplicate_window": 120.0},
    RAW: {"subjects": ["raw.>"], "max_age": 7 * DAY, "duplicate_window": 600.0},
}


def type_token(event_type: str) -> str:
    return event_type.replace(".", "_")


def partition_of(subject: str, partitions: int) -> int:
    return zlib.crc32(subject.encode()) % partitions


def events_subject(event_type: str, version: int, subject: str, partitions: int) -> str:
    return f"inv.{type_token(event_type)}.v{version}.{partition_of(subject, partitions)}"


def outbox_subject(connector: str, event_type: str) -> str:
    return f"out.{connector}.{type_token(event_type)}"


def dlq_subject(stage: str, connector: str) -> str:
    return f"dlq.{stage}.{connector or '_'}"


def kv_key(text: str) -> str:
    """A KV-safe key for arbitrary text (idempotency keys, file names, ...)."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass
class Bus:
    """One NATS connection with its JetStream context and the hub's buckets."""

    nc: Client
    js: JetStreamContext
    replicas: int = 1
    _kvs: dict[str, KeyValue] = field(default_factory=dict)

    async def kv(self, bucket: str) -> KeyValue:
        kv = self._kvs.get(bucket)
        if kv is None:
            kv = self._kvs[bucket] = await self.js.key_value(bucket)
        return kv

    async def declare(self, dedupe_hours: float = 24.0) -> None:
        """Create the streams and buckets the hub needs; existing ones are left as they are."""
        for name, spec in _STREAMS.items():
            try:
                await self.js.stream_info(name)
            except NotFoundError:
                await self.js.add_stream(js_api.StreamConfig(
                    name=name, storage=js_api.StorageType.FILE, num_replicas=self.replicas, **spec))
        for bucket, ttl, history in ((KV_CONNECTORS, None, 5), (KV_SCHEMAS, None, 5), (KV_STATE, None, 1),
                                     (KV_DEDUPE, dedupe_hours * 3600, 1), (KV_LEASES, 10.0, 1)):
            try:
                self._kvs[bucket] = await self.js.key_value(bucket)
            except BucketNotFoundError:
                self._kvs[bucket] = await self.js.create_key_value(js_api.KeyValueConfig(
                    bucket=bucket, ttl=ttl, history=history, storage=js_api.StorageType.FILE,
                    replicas=self.replicas))

    async def close(self) -> None:
        if not self.nc.is_closed:
            await self.nc.drain()


async def connect(url: str, *, name: str = "hub", user: str | None = None, password: str | None = None,
                  token: str | None = None, replicas: int = 1, tls: Any = None) -> Bus:
    servers = [u.strip() for u in url.split(",") if u.strip()]
    options: dict[str, Any] = {"servers": servers, "name": name, "max_reconnect_attempts": -1,
                               "reconnect_time_wait": 0.5, "connect_timeout": 5, "allow_reconnect": True}
    if user:
        options |= {"user": user, "password": password}
    if token:
        options["token"] = token
    if tls is not None:
        options["tls"] = tls
    nc = await nats.connect(**options)
    return Bus(nc=nc, js=nc.jetstream(timeout=10.0), replicas=replicas)


async def connect_for_cli(config_path: str | Path | None, nats_url: str | None = None) -> Bus:
    """Connect to the NATS the running hub uses: flag, HUB_NATS_URL, config, or the embedded server's URL file."""
    from hub.config import load_config
    from hub.natsserver import read_url
    from hub.secrets import reveal

    config = load_config(config_path) if config_path else None
    url = config.nats_url(nats_url) if config else (nats_url or "")
    if not url and config:
        url = read_url(config.data_dir()) or ""
    if not url:
        raise RuntimeError("no NATS to talk to: pass --nats-url, set HUB_NATS_URL, or start `hub up --config` first")
    nats_cfg = config.nats if config else None
    return await connect(
        url, name="hub-cli",
        user=nats_cfg.user if nats_cfg else None,
        password=reveal(nats_cfg.password) if nats_cfg else None,
        token=reveal(nats_cfg.token) if nats_cfg else None,
        replicas=nats_cfg.replicas if nats_cfg else 1,
    )


class KvState:
    """A connector's or component's JSON state in the hub_state bucket, under its own key prefix."""

    def __init__(self, kv: KeyValue, prefix: str) -> None:
        self._kv = kv
        self._prefix = prefix.replace("/", "_")

    def _key(self, key: str) -> str:
        return f"{self._prefix}.{key}"

    async def get(self, key: str) -> Any | None:
        try:
            entry = await self._kv.get(self._key(key))
        except NotFoundError:
            return None
        return json.loads(entry.value) if entry.value else None

    async def put(self, key: str, value: Any) -> None:
        await self._kv.put(self._key(key), json.dumps(value, separators=(",", ":")).encode())

    async def create(self, key: str, value: Any) -> bool:
        try:
            await self._kv.create(self._key(key), json.dumps(value, separators=(",", ":")).encode())
        except KeyWrongLastSequenceError:
            return False
        return True

    async def delete(self, key: str) -> None:
        await self._kv.delete(self._key(key))

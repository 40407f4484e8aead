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
| hub_dedupe      | KV     | idempotency keys seen by the pipeline, and        |
|                 |        | connectors' claim marks once.<connector>.* (TTL)  |
| hub_leases      | KV     | which worker owns which EVENTS partition (TTL)    |
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import ssl
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import APIError, BucketNotFoundError, KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KV_DEL, KV_OP, KeyValue

from hub.natsclient import HubClient

EVENTS, OUTBOX, DLQ, AUDIT, RAW = "EVENTS", "OUTBOX", "DLQ", "AUDIT", "RAW"
KV_CONNECTORS, KV_SCHEMAS, KV_STATE, KV_DEDUPE, KV_LEASES = (
    "hub_connectors", "hub_schemas", "hub_state", "hub_dedupe", "hub_leases")
log = logging.getLogger("hub.bus")
_FIRST_CONNECT_TRIES = 3
_FIRST_CONNECT_SECONDS = 10.0

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
                  token: str | None = None, nkey_seed: str | None = None, tls: ssl.SSLContext | None = None,
                  tls_hostname: str | None = None, replicas: int = 1) -> Bus:
    """Connect to NATS (URLs comma separated for a cluster); reconnects for ever once connected."""
    servers = [u.strip() for u in url.split(",") if u.strip()]
    # nats-py applies its reconnect settings to the first connect too: with them a wrong URL would be
    # retried for ever, and a failed TLS handshake can hang it. So the first connect gets a few tries
    # per server and gives up on a refused handshake or credentials at once; only a connection that
    # was once up reconnects without end.
    options: dict[str, Any] = {"servers": servers, "name": name, "max_reconnect_attempts": _FIRST_CONNECT_TRIES,
                               "reconnect_time_wait": 0.5, "connect_timeout": 5, "allow_reconnect": False,
                               "error_cb": _log_error}
    if user:
        options |= {"user": user, "password": password}
    if token:
        options["token"] = token
    if nkey_seed:
        options["nkeys_seed_str"] = nkey_seed
    if tls is not None:
        options["tls"] = tls
        if tls_hostname:
            options["tls_hostname"] = tls_hostname
    nc = HubClient()
    try:
        await asyncio.wait_for(nc.connect(**options), timeout=_FIRST_CONNECT_SECONDS)
    except (OSError, NatsError, TimeoutError) as exc:
        with contextlib.suppress(Exception):  # nats-py's close() can hang after a failed handshake
            await asyncio.wait_for(nc.close(), timeout=1.0)
        raise ConnectionError(f"connecting to NATS at {_without_credentials(servers)}: "
                              f"{_describe(nc.last_error or exc)}") from None
    nc.options["allow_reconnect"] = True
    nc.options["max_reconnect_attempts"] = -1
    return Bus(nc=nc, js=nc.jetstream(timeout=10.0), replicas=replicas)


async def connect_for_cli(config_path: str | Path | None, nats_url: str | None = None) -> Bus:
    """Connect to the NATS the running hub uses: flag, HUB_NATS_URL, config, or the embedded server's URL file."""
    from hub.config import load_config
    from hub.natsserver import read_url
    from hub.secrets import client_options

    config = load_config(config_path) if config_path else None
    url = config.nats_url(nats_url) if config else (nats_url or "")
    if not url and config:
        url = read_url(config.data_dir()) or ""
    if not url:
        raise RuntimeError("no NATS to talk to: pass --nats-url, set HUB_NATS_URL, or start `hub up --config` first")
    if config is None:
        return await connect(url, name="hub-cli")
    return await connect(url, name="hub-cli", replicas=config.nats.replicas,
                         **client_options(config.nats, config.base_dir))


async def _log_error(exc: Exception) -> None:
    # nats-py calls this for every failed reconnect; during a node outage that is expected noise.
    level = logging.DEBUG if isinstance(exc, OSError | TimeoutError) else logging.WARNING
    log.log(level, "NATS connection error: %s", _describe(exc))


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


def _without_credentials(servers: list[str]) -> str:
    """Server URLs as they may be shown: a user:password@ part is cut out."""
    return ", ".join(re.sub(r"//[^@/]*@", "//", s) for s in servers)


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

    async def get_entry(self, key: str) -> tuple[Any, int] | None:
        """(value, revision) of `key`, the revision to pass to `update` or `delete_if`; None when absent."""
        try:
            entry = await self._kv.get(self._key(key))
        except NotFoundError:
            return None
        return (json.loads(entry.value) if entry.value else None), entry.revision

    async def put(self, key: str, value: Any) -> None:
        await self._kv.put(self._key(key), _json(value))

    async def create(self, key: str, value: Any) -> bool:
        try:
            await self._kv.create(self._key(key), _json(value))
        except KeyWrongLastSequenceError:
            return False
        return True

    async def update(self, key: str, value: Any, last: int) -> bool:
        """Store only if `key` is still at revision `last` (compare-and-set); False when it moved on or is gone."""
        try:
            await self._kv.update(self._key(key), _json(value), last=last)
        except KeyWrongLastSequenceError:
            return False
        return True

    async def delete(self, key: str) -> None:
        await self._kv.delete(self._key(key))

    async def delete_if(self, key: str, last: int) -> bool:
        """Delete `key` only if it is still at revision `last`; False when it moved on or is gone.

        The delete marker is purged too (only up to itself, so a newer write survives): keys that
        come and go would otherwise leave markers behind in the subject index `keys` reads.
        """
        subject = f"{self._kv._pre}{self._key(key)}"  # nats-py keeps the bucket's stream details private
        headers = {KV_OP: KV_DEL, js_api.Header.EXPECTED_LAST_SUBJECT_SEQUENCE: str(last)}
        try:
            marker = await self._kv._js.publish(subject, b"", headers=headers)
        except APIError as exc:
            if exc.err_code in _WRONG_LAST_SEQUENCE:
                return False
            raise
        try:
            await self._kv._js.purge_stream(self._kv._stream, subject=subject, seq=marker.seq + 1)
        except NatsError as exc:  # the key is deleted; a marker left behind costs a lookup, nothing more
            log.warning("could not purge the delete marker of %s: %s", subject, _describe(exc))
        return True

    async def keys(self, prefix: str) -> list[str]:
        """The keys under `prefix.`, sorted, read from the bucket stream's subject index in one request.

        The watcher behind `KeyValue.keys()` can end early while other keys are being written. A key
        deleted with `delete` keeps its marker in the index and is listed; `get_entry` returns None for it.
        """
        start = len(self._prefix) + 1
        return [key[start:] for key in await kv_keys(self._kv, f"{self._key(prefix)}.>")]

    async def purge(self, prefix: str) -> int:
        """Remove every key under `prefix.` and its history in one request to the bucket's stream (a listing
        of millions of keys would not fit in one answer); returns how many stored values went."""
        js = self._kv._js  # nats-py keeps the bucket's stream details private, and `purge_stream` drops the count
        request = _json({"filter": f"{self._kv._pre}{self._key(prefix)}.>"})
        answer = await js._api_request(f"{js._prefix}.STREAM.PURGE.{self._kv._stream}", request, timeout=js._timeout)
        return int(answer.get("purged", 0))


async def kv_keys(kv: KeyValue, pattern: str) -> list[str]:
    """The keys of `kv` matching a NATS subject pattern (`worker.>`), sorted, from the bucket stream's
    subject index in one request: the watcher behind `KeyValue.keys()` can end early while other keys are
    being written. A deleted key whose marker is still stored is listed too."""
    pre = kv._pre  # nats-py keeps the bucket's stream details private
    info = await kv._js.stream_info(kv._stream, subjects_filter=f"{pre}{pattern}")
    return sorted(subject[len(pre):] for subject in info.state.subjects or {})


# JetStream's "wrong last sequence" error codes (JSStreamWrongLastSequenceErrF, ...ConstantErr).
_WRONG_LAST_SEQUENCE = (10071, 10164)


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()

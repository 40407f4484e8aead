"""Connector types (from entry points) and the instances a hub runs, from config and from the registry.

Instances registered with `hub connectors register` live in the KV bucket `hub_connectors`; every
worker watches it and starts or stops them within seconds, without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import orjson
from nats.js.errors import KeyNotFoundError, NotFoundError
from pydantic import ValidationError

from hub import bus
from hub.config import ConfigError, HubConfig, describe_errors
from hub.delivery import Deliverer
from hub.ingest import IngestContext
from hub.metrics import Metrics
from hub.sdk import Connector, ConnectorConfig, Sink

log = logging.getLogger("hub.instances")

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def connector_types() -> dict[str, type[Connector]]:
    types: dict[str, type[Connector]] = {}
    for ep in entry_points(group="hub.connectors"):
        try:
            cls = ep.load()
        except Exception as exc:  # noqa: BLE001 - one broken plug-in must not stop the hub
            log.error("connector type %s could not be loaded from %s: %s", ep.name, ep.value, exc)
            continue
        cls.type_name = ep.name
        types[ep.name] = cls
    return types


def validate_instance(name: str, body: dict[str, Any], where: str,
                      types: dict[str, type[Connector]] | None = None) -> tuple[type[Connector], ConnectorConfig]:
    """Check a connector instance's name and config against its type's model; errors name the key."""
    if not NAME_PATTERN.match(name):
        raise ConfigError(f"{where}: connectors.{name}: a name is 1-64 letters, digits, '_' or '-'")
    types = types if types is not None else connector_types()
    type_name = body.get("type")
    cls = types.get(type_name or "")
    if cls is None:
        raise ConfigError(f"{where}: connectors.{name}.type: unknown connector type {type_name!r} "
                          f"(known: {', '.join(sorted(types))})")
    try:
        return cls, cls.config_model.model_validate(body)
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, where, prefix=f"connectors.{name}")) from None


@dataclass
class Instance:
    name: str
    origin: str  # "config" or "registry"
    connector: Connector
    deliverer: Deliverer | None = None
    error: str | None = None

    def status(self) -> dict[str, Any]:
        state = "running"
        if self.error:
            state = "failed"
        elif self.deliverer and self.deliverer.state != "closed":
            state = "circuit open" if self.deliverer.state == "open" else "circuit half-open"
        row = {"name": self.name, "type": self.connector.type_name, "origin": self.origin,
               "direction": self.connector.direction, "roles": self.connector.config.roles, "state": state}
        if self.deliverer:
            row |= {"delivered": self.deliverer.delivered, "last_error": self.deliverer.last_error}
        if self.error:
            row["last_error"] = self.error
        return row


class InstanceManager:
    def __init__(self, b: bus.Bus, config: HubConfig, metrics: Metrics, data_dir: Path) -> None:
        self.bus = b
        self.config = config
        self.metrics = metrics
        self.data_dir = data_dir
        self.types = connector_types()
        self.instances: dict[str, Instance] = {}
        self._watch_task: asyncio.Task | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        where = str(self.config.path or "config")
        for name, body in self.config.connectors.items():
            cls, cfg = validate_instance(name, body, where, self.types)
            if cfg.enabled:
                await self._start(name, cls, cfg, "config")
        kv = await self.bus.kv(bus.KV_CONNECTORS)
        watcher = await kv.watchall()
        self._watch_task = asyncio.create_task(self._watch(watcher), name="connector-registry")

    def targets_for_role(self, role: str, event_type: str) -> list[str]:
        """Instances bound to `role` (in [roles] or by their own `roles`) that take this event type."""
        bound = list(self.config.roles.get(role, ()))
        bound += [n for n, i in self.instances.items() if role in i.connector.config.roles and n not in bound]
        return [n for n in bound if n not in self.instances or _accepts(self.instances[n].connector, event_type)]

    def statuses(self) -> list[dict[str, Any]]:
        return [i.status() for i in self.instances.values()]

    async def stop_sources(self) -> None:
        for instance in list(self.instances.values()):
            if instance.connector.direction != "sink":
                await self._stop_connector(instance)

    async def stop(self) -> None:
        if self._watch_task:
            self._watch_task.cancel()
        for name in list(self.instances):
            await self._remove(name)

    async def _watch(self, watcher) -> None:
        while True:
            try:
                entry = await watcher.updates(timeout=5.0)
            except TimeoutError:
                continue
            except Exception as exc:  # noqa: BLE001 - NATS reconnecting; keep watching
                log.warning("connector registry watch: %s", exc)
                await asyncio.sleep(1.0)
                continue
            if entry is None:
                continue
            async with self._lock:
                await self._apply(entry)

    async def _apply(self, entry) -> None:
        name = entry.key
        if entry.operation in ("DEL", "PURGE") or not entry.value:
            if self.instances.get(name) and self.instances[name].origin == "registry":
                log.info("connector %s removed from the registry; stopping it", name)
                await self._remove(name)
            return
        if name in self.config.connectors:
            log.warning("registry entry %s ignored: the config file defines that name", name)
            return
        try:
            body = orjson.loads(entry.value)["config"]
            cls, cfg = validate_instance(name, body, "registry", self.types)
        except (ConfigError, ValueError, KeyError) as exc:
            log.error("registry entry %s refused: %s", name, exc)
            return
        await self._remove(name)
        await self._start(name, cls, cfg, "registry")

    async def _start(self, name: str, cls: type[Connector], cfg: ConnectorConfig, origin: str) -> None:
        state = bus.KvState(await self.bus.kv(bus.KV_STATE), f"connector.{name}")
        ctx = IngestContext(name, self.bus, state, partitions=self.config.hub.partitions,
                            base_dir=self.config.base_dir, data_dir=self.data_dir, metrics=self.metrics)
        connector = cls(name, cfg, ctx)
        instance = Instance(name, origin, connector)
        self.instances[name] = instance
        try:
            await connector.start()
            if isinstance(connector, Sink) or hasattr(connector, "deliver"):
                instance.deliverer = Deliverer(self.bus, connector, self.metrics)  # type: ignore[arg-type]
                await instance.deliverer.start()
        except Exception as exc:  # noqa: BLE001 - a connector that cannot start is shown as failed
            instance.error = f"start failed: {exc}"
            log.error("connector %s (%s) did not start: %s", name, cls.type_name, exc)
            return
        log.info("connector %s (%s, from %s) started", name, cls.type_name, origin)

    async def _stop_connector(self, instance: Instance) -> None:
        try:
            await instance.connector.stop()
        except Exception as exc:  # noqa: BLE001
            log.warning("connector %s stopped with an error: %s", instance.name, exc)

    async def _remove(self, name: str) -> None:
        instance = self.instances.pop(name, None)
        if instance is None:
            return
        if instance.deliverer:
            await instance.deliverer.stop()
        await self._stop_connector(instance)


def _accepts(connector: Connector, event_type: str) -> bool:
    accepts = getattr(connector, "accepts", None)
    return accepts(event_type) if accepts else False


async def register(b: bus.Bus, name: str, body: dict[str, Any], where: str) -> None:
    validate_instance(name, body, where)
    kv = await b.kv(bus.KV_CONNECTORS)
    record = {"config": body, "registered_at": datetime.now(UTC).isoformat()}
    await kv.put(name, orjson.dumps(record))


async def unregister(b: bus.Bus, name: str) -> bool:
    kv = await b.kv(bus.KV_CONNECTORS)
    try:
        await kv.get(name)
    except (KeyNotFoundError, NotFoundError):
        return False
    await kv.delete(name)
    return True


async def registered(b: bus.Bus) -> dict[str, dict[str, Any]]:
    kv = await b.kv(bus.KV_CONNECTORS)
    out: dict[str, dict[str, Any]] = {}
    try:
        keys = await kv.keys()
    except Exception:  # noqa: BLE001 - nats-py raises NoKeysError on an empty bucket
        return out
    for key in keys:
        try:
            out[key] = orjson.loads((await kv.get(key)).value)
        except (KeyNotFoundError, NotFoundError):
            continue
    return out

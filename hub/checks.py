"""`hub connectors test`: build a connector from its config or registry entry and ask its system."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import orjson

from hub import bus
from hub.config import load_config
from hub.ingest import IngestContext
from hub.instances import registered, validate_instance
from hub.metrics import Metrics


async def check_connector(b: bus.Bus, config_path: str | None, name: str) -> tuple[bool, str]:
    config = load_config(config_path) if config_path else None
    body = config.connectors.get(name) if config else None
    if body is None:
        record = (await registered(b)).get(name)
        if record is None:
            return False, f"no connector named {name!r} in the config or the registry"
        body = record["config"]
    cls, cfg = validate_instance(name, body, str(config_path or "registry"))
    base = config.base_dir if config else Path.cwd()
    state = bus.KvState(await b.kv(bus.KV_STATE), f"connector.{name}")
    ctx = IngestContext(name, b, state, partitions=config.hub.partitions if config else 4, base_dir=base,
                        data_dir=config.data_dir() if config else base, metrics=Metrics())
    connector = cls(name, cfg, ctx)
    try:
        if connector.direction == "sink":
            await connector.start()
        detail = await connector.check()
    except Exception as exc:  # noqa: BLE001 - the answer is the check's result
        logging.getLogger("hub.checks").debug("check of %s failed", name, exc_info=True)
        return False, f"{type(exc).__name__}: {exc}"
    finally:
        if connector.direction == "sink":
            with contextlib.suppress(Exception):
                await connector.stop()
    return True, detail if isinstance(detail, str) else orjson.dumps(detail).decode()

"""The pickup ledger: which inbound files were processed, so none is processed twice (idempotent consumer).

A file is identified by name, size and content hash. Its entry moves processing -> ingested ->
done; a worker that dies mid-way leaves an entry the next poll resumes from.
"""

from __future__ import annotations

import hashlib
import time
from typing import Literal

from hub.sdk import StateStore

Claim = Literal["new", "ingested", "done", "busy"]


def file_key(name: str, data: bytes) -> str:
    content = hashlib.sha256(data).hexdigest()
    identity = hashlib.sha256(f"{name}\0{len(data)}\0{content}".encode()).hexdigest()[:40]
    return f"file.{identity}"


async def claim(state: StateStore, key: str, claim_timeout: float, now: float | None = None) -> Claim:
    """Claim a file for processing. `new`: process it; `ingested`: only acknowledge and archive it;
    `done`: seen before; `busy`: another worker holds a fresh claim."""
    now = time.time() if now is None else now
    if await state.create(key, {"status": "processing", "at": now}):
        return "new"
    entry = await state.get(key) or {}
    status = entry.get("status")
    if status in ("ingested", "done"):
        return status
    if now - float(entry.get("at", 0)) < claim_timeout:
        return "busy"
    await state.put(key, {"status": "processing", "at": now, "taken_over": True})
    return "new"


async def mark(state: StateStore, key: str, status: Literal["ingested", "done"], **facts: object) -> None:
    entry = await state.get(key) or {}
    entry.update(facts, status=status, at=time.time())
    await state.put(key, entry)

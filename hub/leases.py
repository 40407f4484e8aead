"""Which worker owns which EVENTS partition: leases in a KV bucket whose entries expire.

One sequential reader per partition keeps per-item order, so with several hub workers each
partition must have exactly one owner. A worker claims a free partition with a KV create, keeps it
by updating the entry before the bucket's TTL runs out, and gives partitions back when more
workers than before share the load; a dead worker's leases expire and others take them over.
"""

from __future__ import annotations

import contextlib
import logging
import math
import uuid

from nats.js.errors import KeyWrongLastSequenceError, NoKeysError, NotFoundError
from nats.js.kv import KeyValue

log = logging.getLogger("hub.leases")


class PartitionLeases:
    def __init__(self, kv: KeyValue, partitions: int, worker_id: str | None = None) -> None:
        self.kv = kv
        self.partitions = partitions
        self.worker_id = worker_id or uuid.uuid4().hex[:12]
        self._held: dict[int, int] = {}  # partition -> KV revision

    @property
    def held(self) -> set[int]:
        return set(self._held)

    async def refresh(self) -> set[int]:
        """Renew held leases, claim free ones up to a fair share, release extras. Returns the held set."""
        await self.kv.put(f"worker.{self.worker_id}", b"alive")
        for partition, revision in list(self._held.items()):
            try:
                self._held[partition] = await self.kv.update(self._key(partition), self.worker_id.encode(), revision)
            except (KeyWrongLastSequenceError, NotFoundError):
                log.warning("lost the lease on partition %d", partition)
                del self._held[partition]
        share = math.ceil(self.partitions / max(1, await self._live_workers()))
        for partition in range(self.partitions):
            if len(self._held) >= share:
                break
            if partition in self._held:
                continue
            try:
                self._held[partition] = await self.kv.create(self._key(partition), self.worker_id.encode())
            except KeyWrongLastSequenceError:
                continue
        while len(self._held) > share:
            await self.release(max(self._held))
        return self.held

    async def release(self, partition: int) -> None:
        revision = self._held.pop(partition, None)
        if revision is not None:
            with contextlib.suppress(KeyWrongLastSequenceError, NotFoundError):
                await self.kv.delete(self._key(partition), last=revision)

    async def release_all(self) -> None:
        for partition in list(self._held):
            await self.release(partition)
        with contextlib.suppress(NotFoundError):
            await self.kv.delete(f"worker.{self.worker_id}")

    async def _live_workers(self) -> int:
        try:
            keys = await self.kv.keys()
        except (NotFoundError, NoKeysError):
            return 1
        return sum(1 for k in keys if k.startswith("worker."))

    @staticmethod
    def _key(partition: int) -> str:
        return f"partition.{partition}"

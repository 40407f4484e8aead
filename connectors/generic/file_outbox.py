"""`file.outbox`: appends each delivered event as one NDJSON line to a file in a folder.

Idempotent by idempotency key: a key already in the file is not written again, so a redelivery or a
replay never duplicates a line. Several workers may share the file: each append happens under an
exclusive `flock`, after reading the lines the others appended since this worker last looked, so a
key written by one worker is known to all before any of them writes again.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Sequence
from typing import BinaryIO

import orjson
from pydantic import Field

from canonical import Envelope
from hub.sdk import ConnectorConfig, Sink, resolve_path


class FileOutboxConfig(ConnectorConfig):
    path: str = Field(description="Folder to write into, relative to the config file.")
    file_name: str = Field(default="events.ndjson", description="File the events are appended to.")
    fsync: bool = Field(default=False, description="fsync after each batch (slower, survives power loss).")


class FileOutbox(Sink):
    config_model = FileOutboxConfig
    summary = "Appends delivered events as NDJSON lines to a file (shareable by several workers)."
    config: FileOutboxConfig

    async def start(self) -> None:
        folder = resolve_path(self.ctx.base_dir, self.config.path)
        folder.mkdir(parents=True, exist_ok=True)
        self.file = folder / self.config.file_name
        self._written: set[str] = set()
        self._read_to = 0  # how far this worker has read the file: the keys before it are in _written
        with self.file.open("ab+") as fh:
            _lock(fh)
            self._catch_up(fh)

    async def check(self) -> str:
        folder = resolve_path(self.ctx.base_dir, self.config.path)
        if not os.access(folder, os.W_OK):
            raise OSError(f"{folder} is not writable")
        return f"{folder} is writable"

    async def deliver(self, event: Envelope, attempt: int) -> None:
        await self.deliver_batch([event], [attempt])

    async def deliver_batch(self, events: Sequence[Envelope], attempts: Sequence[int]) -> list[BaseException | None]:
        with self.file.open("ab+") as fh:
            _lock(fh)  # released when the file is closed
            self._catch_up(fh)
            lines = []
            for event in events:
                if event.idempotency_key in self._written:
                    continue
                self._written.add(event.idempotency_key)
                lines.append(event.model_dump_json().encode() + b"\n")
            if lines:
                fh.write(b"".join(lines))
                fh.flush()
                if self.config.fsync:
                    os.fsync(fh.fileno())
                self._read_to = fh.tell()
        return [None] * len(events)

    def _catch_up(self, fh: BinaryIO) -> None:
        """Learn the keys of the lines appended since `_read_to` (by this worker before a restart, or by
        others). A last line without its newline was torn by a crash: it is ended so the next append starts
        clean, and its event, unreadable, will be delivered again."""
        end = fh.seek(0, os.SEEK_END)
        if end < self._read_to:  # truncated or replaced by an operator: read the new file whole
            self._read_to = 0
        if end == self._read_to:
            return
        fh.seek(self._read_to)
        tail = fh.read()
        if not tail.endswith(b"\n"):
            fh.write(b"\n")
            fh.flush()
        for line in tail.splitlines():
            try:
                self._written.add(orjson.loads(line)["idempotency_key"])
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue
        self._read_to = fh.tell()


def _lock(fh: BinaryIO) -> None:
    fcntl.flock(fh.fileno(), fcntl.LOCK_EX)

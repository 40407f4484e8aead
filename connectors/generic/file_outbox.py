"""`file.outbox`: appends each delivered event as one NDJSON line to a file in a folder.

Idempotent by idempotency key: keys already written (read back from the folder at start) are not
written again, so a redelivery or a replay never duplicates a line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

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
    summary = "Appends delivered events as NDJSON lines to a file."
    config: FileOutboxConfig

    async def start(self) -> None:
        folder = resolve_path(self.ctx.base_dir, self.config.path)
        folder.mkdir(parents=True, exist_ok=True)
        self.file = folder / self.config.file_name
        self._written = _keys_in(self.file)

    async def check(self) -> str:
        folder = resolve_path(self.ctx.base_dir, self.config.path)
        if not os.access(folder, os.W_OK):
            raise OSError(f"{folder} is not writable")
        return f"{folder} is writable"

    async def deliver(self, event: Envelope, attempt: int) -> None:
        await self.deliver_batch([event], [attempt])

    async def deliver_batch(self, events: Sequence[Envelope], attempts: Sequence[int]) -> list[BaseException | None]:
        lines = []
        for event in events:
            if event.idempotency_key in self._written:
                continue
            self._written.add(event.idempotency_key)
            lines.append(event.model_dump_json().encode() + b"\n")
        if lines:
            with self.file.open("ab") as fh:
                fh.write(b"".join(lines))
                if self.config.fsync:
                    fh.flush()
                    os.fsync(fh.fileno())
        return [None] * len(events)


def _keys_in(path: Path) -> set[str]:
    if not path.exists():
        return set()
    keys = set()
    with path.open("rb+") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell():
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")  # end a line torn by a crash, so the next append starts clean
        fh.seek(0)
        for line in fh:
            try:
                keys.add(orjson.loads(line)["idempotency_key"])
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue  # a torn last line from a crash; its event is delivered again
    return keys

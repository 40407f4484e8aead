"""`file.inbox`: events dropped as *.json (one event or a list) or *.ndjson files into a folder.

A file is claimed by renaming it into `.work/` (so two hub workers never read the same file),
published, then moved to `.done/`; a file that cannot be read goes to `.error/` with a `.reason`
file beside it and a dead letter. Invalid events inside a readable file are dead-lettered one by
one while the valid ones flow.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

import orjson
from pydantic import Field

from hub.sdk import ConnectorConfig, Source, resolve_path


class FileInboxConfig(ConnectorConfig):
    path: str = Field(description="Folder to watch, relative to the config file.")
    patterns: list[str] = Field(default=["*.json", "*.ndjson"], description="File name globs to pick up.")
    poll_interval: float = Field(default=0.5, gt=0, description="Seconds between scans of the folder.")
    max_file_bytes: int = Field(default=64 * 1024 * 1024, gt=0, description="Larger files are refused.")


class FileInbox(Source):
    config_model = FileInboxConfig
    summary = "Reads canonical events from JSON / NDJSON files dropped into a folder."
    config: FileInboxConfig

    async def start(self) -> None:
        self.folder = resolve_path(self.ctx.base_dir, self.config.path)
        for sub in ("", ".work", ".done", ".error"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        self._task = asyncio.create_task(self._loop(), name=f"file.inbox:{self.name}")

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def check(self) -> str:
        folder = resolve_path(self.ctx.base_dir, self.config.path)
        if not folder.is_dir() or not os.access(folder, os.R_OK | os.W_OK):
            raise OSError(f"{folder} is not a readable and writable folder")
        return f"{folder} is readable and writable"

    async def _loop(self) -> None:
        await self._recover()
        while True:
            for path in self._candidates():
                await self._take(path)
            await asyncio.sleep(self.config.poll_interval)

    def _candidates(self) -> list[Path]:
        found = {p for pattern in self.config.patterns for p in self.folder.glob(pattern) if p.is_file()}
        return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))

    async def _recover(self) -> None:
        """Files claimed by a worker that died mid-file are read again (their events dedupe by key)."""
        for path in sorted((self.folder / ".work").iterdir()):
            if path.is_file():
                await self._process(path, path.name)

    async def _take(self, path: Path) -> None:
        claimed = self.folder / ".work" / path.name
        try:
            path.rename(claimed)
        except FileNotFoundError:
            return  # another worker took it
        try:
            await self._process(claimed, path.name)
        except Exception as exc:  # noqa: BLE001 - e.g. NATS failing over: put the file back, read it again later
            self.ctx.log.error("%s: not stored, will be read again: %s", path.name, exc)
            with contextlib.suppress(OSError):
                claimed.rename(path)

    async def _process(self, claimed: Path, name: str) -> None:
        try:
            raw = claimed.read_bytes()
            if len(raw) > self.config.max_file_bytes:
                raise ValueError(f"{len(raw)} bytes is over max_file_bytes ({self.config.max_file_bytes})")
            events = _parse_file(raw, name)
        except (ValueError, OSError) as exc:
            await self.ctx.dead_letter(raw=_head(claimed), reason=f"{name}: {exc}", error_class="permanent",
                                       origin=name)
            self._move(claimed, ".error", name, reason=str(exc))
            return
        result = await self.ctx.ingest(events, raw=raw, origin=name)
        if result.dead_lettered:
            self.ctx.log.warning("%s: %d event(s) dead-lettered, %d stored", name, result.dead_lettered,
                                 result.stored)
        self._move(claimed, ".done", name)

    def _move(self, claimed: Path, where: str, name: str, reason: str | None = None) -> None:
        target = self.folder / where / name
        if target.exists():
            target = target.with_name(f"{target.stem}.{os.getpid()}.{int(claimed.stat().st_mtime_ns)}{target.suffix}")
        claimed.rename(target)
        if reason is not None:
            target.with_name(target.name + ".reason").write_text(reason + "\n")


def _parse_file(raw: bytes, name: str) -> list[Any]:
    """The events in a file: a JSON object, a JSON list, or NDJSON lines. Errors name the line or byte."""
    if name.endswith(".ndjson"):
        events = []
        for number, line in enumerate(raw.splitlines(), 1):
            if line.strip():
                try:
                    events.append(orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    raise ValueError(f"line {number}: malformed JSON: {exc.msg}") from None
        return events
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"byte {exc.pos}: malformed JSON: {exc.msg}") from None
    return body if isinstance(body, list) else [body]


def _head(path: Path, limit: int = 1024 * 1024) -> bytes:
    with path.open("rb") as fh:
        return fh.read(limit)

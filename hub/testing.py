"""Test helpers for connector authors: a context that records what a connector ingests.

It validates exactly as the hub does (canonical.parse_event) but keeps events in memory, so a
connector's translation and transport can be tested against a real peer without a NATS server.
End-to-end tests run the real hub instead.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from canonical import Envelope, EventError, parse_event
from hub.sdk import IngestResult


class MemoryState:
    """A StateStore in a dict; every write gets a new revision, as in the KV bucket."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self._revisions: dict[str, int] = {}
        self._last_revision = 0

    async def get(self, key: str) -> Any | None:
        return self.values.get(key)

    async def get_entry(self, key: str) -> tuple[Any, int] | None:
        if key not in self.values:
            return None
        return self.values[key], self._revisions.get(key, 0)

    async def put(self, key: str, value: Any) -> None:
        self._store(key, value)

    async def create(self, key: str, value: Any) -> bool:
        if key in self.values:
            return False
        self._store(key, value)
        return True

    async def update(self, key: str, value: Any, last: int) -> bool:
        if key not in self.values or self._revisions.get(key, 0) != last:
            return False
        self._store(key, value)
        return True

    async def delete(self, key: str) -> None:
        self.values.pop(key, None)
        self._revisions.pop(key, None)

    async def delete_if(self, key: str, last: int) -> bool:
        if key not in self.values or self._revisions.get(key, 0) != last:
            return False
        await self.delete(key)
        return True

    async def keys(self, prefix: str) -> list[str]:
        return sorted(key for key in self.values if key.startswith(f"{prefix}."))

    async def purge(self, prefix: str) -> int:
        gone = await self.keys(prefix)
        for key in gone:
            del self.values[key]
            self._revisions.pop(key, None)
        return len(gone)

    def _store(self, key: str, value: Any) -> None:
        self._last_revision += 1
        self.values[key] = value
        self._revisions[key] = self._last_revision


class RecordingContext:
    """A ConnectorContext that keeps ingested events, dead letters and counters in lists.

    Its claim marks expire after `claim_ttl` seconds, as the hub's do after the `hub_dedupe` bucket's TTL.
    """

    def __init__(self, name: str = "test", base_dir: Path | None = None, data_dir: Path | None = None,
                 claim_ttl: float = 86400.0) -> None:
        self.name = name
        self.log = logging.LoggerAdapter(logging.getLogger(f"hub.connector.{name}"), {"connector": name})
        self.state = MemoryState()
        self.base_dir = base_dir or Path.cwd()
        self.data_dir = data_dir or self.base_dir
        self.events: list[Envelope] = []
        self.dead_letters: list[dict[str, Any]] = []
        self.metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.claim_ttl = claim_ttl
        self.claims: dict[str, float] = {}  # key -> monotonic time it expires

    async def ingest(self, events: Sequence[Envelope | dict[str, Any]], *, raw: bytes | None = None,
                     origin: str = "") -> IngestResult:
        result = IngestResult()
        seen = {e.idempotency_key for e in self.events}
        for item in events:
            try:
                event = item if isinstance(item, Envelope) else parse_event(item)
            except EventError as exc:
                result.dead_lettered += 1
                result.errors.append(str(exc))
                self.dead_letters.append({"raw": raw, "reason": str(exc), "error_class": exc.error_class,
                                          "origin": origin})
                continue
            if event.idempotency_key in seen:
                result.duplicates += 1
                continue
            seen.add(event.idempotency_key)
            self.events.append(event)
            result.stored += 1
        return result

    async def dead_letter(self, *, raw: bytes, reason: str, error_class: str, origin: str = "",
                          headers: dict[str, str] | None = None) -> str:
        self.dead_letters.append({"raw": raw, "reason": reason, "error_class": error_class, "origin": origin,
                                  "headers": headers or {}})
        return f"dl-{len(self.dead_letters)}"

    def count(self, metric: str, amount: float = 1, **labels: str) -> None:
        key = (metric, tuple(sorted(labels.items())))
        self.metrics[key] = self.metrics.get(key, 0) + amount

    async def claim_once(self, key: str) -> bool:
        now = time.monotonic()
        if self.claims.get(key, now) > now:
            return False
        self.claims[key] = now + self.claim_ttl
        return True

    async def release_claim(self, key: str) -> None:
        self.claims.pop(key, None)

    async def claim_ttl_seconds(self) -> float:
        return self.claim_ttl

    def counted(self, metric: str) -> float:
        return sum(v for (name, _), v in self.metrics.items() if name == metric)


class HubProcess:
    """`hub up` as a real child process, for end-to-end and fault tests (killed by its own pid)."""

    def __init__(self, config: Path, *, nats_url: str | None = None, data_dir: Path | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.config = config
        self.nats_url = nats_url
        self.data_dir = data_dir
        self.env = env or {}
        self.process: subprocess.Popen | None = None
        self.log_path = (data_dir or config.parent) / f"hub-{id(self)}.log"

    def start(self, timeout: float = 30.0) -> HubProcess:
        args = [sys.executable, "-m", "hub.cli", "up", "--config", str(self.config), "--json-logs"]
        if self.nats_url:
            args += ["--nats-url", self.nats_url]
        if self.data_dir:
            args += ["--data-dir", str(self.data_dir)]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._log, env=env,
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        os.set_blocking(self.process.stdout.fileno(), False)
        seen = b""
        while time.monotonic() < deadline:
            chunk = self.process.stdout.read() or b""
            seen += chunk
            if b"hub up:" in seen:
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"hub exited with {self.process.returncode}: {self.log_tail()}")
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"hub not up within {timeout}s: {self.log_tail()}")

    def log_tail(self, size: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 40.0) -> int:
        proc = self.process
        if proc is None:
            return 0
        if proc.poll() is None:
            proc.send_signal(sig)
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait(10)
        self.process = None
        self._log.close()
        return code

    def kill(self) -> int:
        return self.stop(signal.SIGKILL)


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


async def start_loopback_app(app: Any) -> tuple[Any, str]:
    """Serve an aiohttp `app` on a free loopback port: (its runner, for `cleanup()`, and its base URL)."""
    from aiohttp import web

    from hub.natsserver import free_port

    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"

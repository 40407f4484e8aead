"""Fault-test parts: a recording HTTP target that can be cut and restored, the CLI, and process facts."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class RecordingTarget:
    """A web service on loopback that records every POST by Idempotency-Key and applies each key once.

    `posts` counts what reached the target's transport (duplicates included); `applied` is what an
    idempotent system keeps. It can be stopped and started again on the same port (a real outage),
    slowed down, or made to refuse chosen keys with 422 (a poison message).
    """

    def __init__(self, port: int, *, delay: float = 0.0, reject: set[str] | None = None) -> None:
        self.port = port
        self.delay = delay
        self.reject = reject or set()
        self.posts: Counter[str] = Counter()
        self.applied: dict[str, dict] = {}
        self.arrivals: list[tuple[float, str]] = []
        self.refused: list[str] = []
        self.authorizations: set[str] = set()
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    @property
    def duplicates(self) -> int:
        """POSTs of a key beyond its first: what the transport repeated and the target absorbed."""
        return sum(n - 1 for n in self.posts.values())

    def start(self) -> RecordingTarget:
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real service would

            def setup(self) -> None:
                super().setup()
                with target._lock:
                    target._connections.add(self.connection)

            def finish(self) -> None:
                with target._lock:
                    target._connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers["content-length"])
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request; nothing was received
                    self.close_connection = True
                    return
                key = self.headers.get("idempotency-key", "")
                if target.delay:
                    time.sleep(target.delay)
                status = 422 if key in target.reject else 201
                with target._lock:
                    target.authorizations.add(self.headers.get("authorization", ""))
                    target.posts[key] += 1
                    target.arrivals.append((time.monotonic(), key))
                    if status == 201:
                        target.applied.setdefault(key, json.loads(body))
                    else:
                        target.refused.append(key)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = _QuietServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._lock:
            open_now = list(self._connections)
        for connection in open_now:  # a real outage also cuts the kept-alive connections
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> RecordingTarget:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a killed sender resets its connections
            super().handle_error(request, client_address)


def hub_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def dead_letters(nats_url: str, *extra: str) -> list[dict]:
    out = hub_cli("dlq", "list", "--json", "--nats-url", nats_url, *extra)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def child_pids(pid: int) -> list[int]:
    """Children of every thread of `pid` (the hub starts its nats-server from a worker thread)."""
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")


def write_config(folder: Path, *, web_url: str, web: str = "", outbox: bool = True, extra: str = "") -> Path:
    """A hub config: file.inbox -> every event to an http.post target `web` (and a file.outbox `outbox`)."""
    folder.mkdir(parents=True, exist_ok=True)
    targets = '["web", "outbox"]' if outbox else '["web"]'
    text = f"""
[hub]
name = "faults"

[connectors.inbox]
type = "file.inbox"
path = "inbox"

[connectors.web]
type = "http.post"
url = "{web_url}"
timeout = 2.0
{web}
"""
    if outbox:
        text += """
[connectors.outbox]
type = "file.outbox"
path = "outbox"
"""
    text += f"""
[[routes]]
name = "everything"
match = "*"
targets = {targets}
{extra}
"""
    path = folder / "hub.toml"
    path.write_text(text)
    return path

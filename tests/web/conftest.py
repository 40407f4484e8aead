"""A real `hub up` (embedded nats-server) with its status server on a free loopback port."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub.natsserver import free_port
from hub.testing import HubProcess
from tests.core.helpers import adjustments, write_ndjson

CONFIG = """
[hub]
name = "web-test"

[connectors.inbox]
type = "file.inbox"
path = "inbox"
poll_interval = 0.2

[connectors.outbox]
type = "file.outbox"
path = "outbox"

[connectors.web]
type = "http.post"
url = "http://127.0.0.1:{dead_port}/events"
timeout = 1.0
retry = {{ in_process_attempts = 1, in_process_wait = 0.1, max_deliveries = 1, backoff = [0.5] }}
circuit = {{ failure_threshold = 1000 }}

[[routes]]
name = "stock-to-outbox"
match = "stock.*"
targets = ["outbox"]

[[routes]]
name = "returns-to-web"
match = "return.received"
targets = ["web"]

[status]
{status}
"""


@dataclass
class StatusHub:
    hub: HubProcess
    root: Path
    url: str
    token: str | None = None

    @property
    def nats_url(self) -> str:
        return (self.root / ".hub" / "nats.url").read_text().strip()

    def get(self, path: str, *, token: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path.lstrip("/"), headers=headers or {})
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        return _send(request)

    def status(self) -> dict[str, Any]:
        code, body = self.get("/api/status", token=self.token)
        assert code == 200, body
        return json.loads(body)

    def post(self, path: str, body: bytes, content_type: str = "application/json") -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(self.url + path.lstrip("/"), data=body, method="POST",
                                         headers={"Content-Type": content_type})
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        code, answer = _send(request)
        return code, json.loads(answer)

    def send_adjustments(self, count: int, prefix: str) -> None:
        write_ndjson(self.root / "inbox" / f"{prefix}.ndjson", adjustments(count, items=10, prefix=prefix))

    def send_returns(self, count: int, prefix: str) -> None:
        from canonical.examples import example_event

        events = []
        for i in range(count):
            event = example_event("return.received").model_dump(mode="json")
            event |= {"id": f"{prefix}-{i}", "idempotency_key": f"{prefix}-key-{i}"}
            events.append(event)
        write_ndjson(self.root / "inbox" / f"{prefix}.ndjson", events)


def _send(request: urllib.request.Request) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def write_config(root: Path, status: str) -> Path:
    (root / "inbox").mkdir(parents=True, exist_ok=True)
    config = root / "hub.toml"
    config.write_text(CONFIG.format(dead_port=free_port(), status=status))
    return config


def start_status_hub(root: Path, status: str = "", env: dict[str, str] | None = None,
                     token: str | None = None) -> StatusHub:
    hub = HubProcess(write_config(root, status), env=env).start()
    url = (root / ".hub" / "status.url").read_text().strip()
    return StatusHub(hub, root, url, token)


@pytest.fixture(scope="module")
def status_hub(tmp_path_factory) -> Iterator[StatusHub]:
    running = start_status_hub(tmp_path_factory.mktemp("web"))
    try:
        yield running
    finally:
        assert running.hub.stop() == 0, running.hub.log_tail()

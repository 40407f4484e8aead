"""A failing http.post target: retries, dead letters with full context, replay once it recovers."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from hub.natsserver import free_port
from hub.testing import HubProcess, wait_until
from tests.core.helpers import adjustments, copy_example, write_ndjson
from tests.core.test_quickstart import hub_cli


class _Target:
    """A web service on loopback that records each POST and applies each Idempotency-Key once."""

    def __init__(self, port: int) -> None:
        self.posts: list[str] = []
        self.applied: dict[str, dict] = {}
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["content-length"]))
                key = self.headers["idempotency-key"]
                target.posts.append(key)
                target.applied.setdefault(key, json.loads(body))
                self.send_response(201)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Target:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_dead_letters_then_replay_delivers_each_once(tmp_path, nats_url):
    port = free_port()
    config = copy_example("dlq", tmp_path, replace={"18099": str(port)})
    events = adjustments(12, items=4, prefix="D")
    hub = HubProcess(config, nats_url=nats_url).start()
    try:
        write_ndjson(config.parent / "inbox" / "orders.ndjson", events)

        def dead_letters() -> list[dict]:
            out = hub_cli("dlq", "list", "--json", "--nats-url", nats_url, "--stage", "deliver")
            return json.loads(out.stdout) if out.returncode == 0 else []

        wait_until(lambda: len(dead_letters()) == 12, timeout=20, what="12 dead letters within 15 s of budget")
        letters = dead_letters()
        full = json.loads(hub_cli("dlq", "show", letters[0]["id"], "--nats-url", nats_url).stdout)
        dry = hub_cli("dlq", "replay", "--all", "--dry-run", "--nats-url", nats_url)
        with _Target(port) as target:
            replay = hub_cli("dlq", "replay", "--all", "--nats-url", nats_url)
            wait_until(lambda: len(target.applied) == 12, timeout=20, what="12 replayed deliveries")
            again = hub_cli("dlq", "replay", "--all", "--nats-url", nats_url)
            assert dead_letters() == []
    finally:
        assert hub.stop() == 0, hub.log_tail()
    assert {letter["error_class"] for letter in letters} == {"transient"}
    assert all(letter["attempts"] == 3 for letter in letters)
    assert full["connector"] == "web" and full["stage"] == "deliver" and full["route"] == "everything-to-web"
    assert full["subject"].startswith("out.web.") and full["idempotency_key"].startswith("D-key-")
    assert full["headers"]["ce-type"] == "stock.adjusted" and "ConnectError" in full["error"]
    assert full["first_failure"] <= full["last_failure"]
    assert "would replay 12" in dry.stdout and "replayed 12" in replay.stdout and "replayed 0" in again.stdout
    assert sorted(target.posts) == sorted(e["idempotency_key"] for e in events)  # each POSTed exactly once

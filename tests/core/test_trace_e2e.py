"""W3C trace context from ingress to an HTTP target: kept when the source sent one, started when not."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from hub.natsserver import free_port
from hub.testing import HubProcess, wait_until
from tests.core.helpers import adjustments, copy_example, write_ndjson

GIVEN = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_traceparent_travels_from_the_inbox_to_the_target(tmp_path, nats_url):
    seen: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            seen[body["idempotency_key"]] = self.headers.get("traceparent", "")
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = copy_example("dlq", tmp_path, replace={"18099": str(port)})
    events = adjustments(2, prefix="TR")
    events[0]["trace"] = GIVEN
    hub = HubProcess(config, nats_url=nats_url).start()
    try:
        write_ndjson(config.parent / "inbox" / "traced.ndjson", events)
        wait_until(lambda: len(seen) == 2, timeout=20, what="both deliveries")
    finally:
        assert hub.stop() == 0, hub.log_tail()
        server.shutdown()
        server.server_close()
    assert seen["TR-key-0"] == GIVEN
    started = seen["TR-key-1"].split("-")
    assert len(started) == 4 and started[0] == "00" and len(started[1]) == 32 and started[1] != "0" * 32

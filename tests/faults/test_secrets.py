"""Planted secrets never show: not in logs, dead letters, streams, buckets, CLI output or the status page."""

from __future__ import annotations

import asyncio
import json
import re
import time

import httpx
import nats
import orjson
import pytest

from connectors.generic.webhook import signed_headers
from hub.natsserver import free_port, read_url
from hub.testing import HubProcess, wait_until
from tests.core.helpers import adjustments, write_ndjson
from tests.faults.helpers import RecordingTarget, hub_cli, write_config

pytestmark = pytest.mark.fault

SECRETS = {
    "HUB_NATS_TOKEN": "nats-token-7Hq2ZpXw",
    "HUB_WEB_TOKEN": "bearer-token-Kd93LmQa",
    "HUB_WEBHOOK_SECRET": "webhook-secret-Vb61NrTe",
    "HUB_STATUS_TOKEN": "status-token-Jc48WsYu",
}


def _config(tmp_path, web_port: int, webhook_port: int):
    return write_config(tmp_path / "hub", web_url=f"http://127.0.0.1:{web_port}/events", web="""
bearer_token = "env:HUB_WEB_TOKEN"
retry = { in_process_attempts = 1, in_process_wait = 0.1, max_deliveries = 2, backoff = [0.5] }
circuit = { failure_threshold = 1000 }
""", extra=f"""
[connectors.pos]
type = "pos.rest"
system = "pos1"
base_url = "http://127.0.0.1:{free_port()}"
poll_interval_seconds = 0
webhook = {{ port = {webhook_port}, secret = "env:HUB_WEBHOOK_SECRET" }}

[nats]
token = "env:HUB_NATS_TOKEN"

[status]
token = "env:HUB_STATUS_TOKEN"
""")


def _sale(webhook_id: str) -> bytes:
    item = {"id": webhook_id, "type": "sale", "created_at": "2026-11-27T10:00:00+00:00",
            "data": {"transaction_id": f"TXN-{webhook_id}", "store": "STORE-001",
                     "lines": [{"line": 1, "sku": "SKU-00001", "quantity": 1}]}}
    return orjson.dumps({"events": [item]})


async def _every_stored_message(url: str) -> list[bytes]:
    """Headers and bodies of every message in every stream (events, outbox, DLQ, audit, raw and all buckets)."""
    nc = await nats.connect(url, token=SECRETS["HUB_NATS_TOKEN"])
    js = nc.jetstream()
    out: list[bytes] = []
    try:
        for name in await js.streams_info():
            stream = name.config.name
            if not name.state.messages:
                continue
            for seq in range(name.state.first_seq, name.state.last_seq + 1):
                try:
                    msg = await js.get_msg(stream, seq)
                except nats.js.errors.NotFoundError:
                    continue
                out.append(json.dumps(msg.headers or {}).encode() + (msg.data or b""))
    finally:
        await nc.close()
    return out


def test_planted_secrets_appear_nowhere(tmp_path, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    web_port, webhook_port = free_port(), free_port()
    config = _config(tmp_path, web_port, webhook_port)
    events = adjustments(30, prefix="X")
    events[5]["data"] = {"sku": 42}  # schema-invalid: a dead letter at ingest
    poison = {events[7]["idempotency_key"]}
    webhook = f"http://127.0.0.1:{webhook_port}/webhooks"
    hub = HubProcess(config, env=SECRETS).start()
    try:
        write_ndjson(config.parent / "inbox" / "a.ndjson", events[:15])  # the target is down: transient errors
        time.sleep(3.0)
        with RecordingTarget(web_port, reject=poison) as target:
            write_ndjson(config.parent / "inbox" / "b.ndjson", events[15:])
            body = _sale("wh-1")
            answers = [httpx.post(webhook, content=body, headers=signed_headers(SECRETS["HUB_WEBHOOK_SECRET"], "wh-1", body)),
                       httpx.post(webhook, content=body, headers=signed_headers("guessed", "wh-2", body)),
                       httpx.post(webhook, content=body, headers=signed_headers(SECRETS["HUB_WEBHOOK_SECRET"], "wh-1", body))]
            wait_until(lambda: len(target.applied) >= 14 and any(k.startswith("pos1") or "TXN-wh-1" in json.dumps(v)
                                                                 for k, v in target.applied.items()),
                       timeout=30, what="the target to receive the inbox events and the webhook's")
            wait_until(lambda: _dead_letter_count(config) >= 3, timeout=30, what="dead letters of each kind")
            outputs = _cli_outputs(config)
            status_url = re.search(r"status page on (http://[0-9.:]+)", hub.log_tail(200_000))[1]
            pages = [httpx.get(f"{status_url}{path}", headers={"authorization": f"Bearer {SECRETS['HUB_STATUS_TOKEN']}"})
                     for path in ("/", "/api/status", "/metrics")]
            stored = asyncio.run(_every_stored_message(read_url(config.parent / ".hub")))
        seen_bearer = target.authorizations
    finally:
        assert hub.stop() == 0, hub.log_tail()
    log = hub.log_path.read_text(errors="replace")
    assert [a.status_code for a in answers] == [200, 401, 409]
    assert seen_bearer == {f"Bearer {SECRETS['HUB_WEB_TOKEN']}"}  # the secret was used where it belongs
    assert all(page.status_code == 200 for page in pages)
    places = {"hub log": log, **outputs, **{f"status page {p.url.path}": p.text for p in pages},
              "stored messages": b"\n".join(stored).decode(errors="replace")}
    assert "dead-lettered" in log and "webhook refused" in log  # failures were logged
    for value in SECRETS.values():
        leaks = [where for where, text in places.items() if value in text]
        assert not leaks, f"a planted secret shows in: {leaks}"
    print(f"\nsearched {len(stored)} stored messages, {len(log)} bytes of log, {len(outputs)} CLI outputs "
          f"and {len(pages)} status pages for {len(SECRETS)} planted secrets: none found")


def _dead_letter_count(config) -> int:
    out = hub_cli("dlq", "list", "--json", "--config", str(config))
    return len(json.loads(out.stdout)) if out.returncode == 0 else 0


def _cli_outputs(config) -> dict[str, str]:
    base = ["--config", str(config)]
    outputs = {
        "hub status --json": hub_cli("status", "--json", *base),
        "hub connectors list --json": hub_cli("connectors", "list", "--json", *base),
        "hub dlq list --json": hub_cli("dlq", "list", "--json", *base),
    }
    for letter in json.loads(outputs["hub dlq list --json"].stdout):
        outputs[f"hub dlq show {letter['id']}"] = hub_cli("dlq", "show", letter["id"], *base)
    for name, result in outputs.items():
        assert result.returncode == 0, f"{name}: {result.stderr}"
    return {name: result.stdout + result.stderr for name, result in outputs.items()}

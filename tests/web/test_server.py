"""The status server of a real `hub up`: health, readiness, /metrics, AsyncAPI, the JSON, replay, and access."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import orjson
import pytest

from hub import bus, dlq
from hub.config import StatusSettings
from hub.hooks.audit import pack
from hub.testing import wait_until
from hub.web import StatusServer, StatusServerError
from hub.web.server import is_loopback
from hub.web.streams import read_recent

from .conftest import StatusHub, start_status_hub, write_config


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text, 0 when absent."""
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match and all(f'{k}="{v}"' in (match[1] or "") for k, v in labels.items()):
            return float(match[2])
    return 0.0


def test_health_readiness_page_and_asyncapi(status_hub: StatusHub):
    code, body = status_hub.get("/healthz")
    assert code == 200 and json.loads(body)["status"] == "ok"
    code, body = status_hub.get("/readyz")
    assert code == 200 and json.loads(body) == {"ready": True, "nats_connected": True, "started": True,
                                                "connectors_failed": []}
    code, page = status_hub.get("/")
    assert code == 200 and b"<title>Inventory hub status</title>" in page and b"api/status" in page
    code, body = status_hub.get("/asyncapi.json")
    document = json.loads(body)
    assert code == 200 and document["asyncapi"].startswith("3.")
    assert document["channels"]["outbox"]["address"] == "out.{connector}.{event_type}"
    assert any(c["address"].startswith("inv.stock_adjusted.v") for c in document["channels"].values())


def test_metrics_count_events_as_they_flow(status_hub: StatusHub):
    before = status_hub.get("/metrics")[1].decode()
    status_hub.send_adjustments(40, "M")

    def delivered() -> float:
        text = status_hub.get("/metrics")[1].decode()
        return metric(text, "hub_delivered_total", connector="outbox") - metric(before, "hub_delivered_total",
                                                                              connector="outbox")
    wait_until(lambda: delivered() == 40, timeout=20, what="40 deliveries counted in /metrics")
    text = status_hub.get("/metrics")[1].decode()
    assert metric(text, "hub_events_total", connector="inbox", type="stock.adjusted") >= 40
    assert metric(text, "hub_ingested_events_total", connector="inbox") >= 40
    assert metric(text, "hub_end_to_end_seconds_count", connector="outbox") >= 40
    assert metric(text, "hub_end_to_end_seconds_bucket", connector="outbox", le="+Inf") >= 40
    assert metric(text, "hub_source_lag_seconds_count", connector="inbox") >= 40
    assert metric(text, "hub_ready") == 1 and metric(text, "hub_connector_up", connector="outbox") == 1
    assert "# TYPE hub_end_to_end_seconds histogram" in text and "# TYPE hub_stream_messages gauge" in text
    assert all(line.startswith(("# TYPE hub_", "hub_")) for line in text.splitlines() if line)

    snap = status_hub.status()
    outbox = next(c for c in snap["connectors"] if c["name"] == "outbox")
    assert outbox["state"] == "running" and outbox["delivered"] >= 40
    assert snap["latency"]["outbox"]["delivered"]["count"] >= 40
    assert snap["latency"]["outbox"]["delivered"]["p50"] is not None
    wait_until(lambda: status_hub.status()["streams"]["EVENTS"]["messages"] >= 40, timeout=10,
               what="stream depths on the page")


async def test_dead_letters_are_grouped_and_replayed_from_the_api(status_hub: StatusHub):
    status_hub.send_returns(3, "R")
    wait_until(lambda: (status_hub.status()["dead_letters"] or {}).get("depth", 0) >= 3, timeout=20,
               what="three dead letters on the page")
    dead = status_hub.status()["dead_letters"]
    group = next(g for g in dead["top"] if g["connector"] == "web")
    assert group["count"] >= 3 and group["stage"] == "deliver" and group["error_class"] == "transient"
    first = dead["latest"][0]["id"]

    assert status_hub.post("/api/dlq/replay", b"ids=x", "application/x-www-form-urlencoded")[0] == 415
    code, answer = status_hub.post("/api/dlq/replay", b'{"ids": [""]}')
    assert code == 400 and "ids" in answer["error"]
    assert status_hub.post("/api/dlq/replay", b'{"ids": ["abcdef0123"]}')[0] == 404
    assert status_hub.post("/api/dlq/replay", b"{not json")[0] == 400

    code, answer = status_hub.post("/api/dlq/replay", orjson.dumps({"ids": [first]}))
    assert code == 200 and answer == {"replayed": 1, "ids": [first]}
    b = await bus.connect(status_hub.nats_url)
    try:
        remaining = [letter.id async for letter in dlq.iterate(b.js)]
        replays = [orjson.loads(m.data) for m in await read_recent(b.js, bus.AUDIT, "audit.replay")]
        assert first not in remaining
        assert any(r["dead_letter"] == first and r["stage"] == "deliver" for r in replays)

        code, answer = status_hub.post("/api/dlq/replay", orjson.dumps({"group": group["key"]}))
        assert code == 200 and answer["replayed"] >= 2 and first not in answer["ids"]
        left = {letter.id async for letter in dlq.iterate(b.js)}
        assert not left & set(answer["ids"])
    finally:
        await b.close()


async def test_the_page_shows_each_decision_of_a_message_holding_several(status_hub: StatusHub):
    decisions = [{"kind": "decision", "event_id": f"page-{i}", "hook": "demand", "decision": "review",
                  "rule": "ask", "policy_version": "p1"} for i in range(2)]
    [(subject, body, _)] = pack(decisions)
    b = await bus.connect(status_hub.nats_url)
    try:
        await b.js.publish(subject, body)
    finally:
        await b.close()

    def shown() -> set[str]:
        return {d["event_id"] for d in status_hub.status()["decisions"]} & {"page-0", "page-1"}

    wait_until(lambda: len(shown()) == 2, timeout=20, what="both decisions on the page")


def test_a_host_header_naming_another_server_is_refused(status_hub: StatusHub):
    code, body = status_hub.get("/api/status", headers={"Host": "attacker.example:80"})
    assert code == 421 and b"not this status server" in body
    assert status_hub.get("/healthz", headers={"Host": "localhost"})[0] == 200


def test_with_a_token_every_endpoint_but_healthz_wants_it(tmp_path):
    running = start_status_hub(tmp_path, 'token = "env:HUB_TEST_STATUS_TOKEN"',
                               env={"HUB_TEST_STATUS_TOKEN": "s3cret-token"}, token="s3cret-token")
    try:
        assert running.get("/healthz")[0] == 200
        for path in ("/", "/metrics", "/readyz", "/api/status", "/asyncapi.json"):
            code, body = running.get(path)
            assert code == 401 and b"token is required" in body, path
            assert running.get(path, token="wrong")[0] == 401, path
        assert running.get("/metrics", token="s3cret-token")[0] == 200
        assert running.get("/api/status?token=s3cret-token")[0] == 200
        assert running.status()["ready"] is True
        assert b"s3cret-token" not in running.get("/api/status", token="s3cret-token")[1]
    finally:
        assert running.hub.stop() == 0, running.hub.log_tail()
    assert "s3cret-token" not in running.hub.log_path.read_text()


def test_hub_up_refuses_a_status_server_beyond_loopback_without_a_token(tmp_path):
    # 192.0.2.0/24 is reserved for documentation: nothing here could listen on it even if the check failed.
    config = write_config(tmp_path, 'host = "192.0.2.10"')
    run = subprocess.run([sys.executable, "-m", "hub.cli", "up", "--config", str(config)], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 1
    assert "status.host = '192.0.2.10' is not a loopback address: set status.token" in run.stderr
    assert not (tmp_path / ".hub" / "nats").exists()  # refused before anything started


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.8.9.1", True), ("::1", True),
                                                ("localhost", True), ("0.0.0.0", False), ("10.1.2.3", False),
                                                ("example.com", False), ("::", False)])
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_a_token_given_by_an_unset_variable_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("HUB_TEST_UNSET_TOKEN", raising=False)
    with pytest.raises(StatusServerError, match="status.token: secret env:HUB_TEST_UNSET_TOKEN: environment"):
        StatusServer(None, StatusSettings(token="env:HUB_TEST_UNSET_TOKEN"), tmp_path)  # type: ignore[arg-type]


def test_hub_status_shows_the_status_page_address(status_hub: StatusHub):
    run = subprocess.run([sys.executable, "-m", "hub.cli", "status", "--config", str(status_hub.root / "hub.toml")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert f"status page: {status_hub.url}  (" in run.stdout


def test_logs_are_json_lines_when_not_on_a_terminal(status_hub: StatusHub):
    lines = [json.loads(line) for line in status_hub.hub.log_tail(100_000).splitlines()[1:] if line.strip()]
    assert lines and all({"ts", "level", "logger", "msg"} <= set(entry) for entry in lines)
    assert any(entry["msg"] == f"status page on {status_hub.url}" for entry in lines)

"""Schema-version monitoring through `hub up`: counts survive a restart; a deprecated version raises one task per source."""

from __future__ import annotations

import json
import time

from hub.testing import HubProcess, wait_until
from tests.core.helpers import copy_example, read_ndjson, write_ndjson
from tests.schemas.test_e2e import adjusted, hub_cli


def _v1(prefix: str, count: int) -> list[dict]:
    return [adjusted(f"{prefix}-{i}", {"sku": f"SKU-{i}", "location": "STORE-1", "delta": -1, "reason": "sale"}, 1)
            for i in range(count)]


def _usage(nats_url: str) -> dict[tuple[str, str, int], int]:
    out = hub_cli("schemas", "usage", "--json", "--nats-url", nats_url)
    assert out.returncode == 0, out.stderr
    return {(r["source"], r["type"], r["version"]): r["count"] for r in json.loads(out.stdout)}


def test_usage_counts_survive_a_restart(tmp_path, nats_url):
    config = copy_example("quickstart", tmp_path)
    inbox, outbox = config.parent / "inbox", config.parent / "outbox" / "events.ndjson"
    hub = HubProcess(config, nats_url=nats_url).start()
    write_ndjson(inbox / "first.ndjson", _v1("first", 5))
    wait_until(lambda: len(read_ndjson(outbox)) == 5, timeout=20, what="the first five")
    assert hub.stop() == 0, hub.log_tail()
    assert _usage(nats_url)[("inbox", "stock.adjusted", 1)] == 5
    hub = HubProcess(config, nats_url=nats_url).start()
    try:
        write_ndjson(inbox / "second.ndjson", _v1("second", 3))
        wait_until(lambda: len(read_ndjson(outbox)) == 8, timeout=20, what="three more")
        wait_until(lambda: _usage(nats_url).get(("inbox", "stock.adjusted", 1)) == 8, timeout=15,
                   what="the counts to add up across the restart")
        status = hub_cli("status", "--nats-url", nats_url).stdout
    finally:
        assert hub.stop() == 0, hub.log_tail()
    assert "stock.adjusted v1: 8" in status


def test_a_deprecated_version_raises_one_task_per_source(tmp_path, nats_url):
    config = copy_example("quickstart", tmp_path)
    inbox, outbox = config.parent / "inbox", config.parent / "outbox" / "events.ndjson"
    hub = HubProcess(config, nats_url=nats_url).start()
    try:
        deprecated = hub_cli("schemas", "deprecate", "stock.adjusted", "1", "--nats-url", nats_url)
        assert deprecated.returncode == 0, deprecated.stderr
        time.sleep(6)  # workers re-read deprecations when they flush their counts, every 5 s
        write_ndjson(inbox / "a.ndjson", _v1("a", 4))
        wait_until(lambda: len(read_ndjson(outbox)) >= 4, timeout=20, what="the first file")
        write_ndjson(inbox / "b.ndjson", _v1("b", 4))
        published = tmp_path / "cli.ndjson"
        write_ndjson(published, _v1("c", 3))
        assert hub_cli("events", "publish", str(published), "--nats-url", nats_url).returncode == 0

        def tasks() -> list[dict]:
            return [e for e in read_ndjson(outbox) if e["type"] == "task.raised"]

        wait_until(lambda: len(read_ndjson(outbox)) >= 11 + 2, timeout=30, what="all events and the tasks")
        wait_until(lambda: "WARNING" in hub_cli("status", "--nats-url", nats_url).stdout, timeout=15,
                   what="the flushed counts to show the deprecated version")
        status = hub_cli("status", "--nats-url", nats_url).stdout
    finally:
        assert hub.stop() == 0, hub.log_tail()
    raised = tasks()
    assert len(raised) == 2, [t["data"] for t in raised]
    assert {t["data"]["evidence"].get("source") for t in raised} == {"inbox", "cli"}
    assert all(t["data"]["kind"] == "schema_deprecated" for t in raised)
    assert len([e for e in read_ndjson(outbox) if e["type"] == "stock.adjusted"]) == 11  # they still flow
    assert "deprecated" in status and "WARNING" in status

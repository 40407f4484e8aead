"""A target that goes down, a target that refuses one event for good: the others do not wait."""

from __future__ import annotations

import json
import time

import pytest

from hub.natsserver import free_port
from hub.testing import HubProcess, wait_until
from tests.core.helpers import adjustments, read_ndjson, write_ndjson
from tests.faults.helpers import RecordingTarget, dead_letters, hub_cli, write_config

pytestmark = pytest.mark.fault

# A small budget, so an outage that spent it would dead-letter within seconds: it must not.
_FRAGILE = """retry = { in_process_attempts = 2, in_process_wait = 0.1, max_deliveries = 3, backoff = [1, 2] }
circuit = { failure_threshold = 3, open_seconds = 2.0 }"""


def _web_state(config, nats_url: str) -> str:
    out = hub_cli("connectors", "list", "--json", "--config", str(config), "--nats-url", nats_url)
    rows = {row["name"]: row for row in json.loads(out.stdout)} if out.returncode == 0 else {}
    return rows.get("web", {}).get("state", "")


def _outage(tmp_path, nats_url: str, outage_seconds: float, count: int) -> None:
    port = free_port()
    config = write_config(tmp_path / "hub", web_url=f"http://127.0.0.1:{port}/events", web=_FRAGILE)
    inbox, outbox = config.parent / "inbox", config.parent / "outbox" / "events.ndjson"
    before, during = adjustments(count, prefix="B"), adjustments(count, prefix="O")
    target = RecordingTarget(port).start()
    hub = HubProcess(config, nats_url=nats_url).start()
    try:
        write_ndjson(inbox / "before.ndjson", before)
        wait_until(lambda: len(target.applied) == count and len(read_ndjson(outbox)) == count, timeout=60,
                   what="the first events at both targets")
        target.stop()
        cut_at = time.monotonic()
        write_ndjson(inbox / "during.ndjson", during)
        wait_until(lambda: len(read_ndjson(outbox)) == 2 * count, timeout=30, what="file.outbox during the outage")
        outbox_done = time.monotonic() - cut_at
        wait_until(lambda: _web_state(config, nats_url).startswith("circuit"), timeout=20, what="web's circuit to open")
        time.sleep(max(0.0, outage_seconds - (time.monotonic() - cut_at)))
        letters_during = dead_letters(nats_url)
        target.start()
        back_at = time.monotonic()
        wait_until(lambda: len(target.applied) == 2 * count, timeout=60, interval=0.2, what="the backlog to drain")
        drained = time.monotonic() - back_at
        # Workers publish their status every two seconds: the closed circuit shows within a few.
        wait_until(lambda: _web_state(config, nats_url) == "running", timeout=10, what="web's circuit to close")
        letters_after = dead_letters(nats_url)
    finally:
        target.stop()
        assert hub.stop() == 0, hub.log_tail()
    print(f"\noutage {outage_seconds:.0f}s: file.outbox took all {count} in {outbox_done:.1f}s while web was down; "
          f"web backlog of {count} drained {drained:.1f}s after it returned; "
          f"{target.duplicates} duplicate POSTs absorbed")
    assert letters_during == [] and letters_after == []  # a transient outage is waited out, not dead-lettered
    assert set(target.applied) == {e["idempotency_key"] for e in before + during}
    assert outbox_done < 15, "file.outbox was held up by web's outage"


def test_target_down_circuit_opens_others_flow_backlog_drains(tmp_path, nats_url):
    _outage(tmp_path, nats_url, outage_seconds=12, count=500)


@pytest.mark.slow
def test_target_down_for_a_minute(tmp_path, nats_url):
    _outage(tmp_path, nats_url, outage_seconds=60, count=2000)


def test_poison_message_dead_lettered_at_once_and_does_not_block(tmp_path, nats_url):
    port = free_port()
    config = write_config(tmp_path / "hub", web_url=f"http://127.0.0.1:{port}/events", web=_FRAGILE)
    events = adjustments(400, items=20, prefix="P")
    poison = {events[3]["idempotency_key"], events[200]["idempotency_key"]}
    with RecordingTarget(port, reject=poison) as target:
        hub = HubProcess(config, nats_url=nats_url).start()
        try:
            write_ndjson(config.parent / "inbox" / "a.ndjson", events)
            wait_until(lambda: len(target.applied) == len(events) - len(poison), timeout=30,
                       what="every event but the poison ones")
            wait_until(lambda: len(dead_letters(nats_url)) == 2, timeout=10, what="two dead letters")
            letters = dead_letters(nats_url)
            first_poison = min(t for t, key in target.arrivals if key in poison)
            last_good = max(t for t, key in target.arrivals if key not in poison)
        finally:
            assert hub.stop() == 0, hub.log_tail()
    assert {letter["error_class"] for letter in letters} == {"permanent"}
    assert [letter["attempts"] for letter in letters] == [1, 1]
    assert all("HTTP 422" in letter["error"] for letter in letters)
    assert sum(target.posts[key] for key in poison) == 2  # refused once each: no retries of a permanent error
    assert last_good > first_poison  # the events behind the poison went on

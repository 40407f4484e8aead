"""Reading AUDIT from a real nats-server, with records the stage produced, published as the pipeline does."""

import asyncio

import nats
import orjson
import pytest
from nats.js import api as js_api

from hub.bus import KvState
from hub.hooks import auditlog, build_hook_stage
from hub.hooks.audit import MAX_MESSAGE_BYTES, dumps, pack, unpack

from .factory import day_of_sales, sale

POLICY = {"enabled": ["demand"], "budget_ms": 1000, "policy": {"version": "p1", "rules": [
    {"name": "hold", "hook": "demand", "action": "hold_marketplace_exposure", "mode": "auto"}]}}


@pytest.fixture
async def js(nats_url):
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(js_api.StreamConfig(name="AUDIT", subjects=["audit.>"], storage=js_api.StorageType.FILE))
    yield js
    await nc.close()


async def publish(js, records):
    """As the pipeline stores a batch's records: a few messages of runs of one kind, no event header."""
    for subject, body, _ in pack(records):
        await js.publish(subject, body)


async def produce(js):
    """A week's events per batch; the last batch ends with a spike that makes a decision."""
    stage = build_hook_stage(POLICY)
    events = [e for d in range(28) for e in day_of_sales(d, 10, on_hand=20)]
    spike = sale(28, 40, on_hand_after=10)
    events.append(spike)
    for week in range(0, len(events), 14):
        await publish(js, [record for e in events[week:week + 14] for record in stage.process(e).audit])
    return spike


async def test_latest_and_kind_filter(js):
    spike = await produce(js)
    last = await auditlog.latest(js, last=3)
    assert [r["kind"] for r in last] == ["hook_result", "hook_result", "decision"]
    assert last[-1]["event_id"] == spike.id and last[-1]["seq"] > last[0]["seq"]
    decisions = await auditlog.latest(js, kind="decision", last=10)
    assert len(decisions) == 1 and decisions[0]["rule"] == "hold"


async def test_show_finds_every_record_of_one_event(js):
    spike = await produce(js)
    records = await auditlog.for_event(js, spike.id)
    assert [(r["kind"], r["decision"]) for r in records] == [("hook_result", "auto"), ("decision", "auto")]
    assert records[1]["outputs"][0]["event_type"] == "availability.published"
    assert await auditlog.for_event(js, "no-such-event") == []
    assert "policy=p1/hold" in auditlog.render(records[1])


async def test_follow_emits_new_records_until_stopped(js):
    seen, stop = [], asyncio.Event()

    def emit(record):
        seen.append(record)
        if len(seen) == 2:
            stop.set()

    follower = asyncio.create_task(auditlog.follow(js, emit, kind="decision", stop=stop))
    await asyncio.sleep(0.3)
    await produce(js)
    await produce(js)
    assert await asyncio.wait_for(follower, 10) == 2
    assert all(r["kind"] == "decision" for r in seen)


async def test_show_reads_single_record_messages_by_their_header(js):
    await produce(js)
    replay = {"kind": "replay", "dead_letter": "d1", "event_id": "ev-9"}
    await js.publish("audit.replay", dumps(replay), headers={"hub-event-id": "ev-9"})
    await js.publish("audit.replay", dumps({**replay, "event_id": None}), headers={"hub-event-id": "ev-9"})
    records = await auditlog.for_event(js, "ev-9")
    assert [(r["kind"], r["event_id"]) for r in records] == [("replay", "ev-9"), ("replay", None)]
    assert [r["kind"] for r in await auditlog.latest(js, last=2)] == ["replay", "replay"]


async def test_a_message_of_many_events_shows_only_the_asked_events_records(js):
    records = [{"kind": "hook_result", "event_id": f"e{i}", "hook": "demand"} for i in range(5)]
    await publish(js, records)
    assert (await js.stream_info("AUDIT")).state.messages == 1
    assert [r["event_id"] for r in await auditlog.for_event(js, "e3")] == ["e3"]
    assert await auditlog.for_event(js, "e") == []


async def test_unreadable_records_are_shown_not_dropped(js):
    await js.publish("audit.replay", b"{not json", headers={"hub-event-id": "x"})
    [record] = await auditlog.latest(js)
    assert record["kind"] == "unreadable" and "not JSON" in record["error"]


async def test_missing_stream_is_a_clear_error(nats_url):
    nc = await nats.connect(nats_url)
    try:
        with pytest.raises(auditlog.AuditReadError, match="AUDIT: the stream does not exist"):
            await auditlog.latest(nc.jetstream())
    finally:
        await nc.close()


async def test_snapshot_round_trips_through_the_kv_bucket(nats_url):
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        kv = await js.create_key_value(js_api.KeyValueConfig(bucket="hub_state", storage=js_api.StorageType.FILE))
        stage = build_hook_stage(POLICY)
        await stage.start(KvState(kv, "hooks"))
        for d in range(20):
            for sku in ("A", "B", "C"):
                for e in day_of_sales(d, 10, sku=sku):
                    stage.process(e)
        await stage.stop()
        restored = build_hook_stage(POLICY)
        await restored.start(KvState(kv, "hooks"))
        assert sorted(restored.states["demand"]) == ["A@S1", "B@S1", "C@S1"]
        assert restored.states["demand"].peek("A@S1")[:-1] == stage.states["demand"].peek("A@S1")[:-1]
        after_a = stage.process(sale(20, 30, sku="A"))
        after_b = restored.process(sale(20, 30, sku="A"))
        assert after_a.audit == after_b.audit
    finally:
        await nc.close()


def test_pack_keeps_order_and_kind_in_runs_and_each_record_bytes():
    records = [{"kind": "hook_result", "n": 0}, {"kind": "hook_result", "n": 1}, {"kind": "decision", "n": 2},
               {"kind": "hook_result", "n": 3}]
    messages = pack(records)
    assert [(subject, list(held)) for subject, _, held in messages] == [
        ("audit.hook_result", [0, 1]), ("audit.decision", [2]), ("audit.hook_result", [3])]
    assert [line for _, body, _ in messages for line in unpack(body)] == [dumps(r) for r in records]
    assert messages[1][1] == dumps(records[2])
    assert pack([]) == []


def test_pack_splits_a_run_that_would_make_a_message_too_large():
    records = [{"kind": "hook_result", "evidence": "x" * 1000, "n": n} for n in range(600)]
    messages = pack(records)
    assert len(messages) > 1 and all(len(body) <= MAX_MESSAGE_BYTES for _, body, _ in messages)
    assert [i for _, _, held in messages for i in held] == list(range(600))
    assert [orjson.loads(line)["n"] for _, body, _ in messages for line in unpack(body)] == list(range(600))

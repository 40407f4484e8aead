"""The book of open acknowledgements shared by two workers on a real nats-server: nothing lost, nothing raised twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.edi_3pl import acks
from connectors.edi_3pl.connector import EdiSftp
from hub import bus
from hub.testing import RecordingContext

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
PREFIX = "connector.edi-acme"


def record(control: str, deadline: datetime, sent_at: datetime | None = None) -> dict[str, object]:
    sent = sent_at or deadline - timedelta(hours=1)
    return {"partner": "acme", "standard": "x12", "control": control, "document_type": "850",
            "file": f"acme_850_{control}.edi", "sent_at": sent.isoformat(), "deadline": deadline.isoformat()}


@pytest.fixture
async def workers(nats_url: str) -> AsyncIterator[tuple[bus.KvState, bus.KvState]]:
    """The same connector's state as two hub workers see it: two connections to one bucket."""
    first, second = await bus.connect(nats_url), await bus.connect(nats_url)
    try:
        await first.declare()
        yield (bus.KvState(await first.kv(bus.KV_STATE), PREFIX), bus.KvState(await second.kv(bus.KV_STATE), PREFIX))
    finally:
        await first.close()
        await second.close()


async def test_concurrent_expects_all_survive(workers: tuple[bus.KvState, bus.KvState]) -> None:
    a, b = workers
    rounds = 40
    for n in range(rounds):
        await asyncio.gather(acks.expect(a, record(f"{2 * n:09d}", NOW)), acks.expect(b, record(f"{2 * n + 1:09d}", NOW)))
    book = await acks.open_acknowledgements(a)
    assert sorted(r["control"] for r in book) == [f"{n:09d}" for n in range(2 * rounds)]


async def test_concurrent_overdue_raises_each_late_interchange_once(workers: tuple[bus.KvState, bus.KvState]) -> None:
    a, b = workers
    raised: list[str] = []
    expected: list[str] = []
    for n in range(5):
        late = [f"{n}{i:08d}" for i in range(8)]
        for control in late:
            await acks.expect(a, record(control, NOW - timedelta(minutes=1)))
        await acks.expect(a, record(f"{n}99999999", NOW + timedelta(hours=1)))
        first, second = await asyncio.gather(acks.overdue(a, NOW), acks.overdue(b, NOW))
        raised += [r["control"] for r in first + second]
        expected += late
    assert sorted(raised) == sorted(expected)
    book = await acks.open_acknowledgements(b)
    assert sorted(r["control"] for r in book if r.get("task_raised")) == sorted(expected)
    assert await acks.overdue(b, NOW) == []


async def test_settle_removes_exactly_its_record(workers: tuple[bus.KvState, bus.KvState]) -> None:
    a, b = workers
    for control in ("000000001", "000000002", "000000003"):
        await acks.expect(a, record(control, NOW))
    first, second = await asyncio.gather(acks.settle(a, "000000002"), acks.settle(b, "000000002"))
    assert [r for r in (first, second) if r is not None] == [record("000000002", NOW)]
    assert [r["control"] for r in await acks.open_acknowledgements(b)] == ["000000001", "000000003"]
    assert await a.keys(acks.OPEN_PREFIX) == ["acks.open.000000001", "acks.open.000000003"]  # no marker left


async def test_settle_after_a_concurrent_mark_returns_the_marked_record(workers: tuple[bus.KvState, bus.KvState]) -> None:
    a, b = workers
    await acks.expect(a, record("000000004", NOW - timedelta(minutes=1)))
    entry = await a.get_entry("acks.open.000000004")
    assert entry is not None
    await acks.overdue(b, NOW)  # another worker marks it raised after `a` read it
    assert not await a.delete_if("acks.open.000000004", entry[1])
    assert not await a.update("acks.open.000000004", entry[0], entry[1])
    settled = await acks.settle(a, "000000004")
    assert settled is not None and settled["task_raised"] is True


async def test_odd_control_numbers_get_one_safe_key_each(workers: tuple[bus.KvState, bus.KvState]) -> None:
    a, _ = workers
    for control in ("A.B C", "A=2EB C", "ÄB*1", ""):
        await acks.expect(a, record(control, NOW))
    assert len(await acks.open_acknowledgements(a)) == 4
    assert (await acks.settle(a, "A.B C") or {}).get("control") == "A.B C"
    assert sorted(r["control"] for r in await acks.open_acknowledgements(a)) == ["", "A=2EB C", "ÄB*1"]


async def test_book_under_the_old_single_key_is_moved_on_start(
        workers: tuple[bus.KvState, bus.KvState], make_connector: Callable[..., EdiSftp], tmp_path: Path) -> None:
    state, _ = workers
    now = datetime.now(UTC)  # the started connector's poller checks deadlines against the clock
    older = {**record("000000011", now - timedelta(minutes=5), now - timedelta(hours=2)), "task_raised": True}
    newer = record("000000012", now + timedelta(days=1))
    await state.put(acks.LEGACY_KEY, {"000000011": older, "000000012": newer})
    ctx = RecordingContext("edi-acme", tmp_path)
    ctx.state = state  # type: ignore[assignment]
    # A short connect timeout: the poller's first poll, cancelled at teardown, leaves its SFTP thread to time out.
    await make_connector(ctx, connect_timeout=0.5).start()
    assert await state.get(acks.LEGACY_KEY) is None
    assert await acks.open_acknowledgements(state) == [older, newer]
    assert await acks.overdue(state, now) == []  # its task was raised before the move
    assert await acks.settle(state, "000000012") == newer

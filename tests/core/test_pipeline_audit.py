"""The pipeline stores a batch's AUDIT records in a few messages, and an input waits for each one holding its records."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import orjson

from hub.hooks.audit import unpack
from hub.pipeline import Pipeline, _Input


class RecordingPublisher:
    """Stands in for the AsyncPublisher: keeps what was published and the future each publish returned."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, asyncio.Future]] = []

    async def publish(self, subject: str, body: bytes, headers: dict[str, str] | None = None) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.sent.append((subject, body, future))
        return future


def record(kind: str, event_id: str) -> dict:
    return {"kind": kind, "event_id": event_id, "hook": "demand"}


async def test_one_message_per_run_of_a_kind_and_each_input_waits_for_its_messages():
    pipeline = Pipeline(SimpleNamespace(), SimpleNamespace(), partitions=1)
    publisher = pipeline._publisher = RecordingPublisher()
    quiet, flagged, last = (_Input(SimpleNamespace(subject=f"inv.x.v1.{n}")) for n in range(3))
    await pipeline._store_audit([
        (quiet, record("hook_result", "e1")),
        (flagged, record("hook_result", "e2")), (flagged, record("decision", "e2")),
        (last, record("hook_result", "e3")),
    ])

    assert [subject for subject, _, _ in publisher.sent] == ["audit.hook_result", "audit.decision", "audit.hook_result"]
    first, decision, third = (future for _, _, future in publisher.sent)
    assert [orjson.loads(line)["event_id"] for line in unpack(publisher.sent[0][1])] == ["e1", "e2"]
    assert quiet.futures == [first]
    assert flagged.futures == [first, decision]
    assert last.futures == [third]


async def test_a_batch_without_records_publishes_nothing():
    pipeline = Pipeline(SimpleNamespace(), SimpleNamespace(), partitions=1)
    publisher = pipeline._publisher = RecordingPublisher()
    await pipeline._store_audit([])
    assert publisher.sent == []

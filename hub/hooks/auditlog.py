"""Reading the AUDIT stream (subjects `audit.<kind>`): the latest records, new ones as they come, and every
record about one event.

A message holds one record or a run of records (hub.hooks.audit); readers see records, each with the
stream sequence of the message that holds it. A message of one record may name its event in the
`hub-event-id` header (DLQ replays do); the pipeline's messages of many records do not, and each of their
records names its event in `event_id`."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import NotFoundError

from hub.hooks.audit import unpack

STREAM = "AUDIT"
EVENT_ID_HEADER = "hub-event-id"
_BATCH = 500


class AuditReadError(RuntimeError):
    pass


async def latest(js: JetStreamContext, *, kind: str | None = None, last: int = 20,
                 scan: int = 10_000) -> list[dict[str, Any]]:
    """The last `last` records (of `kind`, looking back over at most `scan` messages), oldest first."""
    state = (await _info(js)).state
    if state.messages == 0:
        return []
    start = max(state.first_seq, state.last_seq - (scan if kind else last) + 1)
    kept: deque[dict[str, Any]] = deque(maxlen=last)
    async for record in _read(js, _subject(kind), start, state.last_seq):
        kept.append(record)
    return list(kept)


async def follow(js: JetStreamContext, emit: Callable[[dict[str, Any]], None], *, kind: str | None = None,
                 stop: asyncio.Event | None = None) -> int:
    """Emit records stored from now on until `stop` is set; returns how many were emitted."""
    stop = stop or asyncio.Event()
    config = js_api.ConsumerConfig(deliver_policy=js_api.DeliverPolicy.NEW, ack_policy=js_api.AckPolicy.NONE,
                                   inactive_threshold=30.0, mem_storage=True)
    sub = await js.pull_subscribe(_subject(kind), stream=STREAM, config=config)
    shown = 0
    try:
        while not stop.is_set():
            try:
                msgs = await sub.fetch(_BATCH, timeout=0.5)
            except TimeoutError:
                continue
            for msg in msgs:
                for record in records(msg.data, msg.metadata.sequence.stream):
                    emit(record)
                    shown += 1
    finally:
        await sub.unsubscribe()
    return shown


async def for_event(js: JetStreamContext, event_id: str) -> list[dict[str, Any]]:
    """Every AUDIT record about one event, in the order stored (a full scan of the stream, by header)."""
    state = (await _info(js)).state
    if state.messages == 0:
        return []
    found = []
    async for record in _read(js, "audit.>", state.first_seq, state.last_seq, event_id=event_id):
        found.append(record)
    return found


async def _read(js: JetStreamContext, subject: str, start: int, last_seq: int, event_id: str | None = None):
    config = js_api.ConsumerConfig(deliver_policy=js_api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start,
                                   ack_policy=js_api.AckPolicy.NONE, inactive_threshold=30.0, mem_storage=True)
    sub = await js.pull_subscribe(subject, stream=STREAM, config=config)
    try:
        while True:
            try:
                msgs = await sub.fetch(_BATCH, timeout=1.0)
            except TimeoutError:
                return
            for msg in msgs:
                seq = msg.metadata.sequence.stream
                for record in _records_about(msg, seq, event_id):
                    yield record
                if seq >= last_seq:
                    return
    finally:
        await sub.unsubscribe()


async def _info(js: JetStreamContext) -> js_api.StreamInfo:
    try:
        return await js.stream_info(STREAM)
    except NotFoundError:
        raise AuditReadError("reading AUDIT: the stream does not exist on this NATS (has `hub up` run?)") from None


def _subject(kind: str | None) -> str:
    return f"audit.{kind}" if kind else "audit.>"


def records(data: bytes, seq: int) -> list[dict[str, Any]]:
    """The records of one AUDIT message, each with `seq`; a line that is no JSON object is shown, not dropped."""
    return [_decode(line, seq) for line in unpack(data)]


def _records_about(msg: Msg, seq: int, event_id: str | None) -> list[dict[str, Any]]:
    if event_id is None:
        return records(msg.data, seq)
    named = (msg.headers or {}).get(EVENT_ID_HEADER)
    if named is not None:
        return records(msg.data, seq) if named == event_id else []
    # A full scan reads every message: decode only those whose bytes mention the event at all.
    if orjson.dumps(event_id)[1:-1] not in msg.data:
        return []
    return [record for record in records(msg.data, seq) if record.get("event_id") == event_id]


def _decode(data: bytes, seq: int) -> dict[str, Any]:
    try:
        record = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return {"kind": "unreadable", "seq": seq, "error": f"not JSON at byte {exc.pos}: {exc.msg}"}
    if not isinstance(record, dict):
        return {"kind": "unreadable", "seq": seq, "error": f"a JSON {type(record).__name__}, not an object"}
    return {**record, "seq": seq}


def render(record: dict[str, Any]) -> str:
    """One line per record for the terminal."""
    kind = record.get("kind", "?")
    if kind in ("hook_result", "decision"):
        reasons = ",".join(record.get("reasons") or []) or "-"
        line = (f"#{record.get('seq')} {kind:<11} {record.get('event_id')} {record.get('subject')} "
                f"{record.get('hook')}@{record.get('model_version')} score={_num(record.get('score'))} "
                f"conf={_num(record.get('confidence'))} reasons={reasons} action={record.get('action')} "
                f"decision={record.get('decision')}")
        if record.get("rule"):
            line += f" policy={record.get('policy_version')}/{record.get('rule')}"
        if record.get("error"):
            line += f" error={record['error']}"
        return line
    rest = {k: v for k, v in record.items() if k not in ("kind", "seq")}
    return f"#{record.get('seq')} {kind:<11} {orjson.dumps(rest, option=orjson.OPT_SORT_KEYS).decode()}"


def _num(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else str(value)

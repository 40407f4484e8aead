"""The dead letter channel: what failed, where, why and how often, kept whole so it can be replayed.

A dead letter is stored in the DLQ stream under `dlq.<stage>.<connector>`; its body is the
`DeadLetter` record as JSON, with the original payload inside. Replay re-publishes the original
message to the subject of the stage that failed (EVENTS for `ingest` and `pipeline`, the
connector's OUTBOX subject for `deliver`), keeping its idempotency key, then removes the dead
letter and writes an AUDIT record.
"""

from __future__ import annotations

import base64
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import NotFoundError
from pydantic import BaseModel, Field

from hub import bus

Stage = Literal["ingest", "pipeline", "deliver"]
PAYLOAD_LIMIT = 256 * 1024
_SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-api-key"}


class DeadLetter(BaseModel):
    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    stage: Stage
    connector: str = ""
    route: str | None = None
    subject: str = Field(default="", description="The subject the original message was (or would be) on.")
    headers: dict[str, str] = Field(default_factory=dict)
    payload: str = ""
    payload_encoding: Literal["utf-8", "base64"] = "utf-8"
    event_id: str | None = None
    event_type: str | None = None
    schema_version: int | None = None
    idempotency_key: str | None = None
    error_class: str
    error: str
    attempts: int = 1
    first_failure: datetime = Field(default_factory=lambda: datetime.now(UTC))
    last_failure: datetime = Field(default_factory=lambda: datetime.now(UTC))
    trace_id: str | None = None
    origin: str = Field(default="", description="File name, webhook id or document the payload came from.")
    seq: int = Field(default=0, exclude=True)

    @classmethod
    def of(cls, *, stage: Stage, raw: bytes, error_class: str, error: str, headers: dict[str, str] | None = None,
           **fields: Any) -> DeadLetter:
        headers = {k: v for k, v in (headers or {}).items() if k.lower() not in _SECRET_HEADERS}
        if len(raw) > PAYLOAD_LIMIT:  # a dead letter must fit in one NATS message, whatever it carries
            error += f" (payload cut to its first {PAYLOAD_LIMIT} of {len(raw)} bytes)"
            raw = raw[:PAYLOAD_LIMIT]
        try:
            payload, encoding = raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            payload, encoding = base64.b64encode(raw).decode(), "base64"
        traceparent = headers.get("traceparent")
        fields.setdefault("event_id", headers.get("ce-id"))
        fields.setdefault("event_type", headers.get("ce-type"))
        fields.setdefault("idempotency_key", headers.get("ce-idempotencykey"))
        if "ce-schemaversion" in headers and "schema_version" not in fields:
            fields["schema_version"] = int(headers["ce-schemaversion"]) if headers["ce-schemaversion"].isdigit() else None
        return cls(stage=stage, headers=headers, payload=payload, payload_encoding=encoding, error_class=error_class,
                   error=error[:4000], trace_id=traceparent.split("-")[1] if traceparent and "-" in traceparent else None,
                   **fields)

    def raw(self) -> bytes:
        return base64.b64decode(self.payload) if self.payload_encoding == "base64" else self.payload.encode()

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "stage": self.stage, "connector": self.connector, "event_type": self.event_type,
                "error_class": self.error_class, "attempts": self.attempts,
                "last_failure": self.last_failure.isoformat(timespec="seconds"), "error": self.error[:120]}


async def store(js: JetStreamContext, letter: DeadLetter) -> str:
    await js.publish(bus.dlq_subject(letter.stage, letter.connector), letter.model_dump_json().encode(),
                     stream=bus.DLQ, headers={"Nats-Msg-Id": f"dl:{letter.id}", "hub-error-class": letter.error_class})
    return letter.id


def publish_args(letter: DeadLetter) -> tuple[str, bytes, dict[str, str]]:
    """Subject, body and headers for storing `letter` with publish_async (the pipeline's batched path)."""
    return (bus.dlq_subject(letter.stage, letter.connector), letter.model_dump_json().encode(),
            {"Nats-Msg-Id": f"dl:{letter.id}", "hub-error-class": letter.error_class})


class Filter(BaseModel):
    connector: str | None = None
    stage: str | None = None
    error_class: str | None = None
    since: timedelta | None = None
    ids: list[str] = Field(default_factory=list)

    def matches(self, letter: DeadLetter) -> bool:
        if self.ids and letter.id not in self.ids and not any(letter.id.startswith(i) for i in self.ids):
            return False
        if self.connector and letter.connector != self.connector:
            return False
        if self.stage and letter.stage != self.stage:
            return False
        if self.error_class and letter.error_class != self.error_class:
            return False
        return not (self.since and letter.last_failure < datetime.now(UTC) - self.since)


async def iterate(js: JetStreamContext, flt: Filter | None = None) -> AsyncIterator[DeadLetter]:
    """Every dead letter in the stream, oldest first, that matches the filter."""
    flt = flt or Filter()
    info = await js.stream_info(bus.DLQ)
    if info.state.messages == 0:
        return
    subject = f"dlq.{flt.stage or '*'}.{flt.connector or '*'}"
    sub = await js.pull_subscribe(subject, stream=bus.DLQ, config=js_api.ConsumerConfig(
        ack_policy=js_api.AckPolicy.NONE, inactive_threshold=30.0, mem_storage=True))
    try:
        remaining = info.state.messages
        while remaining > 0:
            try:
                msgs = await sub.fetch(min(remaining, 500), timeout=1.0)
            except TimeoutError:
                break
            for msg in msgs:
                remaining = msg.metadata.num_pending
                letter = DeadLetter.model_validate_json(msg.data)
                letter.seq = msg.metadata.sequence.stream
                if flt.matches(letter):
                    yield letter
            if msgs and msgs[-1].metadata.num_pending == 0:
                break
    finally:
        await sub.unsubscribe()


async def find(js: JetStreamContext, letter_id: str) -> DeadLetter | None:
    async for letter in iterate(js, Filter(ids=[letter_id])):
        return letter
    return None


async def remove(js: JetStreamContext, letter: DeadLetter) -> None:
    with contextlib.suppress(NotFoundError):
        await js.delete_msg(bus.DLQ, letter.seq)


def replay_target(letter: DeadLetter, partitions: int) -> str:
    """The subject a dead letter re-enters at: the stage that failed."""
    if letter.stage == "deliver":
        return letter.subject or bus.outbox_subject(letter.connector, letter.event_type or "unknown")
    if letter.subject.startswith("inv."):
        return letter.subject
    if letter.event_type and letter.headers.get("ce-subject"):
        return bus.events_subject(letter.event_type, letter.schema_version or 1, letter.headers["ce-subject"],
                                  partitions)
    return f"inv.unknown.v0.{bus.partition_of(letter.id, partitions)}"


async def replay(js: JetStreamContext, letters: Iterable[DeadLetter], *, partitions: int,
                 progress: Callable[[DeadLetter], None] | None = None) -> int:
    """Re-publish each letter where it failed, then remove it and audit the replay. Returns how many."""
    count = 0
    for letter in letters:
        headers = dict(letter.headers)
        headers["hub-replay-of"] = letter.id
        # A fresh message id, so the dedupe window does not swallow the replay; the idempotency key
        # inside the event is unchanged, so a target that applied it already does not apply it twice.
        headers["Nats-Msg-Id"] = f"replay:{letter.id}"
        subject = replay_target(letter, partitions)
        await js.publish(subject, letter.raw(), headers=headers)
        await remove(js, letter)
        await js.publish("audit.replay", orjson.dumps({
            "kind": "replay", "dead_letter": letter.id, "stage": letter.stage, "connector": letter.connector,
            "event_id": letter.event_id, "subject": subject, "at": datetime.now(UTC).isoformat()}),
            headers={"hub-event-id": letter.event_id or ""})
        count += 1
        if progress:
            progress(letter)
    return count

"""AUDIT records: one per hook result and one per decision, JSON-ready, serialised with sorted keys so a
replay of the same events gives the same bytes.

On the AUDIT stream a message holds one or more records of one kind, one serialised record per line, so
the pipeline stores a whole batch's records with a few publishes instead of one publish (and one PubAck)
per record. A message of one record is exactly that record's bytes, as every writer stored it before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from canonical import Envelope
from hub.hooks.result import HookResult


def result_record(event: Envelope, result: HookResult, decision: str, policy_version: str, rule: str) -> dict[str, Any]:
    return {
        "kind": "hook_result", "event_id": event.id, "event_type": event.type, "subject": event.subject,
        "event_time": event.time.isoformat(), "hook": result.hook, "model_version": result.model_version,
        "config_hash": result.config_hash, "key": result.key, "score": result.score,
        "reasons": list(result.reasons), "evidence": result.evidence, "action": result.action,
        "confidence": result.confidence, "details": result.details, "error": result.error,
        "decision": decision, "policy_version": policy_version, "rule": rule,
    }


def decision_record(event: Envelope, result: HookResult, decision: str, policy_version: str, rule: str,
                    outputs: list[dict[str, Any]]) -> dict[str, Any]:
    """What the hub did about a result, which rule of which policy allowed it, and what it sent."""
    record = result_record(event, result, decision, policy_version, rule)
    record["kind"] = "decision"
    record["outputs"] = outputs
    return record


def dumps(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)


# One record per line: orjson never writes a raw newline, it escapes those inside strings.
SEPARATOR = b"\n"
# Far below NATS's default max_payload (1 MB), so a message never fails for its size alone.
MAX_MESSAGE_BYTES = 256 * 1024


def subject(kind: str) -> str:
    return f"audit.{kind}"


def pack(records: Sequence[dict[str, Any]]) -> list[tuple[str, bytes, range]]:
    """The AUDIT messages for `records`, in their order: (subject, body, indices of the records it holds).

    A message holds a run of consecutive records of one kind, so reading the stream in order gives the
    records in their order, and `audit.<kind>` still selects a kind.
    """
    messages: list[tuple[str, bytes, range]] = []
    lines: list[bytes] = []
    size, kind, first = 0, "", 0
    for index, record in enumerate(records):
        line = dumps(record)
        record_kind = record.get("kind", "hook")
        if lines and (record_kind != kind or size + len(line) > MAX_MESSAGE_BYTES):
            messages.append((subject(kind), SEPARATOR.join(lines), range(first, index)))
            lines, size, first = [], 0, index
        kind = record_kind
        lines.append(line)
        size += len(line) + 1
    if lines:
        messages.append((subject(kind), SEPARATOR.join(lines), range(first, len(records))))
    return messages


def unpack(body: bytes) -> list[bytes]:
    """The serialised records an AUDIT message holds, each as it was serialised."""
    return body.split(SEPARATOR)

"""AUDIT records: one per hook result and one per decision, JSON-ready, serialised with sorted keys so a
replay of the same events gives the same bytes."""

from __future__ import annotations

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

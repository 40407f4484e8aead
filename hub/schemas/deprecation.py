"""The task.raised event that tells people a source still sends a deprecated schema version."""

from __future__ import annotations

from canonical import ContractError, Envelope, latest_version, new_event

MONITOR_SOURCE = "urn:hub:schemas"


def deprecation_task(source: str, event_type: str, version: int, event: Envelope) -> Envelope:
    """One task per (source, type, version): the idempotency key is the same whoever raises it."""
    try:
        latest: int | None = latest_version(event_type)
    except ContractError:  # a partner or custom type: its versions live in the registry only
        latest = None
    key = f"schema-deprecated:{source}:{event_type}:v{version}"
    data = {
        "task_id": key,
        "kind": "schema_deprecated",
        "title": f"{source} sends {event_type} v{version}, which is deprecated",
        "priority": 3,
        "assignee_role": "integration",
        "recommended_action": f"move {source} to {event_type} v{latest}" if latest else
                              f"move {source} to the latest version of {event_type}",
        "evidence": {"source": source, "type": event_type, "version": version, "latest_version": latest,
                     "first_event_id": event.id},
    }
    return new_event("task.raised", data, source=MONITOR_SOURCE, subject=f"{source}/{event_type}",
                     idempotency_key=key, correlation_id=event.correlation_id or event.id, causation_id=event.id)

"""The AsyncAPI 3.0 document of the hub's subjects, its payloads referring to the exported JSON Schemas.

`schema_file(type, version)` names the files `export` writes beside the document (`schemas/...`).
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from canonical.versions import EVENT_TYPES, latest_version, versions_of

ENVELOPE_FILE = "schemas/envelope.json"
DEAD_LETTER_FILE = "schemas/dead-letter.json"

_CE_HEADERS = {
    "type": "object",
    "description": "CloudEvents NATS binding: envelope attributes as headers, so routing never parses the body.",
    "properties": {name: {"type": "string"} for name in (
        "ce-specversion", "ce-id", "ce-type", "ce-source", "ce-time", "ce-subject", "ce-schemaversion",
        "ce-idempotencykey", "ce-correlationid", "ce-causationid", "traceparent")},
    "required": ["ce-id", "ce-type", "ce-schemaversion"],
}


def schema_file(event_type: str, version: int) -> str:
    return f"schemas/{event_type}.v{version}.json"


def message_name(event_type: str, version: int) -> str:
    return f"{event_type.replace('.', '_')}_v{version}"


def asyncapi_document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type in EVENT_TYPES:
        for version in versions_of(event_type):
            name = message_name(event_type, version)
            messages[name] = _event_message(event_type, version)
            channel = f"events_{name}"
            channels[channel] = {
                "address": f"inv.{event_type.replace('.', '_')}.v{version}.{{partition}}",
                "title": f"{event_type} v{version} events",
                "description": "Stream EVENTS. Inbound connectors send; the pipeline receives, upcasts to the latest "
                               "version, and routes.",
                "parameters": {"partition": {"description": "hash(subject) modulo the hub's partition count; "
                                                            "each partition keeps per-item order."}},
                "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            }
            operations[f"receive_{name}"] = {"action": "receive", "channel": {"$ref": f"#/channels/{channel}"}}
    latest = [message_name(t, latest_version(t)) for t in EVENT_TYPES]
    channels["outbox"] = {
        "address": "out.{connector}.{event_type}",
        "title": "Deliveries",
        "description": "Stream OUTBOX: one delivery per target connector, in the latest version of its type "
                       "unless the target's config asks for an older one (schema_versions).",
        "parameters": {"connector": {"description": "Target connector instance name."},
                       "event_type": {"description": "Event type with _ for . (stock_adjusted)."}},
        "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in latest},
    }
    channels["dlq"] = {
        "address": "dlq.{stage}.{connector}",
        "title": "Dead letters",
        "description": "Stream DLQ: what could not be ingested, processed or delivered, with the reason.",
        "parameters": {"stage": {"enum": ["ingest", "pipeline", "deliver"], "description": "Where it failed."},
                       "connector": {"description": "Connector involved, _ when none."}},
        "messages": {"dead_letter": {"$ref": "#/components/messages/dead_letter"}},
    }
    channels["audit"] = {
        "address": "audit.{kind}",
        "title": "Audit trail",
        "description": "Stream AUDIT: hook results, policy decisions, approvals, replays, registrations.",
        "parameters": {"kind": {"description": "Kind of record (hook, replay, ...)."}},
        "messages": {"audit_record": {"$ref": "#/components/messages/audit_record"}},
    }
    operations["send_delivery"] = {"action": "send", "channel": {"$ref": "#/channels/outbox"}}
    operations["send_dead_letter"] = {"action": "send", "channel": {"$ref": "#/channels/dlq"}}
    operations["send_audit_record"] = {"action": "send", "channel": {"$ref": "#/channels/audit"}}
    messages["dead_letter"] = {"name": "dead_letter", "contentType": "application/json",
                               "payload": {"$ref": DEAD_LETTER_FILE}}
    messages["audit_record"] = {"name": "audit_record", "contentType": "application/json",
                                "payload": {"type": "object", "description": (
                                    "One JSON record per line: a message holds one record or a run of records "
                                    "of one kind; `kind` names a record's shape.")}}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Retail Inventory Hub", "version": _hub_version(),
                 "description": "Canonical inventory events on NATS JetStream, their deliveries, dead letters and "
                                "audit records."},
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def _event_message(event_type: str, version: int) -> dict[str, Any]:
    return {
        "name": message_name(event_type, version),
        "title": f"{event_type} v{version}",
        "contentType": "application/json",
        "headers": _CE_HEADERS,
        "payload": {
            "allOf": [
                {"$ref": ENVELOPE_FILE},
                {"type": "object",
                 "properties": {"type": {"const": event_type}, "schema_version": {"const": version},
                                "data": {"$ref": schema_file(event_type, version)}}},
            ]
        },
    }


def _hub_version() -> str:
    try:
        return metadata.version("retail-inventory-hub")
    except metadata.PackageNotFoundError:
        return "0.0.0"

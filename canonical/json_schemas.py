"""JSON Schema (Draft 2020-12) of every canonical event type and version, and each type's compatibility mode.

Schemas come from the pydantic data models in validation mode: they describe what the hub accepts.
"""

from __future__ import annotations

from typing import Any

from canonical.envelope import Envelope
from canonical.versions import EVENT_TYPES, model_for, versions_of

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
DEFAULT_MODE = "backward"

# Types whose evolution needs another rule than the default; the registry enforces these.
COMPATIBILITY_MODES: dict[str, str] = {}


def schema_id(event_type: str, version: int) -> str:
    return f"urn:hub:schema:{event_type}:v{version}"


def compatibility_mode(event_type: str) -> str:
    return COMPATIBILITY_MODES.get(event_type, DEFAULT_MODE)


def data_schema(event_type: str, version: int) -> dict[str, Any]:
    """The JSON Schema of the `data` of one type and version."""
    body = model_for(event_type, version).model_json_schema(mode="validation")
    return {"$schema": DRAFT_2020_12, "$id": schema_id(event_type, version), **body}


def envelope_schema() -> dict[str, Any]:
    return {"$schema": DRAFT_2020_12, "$id": "urn:hub:schema:envelope", **Envelope.model_json_schema(mode="validation")}


def all_data_schemas() -> dict[tuple[str, int], dict[str, Any]]:
    """Every (type, version) the code knows, oldest version first within a type."""
    return {(t, v): data_schema(t, v) for t in EVENT_TYPES for v in versions_of(t)}

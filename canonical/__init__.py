"""The canonical inventory event model: one envelope, versioned event types, master data."""

from canonical.envelope import Envelope, item_subject, new_event
from canonical.errors import ContractError, EventError
from canonical.versions import (
    EVENT_TYPES,
    latest_version,
    model_for,
    parse_event,
    upcast,
    validate_data,
)

__all__ = [
    "EVENT_TYPES",
    "ContractError",
    "Envelope",
    "EventError",
    "item_subject",
    "latest_version",
    "model_for",
    "new_event",
    "parse_event",
    "upcast",
    "validate_data",
]

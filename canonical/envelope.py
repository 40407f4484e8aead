"""The event envelope: CloudEvents 1.0 attributes plus the hub's own extensions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SPECVERSION = "1.0"


class Envelope(BaseModel):
    """One canonical event. `data` is validated against the model of (`type`, `schema_version`)."""

    model_config = ConfigDict(extra="forbid")

    specversion: Literal["1.0"] = SPECVERSION
    id: str = Field(min_length=1, max_length=200, description="Unique id of this event.")
    type: str = Field(min_length=1, max_length=100, description="Canonical event type, e.g. stock.adjusted.")
    source: str = Field(min_length=1, max_length=500, description="URI-reference of the producing system.")
    time: datetime = Field(description="When the fact happened in the source system.")
    subject: str = Field(min_length=1, max_length=500, description="Ordering key, usually SKU@LOCATION.")
    schema_version: int = Field(default=1, ge=1, description="Version of the data schema of this type.")
    idempotency_key: str = Field(min_length=1, max_length=300, description="Same fact, same key.")
    correlation_id: str | None = None
    causation_id: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = None
    trace: str | None = Field(default=None, description="W3C traceparent of the event's trace.")
    data: dict[str, Any]
    enrichments: dict[str, Any] = Field(default_factory=dict)

    def nats_headers(self) -> dict[str, str]:
        """Envelope attributes as CloudEvents NATS binding headers, so routing never parses the body."""
        headers = {
            "ce-specversion": self.specversion,
            "ce-id": self.id,
            "ce-type": self.type,
            "ce-source": self.source,
            "ce-time": self.time.isoformat(),
            "ce-subject": self.subject,
            "ce-schemaversion": str(self.schema_version),
            "ce-idempotencykey": self.idempotency_key,
        }
        if self.correlation_id:
            headers["ce-correlationid"] = self.correlation_id
        if self.causation_id:
            headers["ce-causationid"] = self.causation_id
        if self.trace:
            headers["traceparent"] = self.trace
        return headers


def item_subject(sku: str, location: str) -> str:
    return f"{sku}@{location}"


def new_event(
    type: str,
    data: dict[str, Any],
    *,
    source: str,
    subject: str,
    idempotency_key: str | None = None,
    time: datetime | None = None,
    schema_version: int | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    trace: str | None = None,
) -> Envelope:
    """Build an envelope with sensible defaults; the data is validated for its type and version."""
    from canonical.versions import latest_version, validate_data

    version = schema_version or latest_version(type)
    event_id = str(uuid.uuid4())
    return Envelope(
        id=event_id,
        type=type,
        source=source,
        time=time or datetime.now(UTC),
        subject=subject,
        schema_version=version,
        idempotency_key=idempotency_key or event_id,
        correlation_id=correlation_id,
        causation_id=causation_id,
        trace=trace,
        data=validate_data(type, version, data),
    )

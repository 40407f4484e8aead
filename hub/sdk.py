"""The connector SDK: what every connector type declares and what the hub gives it.

A connector type is a class with a pydantic config model, registered under the Python entry
point group `hub.connectors`. Its life is small: `start`, then `deliver` (a sink) or its own
poll / listen loop (a source) publishing through the context, then `stop`.
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler
from pydantic_core import core_schema

from canonical import Envelope
from hub.tracing import traced


class SecretRef:
    """A secret given by reference: `env:NAME` or `file:/path`. Never printed, logged or stored in clear.

    A literal value is accepted for local experiments only; `hub connectors types` marks the field secret.
    """

    __slots__ = ("ref",)

    def __init__(self, ref: str) -> None:
        self.ref = ref

    def reveal(self) -> str:
        kind, _, rest = self.ref.partition(":")
        if kind == "env" and rest:
            try:
                return os.environ[rest]
            except KeyError:
                raise ValueError(f"secret {self.ref}: environment variable {rest} is not set") from None
        if kind == "file" and rest:
            try:
                return Path(rest).read_text().strip()
            except OSError as exc:
                raise ValueError(f"secret {self.ref}: {exc.strerror}") from None
        return self.ref

    def __repr__(self) -> str:
        return f"SecretRef({self._shown()!r})"

    __str__ = __repr__

    def _shown(self) -> str:
        kind = self.ref.partition(":")[0]
        return self.ref if kind in ("env", "file") else "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretRef) and other.ref == self.ref

    def __hash__(self) -> int:
        return hash(self.ref)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            lambda v: v if isinstance(v, SecretRef) else SecretRef(v),
            core_schema.union_schema([core_schema.is_instance_schema(cls), core_schema.str_schema(min_length=1)]),
            serialization=core_schema.plain_serializer_function_ser_schema(lambda v: v._shown()),
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> dict[str, Any]:
        return {"type": "string", "description": "env:NAME or file:/path", "writeOnly": True, "x-secret": True}


class RetryPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    in_process_attempts: int = Field(default=3, ge=1, le=20, description="Quick tries inside one delivery.")
    in_process_wait: float = Field(default=0.2, ge=0, description="First wait between quick tries, seconds (doubles).")
    max_deliveries: int = Field(default=8, ge=1, le=1000, description="JetStream deliveries before a dead letter.")
    backoff: list[float] = Field(
        default=[1, 5, 15, 60, 300], description="Seconds to wait before each redelivery; the last repeats."
    )


class CircuitPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    failure_threshold: int = Field(default=5, ge=1, description="Consecutive transient failures that open it.")
    open_seconds: float = Field(default=10.0, gt=0, description="How long it stays open before one trial.")


class ConnectorConfig(BaseModel):
    """Fields every connector instance has. Types subclass it with their own documented fields."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="The connector type, e.g. file.inbox.")
    roles: list[str] = Field(default_factory=list, description="Roles this instance serves as a target (erp, ...).")
    enabled: bool = True
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    circuit: CircuitPolicy = Field(default_factory=CircuitPolicy)
    schema_versions: dict[str, int] = Field(
        default_factory=dict, description="Event type -> version this target wants (downcast where possible)."
    )
    batch_size: int = Field(default=100, ge=1, le=5000, description="Deliveries fetched at once.")


class StateStore(Protocol):
    """Small JSON state of one connector instance, kept in the `hub_state` bucket."""

    async def get(self, key: str) -> Any | None: ...

    async def put(self, key: str, value: Any) -> None: ...

    async def create(self, key: str, value: Any) -> bool:
        """Store only if absent; False when the key already exists."""
        ...

    async def delete(self, key: str) -> None: ...

    async def get_entry(self, key: str) -> tuple[Any, int] | None:
        """(value, revision) of the key, the revision for `update` and `delete_if`; None when absent."""
        ...

    async def update(self, key: str, value: Any, last: int) -> bool:
        """Store only if the key is still at revision `last` (compare-and-set); False otherwise."""
        ...

    async def delete_if(self, key: str, last: int) -> bool:
        """Delete only if the key is still at revision `last`; False when it moved on or is gone."""
        ...

    async def keys(self, prefix: str) -> list[str]:
        """The keys under `prefix.`, sorted; one deleted a moment ago may still be listed (`get_entry` is None)."""
        ...

    async def purge(self, prefix: str) -> int:
        """Remove every key under `prefix.` with its history, at once however many there are; how many
        stored values went."""
        ...


class ConnectorContext(Protocol):
    """What the hub hands a connector."""

    name: str
    log: logging.LoggerAdapter
    state: StateStore
    base_dir: Path  # relative paths in a config resolve against the config file's folder
    data_dir: Path

    async def ingest(self, events: Sequence[Envelope | dict[str, Any]], *, raw: bytes | None = None,
                     origin: str = "") -> IngestResult:
        """Validate and store events in EVENTS (awaits the stream's acknowledgements).

        Invalid events are dead-lettered with the reason; the valid ones are stored.
        """
        ...

    async def dead_letter(self, *, raw: bytes, reason: str, error_class: str, origin: str = "",
                          headers: dict[str, str] | None = None) -> str:
        """Store a payload that cannot be translated in the DLQ (stage `ingest`); returns its id."""
        ...

    def count(self, metric: str, amount: float = 1, **labels: str) -> None: ...

    async def claim_once(self, key: str) -> bool:
        """Idempotent receiver: mark `key` (KV key characters) as taken by this instance; False when it already is.

        Marks are kept in the `hub_dedupe` bucket and expire after `claim_ttl_seconds()`, so they
        do not pile up; a connector must not rely on one for longer than that.
        """
        ...

    async def release_claim(self, key: str) -> None:
        """Forget a mark whose work failed, so that a retry of the same thing can claim it again."""
        ...

    async def claim_ttl_seconds(self) -> float:
        """How long a mark taken by `claim_once` is kept before it expires."""
        ...


class IngestResult(BaseModel):
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    errors: list[str] = Field(default_factory=list)


class Connector(ABC):
    """Base of every connector type."""

    type_name: ClassVar[str]
    config_model: ClassVar[type[ConnectorConfig]] = ConnectorConfig
    direction: ClassVar[Literal["source", "sink", "both"]]
    summary: ClassVar[str] = ""

    def __init__(self, name: str, config: ConnectorConfig, ctx: ConnectorContext) -> None:
        self.name = name
        self.config = config
        self.ctx = ctx

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Connect and, for a source, start its loop as a task. Must return promptly."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Finish in-flight work and release connections."""

    async def check(self) -> str:
        """Check that the external system answers; returns a short description or raises."""
        return "ok"


class Source(Connector):
    direction = "source"


class Sink(Connector):
    direction = "sink"

    def accepts(self, event_type: str) -> bool:
        return True

    @abstractmethod
    async def deliver(self, event: Envelope, attempt: int) -> None:
        """Deliver one event; raise TransientError to retry, PermanentError / ContractError to dead-letter.

        Must be idempotent by `event.idempotency_key`: the same event may arrive more than once.
        """

    async def deliver_batch(self, events: Sequence[Envelope], attempts: Sequence[int]) -> list[BaseException | None]:
        """Deliver several events; the default calls `deliver` for each in order."""
        outcomes: list[BaseException | None] = []
        for event, attempt in zip(events, attempts, strict=True):
            try:
                with traced(event):  # HTTP and SOAP clients pass the event's traceparent on
                    await self.deliver(event, attempt)
            except Exception as exc:  # noqa: BLE001 - the engine classifies it
                outcomes.append(exc)
            else:
                outcomes.append(None)
        return outcomes


def resolve_path(base: Path, value: str | Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path)

"""Which versions of each event type exist, how to validate them, and how to upcast old ones.

A new version of a type is added by registering its data model with `register_version` and an
upcaster from the previous version with `register_upcaster`; the pipeline upcasts every event
to `latest_version(type)` before hooks and routes see it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from canonical.envelope import Envelope
from canonical.errors import ContractError, EventError
from canonical.events import V1_MODELS

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

_MODELS: dict[tuple[str, int], type[BaseModel]] = {(t, 1): m for t, m in V1_MODELS.items()}
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}
_DOWNCASTERS: dict[tuple[str, int], Upcaster] = {}
_LATEST: dict[str, int] = dict.fromkeys(V1_MODELS, 1)

EVENT_TYPES: tuple[str, ...] = tuple(V1_MODELS)


def register_version(event_type: str, version: int, model: type[BaseModel]) -> None:
    _MODELS[(event_type, version)] = model
    _LATEST[event_type] = max(_LATEST.get(event_type, 0), version)


def register_upcaster(event_type: str, from_version: int, fn: Upcaster) -> None:
    """`fn` turns data of `from_version` into data of `from_version + 1`."""
    _UPCASTERS[(event_type, from_version)] = fn


def register_downcaster(event_type: str, from_version: int, fn: Upcaster) -> None:
    """`fn` turns data of `from_version` into data of `from_version - 1`, where that loses nothing vital."""
    _DOWNCASTERS[(event_type, from_version)] = fn


def versions_of(event_type: str) -> list[int]:
    return sorted(v for (t, v) in _MODELS if t == event_type)


def latest_version(event_type: str) -> int:
    try:
        return _LATEST[event_type]
    except KeyError:
        raise ContractError(f"unknown event type {event_type!r}", "type") from None


def model_for(event_type: str, version: int) -> type[BaseModel]:
    try:
        return _MODELS[(event_type, version)]
    except KeyError:
        if event_type not in _LATEST:
            raise ContractError(f"unknown event type {event_type!r}", "type") from None
        raise ContractError(
            f"{event_type} has no version {version} (known: {versions_of(event_type)})", "schema_version"
        ) from None


def validate_data(event_type: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
    """Validate `data` for the type and version; returns it normalised (JSON-ready)."""
    model = model_for(event_type, version)
    try:
        return model.model_validate(data).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        raise _field_error(exc, prefix="data") from None


def upcast(event: Envelope) -> Envelope:
    """The event at the latest version of its type (the same object when it already is)."""
    target = latest_version(event.type)
    if event.schema_version == target:
        return event
    data, version = event.data, event.schema_version
    while version < target:
        step = _UPCASTERS.get((event.type, version))
        if step is None:
            raise ContractError(f"no upcaster for {event.type} v{version}", "schema_version")
        data, version = step(data), version + 1
    return event.model_copy(update={"data": validate_data(event.type, target, data), "schema_version": target})


def downcast(event: Envelope, version: int) -> Envelope:
    """The event at an older version, for a target that asks for it; a ContractError where none exists."""
    data, current = event.data, event.schema_version
    while current > version:
        step = _DOWNCASTERS.get((event.type, current))
        if step is None:
            raise ContractError(f"{event.type} v{current} cannot be served as v{version}", "schema_version")
        data, current = step(data), current - 1
    return event.model_copy(update={"data": validate_data(event.type, version, data), "schema_version": version})


def parse_event(raw: bytes | str | dict[str, Any]) -> Envelope:
    """Parse and validate one event (envelope and data). Errors name the field or byte position."""
    if isinstance(raw, dict):
        obj = raw
    else:
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise EventError(f"malformed JSON: {exc.msg}", f"byte {exc.pos}") from None
    if not isinstance(obj, dict):
        raise EventError(f"an event must be a JSON object, not {type(obj).__name__}", "$")
    try:
        envelope = Envelope.model_validate(obj)
    except ValidationError as exc:
        raise _field_error(exc) from None
    # The envelope was built here and nothing else holds it: setting its data costs far less than a copy.
    envelope.data = validate_data(envelope.type, envelope.schema_version, envelope.data)
    return envelope


def _field_error(exc: ValidationError, prefix: str = "") -> EventError:
    problems = []
    first_where = ""
    for err in exc.errors()[:5]:
        path = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        first_where = first_where or path
        problems.append(f"{path}: {err['msg']}")
    error = EventError("; ".join(problems))
    error.where = first_where
    return error


def _register_evolutions() -> None:
    from canonical import stock_adjusted_v2 as sa2

    register_version(sa2.EVENT_TYPE, 2, sa2.StockAdjustedV2)
    register_upcaster(sa2.EVENT_TYPE, 1, sa2.upcast_v1)
    register_downcaster(sa2.EVENT_TYPE, 2, sa2.downcast_v2)


_register_evolutions()

"""Validation of partner and custom payloads against their registered JSON Schema.

Each (bucket, type, version) is compiled once (jsonschema-rs, Draft 2020-12, formats checked) and
kept: a registered version never changes, so the compiled validator never goes stale.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from itertools import islice
from typing import Any

import jsonschema_rs
from nats.js.kv import KeyValue

from canonical.errors import ContractError, EventError
from hub.schemas import registry

_MAX_REPORTED = 5
# Per bucket handle, so two hubs in one process (tests) never share a compiled schema.
_CACHE: weakref.WeakKeyDictionary[KeyValue, dict[tuple[str, int], PayloadValidator]] = weakref.WeakKeyDictionary()


class PayloadValidator:
    """A compiled schema of one type and version."""

    __slots__ = ("event_type", "version", "_compiled")

    def __init__(self, event_type: str, version: int, schema: Mapping[str, Any]) -> None:
        self.event_type = event_type
        self.version = version
        try:
            self._compiled = jsonschema_rs.Draft202012Validator(dict(schema), validate_formats=True)
        except (ValueError, jsonschema_rs.ValidationError) as exc:
            raise ContractError(f"{event_type} v{version}: the registered schema does not compile: {exc}",
                                "schema") from None

    def is_valid(self, payload: Any) -> bool:
        return self._compiled.is_valid(payload)

    def validate(self, payload: Any) -> None:
        """Raise EventError naming each wrong place (a JSON path) when `payload` does not fit the schema."""
        if self._compiled.is_valid(payload):
            return
        problems = [(_json_path(err.instance_path), err.message)
                    for err in islice(self._compiled.iter_errors(payload), _MAX_REPORTED)]
        error = EventError(f"{self.event_type} v{self.version}: " + "; ".join(f"{p}: {m}" for p, m in problems))
        error.where = problems[0][0]
        raise error


async def validator_for(kv: KeyValue, event_type: str, version: int) -> PayloadValidator:
    """The compiled validator of a registered version; ContractError when it is not registered."""
    compiled = _CACHE.setdefault(kv, {})
    cached = compiled.get((event_type, version))
    if cached is not None:
        return cached
    try:
        record = await registry.show(kv, event_type, version)
    except LookupError as exc:
        raise ContractError(str(exc), "schema_version") from None
    validator = compiled[(event_type, version)] = PayloadValidator(event_type, version, record.schema)
    return validator


def _json_path(parts: list[str | int]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)

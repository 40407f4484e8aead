"""The schema registry on the `hub_schemas` KV bucket: register, read, compare and deprecate versions.

A registered version never changes meaning: a new schema becomes the next version of its type,
and only if the type's compatibility mode allows it against the earlier versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError as MetaSchemaError
from nats.js.errors import KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

from canonical.json_schemas import DRAFT_2020_12, compatibility_mode, data_schema
from canonical.versions import EVENT_TYPES, versions_of
from hub.schemas import keys
from hub.schemas.compat import Change, Incompatibility, Mode, check, diff

BUILTIN, CUSTOM = "builtin", "custom"
_CREATE_ATTEMPTS = 5


class SchemaCompatibilityError(ValueError):
    """The code's schemas cannot be registered: each problem names the type, version, path and change."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("schemas incompatible with the registry:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class SchemaRecord:
    event_type: str
    version: int
    schema: dict[str, Any]
    origin: str
    registered_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.event_type, "version": self.version, "origin": self.origin,
                "registered_at": self.registered_at, "schema": self.schema}


@dataclass(slots=True)
class RegistrationResult:
    event_type: str
    mode: Mode
    accepted: bool
    version: int | None = None
    unchanged: bool = False
    incompatibilities: list[Incompatibility] = field(default_factory=list)

    def reasons(self) -> list[str]:
        return [str(i) for i in self.incompatibilities]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.event_type, "mode": self.mode.value, "accepted": self.accepted, "version": self.version,
                "unchanged": self.unchanged, "incompatibilities": [i.to_dict() for i in self.incompatibilities]}


@dataclass(frozen=True, slots=True)
class TypeSummary:
    event_type: str
    versions: list[int]
    mode: Mode
    origin: str
    deprecated: list[int]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.event_type, "versions": self.versions, "latest": max(self.versions),
                "mode": self.mode.value, "origin": self.origin, "deprecated": self.deprecated}


async def register(kv: KeyValue, event_type: str, schema: Mapping[str, Any], mode: Mode | str | None = None,
                   ) -> RegistrationResult:
    """Register a partner or custom schema as the next version of `event_type`.

    `mode`, when given, becomes the type's mode if the registration is accepted. Registering a schema
    equal to a registered version changes nothing and returns that version.
    """
    keys.check_type_name(event_type)
    if event_type in EVENT_TYPES:
        raise ValueError(f"{event_type} is a canonical type: its versions come from the hub's code, not from files")
    schema = check_schema_document(schema)
    wanted = Mode.parse(mode) if isinstance(mode, str) else mode
    for _ in range(_CREATE_ATTEMPTS):
        records = await versions(kv, event_type)
        type_mode = wanted or await get_mode(kv, event_type)
        for record in records:
            if record.schema == schema:
                return RegistrationResult(event_type, type_mode, True, record.version, unchanged=True)
        problems = check(schema, [(r.version, r.schema) for r in records], type_mode)
        if problems:
            return RegistrationResult(event_type, type_mode, False, incompatibilities=problems)
        version = records[-1].version + 1 if records else 1
        try:
            await kv.create(keys.schema_key(event_type, version), _record_bytes(event_type, version, schema, CUSTOM))
        except KeyWrongLastSequenceError:
            continue  # another registration took this version number first: compare with it too
        if wanted is not None:
            await set_mode(kv, event_type, wanted)
        return RegistrationResult(event_type, type_mode, True, version)
    raise RuntimeError(f"registering {event_type}: {_CREATE_ATTEMPTS} concurrent registrations kept winning; try again")


async def register_builtin(kv: KeyValue) -> list[str]:
    """Register the JSON Schema of every canonical type and version the code knows; idempotent.

    Returns the keys written. Raises SchemaCompatibilityError listing every problem when the code's
    schemas break a type's mode against what is registered (the other types are registered anyway).
    """
    written: list[str] = []
    problems: list[str] = []
    for event_type in EVENT_TYPES:
        mode = await _ensure_mode(kv, event_type)
        stored = {r.version: r for r in await versions(kv, event_type)}
        found = _builtin_problems(event_type, mode, stored)
        if found:
            problems.extend(found)
            continue
        for version in versions_of(event_type):
            schema = data_schema(event_type, version)
            record = stored.get(version)
            if record is not None and record.schema == schema:
                continue
            key = keys.schema_key(event_type, version)
            value = _record_bytes(event_type, version, schema, BUILTIN)
            try:
                if record is None:
                    await kv.create(key, value)
                else:
                    await kv.update(key, value, last=(await kv.get(key)).revision)
            except KeyWrongLastSequenceError:
                continue  # another worker registered the same code at the same moment
            written.append(key)
    if problems:
        raise SchemaCompatibilityError(problems)
    return written


async def check_code(kv: KeyValue | None, mode: Mode | str | None = None) -> list[str]:
    """Problems of the code's schemas: among its own versions and, when `kv` is given, against the registry.

    Each type is checked under its registered (else declared) mode, or under `mode` for every type.
    """
    problems: list[str] = []
    forced = Mode.parse(mode) if isinstance(mode, str) else mode
    for event_type in EVENT_TYPES:
        if forced is not None:
            type_mode = forced
        elif kv is not None:
            type_mode = await get_mode(kv, event_type)
        else:
            type_mode = Mode.parse(compatibility_mode(event_type))
        stored = {r.version: r for r in await versions(kv, event_type)} if kv is not None else {}
        problems.extend(_builtin_problems(event_type, type_mode, stored))
        unknown = sorted(set(stored) - set(versions_of(event_type)))
        if unknown:
            problems.append(f"{event_type}: the registry has version(s) {unknown} that this code does not know; "
                            "events in them would be dead-lettered by this hub")
    return problems


async def versions(kv: KeyValue, event_type: str) -> list[SchemaRecord]:
    """Every registered version of a type, oldest first."""
    found = []
    for entry in await keys.live_entries(kv, f"schema.{event_type}.>"):
        parsed = keys.parse_versioned(entry.key)
        if parsed and parsed[1] == event_type:
            found.append(_record(entry))
    return sorted(found, key=lambda r: r.version)


async def show(kv: KeyValue, event_type: str, version: int | None = None) -> SchemaRecord:
    """One registered version (the latest when `version` is None); LookupError naming what is missing."""
    records = await versions(kv, event_type)
    if not records:
        raise LookupError(f"no schema registered for type {event_type!r}")
    if version is None:
        return records[-1]
    for record in records:
        if record.version == version:
            return record
    raise LookupError(f"{event_type} has no version {version} (registered: {[r.version for r in records]})")


async def diff_versions(kv: KeyValue, event_type: str, old: int, new: int) -> list[Change]:
    return diff((await show(kv, event_type, old)).schema, (await show(kv, event_type, new)).schema)


async def list_types(kv: KeyValue) -> list[TypeSummary]:
    by_type: dict[str, list[SchemaRecord]] = {}
    for entry in await keys.live_entries(kv, "schema.>"):
        record = _record(entry)
        by_type.setdefault(record.event_type, []).append(record)
    deprecated = await deprecated_versions(kv)
    summaries = []
    for event_type in sorted(by_type):
        records = sorted(by_type[event_type], key=lambda r: r.version)
        summaries.append(TypeSummary(event_type, [r.version for r in records], await get_mode(kv, event_type),
                                     records[-1].origin, sorted(v for t, v in deprecated if t == event_type)))
    return summaries


async def get_mode(kv: KeyValue, event_type: str) -> Mode:
    try:
        return Mode.parse((await kv.get(keys.mode_key(event_type))).value.decode())
    except NotFoundError:
        return Mode.parse(compatibility_mode(event_type))


async def set_mode(kv: KeyValue, event_type: str, mode: Mode | str) -> Mode:
    keys.check_type_name(event_type)
    mode = mode if isinstance(mode, Mode) else Mode.parse(mode)
    await kv.put(keys.mode_key(event_type), mode.value.encode())
    return mode


async def deprecate(kv: KeyValue, event_type: str, version: int, note: str = "") -> None:
    """Mark a version deprecated: its events still flow, and each source sending it raises one task."""
    registered = [r.version for r in await versions(kv, event_type)]
    if version not in registered:
        raise LookupError(f"{event_type} has no registered version {version} (registered: {registered})")
    if version == max(registered):
        raise ValueError(f"v{version} is the latest version of {event_type}; register a newer one before "
                         "deprecating it, so its senders have something to move to")
    value = orjson.dumps({"since": _now(), "note": note})
    await kv.put(keys.deprecated_key(event_type, version), value)


async def undeprecate(kv: KeyValue, event_type: str, version: int) -> None:
    """Lift a deprecation; the record of tasks raised for it goes too, so a new deprecation raises new ones."""
    await kv.delete(keys.deprecated_key(event_type, version))
    for entry in await keys.live_entries(kv, "task.>"):
        parsed = keys.parse_versioned(entry.key)
        if parsed and parsed[2] == version and keys.split_source(parsed[1])[1] == event_type:
            await kv.delete(entry.key)


async def deprecated_versions(kv: KeyValue) -> set[tuple[str, int]]:
    found = set()
    for entry in await keys.live_entries(kv, "deprecated.>"):
        parsed = keys.parse_versioned(entry.key)
        if parsed:
            found.add((parsed[1], parsed[2]))
    return found


def check_schema_document(schema: Any) -> dict[str, Any]:
    """The schema if it is a valid Draft 2020-12 JSON Schema object; ValueError naming where it is not."""
    if not isinstance(schema, Mapping):
        raise ValueError(f"a schema must be a JSON object, not {type(schema).__name__}")
    declared = schema.get("$schema", DRAFT_2020_12)
    if declared.rstrip("#") != DRAFT_2020_12:
        raise ValueError(f"$schema {declared!r}: only Draft 2020-12 ({DRAFT_2020_12}) is supported")
    try:
        Draft202012Validator.check_schema(schema)
    except MetaSchemaError as exc:
        where = "$" + "".join(f"[{p!r}]" if isinstance(p, str) else f"[{p}]" for p in exc.path)
        raise ValueError(f"not a valid JSON Schema at {where}: {exc.message}") from None
    return dict(schema)


def _builtin_problems(event_type: str, mode: Mode, stored: Mapping[int, SchemaRecord]) -> list[str]:
    """What registering the code's versions of a type over `stored` would break, under `mode`."""
    problems = []
    earlier: list[tuple[int, dict[str, Any]]] = []
    for version in versions_of(event_type):
        schema = data_schema(event_type, version)
        record = stored.get(version)
        if record is None or record.schema != schema:
            # A changed registered version must stay compatible with what it was, and with what came before.
            against = earlier + ([(version, record.schema)] if record is not None else [])
            problems.extend(f"{event_type} v{version} ({mode.value}): {i}" for i in check(schema, against, mode))
        earlier.append((version, schema))
    return problems


async def _ensure_mode(kv: KeyValue, event_type: str) -> Mode:
    """The registered mode; the code's declared mode is registered if there is none (an operator's choice wins)."""
    declared = Mode.parse(compatibility_mode(event_type))
    try:
        await kv.create(keys.mode_key(event_type), declared.value.encode())
    except KeyWrongLastSequenceError:
        return await get_mode(kv, event_type)
    return declared


def _record(entry: KeyValue.Entry) -> SchemaRecord:
    try:
        obj = orjson.loads(entry.value or b"")
        return SchemaRecord(obj["type"], int(obj["version"]), obj["schema"], obj["origin"], obj["registered_at"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"reading {entry.key} from {keys.BUCKET}: not a schema record ({exc})") from None


def _record_bytes(event_type: str, version: int, schema: Mapping[str, Any], origin: str) -> bytes:
    return orjson.dumps({"type": event_type, "version": version, "origin": origin, "registered_at": _now(),
                         "schema": schema})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")

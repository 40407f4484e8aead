"""Pure translation between SOAP answers / requests (plain dicts) and canonical events, driven by a mapping.

No I/O here: the transport turns zeep objects into dicts, and these functions interpret the
declarative mapping of config.py over them. Every failure is a ContractError naming the path.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from canonical import ContractError, Envelope
from connectors.erp.config import (
    FieldRef,
    FieldSpec,
    InboundOperation,
    OutboundOperation,
    OwnPostings,
    ResponseStatus,
    Template,
)

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_MISSING = object()  # a value that is absent
_RAISE = object()  # lookup default: absent is an error


# inbound: answer -> events

def records_at(response: dict[str, Any], path: str) -> list[dict[str, Any]]:
    """The record list at `path`; an absent or empty list is no records, anything else a ContractError."""
    value = lookup(response, path, default=None)
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise ContractError(f"expected a list of records, found {type(value).__name__}", path)
    return value


def inbound_event(op: InboundOperation, record: dict[str, Any], *, instance: str, source: str) -> dict[str, Any]:
    """One canonical event (as a dict for ingest) from one record. Same record, same id and key."""
    data = build(op.data, record)
    key = ":".join([instance, op.name, *(_text(lookup(record, p), p) for p in op.key)])
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
        "type": op.event_type,
        "source": source,
        "time": _as_datetime(lookup(record, op.time), op.time) if op.time else datetime.now(UTC),
        "subject": render(op.subject, data, where="subject"),
        "idempotency_key": key,
        "data": data,
    }


def posted_by_hub(own: OwnPostings, record: dict[str, Any], username: str) -> bool:
    """Whether a polled record is one the hub posted itself; a record without the field is the ERP's."""
    value = lookup(record, own.path, default=None)
    if value is None or isinstance(value, dict | list):
        return False
    text = str(plain(value)).strip()
    if own.prefix is not None:
        return text.startswith(own.prefix)
    return text == (own.equals if own.equals is not None else username)


def next_cursor(op: InboundOperation, records: list[dict[str, Any]], current: Any) -> Any:
    """The cursor after a page: the cursor field of its last record."""
    if not records:
        return current
    return plain(lookup(records[-1], op.cursor.field))


def poll_request(op: InboundOperation, cursor: Any) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for target, value in op.request.items():
        _put(params, target, value)
    _put(params, op.cursor.param, cursor)
    if op.page_size_param:
        _put(params, op.page_size_param, op.page_size)
    return params


# outbound: event -> request, answer -> outcome

def select_outbound(ops: list[OutboundOperation], event: Envelope) -> OutboundOperation | None:
    """The first operation for the event's type whose `when` conditions hold."""
    source = event_source(event)
    for op in ops:
        if op.event_type != event.type:
            continue
        if all(plain(lookup(source, path, default=None)) in allowed for path, allowed in op.when.items()):
            return op
    return None


def event_source(event: Envelope) -> dict[str, Any]:
    return event.model_dump(mode="python")


def outbound_request(op: OutboundOperation, event: Envelope) -> dict[str, Any]:
    return build(op.request, event_source(event))


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """What the ERP said about a posting that was not a fault."""

    document: str | None
    error_code: str | None = None
    error_text: str = ""


def write_outcome(op: OutboundOperation, response: dict[str, Any]) -> WriteOutcome:
    """The document number, or the error the ERP reported inside its answer."""
    document = lookup(response, op.document, default=None) if op.document else None
    document = None if document is None else str(plain(document))
    if op.status is None or _succeeded(op.status, response):
        return WriteOutcome(document)
    code = _first(lookup(response, op.status.code, default=None))
    text = _first(lookup(response, op.status.message, default=None))
    return WriteOutcome(document, str(code) if code is not None else "UNKNOWN", str(text or ""))


# the mapping language

def build(template: Template, source: dict[str, Any]) -> dict[str, Any]:
    """A nested dict from a template of dotted target keys; optional values that are absent are left out."""
    out: dict[str, Any] = {}
    for target, ref in template.items():
        value = resolve(ref, source, where=target)
        if value is not _MISSING:
            _put(out, target, value)
    return out


def resolve(ref: FieldRef, source: dict[str, Any], *, where: str) -> Any:
    spec = FieldSpec(path=ref) if isinstance(ref, str) else ref
    value = _raw_value(spec, source, where)
    if value is _MISSING or value is None:
        if spec.default is not None:
            return spec.default
        if spec.optional:
            return _MISSING
        raise ContractError(f"no value at {spec.path or spec.each or spec.format}", where)
    return _transform(spec, value, source, where)


def lookup(source: Any, path: str | None, default: Any = _RAISE) -> Any:
    """The value at a dotted path; a ContractError naming the path when absent and no default is given."""
    value = source
    for part in (path or "").split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, list) and value and isinstance(value[0], dict) and part in value[0]:
            value = value[0][part]  # a name under a list reads its first element
        elif default is not _RAISE:
            return default
        else:
            raise ContractError("field is missing", path or "")
    return value


def render(template: str, source: dict[str, Any], *, where: str) -> str:
    """Fill {dotted.path} placeholders from the source; `{path|sign}` gives + or -, `{path|abs}` the magnitude."""
    try:
        return _PLACEHOLDER.sub(lambda m: _placeholder(m.group(1), source), template)
    except ContractError as exc:
        raise ContractError(f"template {template!r}: {exc.where}: {exc.reason}", where) from None


def _placeholder(expression: str, source: dict[str, Any]) -> str:
    path, _, filter_name = expression.partition("|")
    value = lookup(source, path)
    if not filter_name:
        return _text(value, path)
    number = _number(value, path)
    if filter_name == "sign":
        return "-" if number < 0 else "+"
    if filter_name == "abs":
        return str(plain(abs(number)))
    raise ContractError(f"unknown filter {filter_name!r} (known: sign, abs)", expression)


def plain(value: Any) -> Any:
    """JSON-ready scalars: integral decimals as int, others as float, dates as ISO text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _raw_value(spec: FieldSpec, source: dict[str, Any], where: str) -> Any:
    if spec.const is not None:
        return spec.const
    if spec.format is not None:
        return render(spec.format, source, where=where)
    if spec.each is not None:
        items = lookup(source, spec.each, default=_MISSING)
        if items is _MISSING:
            return _MISSING
        items = items if isinstance(items, list) else [items]
        return [build(spec.fields or {}, item) for item in items]
    return lookup(source, spec.path, default=_MISSING)


def _transform(spec: FieldSpec, value: Any, source: dict[str, Any], where: str) -> Any:
    if spec.map is not None:
        mapped = spec.map.get(str(plain(value)), spec.default)
        if mapped is None:
            raise ContractError(f"value {plain(value)!r} has no entry in the map ({sorted(spec.map)})", where)
        value = mapped
    if spec.negate_if is not None and plain(lookup(source, spec.negate_if.path, default=None)) == spec.negate_if.equals:
        value = -_number(value, where)
    if spec.abs:
        value = abs(_number(value, where))
    if spec.sign is not None:
        value = spec.sign[0] if _number(value, where) >= 0 else spec.sign[1]
    return _convert(spec.type, value, where) if spec.type else plain(value)


def _convert(kind: str, value: Any, where: str) -> Any:
    try:
        if kind == "int":
            number = _number(value, where)
            if number != int(number):
                raise ValueError(f"{value!r} is not a whole number")
            return int(number)
        if kind == "float":
            return float(_number(value, where))
        if kind == "str":
            return str(plain(value))
        if kind == "bool":
            return value if isinstance(value, bool) else str(value).strip().lower() in ("true", "1", "yes", "x")
        if kind == "date":
            return plain(value)[:10] if _is_date_only(value) else _as_datetime(value, where).date().isoformat()
        return _as_datetime(value, where).isoformat()
    except (TypeError, ValueError) as exc:
        raise ContractError(f"cannot make {kind} of {plain(value)!r}: {exc}", where) from None


def _is_date_only(value: Any) -> bool:
    return (isinstance(value, date) and not isinstance(value, datetime)) or (isinstance(value, str) and len(value) == 10)


def _number(value: Any, where: str) -> Decimal:
    try:
        return Decimal(str(plain(value)))
    except ArithmeticError:
        raise ContractError(f"{plain(value)!r} is not a number", where) from None


def _as_datetime(value: Any, where: str | None) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise ContractError(f"{value!r} is not a date-time", where or "") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _succeeded(status: ResponseStatus, response: dict[str, Any]) -> bool:
    flag = lookup(response, status.success)
    return flag if isinstance(flag, bool) else str(flag).strip().lower() in ("true", "1", "s", "success")


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else (None if isinstance(value, list) else value)


def _text(value: Any, where: str) -> str:
    if value is None or isinstance(value, dict | list):
        raise ContractError(f"expected a scalar, found {type(value).__name__}", where)
    return str(plain(value))


def _put(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = target
    for name in parents:
        node = node.setdefault(name, {})
    node[last] = value

"""Pure helpers for translating a peer's event feed: per-item results, and errors that say where.

A feed (one webhook body, or one page of a polled feed) is a list of items; each item becomes
zero or more canonical events or one reject, so one bad item never holds back the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from canonical import Envelope, EventError

ItemTranslator = Callable[[Mapping[str, Any]], list[Envelope]]


class RawModel(BaseModel):
    """Base of a peer's payload shapes; unknown fields are ignored because peers add fields over time."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class FeedItem(RawModel):
    """The envelope a peer puts around each of its events, in webhooks and in feed pages alike."""

    id: str = Field(min_length=1, max_length=100)
    type: str = Field(min_length=1, max_length=100)
    created_at: AwareDatetime
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """Who sent a feed: the system name (in idempotency keys and `source`) and its location ids."""

    system: str
    locations: Mapping[str, str] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return f"urn:peer:{self.system}"

    def location(self, peer_id: str) -> str:
        return self.locations.get(peer_id, peer_id)

    def key(self, item: FeedItem, line: int | str, event_type: str) -> str:
        """Same fact, same key, whether the item came by webhook or by polling."""
        return f"{self.system}:{item.id}:{line}:{event_type}"


@dataclass(frozen=True, slots=True)
class Reject:
    """An item that could not be translated, with its own bytes for the dead letter."""

    index: int
    raw: bytes
    error: EventError


@dataclass(slots=True)
class Translated:
    events: list[Envelope] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


def feed_items(body: Any, where: str = "$") -> list[Any]:
    """The item list of a webhook body or feed page: `{"events": [...]}`; an EventError naming what is wrong."""
    if not isinstance(body, dict):
        raise EventError(f"expected a JSON object, got {type(body).__name__}", where)
    items = body.get("events")
    if not isinstance(items, list):
        raise EventError("expected a list of events", f"{where}.events")
    return items


def translate_items(items: Sequence[Any], translate: ItemTranslator) -> Translated:
    """Translate each item on its own; errors are prefixed with the item's position."""
    out = Translated()
    for index, item in enumerate(items):
        try:
            if not isinstance(item, Mapping):
                raise EventError(f"expected an object, got {type(item).__name__}")
            out.events.extend(translate(item))
        except EventError as exc:
            where = f"events[{index}]" + (f".{exc.where}" if exc.where else "")
            error = type(exc)(exc.reason, where)
            out.rejects.append(Reject(index, orjson.dumps(item), error))
    return out


M = TypeVar("M", bound="RawModel")


def parse_raw(model: type[M], value: Any, where: str = "") -> M:
    """Validate a peer's payload; the first problem becomes an EventError with its dotted path."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(_part(p) for p in first["loc"]).replace(".[", "[")
        full = ".".join(p for p in (where, path) if p).replace(".[", "[")
        raise EventError(first["msg"], full) from None


def _part(part: int | str) -> str:
    return f"[{part}]" if isinstance(part, int) else str(part)

"""W3C trace context for events: every event carries a `traceparent` from ingress to delivery.

A source that sends one keeps it; an event without one (or with a malformed one) gets a new trace
at ingest, so a delivery to an HTTP or SOAP target can always be followed back to its ingress.
While an event is delivered (`traced(event)`), `inject_traceparent`, an httpx request hook, puts
its traceparent on every request a sink's client makes.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import httpx

from canonical import Envelope

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16
_CURRENT: ContextVar[str | None] = ContextVar("hub_traceparent", default=None)


def new_traceparent() -> str:
    """A new sampled trace: version 00, random trace id and parent id."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def is_valid(traceparent: str | None) -> bool:
    """True for a traceparent the W3C spec lets a receiver continue (all-zero ids and version ff are invalid)."""
    if not traceparent:
        return False
    match = _TRACEPARENT.match(traceparent)
    return bool(match) and match[1] != "ff" and match[2] != _ZERO_TRACE and match[3] != _ZERO_SPAN


def trace_id(traceparent: str | None) -> str | None:
    """The 32-hex trace id of a valid traceparent, else None."""
    return traceparent.split("-")[1] if traceparent and is_valid(traceparent) else None


def ensure_trace(event: Envelope) -> Envelope:
    """The event itself when it carries a valid traceparent, else a copy starting a new trace."""
    if is_valid(event.trace):
        return event
    return event.model_copy(update={"trace": new_traceparent()})


@contextmanager
def traced(event: Envelope) -> Iterator[None]:
    """Within this block, HTTP requests made with `inject_traceparent` carry the event's traceparent."""
    token = _CURRENT.set(event.trace if is_valid(event.trace) else None)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current_traceparent() -> str | None:
    return _CURRENT.get()


async def inject_traceparent(request: httpx.Request) -> None:
    """httpx request hook: `traceparent` of the event being delivered, unless the request has one already."""
    traceparent = _CURRENT.get()
    if traceparent and "traceparent" not in request.headers:
        request.headers["traceparent"] = traceparent

"""Inventory workflows, one module each. A route reads canonical events and says where they go.

Routes address targets by role (`erp`, `commerce`, `wms`, `supplier`, `planner`, ...); the hub's
config binds each role to connector instances. A route never does I/O: it returns deliveries,
and the pipeline publishes them. Routes read the envelope's headers-level fields (type, subject)
and its data; they may emit derived events (a content enricher) as deliveries of a new event.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from canonical import Envelope


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one target: by `role` (bound in config) or by connector name (`target`)."""

    event: Envelope
    role: str | None = None
    target: str | None = None
    route: str = ""


@dataclass(frozen=True, slots=True)
class Derived:
    """A new event a route derives from the one it read; it re-enters EVENTS like any other."""

    event: Envelope
    route: str = ""


class Route(Protocol):
    name: str

    def route(self, event: Envelope) -> Iterable[Delivery | Derived]: ...


@dataclass(slots=True)
class ForwardRoute:
    """A plain forwarding route from config: event types matching any glob go to the named targets."""

    name: str
    match: Sequence[str]
    targets: Sequence[str] = ()
    roles: Sequence[str] = ()
    _cache: dict[str, bool] = field(default_factory=dict)

    def matches(self, event_type: str) -> bool:
        hit = self._cache.get(event_type)
        if hit is None:
            hit = any(fnmatch.fnmatchcase(event_type, pattern) for pattern in self.match)
            self._cache[event_type] = hit
        return hit

    def route(self, event: Envelope) -> Iterable[Delivery]:
        if not self.matches(event.type):
            return ()
        return [Delivery(event, target=t, route=self.name) for t in self.targets] + [
            Delivery(event, role=r, route=self.name) for r in self.roles
        ]

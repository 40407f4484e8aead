"""The shape shared by workflow routes: a message router by event type onto roles, plus derivations."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from canonical import Envelope
from routes import Delivery, Derived

Deriver = Callable[[Envelope], Iterable[Delivery | Derived]]


@dataclass
class WorkflowRoute:
    """Sends each event type to the roles that must know it, and lets derivers add new events."""

    name: str
    by_type: Mapping[str, Sequence[str]]
    derivers: Mapping[str, Sequence[Deriver]] = field(default_factory=dict)
    # task.raised goes by its kind (a count to the warehouse, an exposure hold to the shop);
    # "*" names the roles that get every task.
    by_task_kind: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def route(self, event: Envelope) -> list[Delivery | Derived]:
        roles = list(self.by_type.get(event.type, ()))
        if event.type == "task.raised" and self.by_task_kind:
            roles += [*self.by_task_kind.get(event.data.get("kind", ""), ()), *self.by_task_kind.get("*", ())]
        out: list[Delivery | Derived] = [Delivery(event, role=role, route=self.name) for role in dict.fromkeys(roles)]
        for derive in self.derivers.get(event.type, ()):
            out.extend(derive(event))
        return out


def derived_key(event: Envelope, what: str) -> str:
    """A derived event's idempotency key: the same input always derives the same key."""
    return f"{event.idempotency_key}/{what}"

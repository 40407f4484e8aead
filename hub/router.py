"""The content-based router: forwarding routes from config and workflow routes from routes/."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable

from canonical import Envelope
from hub.config import HubConfig
from routes import Delivery, Derived, ForwardRoute, Route

log = logging.getLogger("hub.router")


class RouteError(ValueError):
    pass


def load_workflow(name: str) -> Route:
    """A workflow route by module name in routes/ (or a dotted path to a module of one's own)."""
    module_name = name if "." in name else f"routes.{name}"
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RouteError(f"workflows: no route module {module_name!r} ({exc})") from None
    route = getattr(module, "ROUTE", None)
    if route is None:
        raise RouteError(f"workflows: module {module_name!r} has no ROUTE")
    return route


class Router:
    def __init__(self, routes: list[Route], targets_for_role: Callable[[str, str], list[str]]) -> None:
        self.routes = routes
        self._targets_for_role = targets_for_role

    @classmethod
    def from_config(cls, config: HubConfig, targets_for_role: Callable[[str, str], list[str]]) -> Router:
        routes: list[Route] = [ForwardRoute(r.name, r.match, r.targets, r.roles) for r in config.routes]
        routes += [load_workflow(name) for name in config.workflows]
        return cls(routes, targets_for_role)

    def route(self, event: Envelope) -> list[Delivery | Derived]:
        out: list[Delivery | Derived] = []
        for route in self.routes:
            out.extend(route.route(event))
        return out

    def resolve(self, delivery: Delivery) -> Iterable[str]:
        if delivery.target:
            return (delivery.target,)
        return self._targets_for_role(delivery.role or "", delivery.event.type)

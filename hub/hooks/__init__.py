"""The hook slot of the pipeline: in-process scorers that enrich events and propose actions.

The pipeline calls `HookStage.process(event)` for every accepted event, after upcasting and
before routing. What comes back is the enriched event, extra deliveries or derived events
(actions under policy, tasks for people), and AUDIT records; the pipeline stores all of them
before it acks the input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from canonical import Envelope
from routes import Delivery, Derived


@dataclass(slots=True)
class HookOutput:
    event: Envelope
    extra: list[Delivery | Derived] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)


class HookStage(Protocol):
    async def start(self, state: Any) -> None: ...

    async def snapshot(self) -> None: ...

    async def stop(self) -> None: ...

    def process(self, event: Envelope) -> HookOutput: ...


class NoHooks:
    """The stage when no hook is configured: events pass unchanged."""

    async def start(self, state: Any) -> None:
        return None

    async def snapshot(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def process(self, event: Envelope) -> HookOutput:
        return HookOutput(event)


def build_hook_stage(config: dict[str, Any], metrics: Any = None) -> HookStage:
    """The stage for the config's `[hooks]` table: NoHooks when no hook is enabled.

    `metrics` (optional, a hub.metrics.Metrics) receives hook errors, timeouts and decisions as counters.

    Raises hub.hooks.config.HooksConfigError (a hub.config.ConfigError) naming each wrong key.
    """
    from hub.hooks.config import parse_hooks_config
    from hub.hooks.stage import GovernedHookStage

    section, params, classes = parse_hooks_config(config or {})
    if not section.enabled:
        return NoHooks()
    hooks = [classes[name](params[name], section.catalog) for name in section.enabled]
    return GovernedHookStage(hooks, section.policy, action_roles=section.action_roles,
                             budget_ms=section.budget_ms, trip_after=section.trip_after, metrics=metrics)

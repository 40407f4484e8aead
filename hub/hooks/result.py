"""What a hook returns: a scored, explained result with a recommended action and a confidence."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import orjson
from pydantic import BaseModel, ConfigDict

from canonical import Envelope
from hub.hooks.catalog import Catalog

# The closed list of reason codes. A hook that reports anything else is a bug the stage refuses.
REASONS: frozenset[str] = frozenset({
    "demand_spike", "demand_drop", "zero_sales_run", "level_shift_up", "level_shift_down",
    "return_rate_high",
    "phantom_stock_suspected", "count_mismatch", "receipt_mismatch",
    "condition_unsellable", "condition_opened", "local_demand_high", "local_demand_low",
    "cover_high", "cover_low", "margin_low",
    "margin_at_risk", "service_level_risk", "transfer_destination_at_risk",
    "safety_stock_change",
    "insufficient_history",
    "hook_error", "hook_timeout",
})

# Reasons that explain a quiet result rather than flag anything.
INFO_REASONS: frozenset[str] = frozenset({"insufficient_history"})

# Actions a hook may recommend; which of them the hub takes on its own is the policy's decision.
ACTIONS: frozenset[str] = frozenset({
    "none", "review", "recount", "raise_safety_stock", "hold_marketplace_exposure",
    "reprioritise_transfer", "route_return", "auto_resolve", "escalate",
})


@dataclass(slots=True)
class HookResult:
    """One hook's verdict on one event.

    `score` grows without bound with the strength of the evidence (a tail surprise in standard-deviation
    units or -log10 of a probability), so two strong anomalies stay comparable. `evidence` maps each
    reason to the numbers behind it.
    """

    hook: str
    model_version: str
    config_hash: str
    key: str
    score: float
    reasons: tuple[str, ...] = ()
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)
    action: str = "none"
    confidence: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def flagged(self) -> bool:
        return self.error is None and any(r not in INFO_REASONS for r in self.reasons)

    def compact(self) -> dict[str, Any]:
        """The enrichment carried on the event: small, enough for a route or a person to act on."""
        out: dict[str, Any] = {"score": round(self.score, 4), "reasons": list(self.reasons), "action": self.action,
                               "confidence": round(self.confidence, 4), "model_version": self.model_version}
        if self.error is not None:
            out["error"] = self.error
        return out


class Hook(Protocol):
    """A deterministic in-process scorer. Time is the event's own `time`; randomness, if any, is seeded."""

    name: ClassVar[str]
    model_version: ClassVar[str]
    event_types: ClassVar[frozenset[str]]
    params_model: ClassVar[type[BaseModel]]
    config_hash: str

    def new_state(self) -> Any:
        """An empty KeyedState of the width this hook uses."""
        ...

    def score(self, event: Envelope, state: Any) -> HookResult | None:
        """Score one event against `state` (the hook's own KeyedState); None when the event says nothing."""
        ...

    def score_batch(self, events: Sequence[Envelope], state: Any) -> list[HookResult | None]: ...


class NoParams(BaseModel):
    """The params model of a hook that takes none."""

    model_config = ConfigDict(extra="forbid")


class BaseHook:
    """Shared plumbing of the built-in hooks: construction from config, the batch form, the result constructor.

    Every registered hook class is constructed as `cls(params, catalog)`, `params` an instance of its
    `params_model`.
    """

    name: ClassVar[str] = ""
    model_version: ClassVar[str] = ""
    event_types: ClassVar[frozenset[str]] = frozenset()
    params_model: ClassVar[type[BaseModel]] = NoParams

    def __init__(self, params: Any = None, catalog: Catalog | None = None) -> None:
        self.p = params if params is not None else self.params_model()
        self.catalog = catalog or Catalog()
        self.items = self.catalog.index()
        self.config_hash = config_hash(self.model_version, self.p, self.catalog)

    def score(self, event: Envelope, state: Any) -> HookResult | None:
        raise NotImplementedError

    def score_batch(self, events: Iterable[Envelope], state: Any) -> list[HookResult | None]:
        return [self.score(e, state) for e in events]

    def result(self, key: str, score: float, reasons: tuple[str, ...], evidence: dict[str, dict[str, Any]],
               action: str, confidence: float, **details: Any) -> HookResult:
        return HookResult(self.name, self.model_version, self.config_hash, key, score, reasons, evidence,
                          action, confidence, details)


def config_hash(model_version: str, params: BaseModel, catalog: Catalog) -> str:
    """A short, stable hash of everything that configures a hook, so an audit record pins its exact setup."""
    blob = orjson.dumps({"model": model_version, "params": params.model_dump(mode="json"),
                         "catalog": catalog.model_dump(mode="json")}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(blob).hexdigest()[:16]

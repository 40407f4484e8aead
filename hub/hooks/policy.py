"""The governance policy: for each hook and action, does the hub act (auto), ask a person (review) or only
record (shadow)? Versioned config; the first matching rule whose thresholds the result meets decides."""

from __future__ import annotations

import fnmatch
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.hooks.result import ACTIONS, HookResult

Mode = Literal["auto", "review", "shadow"]

# Actions the hub can carry out itself; the others only make sense for a person.
AUTO_ACTIONS: frozenset[str] = frozenset({"raise_safety_stock", "hold_marketplace_exposure",
                                          "reprioritise_transfer", "route_return", "recount", "auto_resolve"})


class PolicyRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="Named in every decision this rule allows.")
    hook: str = Field(default="*", description="Hook name or glob.")
    action: str = Field(default="*", description="Recommended action or glob.")
    mode: Mode
    min_confidence: float = Field(default=0.0, ge=0, le=1, description="The result's confidence must reach this.")
    min_score: float = Field(default=0.0, ge=0, description="The result's score must reach this.")

    @field_validator("action")
    @classmethod
    def _known_action(cls, value: str) -> str:
        if not any(fnmatch.fnmatchcase(a, value) for a in ACTIONS):
            raise ValueError(f"no action matches {value!r} (actions: {', '.join(sorted(ACTIONS))})")
        return value

    @model_validator(mode="after")
    def _auto_is_possible(self) -> PolicyRule:
        if self.mode == "auto" and "*" not in self.action and self.action not in AUTO_ACTIONS:
            raise ValueError(f"rule {self.name}: action {self.action} cannot be taken automatically "
                             f"(auto actions: {', '.join(sorted(AUTO_ACTIONS))})")
        return self

    def matches(self, result: HookResult) -> bool:
        return (fnmatch.fnmatchcase(result.hook, self.hook) and fnmatch.fnmatchcase(result.action, self.action)
                and result.confidence >= self.min_confidence and result.score >= self.min_score)


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(default="unversioned", min_length=1, description="Named in every decision.")
    default: Mode = Field(default="shadow", description="Mode when no rule matches.")
    rules: list[PolicyRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> Policy:
        names = [r.name for r in self.rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(dupes)}")
        return self

    def decide(self, result: HookResult) -> tuple[str, str]:
        """(decision, rule): decision is auto, review, shadow, or none when there is nothing to decide.

        An action the hub cannot take itself that lands on `auto` (through a glob) becomes review: a person
        is asked rather than nothing done.
        """
        if result.error is not None or result.action == "none" or not result.flagged:
            return "none", ""
        for rule in self.rules:
            if rule.matches(result):
                if rule.mode == "auto" and result.action not in AUTO_ACTIONS:
                    return "review", rule.name
                return rule.mode, rule.name
        mode = self.default
        if mode == "auto" and result.action not in AUTO_ACTIONS:
            mode = "review"
        return mode, "default"

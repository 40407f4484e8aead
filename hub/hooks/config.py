"""The `[hooks]` table of the hub's config: which hooks run, their parameters, the catalog and the policy.

    [hooks]
    enabled = ["demand", "phantom", "safety_stock"]   # run in this order
    budget_ms = 20

    [hooks.demand]             # parameters of one hook (its params model)
    threshold = 3.5

    [hooks.policy]
    version = "2026-11-01"
    default = "shadow"
    [[hooks.policy.rules]]
    name = "hold-constrained"
    hook = "demand"
    action = "hold_marketplace_exposure"
    mode = "auto"
    min_confidence = 0.8
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hub.config import ConfigError, describe_errors
from hub.hooks.actions import DEFAULT_ROLES
from hub.hooks.catalog import Catalog
from hub.hooks.policy import Policy
from hub.hooks.registry import available_hooks


class HooksConfigError(ConfigError):
    """A `[hooks]` table that cannot be used; the message names each key that was wrong and why."""


class HooksConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: list[str] = Field(default_factory=list, description="Hooks to run, in this order.")
    budget_ms: float = Field(default=20.0, gt=0, description="Time one hook may take on one event.")
    trip_after: int = Field(default=5, ge=1, description="Consecutive overruns after which a hook is bypassed.")
    catalog: Catalog = Field(default_factory=Catalog)
    policy: Policy = Field(default_factory=Policy)
    action_roles: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ROLES),
                                         description="Which role receives each auto action.")
    params: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Per-hook tables, by hook name.")

    @model_validator(mode="before")
    @classmethod
    def _hook_tables(cls, raw: Any) -> Any:
        """Any other key is a hook's own table; gather them under `params`."""
        if not isinstance(raw, dict):
            return raw
        known = set(cls.model_fields)
        params = dict(raw.get("params", {}))
        params.update({k: v for k, v in raw.items() if k not in known})
        return {**{k: v for k, v in raw.items() if k in known}, "params": params}


def parse_hooks_config(section: dict[str, Any]) -> tuple[HooksConfig, dict[str, BaseModel], dict[str, type]]:
    """Validate the section; returns it with each enabled hook's validated params and class."""
    try:
        config = HooksConfig.model_validate(section)
    except ValidationError as exc:
        raise HooksConfigError(describe_errors(exc, None, prefix="hooks")) from None
    classes = available_hooks()
    problems = [f"hooks.{name}: no hook named {name!r} (known: {', '.join(sorted(classes))})"
                for name in (*config.enabled, *config.params) if name not in classes]
    problems += [f"hooks.enabled: {name!r} is listed twice" for name in set(config.enabled)
                 if config.enabled.count(name) > 1]
    problems += [f"hooks.enabled: {name} reads {need}'s state, so {need} must be enabled before it"
                 for i, name in enumerate(config.enabled) if name in classes
                 for need in getattr(classes[name], "needs", ()) if need not in config.enabled[:i]]
    problems += [f"hooks.policy.rules[{i}].hook: {rule.hook!r} matches no enabled hook"
                 for i, rule in enumerate(config.policy.rules)
                 if "*" not in rule.hook and rule.hook not in config.enabled]
    if problems:
        raise HooksConfigError("\n".join(problems))
    params: dict[str, BaseModel] = {}
    for name in config.enabled:
        try:
            params[name] = classes[name].params_model.model_validate(config.params.get(name, {}))
        except ValidationError as exc:
            problems.append(describe_errors(exc, None, prefix=f"hooks.{name}"))
    if problems:
        raise HooksConfigError("\n".join(problems))
    return config, params, {name: classes[name] for name in config.enabled}


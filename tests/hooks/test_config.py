import pytest

from hub.config import ConfigError
from hub.hooks import NoHooks, build_hook_stage
from hub.hooks.config import HooksConfigError, parse_hooks_config
from hub.hooks.stage import GovernedHookStage


def test_nothing_enabled_gives_the_pass_through_stage():
    assert isinstance(build_hook_stage({}), NoHooks)
    assert isinstance(build_hook_stage({"policy": {"version": "p1"}}), NoHooks)


def test_hook_tables_become_params_and_order_is_kept():
    config, params, classes = parse_hooks_config({"enabled": ["phantom", "demand"], "demand": {"threshold": 5}})
    assert list(classes) == ["phantom", "demand"] and params["demand"].threshold == 5
    stage = build_hook_stage({"enabled": ["phantom", "demand"], "demand": {"threshold": 5}})
    assert isinstance(stage, GovernedHookStage) and [h.name for h in stage.hooks] == ["phantom", "demand"]


@pytest.mark.parametrize(("section", "message"), [
    ({"enabled": ["demnd"]}, "hooks.demnd: no hook named 'demnd' (known: demand, disposition"),
    ({"enabled": ["demand"], "demand": {"threshold": -1}}, "hooks.demand.threshold: Input should be greater than 0"),
    ({"enabled": ["demand"], "demand": {"treshold": 3}}, "hooks.demand.treshold: Extra inputs are not permitted"),
    ({"enabled": ["demand", "demand"]}, "hooks.enabled: 'demand' is listed twice"),
    ({"budget_ms": 0}, "hooks.budget_ms: Input should be greater than 0"),
    ({"enabled": ["demand"], "policy": {"rules": [{"name": "r", "action": "review", "mode": "auto"}]}},
     "action review cannot be taken automatically"),
    ({"enabled": ["demand"], "policy": {"rules": [{"name": "r", "action": "relax", "mode": "auto"}]}},
     "hooks.policy.rules.0.action: Value error, no action matches 'relax'"),
    ({"enabled": ["demand"], "policy": {"rules": [{"name": "r", "mode": "shadow"}, {"name": "r", "mode": "auto"}]}},
     "rule names must be unique; repeated: r"),
    ({"enabled": ["demand"], "policy": {"rules": [{"name": "r", "hook": "phantom", "mode": "shadow"}]}},
     "hooks.policy.rules[0].hook: 'phantom' matches no enabled hook"),
    ({"enabled": ["demand"], "policy": {"rules": [{"name": "r", "mode": "sometimes"}]}},
     "hooks.policy.rules.0.mode: Input should be 'auto', 'review' or 'shadow'"),
])
def test_bad_config_names_the_key_and_what_was_wrong(section, message):
    with pytest.raises(HooksConfigError) as info:
        build_hook_stage(section)
    assert message in str(info.value)
    assert isinstance(info.value, ConfigError)


def test_safety_stock_needs_demand_enabled_before_it():
    with pytest.raises(HooksConfigError, match="safety_stock reads demand's state, so demand must be enabled before it"):
        build_hook_stage({"enabled": ["safety_stock"]})
    with pytest.raises(HooksConfigError, match="demand must be enabled before it"):
        build_hook_stage({"enabled": ["safety_stock", "demand"]})


def test_config_hash_changes_with_params_and_catalog_only():
    a = build_hook_stage({"enabled": ["demand"]}).hooks[0].config_hash
    b = build_hook_stage({"enabled": ["demand"], "demand": {"threshold": 4}}).hooks[0].config_hash
    c = build_hook_stage({"enabled": ["demand"], "catalog": {"default_category": "x"}}).hooks[0].config_hash
    assert len({a, b, c}) == 3
    assert a == build_hook_stage({"enabled": ["demand"], "budget_ms": 5}).hooks[0].config_hash

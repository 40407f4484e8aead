import pytest

from hub.hooks.policy import Policy
from hub.hooks.result import HookResult


def result(hook="demand", action="hold_marketplace_exposure", score=5.0, confidence=0.9, reasons=("demand_spike",)):
    return HookResult(hook, "m1", "h", "SKU@S", score, reasons, {}, action, confidence)


POLICY = Policy.model_validate({"version": "2026-11", "default": "shadow", "rules": [
    {"name": "hold-sure", "hook": "demand", "action": "hold_marketplace_exposure", "mode": "auto",
     "min_confidence": 0.8, "min_score": 4},
    {"name": "ask-planner", "hook": "demand", "mode": "review"},
    {"name": "auto-everything", "hook": "phantom", "action": "*", "mode": "auto"},
]})


@pytest.mark.parametrize(("res", "expected"), [
    (result(), ("auto", "hold-sure")),
    (result(confidence=0.5), ("review", "ask-planner")),
    (result(score=3.9), ("review", "ask-planner")),
    (result(hook="return_rate", action="review", reasons=("return_rate_high",)), ("shadow", "default")),
    (result(hook="phantom", action="recount", reasons=("phantom_stock_suspected",)), ("auto", "auto-everything")),
    (result(hook="phantom", action="review", reasons=("count_mismatch",)), ("review", "auto-everything")),
    (result(action="none", reasons=()), ("none", "")),
    (result(reasons=("insufficient_history",)), ("none", "")),
])
def test_first_matching_rule_decides(res, expected):
    assert POLICY.decide(res) == expected


def test_error_results_are_never_acted_on():
    res = result()
    res.error = "boom"
    assert POLICY.decide(res) == ("none", "")

import math
from statistics import NormalDist

import pytest

from hub.hooks.demand import DemandHook
from hub.hooks.safety_stock import SafetyStockHook, SafetyStockParams

from .factory import day_of_sales


def test_safety_stock_and_reorder_point_follow_the_demand_level_and_spread():
    demand = DemandHook()
    hook = SafetyStockHook(SafetyStockParams(lead_time_days=4, service_level=0.95))
    states = {"demand": demand.new_state(), "safety_stock": None}
    hook.bind({"demand": demand}, states)
    states["safety_stock"] = hook.new_state()
    results = []
    for d in range(30):
        for e in day_of_sales(d, 9):
            demand.score(e, states["demand"])
            if e.type in hook.event_types:
                results.append(hook.score(e, states["safety_stock"]))
    raised = [r for r in results if r is not None and r.flagged]
    assert raised[0].action == "raise_safety_stock"
    ev = raised[0].evidence["safety_stock_change"]
    spread = math.sqrt(ev["mean_daily_demand"])  # a constant series has the Poisson floor as its spread
    z = NormalDist().inv_cdf(0.95)
    assert ev["mean_daily_demand"] == pytest.approx(9, abs=0.5)
    assert ev["safety_stock"] == math.ceil(z * spread * 2)
    assert ev["reorder_point"] == math.ceil(ev["mean_daily_demand"] * 4 + ev["safety_stock"])
    assert len(raised) == 1  # a steady series does not keep recommending


def test_it_refuses_to_run_without_the_demand_hook():
    with pytest.raises(ValueError, match="needs the demand hook"):
        SafetyStockHook().bind({}, {})

import time

from hub.hooks import build_hook_stage
from hub.hooks.demand import DemandHook
from hub.hooks.policy import Policy
from hub.hooks.result import BaseHook
from hub.hooks.stage import GovernedHookStage
from hub.hooks.state import KeyedState
from hub.metrics import Metrics
from routes import Delivery, Derived

from .factory import day_of_sales, sale


class Exploding(BaseHook):
    name = "exploding"
    model_version = "x-1"
    event_types = frozenset({"stock.adjusted"})

    def new_state(self):
        return KeyedState(1)

    def score(self, event, state):
        raise ZeroDivisionError("the model divided by zero")


class Slow(Exploding):
    name = "slow"

    def score(self, event, state):
        time.sleep(0.03)
        return self.result(event.subject, 1.0, (), {}, "none", 1.0)


class SometimesSlow(Exploding):
    """Overruns its budget on every other call."""

    name = "sometimes_slow"

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def score(self, event, state):
        self.calls += 1
        if self.calls % 2:
            time.sleep(0.03)
        return self.result(event.subject, 1.0, (), {}, "none", 1.0)


class OffList(Exploding):
    name = "off_list"

    def score(self, event, state):
        return self.result(event.subject, 9.0, ("vibes",), {}, "review", 1.0)


def warmed(stage, on_hand=20, days=28):
    for d in range(days):
        for e in day_of_sales(d, 10, on_hand):
            stage.process(e)


def demand_stage(mode, action="hold_marketplace_exposure"):
    return build_hook_stage({"enabled": ["demand"], "budget_ms": 1000, "policy": {"version": "p7", "rules": [
        {"name": "the-rule", "hook": "demand", "action": action, "mode": mode}]}})


def test_a_raising_hook_does_not_stop_the_event_and_is_counted():
    metrics = Metrics()
    stage = GovernedHookStage([Exploding(), DemandHook()], Policy(), metrics=metrics, budget_ms=1000)
    out = stage.process(sale(0, 3))
    assert out.event.enrichments["exploding"]["error"] == "ZeroDivisionError: the model divided by zero"
    assert out.event.enrichments["exploding"]["reasons"] == ["hook_error"]
    assert "demand" in out.event.enrichments
    assert stage.metrics["hook_errors.exploding"] == 1
    assert metrics.total("hub_hook_errors_total", hook="exploding") == 1
    assert out.audit[0]["hook"] == "exploding" and out.audit[0]["error"] and out.audit[0]["decision"] == "none"


def test_an_overrunning_hook_is_marked_then_bypassed():
    stage = GovernedHookStage([Slow()], Policy(), budget_ms=5, trip_after=2)
    outs = [stage.process(sale(0, 1, n=i)) for i in range(4)]
    assert [o.event.enrichments["slow"]["reasons"] for o in outs] == [["hook_timeout"]] * 4
    assert "budget 5 ms" in outs[0].event.enrichments["slow"]["error"]
    assert "bypassed after 2" in outs[3].event.enrichments["slow"]["error"]
    assert stage.metrics["hook_timeouts.slow"] == 2 and stage.metrics["hook_bypassed.slow"] == 2


def test_only_consecutive_overruns_bypass_a_hook_and_each_hook_counts_its_own():
    sometimes = SometimesSlow()
    stage = GovernedHookStage([sometimes, Slow()], Policy(), budget_ms=5, trip_after=2)
    outs = [stage.process(sale(0, 1, n=i)) for i in range(6)]
    assert [o.event.enrichments["sometimes_slow"]["reasons"] for o in outs] == [["hook_timeout"], []] * 3
    assert sometimes.calls == 6 and stage.metrics["hook_bypassed.sometimes_slow"] == 0
    assert stage.metrics["hook_timeouts.slow"] == 2 and stage.metrics["hook_bypassed.slow"] == 4


def test_a_reason_off_the_closed_list_is_an_error_not_an_action():
    stage = GovernedHookStage([OffList()], Policy(default="review"))
    out = stage.process(sale(0, 1))
    assert out.extra == [] and "off-list reasons ['vibes']" in out.event.enrichments["off_list"]["error"]


def test_events_no_hook_reads_pass_untouched():
    stage = demand_stage("auto")
    from .factory import at, event

    ev = event("partner.acknowledged", {"partner": "P", "standard": "x12", "interchange_control": "1",
                                        "status": "accepted"}, at(0), "ack-1")
    out = stage.process(ev)
    assert out.event is ev and out.extra == [] and out.audit == []


def test_auto_action_is_a_delivery_to_its_role_with_a_derived_id():
    stage = demand_stage("auto")
    warmed(stage)
    spike = sale(28, 40, on_hand_after=10)
    out = stage.process(spike)
    assert out.event.enrichments["demand"]["action"] == "hold_marketplace_exposure"
    [delivery] = out.extra
    assert isinstance(delivery, Delivery) and delivery.role == "commerce" and delivery.route == "hook:demand"
    action = delivery.event
    assert action.type == "availability.published"
    assert action.data == {"sku": "SKU-1", "location": "S1", "available": 0, "channel": "marketplace"}
    assert action.causation_id == spike.id and action.time == spike.time
    assert action.id == action.idempotency_key and action.id.startswith("hook-demand-")
    again = demand_stage("auto")
    warmed(again)
    assert again.process(spike).extra[0].event.id == action.id
    kinds = [a["kind"] for a in out.audit]
    assert kinds == ["hook_result", "decision"]
    decision = out.audit[1]
    assert decision["decision"] == "auto" and decision["policy_version"] == "p7" and decision["rule"] == "the-rule"
    assert decision["evidence"]["demand_spike"]["observed"] == 40
    assert decision["outputs"] == [{"event_id": action.id, "event_type": "availability.published",
                                    "route": "hook:demand", "role": "commerce", "target": None}]


def test_review_action_is_a_task_for_a_planner_with_the_evidence():
    stage = demand_stage("review")
    warmed(stage)
    out = stage.process(sale(28, 40, on_hand_after=10))
    [derived] = out.extra
    assert isinstance(derived, Derived)
    task = derived.event
    assert task.type == "task.raised" and task.data["assignee_role"] == "planner"
    assert task.data["recommended_action"] == "hold_marketplace_exposure"
    assert task.data["evidence"]["evidence"]["demand_spike"]["expected"] > 9
    assert task.data["evidence"]["policy_version"] == "p7" and task.data["evidence"]["rule"] == "the-rule"
    assert out.audit[1]["decision"] == "review"


def test_shadow_mode_leaves_only_audit_records():
    stage = demand_stage("shadow")
    warmed(stage)
    out = stage.process(sale(28, 40, on_hand_after=10))
    assert out.extra == []
    assert [a["decision"] for a in out.audit] == ["shadow", "shadow"]
    assert out.event.enrichments["demand"]["reasons"] == ["demand_spike"]


def test_safety_stock_raise_goes_to_the_erp_as_a_replenishment_task():
    stage = build_hook_stage({"enabled": ["demand", "safety_stock"], "budget_ms": 1000, "policy": {"version": "p1", "rules": [
        {"name": "ss", "hook": "safety_stock", "action": "raise_safety_stock", "mode": "auto"}]}})
    deliveries = []
    for d in range(20):
        for e in day_of_sales(d, 10):
            deliveries += stage.process(e).extra
    [delivery] = deliveries
    assert delivery.role == "erp" and delivery.event.type == "task.raised"
    data = delivery.event.data
    assert data["kind"] == "replenishment" and data["evidence"]["safety_stock"] > 0
    assert data["evidence"]["reorder_point"] > data["evidence"]["safety_stock"]


def test_route_return_and_reprioritise_transfer_actions():
    from .factory import at, event

    stage = build_hook_stage({"enabled": ["disposition", "triage"], "budget_ms": 1000, "policy": {"version": "p1", "default": "auto"}})
    for d in range(30):
        for e in day_of_sales(d, 4, on_hand=2, location="S2"):
            stage.process(e)
    ret = event("return.received", {"sku": "SKU-1", "location": "S2", "return_id": "R9", "quantity": 1,
                                    "reason_code": "wrong_size", "condition": "new"}, at(30), "ret-9")
    [routed] = stage.process(ret).extra
    assert routed.role == "wms" and routed.event.type == "return.dispositioned"
    assert routed.event.data["disposition"] == "restock" and routed.event.data["reasons"][0] == "disposition-table-1 R7"
    transfer = event("transfer.requested", {"sku": "SKU-1", "location": "DC", "to_location": "S2",
                                            "transfer_id": "T1", "quantity": 10, "priority": 4}, at(30), "t-1")
    [moved] = stage.process(transfer).extra
    assert moved.role == "wms" and moved.event.data["priority"] == 1 and moved.event.data["transfer_id"] == "T1"

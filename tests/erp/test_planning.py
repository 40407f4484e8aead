"""Safety-stock changes against the reference ERP: the hub's task becomes a planning change, posted once."""

from __future__ import annotations

import pytest

from canonical import ContractError, new_event
from connectors.erp import ErpFault
from sim.erp import ReferenceErp
from tests.erp.conftest import MakeConnector, recorded
from tests.erp.tasks import raise_task, review


async def test_a_safety_stock_task_changes_the_planning_parameters_once(
        erp: ReferenceErp, make_connector: MakeConnector):
    connector = await make_connector("sap")
    first, second = raise_task(safety_stock=16, reorder_point=35, key="s1"), raise_task(key="s2")

    await connector.deliver(first, 1)
    await connector.deliver(second, 1)
    await connector.deliver(second, 2)  # a JetStream redelivery or a DLQ replay

    history = erp.state.planning_history("SKU-1001", "STORE-001")
    assert [(c.safety_stock_before, c.safety_stock, c.reorder_point_before, c.reorder_point) for c in history] == [
        (0, 16, 0, 35), (16, 20, 35, 41)]
    assert [c.external_reference for c in history] == [first.idempotency_key, second.idempotency_key]
    assert {c.entered_by for c in history} == {"hub"}
    params = erp.state.planning[("SKU-1001", "STORE-001")]
    assert (params.safety_stock, params.reorder_point) == (20, 41)
    ctx = recorded(connector)
    assert ctx.counted("erp_posted") == 2 and ctx.counted("erp_duplicates") == 1
    assert [c.outcome for c in erp.calls_to("MaterialPlanningChange")] == ["ok", "ok", "fault"]


async def test_a_timed_out_change_that_the_erp_did_make_is_not_made_twice(
        erp: ReferenceErp, make_connector: MakeConnector):
    connector = await make_connector("sap", timeout=0.3)
    erp.inject("delay", seconds=0.8, operation="MaterialPlanningChange")  # booked, but answered too late

    await connector.deliver(raise_task(), 1)  # the quick retry meets the duplicate check

    assert len(erp.state.planning_history("SKU-1001", "STORE-001")) == 1
    assert recorded(connector).counted("erp_duplicates") == 1


@pytest.mark.parametrize(("sku", "location", "safety_stock", "reorder_point", "code"), [
    ("SKU-9999", "STORE-001", 20, 41, "MaterialInvalid"),
    ("SKU-1001", "STORE-404", 20, 41, "PlantInvalid"),
    ("SKU-1001", "STORE-001", 20, 12, "PlanningInvalid"),
])
async def test_a_change_the_erp_refuses_is_a_permanent_fault_and_changes_nothing(
        erp: ReferenceErp, make_connector: MakeConnector, sku: str, location: str, safety_stock: int,
        reorder_point: int, code: str):
    connector = await make_connector("sap")
    with pytest.raises(ErpFault) as refused:
        await connector.deliver(raise_task(sku, location, safety_stock, reorder_point), 1)
    assert refused.value.code == code
    assert erp.state.planning_changes == []
    assert recorded(connector).counted("erp_faults") == 1


async def test_a_locked_item_is_refused_by_name(erp: ReferenceErp, make_connector: MakeConnector):
    connector = await make_connector("sap")
    erp.state.lock_item("SKU-1002", "DC-01")
    with pytest.raises(ErpFault, match="SKU-1002 at plant DC-01 is locked"):
        await connector.deliver(raise_task("SKU-1002", "DC-01"), 1)


async def test_tasks_that_are_not_automatic_safety_stock_raises_are_refused_as_contract_errors(
        erp: ReferenceErp, make_connector: MakeConnector):
    connector = await make_connector("sap")
    count = new_event("task.raised", {"task_id": "T-1", "kind": "count", "title": "recount", "sku": "SKU-1001",
                                      "location": "DC-01", "assignee_role": "system", "recommended_action": "recount"},
                      source="urn:hub:hooks:phantom", subject="SKU-1001@DC-01", idempotency_key="count-1")
    assert connector.accepts("task.raised") and not connector.accepts("stock.snapshot")

    for task in (count, review()):
        with pytest.raises(ContractError, match="no outbound operation maps this task.raised event") as refused:
            await connector.deliver(task, 1)
        assert "data.kind in ['replenishment']" in str(refused.value)
        assert refused.value.where == "mapping.outbound"
    assert erp.calls_to("MaterialPlanningChange") == [] and erp.state.planning_changes == []

"""The declarative mapping on its own: records <-> canonical data, without a server."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from canonical import ContractError, new_event, parse_event
from connectors.erp.config import ErpSoapConfig, FieldSpec, OwnPostings
from connectors.erp.mapping import (
    build,
    inbound_event,
    next_cursor,
    outbound_request,
    poll_request,
    posted_by_hub,
    records_at,
    select_outbound,
    write_outcome,
)
from tests.erp.conftest import load_config
from tests.erp.tasks import raise_task, review

SAP = ErpSoapConfig.model_validate(load_config("sap"))
NETSUITE = ErpSoapConfig.model_validate(load_config("netsuite"))


def movement(**changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "MaterialDocument": "4900000007", "DocumentYear": 2026, "Item": 1, "Material": "SKU-1001",
        "Plant": "STORE-001", "MovementType": "551", "DebitCredit": "H", "Quantity": Decimal("3"), "Unit": "EA",
        "PostingDate": date(2026, 11, 27), "EnteredAt": datetime(2026, 11, 27, 9, 30, tzinfo=UTC),
        "ExternalReference": "ext-1", "StockAfter": Decimal("9"),
    }
    record.update(changes)
    return record


def test_a_goods_movement_line_becomes_a_valid_stock_adjusted_event():
    op = SAP.mapping.inbound[0]
    event = parse_event(inbound_event(op, movement(), instance="erp-sap", source="urn:hub:erp:erp-sap"))
    assert event.type == "stock.adjusted"
    assert event.subject == "SKU-1001@STORE-001"
    assert event.data == {"sku": "SKU-1001", "location": "STORE-001", "delta": -3, "reason": "shrink",
                          "reference": "4900000007", "on_hand_after": 9}
    assert event.idempotency_key == "erp-sap:goods_movements:4900000007:1"
    assert event.time == datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def test_the_same_record_gives_the_same_id_and_key():
    op = SAP.mapping.inbound[0]
    first = inbound_event(op, movement(), instance="a", source="urn:x")
    again = inbound_event(op, movement(), instance="a", source="urn:x")
    other_line = inbound_event(op, movement(Item=2), instance="a", source="urn:x")
    assert (first["id"], first["idempotency_key"]) == (again["id"], again["idempotency_key"])
    assert other_line["idempotency_key"] != first["idempotency_key"]


def test_transfer_lines_map_by_movement_type_and_debit_credit():
    op = SAP.mapping.inbound[0]
    out = inbound_event(op, movement(MovementType="301", DebitCredit="H"), instance="a", source="urn:x")
    into = inbound_event(op, movement(MovementType="301", DebitCredit="S", Plant="STORE-002"), instance="a",
                         source="urn:x")
    assert (out["data"]["reason"], out["data"]["delta"]) == ("transfer_out", -3)
    assert (into["data"]["reason"], into["data"]["delta"]) == ("transfer_in", 3)


def test_a_missing_field_is_a_contract_error_naming_the_path():
    record = movement()
    del record["Material"]
    with pytest.raises(ContractError) as caught:
        inbound_event(SAP.mapping.inbound[0], record, instance="a", source="urn:x")
    assert caught.value.where == "sku"
    assert "Material" in str(caught.value)


def test_a_value_outside_the_map_is_a_contract_error():
    po_op = SAP.mapping.inbound[2]
    record = {"PoNumber": "4500000001", "Vendor": "V", "Plant": "DC-01", "Status": "77", "ChangeNumber": 3,
              "ChangedAt": datetime(2026, 1, 1, tzinfo=UTC), "Items": {"Item": []}}
    with pytest.raises(ContractError, match="'77' has no entry"):
        inbound_event(po_op, record, instance="a", source="urn:x")


def test_a_fractional_quantity_is_refused_for_an_integer_field():
    with pytest.raises(ContractError, match="delta: cannot make int of -2.5"):
        inbound_event(SAP.mapping.inbound[0], movement(Quantity=Decimal("2.5")), instance="a", source="urn:x")


def test_records_cursor_and_request_follow_the_mapping():
    op = NETSUITE.mapping.inbound[0]
    answer = {"getItemAvailabilityResult": {"itemAvailabilityList": {"itemAvailability": [
        {"lastChange": 4}, {"lastChange": 9}]}}}
    records = records_at(answer, op.records)
    assert next_cursor(op, records, 0) == 9
    assert next_cursor(op, [], 5) == 5
    assert poll_request(op, 9) == {"itemAvailabilityFilter": {"lastChangeAfter": 9, "pageSize": 500}}
    assert records_at({"getItemAvailabilityResult": {}}, op.records) == []
    with pytest.raises(ContractError, match="expected a list of records"):
        records_at({"getItemAvailabilityResult": {"itemAvailabilityList": {"itemAvailability": "x"}}}, op.records)


def adjustment(delta: int, reason: str) -> object:
    return new_event("stock.adjusted", {"sku": "SKU-1001", "location": "STORE-001", "delta": delta,
                                        "reason": reason, "reference": "CNT-9"},
                     source="urn:test", subject="SKU-1001@STORE-001", idempotency_key="evt-key-1",
                     time=datetime(2026, 11, 27, 12, 0, tzinfo=UTC))


def test_an_adjustment_becomes_a_goods_movement_with_the_key_as_external_reference():
    event = adjustment(-2, "shrink")
    op = select_outbound(SAP.mapping.outbound, event)
    assert op is not None and op.operation == "GoodsMovementCreate"
    assert outbound_request(op, event) == {
        "Header": {"ExternalReference": "evt-key-1", "PostingDate": "2026-11-27", "HeaderText": "CNT-9"},
        "Items": {"Item": [{"Material": "SKU-1001", "Plant": "STORE-001", "Quantity": 2, "Unit": "EA",
                            "MovementType": "551"}]},
    }
    gain = outbound_request(op, adjustment(4, "count_correction"))
    assert gain["Items"]["Item"][0]["MovementType"] == "701"


def test_an_adjustment_whose_sign_contradicts_its_reason_is_refused():
    event = adjustment(5, "sale")
    op = select_outbound(SAP.mapping.outbound, event)
    assert op is not None
    with pytest.raises(ContractError, match="'sale\\+' has no entry"):
        outbound_request(op, event)


def test_the_same_event_maps_to_the_other_erp_shape():
    event = adjustment(-2, "shrink")
    op = select_outbound(NETSUITE.mapping.outbound, event)
    assert op is not None
    assert outbound_request(op, event) == {"record": {
        "externalId": "evt-key-1", "tranDate": "2026-11-27T12:00:00+00:00", "adjLocation": {"externalId": "STORE-001"},
        "memo": "CNT-9",
        "inventoryList": {"inventory": [{"item": {"externalId": "SKU-1001"}, "location": {"externalId": "STORE-001"},
                                         "adjustQtyBy": -2}]}}}


def test_when_conditions_pick_the_operation():
    created = new_event("purchase_order.changed", {"po_number": "P1", "status": "created", "supplier": "S",
                                                   "location": "DC-01"}, source="urn:t", subject="P1")
    received = created.model_copy(update={"data": {**created.data, "status": "received"}})
    assert select_outbound(SAP.mapping.outbound, created) is not None
    assert select_outbound(SAP.mapping.outbound, received) is None


def test_write_status_inside_the_answer_is_read():
    op = NETSUITE.mapping.outbound[0]
    ok = {"writeResponse": {"status": {"isSuccess": True, "statusDetail": []},
                            "baseRef": {"internalId": "4900000003", "externalId": "k"}}}
    dup = {"writeResponse": {"status": {"isSuccess": False, "statusDetail": [
        {"code": "DUP_RCRD", "message": "already posted"}]}, "baseRef": {"internalId": "4900000003"}}}
    assert write_outcome(op, ok).document == "4900000003" and write_outcome(op, ok).error_code is None
    outcome = write_outcome(op, dup)
    assert (outcome.error_code, outcome.error_text, outcome.document) == ("DUP_RCRD", "already posted", "4900000003")


def test_field_specs_and_auth_are_validated():
    with pytest.raises(ValidationError, match="exactly one of path, format, const, each"):
        FieldSpec(path="a", const=1)
    with pytest.raises(ValidationError, match="needs username and password"):
        ErpSoapConfig.model_validate(load_config("sap", auth={"mode": "basic", "username": "hub"}))
    with pytest.raises(ValidationError, match="repeated"):
        raw = load_config("sap")
        raw["mapping"]["inbound"].append(raw["mapping"]["inbound"][0])
        ErpSoapConfig.model_validate(raw)


def test_nested_targets_and_optional_values():
    template = {"a.b": "x", "a.c": FieldSpec(path="missing", optional=True), "d": FieldSpec(const=7)}
    assert build(template, {"x": 1}) == {"a": {"b": 1}, "d": 7}


def test_an_automatic_safety_stock_task_becomes_a_planning_change_and_nothing_else_does():
    op = select_outbound(SAP.mapping.outbound, raise_task(safety_stock=20, reorder_point=41))
    assert op is not None and op.operation == "MaterialPlanningChange"
    task = raise_task(safety_stock=20, reorder_point=41)
    assert outbound_request(op, task) == {"ExternalReference": task.idempotency_key, "Material": "SKU-1001",
                                          "Plant": "STORE-001", "SafetyStock": 20, "ReorderPoint": 41}
    assert select_outbound(SAP.mapping.outbound, review()) is None  # same kind, but a person's task
    other_kind = task.model_copy(update={"data": {**task.data, "kind": "count"}})
    assert select_outbound(SAP.mapping.outbound, other_kind) is None


def test_a_planning_task_without_the_new_values_names_the_missing_path():
    task = raise_task()
    evidence = {k: v for k, v in task.data["evidence"].items() if k != "reorder_point"}
    broken = task.model_copy(update={"data": {**task.data, "evidence": evidence}})
    op = select_outbound(SAP.mapping.outbound, broken)
    assert op is not None
    with pytest.raises(ContractError, match="no value at data.evidence.reorder_point") as refused:
        outbound_request(op, broken)
    assert refused.value.where == "ReorderPoint"


def test_own_postings_are_recognised_by_user_or_by_prefix():
    by_user = OwnPostings(path="EnteredBy")
    assert posted_by_hub(by_user, movement(EnteredBy="hub"), "hub")
    assert not posted_by_hub(by_user, movement(EnteredBy="clerk"), "hub")
    assert not posted_by_hub(by_user, movement(), "hub")  # no such field: the ERP's own record
    assert posted_by_hub(OwnPostings(path="EnteredBy", equals="RFC_HUB"), movement(EnteredBy="RFC_HUB"), "hub")
    by_mark = OwnPostings(path="ExternalReference", prefix="HUB:")
    assert posted_by_hub(by_mark, movement(ExternalReference="HUB:pos-1"), "hub")
    assert not posted_by_hub(by_mark, movement(ExternalReference="DN-77"), "hub")
    assert not posted_by_hub(by_mark, movement(ExternalReference=""), "hub")


def test_skip_own_settings_are_validated():
    with pytest.raises(ValidationError, match="equals or prefix, not both"):
        OwnPostings(path="X", equals="hub", prefix="HUB:")
    with pytest.raises(ValidationError, match="must not be empty"):
        OwnPostings(path="X", equals="")
    raw = load_config("sap", auth={"mode": "none"})
    with pytest.raises(ValidationError, match="goods_movements: skip_own without equals or prefix"):
        ErpSoapConfig.model_validate(raw)

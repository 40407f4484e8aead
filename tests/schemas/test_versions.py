"""stock.adjusted v2, its upcaster and downcaster, and the JSON Schemas the code exports."""

from __future__ import annotations

import jsonschema
import pytest

from canonical import ContractError, EventError, latest_version, new_event, parse_event, upcast
from canonical.examples import EXAMPLE_DATA, example_event
from canonical.json_schemas import all_data_schemas, data_schema, envelope_schema, schema_id
from canonical.versions import EVENT_TYPES, downcast, versions_of
from hub.schemas.compat import check

V1 = {"sku": "SKU-1", "location": "STORE-1", "delta": -3, "reason": "shrink", "reference": "CNT-9", "on_hand_after": 7}


def v1_event(data: dict | None = None) -> dict:
    return new_event("stock.adjusted", data or V1, source="urn:pos", subject="SKU-1@STORE-1",
                     schema_version=1).model_dump(mode="json")


def test_every_type_has_an_explicit_version_and_stock_adjusted_evolved():
    assert all(versions_of(t) for t in EVENT_TYPES)
    assert versions_of("stock.adjusted") == [1, 2]
    assert latest_version("stock.adjusted") == 2


def test_a_v1_event_is_still_accepted_and_upcasts_to_v2():
    event = parse_event(v1_event())
    assert event.schema_version == 1
    up = upcast(event)
    assert up.schema_version == 2
    assert up.data == {**V1, "unit_of_measure": "EA", "units_per_uom": 1, "serial_numbers": []}
    assert up.id == event.id and up.idempotency_key == event.idempotency_key


def test_v2_carries_unit_sub_reason_lot_and_serials():
    data = {"sku": "SKU-1", "location": "DC-1", "delta": -2, "unit_of_measure": "CS", "units_per_uom": 6,
            "reason": "damage", "sub_reason": "in_transit", "lot": "L-42", "serial_numbers": [f"S{i}" for i in range(12)]}
    event = new_event("stock.adjusted", data, source="urn:wms", subject="SKU-1@DC-1")
    assert event.schema_version == 2 and event.data["sub_reason"] == "in_transit"
    v1 = downcast(event, 1)
    assert v1.schema_version == 1
    assert v1.data == {"sku": "SKU-1", "location": "DC-1", "delta": -12, "reason": "damage"}


def test_serial_numbers_must_match_the_quantity():
    data = {"sku": "SKU-1", "location": "DC-1", "delta": 2, "reason": "receipt", "serial_numbers": ["S1"]}
    with pytest.raises(EventError, match="serial_numbers has 1 entries but the change is 2"):
        new_event("stock.adjusted", data, source="urn:wms", subject="SKU-1@DC-1")


def test_a_fractional_quantity_cannot_be_served_as_v1():
    data = {"sku": "CHEESE", "location": "STORE-1", "delta": -0.25, "unit_of_measure": "KG", "reason": "sale",
            "on_hand_after": 4.75}
    event = new_event("stock.adjusted", data, source="urn:pos", subject="CHEESE@STORE-1")
    assert event.data["delta"] == -0.25
    with pytest.raises(ContractError) as caught:
        downcast(event, 1)
    assert caught.value.error_class == "contract"
    assert caught.value.where == "data.delta"
    assert "not a whole number of eaches" in str(caught.value)


def test_whole_quantities_stay_json_integers():
    event = example_event("stock.adjusted")
    assert event.schema_version == 2
    assert isinstance(event.data["delta"], int)
    assert '"delta":-1,' in event.model_dump_json()


@pytest.mark.parametrize(("change", "message", "where"), [
    ({"type": "stock.teleported"}, "unknown event type 'stock.teleported'", "type"),
    ({"schema_version": 7}, "stock.adjusted has no version 7 (known: [1, 2])", "schema_version"),
])
def test_unknown_type_or_version_is_a_contract_error_naming_both(change, message, where):
    raw = {**v1_event(), **change}
    with pytest.raises(ContractError) as caught:
        parse_event(raw)
    assert message in str(caught.value)
    assert caught.value.where == where


def test_examples_are_valid_latest_version_events():
    for event_type in EXAMPLE_DATA:
        event = example_event(event_type)
        assert event.schema_version == latest_version(event_type)
        jsonschema.Draft202012Validator(data_schema(event_type, event.schema_version),
                                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
                                        ).validate(event.data)


def test_exported_schemas_are_valid_draft_2020_12_with_ids():
    for (event_type, version), schema in all_data_schemas().items():
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$id"] == schema_id(event_type, version) == f"urn:hub:schema:{event_type}:v{version}"
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(envelope_schema())


def test_json_schema_and_pydantic_agree_on_v2_payloads():
    validator = jsonschema.Draft202012Validator(data_schema("stock.adjusted", 2))
    assert validator.is_valid({"sku": "A", "location": "B", "delta": 1.5, "reason": "sale", "unit_of_measure": "KG"})
    assert not validator.is_valid({"sku": "A", "location": "B", "delta": 1, "reason": "stolen"})
    assert not validator.is_valid({"sku": "A", "location": "B", "delta": 1, "reason": "sale", "colour": "red"})


def test_v2_is_backward_compatible_with_v1_but_not_forward():
    v1, v2 = data_schema("stock.adjusted", 1), data_schema("stock.adjusted", 2)
    assert check(v2, [(1, v1)], "backward") == []
    forward = {(i.change.path, i.change.kind) for i in check(v2, [(1, v1)], "forward")}
    assert ("$.delta", "type_changed") in forward
    assert ("$.lot", "field_added") in forward

"""The registry on a real nats-server: built-in and partner registrations, modes, deprecation, validators."""

from __future__ import annotations

import asyncio
import copy

import orjson
import pytest

from canonical import ContractError, EventError
from canonical.json_schemas import data_schema
from hub.schemas import registry
from hub.schemas.keys import schema_key
from hub.schemas.validators import validator_for

ORDER_V1 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "order_id": {"type": "string", "minLength": 1},
        "placed_at": {"type": "string", "format": "date-time"},
        "lines": {"type": "array", "minItems": 1, "items": {
            "type": "object", "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}},
            "required": ["sku", "qty"], "additionalProperties": False}},
    },
    "required": ["order_id", "lines"],
    "additionalProperties": False,
}


def order_v2() -> dict:
    schema = copy.deepcopy(ORDER_V1)
    schema["properties"]["channel"] = {"type": "string", "enum": ["web", "store"]}
    return schema


async def test_register_builtin_registers_every_code_version_once(kv):
    written = await registry.register_builtin(kv)
    assert "schema.stock.adjusted.v1" in written and "schema.stock.adjusted.v2" in written
    assert len(written) == 16
    assert await registry.register_builtin(kv) == []
    types = {t.event_type: t for t in await registry.list_types(kv)}
    assert types["stock.adjusted"].versions == [1, 2]
    assert types["stock.adjusted"].mode.value == "backward"
    assert types["stock.adjusted"].origin == "builtin"
    stored = await registry.show(kv, "stock.adjusted", 2)
    assert stored.schema == data_schema("stock.adjusted", 2)


async def test_register_builtin_refuses_code_that_breaks_the_registered_schema(kv):
    tampered = data_schema("stock.adjusted", 2)
    tampered["$defs"]["AdjustmentReason"]["enum"].append("theft")
    await kv.put(schema_key("stock.adjusted", 2), orjson.dumps(
        {"type": "stock.adjusted", "version": 2, "origin": "builtin", "registered_at": "2026-01-01T00:00:00+00:00",
         "schema": tampered}))
    with pytest.raises(registry.SchemaCompatibilityError) as caught:
        await registry.register_builtin(kv)
    assert caught.value.problems == [
        "stock.adjusted v2 (backward): $.reason: enum_value_removed ('theft') breaks backward compatibility with v2"]
    assert [t.event_type for t in await registry.list_types(kv)].count("stock.snapshot") == 1  # others went in


async def test_an_operators_mode_is_kept_and_enforced_on_the_code(kv):
    await registry.set_mode(kv, "stock.adjusted", "forward")
    with pytest.raises(registry.SchemaCompatibilityError) as caught:
        await registry.register_builtin(kv)
    text = "\n".join(caught.value.problems)
    assert "stock.adjusted v2 (forward): $.delta: type_changed (integer -> number) breaks forward" in text
    assert "$.lot: field_added (optional) breaks forward compatibility with v1" in text
    assert [r.version for r in await registry.versions(kv, "stock.adjusted")] == []


async def test_partner_schemas_evolve_under_their_mode(kv):
    first = await registry.register(kv, "partner.acme.order", ORDER_V1)
    assert (first.accepted, first.version) == (True, 1)
    second = await registry.register(kv, "partner.acme.order", order_v2())
    assert (second.accepted, second.version) == (True, 2)
    again = await registry.register(kv, "partner.acme.order", order_v2())
    assert (again.accepted, again.version, again.unchanged) == (True, 2, True)

    breaking = order_v2()
    breaking["properties"]["lines"]["items"]["properties"]["qty"] = {"type": "string"}
    breaking["required"].append("channel")
    breaking["properties"]["channel"]["enum"] = ["web"]
    refused = await registry.register(kv, "partner.acme.order", breaking)
    assert not refused.accepted and refused.version is None
    assert refused.reasons() == [
        "$.channel: enum_value_removed ('store') breaks backward compatibility with v2",
        "$.channel: made_required (optional -> required) breaks backward compatibility with v2",
        "$.lines[].qty: type_changed (integer -> string) breaks backward compatibility with v2",
    ]
    assert [r.version for r in await registry.versions(kv, "partner.acme.order")] == [1, 2]

    forced = await registry.register(kv, "partner.acme.order", breaking, mode="none")
    assert (forced.accepted, forced.version) == (True, 3)
    assert (await registry.get_mode(kv, "partner.acme.order")).value == "none"


async def test_concurrent_registrations_get_distinct_versions(kv):
    await registry.set_mode(kv, "partner.acme.order", "none")  # any arrival order is then acceptable
    third = order_v2()
    third["properties"]["note"] = {"type": "string"}
    results = await asyncio.gather(*(registry.register(kv, "partner.acme.order", s)
                                     for s in (ORDER_V1, order_v2(), third)))
    assert all(r.accepted for r in results)
    assert sorted(r.version for r in results) == [1, 2, 3]


@pytest.mark.parametrize(("event_type", "schema", "message"), [
    ("stock.adjusted", ORDER_V1, "stock.adjusted is a canonical type"),
    ("Partner Orders", ORDER_V1, "'Partner Orders' is not a valid type name"),
    ("partner.x", {"type": "object", "properties": {"a": {"type": "strin"}}}, r"not a valid JSON Schema at \$\['properties'\]\['a'\]\['type'\]"),
    ("partner.x", {"$schema": "http://json-schema.org/draft-07/schema#"}, "only Draft 2020-12"),
    ("partner.x", ["not", "an", "object"], "a schema must be a JSON object, not list"),
])
async def test_bad_registrations_say_what_is_wrong(kv, event_type, schema, message):
    with pytest.raises(ValueError, match=message):
        await registry.register(kv, event_type, schema)


async def test_show_diff_and_missing_versions(kv):
    await registry.register(kv, "partner.acme.order", ORDER_V1)
    await registry.register(kv, "partner.acme.order", order_v2())
    assert (await registry.show(kv, "partner.acme.order")).version == 2
    changes = await registry.diff_versions(kv, "partner.acme.order", 1, 2)
    assert [(c.kind, c.path, c.breaks_backward, c.breaks_forward) for c in changes] == [
        ("field_added", "$.channel", False, True)]
    with pytest.raises(LookupError, match=r"partner.acme.order has no version 5 \(registered: \[1, 2\]\)"):
        await registry.show(kv, "partner.acme.order", 5)
    with pytest.raises(LookupError, match="no schema registered for type 'partner.nobody'"):
        await registry.show(kv, "partner.nobody")


async def test_deprecation_rules(kv):
    await registry.register_builtin(kv)
    with pytest.raises(ValueError, match="v2 is the latest version of stock.adjusted"):
        await registry.deprecate(kv, "stock.adjusted", 2)
    with pytest.raises(LookupError, match="stock.adjusted has no registered version 9"):
        await registry.deprecate(kv, "stock.adjusted", 9)
    await registry.deprecate(kv, "stock.adjusted", 1, note="move to v2 by March")
    assert await registry.deprecated_versions(kv) == {("stock.adjusted", 1)}
    listed = {t.event_type: t for t in await registry.list_types(kv)}
    assert listed["stock.adjusted"].deprecated == [1]
    await registry.undeprecate(kv, "stock.adjusted", 1)
    assert await registry.deprecated_versions(kv) == set()


async def test_check_code_against_the_registry(kv):
    assert await registry.check_code(None) == []
    assert await registry.check_code(kv) == []
    await registry.register_builtin(kv)
    assert await registry.check_code(kv) == []
    await kv.put(schema_key("stock.adjusted", 3), orjson.dumps(
        {"type": "stock.adjusted", "version": 3, "origin": "builtin", "registered_at": "2026-01-01T00:00:00+00:00",
         "schema": data_schema("stock.adjusted", 2)}))
    (problem,) = await registry.check_code(kv)
    assert problem.startswith("stock.adjusted: the registry has version(s) [3] that this code does not know")


async def test_partner_payloads_are_validated_by_a_compiled_registered_schema(kv):
    await registry.register(kv, "partner.acme.order", ORDER_V1)
    validator = await validator_for(kv, "partner.acme.order", 1)
    assert await validator_for(kv, "partner.acme.order", 1) is validator  # compiled once
    validator.validate({"order_id": "O-1", "placed_at": "2026-11-27T10:00:00Z", "lines": [{"sku": "A", "qty": 2}]})
    with pytest.raises(EventError) as caught:
        validator.validate({"order_id": "O-1", "lines": [{"sku": "A", "qty": 0}]})
    assert caught.value.where == "$.lines[0].qty"
    assert "partner.acme.order v1: $.lines[0].qty: 0 is less than the minimum of 1" in str(caught.value)
    with pytest.raises(EventError, match=r"\$.placed_at: .*date-time"):
        validator.validate({"order_id": "O-1", "placed_at": "yesterday", "lines": [{"sku": "A", "qty": 1}]})
    with pytest.raises(ContractError, match="partner.acme.order has no version 4"):
        await validator_for(kv, "partner.acme.order", 4)

"""The compatibility checker: each mode with accepted and rejected changes, and properties over random schemas."""

from __future__ import annotations

import copy

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.schemas.compat import Mode, SchemaError, check, diff

BASE = {
    "type": "object",
    "properties": {
        "sku": {"type": "string", "maxLength": 64},
        "qty": {"type": "integer", "minimum": 0},
        "reason": {"$ref": "#/$defs/Reason"},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
    },
    "required": ["sku", "qty", "reason"],
    "additionalProperties": False,
    "$defs": {"Reason": {"type": "string", "enum": ["sale", "return", "shrink"]}},
}


def evolve(**changes) -> dict:
    """BASE with properties replaced (None removes one) and top-level keys set."""
    schema = copy.deepcopy(BASE)
    for key, value in changes.pop("properties", {}).items():
        if value is None:
            schema["properties"].pop(key)
            schema["required"] = [r for r in schema["required"] if r != key]
        else:
            schema["properties"][key] = value
    schema.update(changes)
    return schema


ADD_OPTIONAL = evolve(properties={"lot": {"type": "string"}})
ADD_REQUIRED = evolve(properties={"lot": {"type": "string"}}, required=["sku", "qty", "reason", "lot"])
REMOVE_OPTIONAL = evolve(properties={"note": None})
WIDEN_INT = evolve(properties={"qty": {"type": "number", "minimum": 0}})
ENUM_REMOVED = evolve(**{"$defs": {"Reason": {"type": "string", "enum": ["sale", "return"]}}})
ENUM_ADDED = evolve(**{"$defs": {"Reason": {"type": "string", "enum": ["sale", "return", "shrink", "damage"]}}})
TIGHTER = evolve(properties={"sku": {"type": "string", "maxLength": 32}})
ANNOTATED = evolve(title="Stock", properties={"sku": {"type": "string", "maxLength": 64, "description": "The SKU."}})


def kinds(old, new) -> set[tuple[str, str]]:
    return {(c.kind, c.path) for c in diff(old, new)}


def test_identical_and_annotation_only_schemas_have_no_changes():
    assert diff(BASE, copy.deepcopy(BASE)) == []
    assert diff(BASE, ANNOTATED) == []


@pytest.mark.parametrize(("new", "expected"), [
    (ADD_OPTIONAL, ("field_added", "$.lot")),
    (ADD_REQUIRED, ("field_added_required", "$.lot")),
    (REMOVE_OPTIONAL, ("field_removed", "$.note")),
    (WIDEN_INT, ("type_changed", "$.qty")),
    (ENUM_REMOVED, ("enum_value_removed", "$.reason")),
    (ENUM_ADDED, ("enum_value_added", "$.reason")),
    (TIGHTER, ("constraint_tightened", "$.sku")),
])
def test_each_change_is_named_with_its_path(new, expected):
    assert expected in kinds(BASE, new)


# (new schema, accepted under backward, accepted under forward) against BASE, with a closed content model.
CASES = [
    (ADD_OPTIONAL, True, False),   # a new reader reads old data; old readers refuse the unknown field
    (ADD_REQUIRED, False, False),
    (REMOVE_OPTIONAL, False, True),  # old data may carry `note`, which the new closed schema refuses
    (WIDEN_INT, True, False),
    (ENUM_REMOVED, False, True),
    (ENUM_ADDED, True, False),
    (TIGHTER, False, True),
    (ANNOTATED, True, True),
]


@pytest.mark.parametrize(("new", "backward", "forward"), CASES)
def test_plain_modes_accept_and_reject(new, backward, forward):
    earlier = [(1, BASE)]
    assert (check(new, earlier, "backward") == []) is backward
    assert (check(new, earlier, "forward") == []) is forward
    assert (check(new, earlier, "full") == []) is (backward and forward)
    assert check(new, earlier, "none") == []


def test_a_rejection_lists_every_incompatible_change_with_path_and_version():
    new = evolve(properties={"qty": {"type": "string"}, "lot": {"type": "string"}},
                 required=["sku", "qty", "reason", "lot"],
                 **{"$defs": {"Reason": {"type": "string", "enum": ["sale"]}}})
    found = [str(i) for i in check(new, [(3, BASE)], Mode.BACKWARD)]
    assert "$.qty: type_changed (integer -> string) breaks backward compatibility with v3" in found
    assert "$.lot: field_added_required (required) breaks backward compatibility with v3" in found
    assert "$.reason: enum_value_removed ('return') breaks backward compatibility with v3" in found
    assert "$.reason: enum_value_removed ('shrink') breaks backward compatibility with v3" in found
    assert len(found) == 4


def test_transitive_modes_compare_with_every_earlier_version():
    # v1 -> v2 drops `note` entirely (an open model keeps it readable); v3 brings `note` back as an integer.
    v1 = evolve(additionalProperties=True)
    v2 = evolve(properties={"note": None}, additionalProperties=True)
    v3 = evolve(properties={"note": {"type": "integer"}}, additionalProperties=True)
    history = [(1, v1), (2, v2)]
    assert check(v2, [(1, v1)], "backward") == []
    # Against v2 alone, v3's new `note` meets an open model with anything-goes: breaking, found by both forms.
    plain = check(v3, history, "backward")
    transitive = check(v3, history, "backward_transitive")
    assert {i.against_version for i in plain} == {2}
    assert {i.against_version for i in transitive} == {1, 2}
    assert any(i.change.kind == "type_changed" and i.change.path == "$.note" for i in transitive)


def test_forward_transitive_and_full_transitive():
    v1 = BASE
    v2 = ENUM_ADDED            # forward-incompatible with v1
    v3 = copy.deepcopy(ENUM_ADDED)
    v3["title"] = "v3"         # identical to v2 in substance
    assert check(v3, [(1, v1), (2, v2)], "forward") == []
    assert {i.against_version for i in check(v3, [(1, v1), (2, v2)], "forward_transitive")} == {1}
    assert {i.direction for i in check(v3, [(1, v1), (2, v2)], "full_transitive")} == {"forward"}


def test_mode_names_parse_loosely_and_unknown_ones_are_named():
    assert Mode.parse("BACKWARD_TRANSITIVE") is Mode.BACKWARD_TRANSITIVE
    assert Mode.parse("full-transitive") is Mode.FULL_TRANSITIVE
    with pytest.raises(ValueError, match="'sideways'"):
        Mode.parse("sideways")


def test_nested_objects_arrays_and_nullability():
    old = {"type": "object", "properties": {"lines": {"type": "array", "items": {
        "type": "object", "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}},
        "required": ["sku"], "additionalProperties": False}}}}
    new = copy.deepcopy(old)
    line = new["properties"]["lines"]["items"]
    line["required"] = ["sku", "qty"]
    line["properties"]["sku"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    found = kinds(old, new)
    assert ("made_required", "$.lines[].qty") in found
    assert ("type_changed", "$.lines[].sku") in found
    by_kind = {c.kind: c for c in diff(old, new)}
    assert by_kind["type_changed"].breaks_forward and not by_kind["type_changed"].breaks_backward


def test_recursive_schemas_terminate():
    tree = {"$defs": {"Node": {"type": "object", "properties": {
        "name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}},
        "$ref": "#/$defs/Node"}
    changed = copy.deepcopy(tree)
    changed["$defs"]["Node"]["properties"]["name"] = {"type": "string", "minLength": 1}
    assert kinds(tree, changed) == {("constraint_tightened", "$.name")}


def test_recursion_through_a_nullable_union_terminates():
    # What pydantic writes for `parent: Node | None`.
    node = {"$defs": {"Node": {"type": "object", "properties": {
        "id": {"type": "integer"}, "parent": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]}}}},
        "$ref": "#/$defs/Node"}
    changed = copy.deepcopy(node)
    changed["$defs"]["Node"]["properties"]["id"] = {"type": "string"}
    assert kinds(node, changed) == {("type_changed", "$.id")}


def test_unknown_keywords_that_differ_break_both_ways():
    old = {"type": "object", "dependentRequired": {"a": ["b"]}}
    new = {"type": "object", "dependentRequired": {"a": ["c"]}}
    (change,) = diff(old, new)
    assert change.kind == "keyword_changed" and change.breaks_backward and change.breaks_forward


def test_remote_refs_are_refused_with_the_ref_named():
    with pytest.raises(SchemaError, match="https://example.com/x.json"):
        diff({"$ref": "https://example.com/x.json"}, {"type": "string"})


# --- properties over random schemas ---------------------------------------------------------------

NAMES = ("a", "b", "c")
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.5, -1.5]),
                   st.sampled_from(["x", "y", "", "long-text"]))


@st.composite
def field_schemas(draw):
    kind = draw(st.sampled_from(["integer", "number", "string", "boolean", "enum", "nullable", "any"]))
    if kind == "enum":
        return {"enum": draw(st.lists(st.sampled_from(["x", "y", 1, 2]), min_size=1, max_size=3, unique=True))}
    if kind == "nullable":
        return {"anyOf": [{"type": draw(st.sampled_from(["integer", "string"]))}, {"type": "null"}]}
    if kind == "any":
        return {}
    schema = {"type": kind}
    if kind in ("integer", "number") and draw(st.booleans()):
        schema["minimum"] = draw(st.integers(-2, 2))
    if kind == "string" and draw(st.booleans()):
        schema["maxLength"] = draw(st.integers(0, 3))
    return schema


@st.composite
def object_schemas(draw):
    props = draw(st.dictionaries(st.sampled_from(NAMES), field_schemas(), max_size=3))
    required = draw(st.lists(st.sampled_from(sorted(props)), unique=True)) if props else []
    schema = {"type": "object", "properties": props, "additionalProperties": draw(st.booleans())}
    if required:
        schema["required"] = required
    return schema


INSTANCES = st.dictionaries(st.sampled_from(NAMES + ("z",)), VALUES, max_size=4)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(old=object_schemas(), new=object_schemas())
def test_swapping_old_and_new_swaps_backward_and_forward(old, new):
    one = sorted((c.path, c.breaks_backward, c.breaks_forward) for c in diff(old, new))
    other = sorted((c.path, c.breaks_forward, c.breaks_backward) for c in diff(new, old))
    assert one == other


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(old=object_schemas(), new=object_schemas(), payloads=st.lists(INSTANCES, min_size=5, max_size=20))
def test_a_backward_compatible_schema_accepts_every_payload_the_old_one_did(old, new, payloads):
    if check(new, [(1, old)], "backward"):
        return
    old_v, new_v = jsonschema.Draft202012Validator(old), jsonschema.Draft202012Validator(new)
    for payload in payloads:
        if old_v.is_valid(payload):
            assert new_v.is_valid(payload), (payload, diff(old, new))


@settings(max_examples=200, deadline=None)
@given(schema=object_schemas())
def test_a_schema_is_fully_compatible_with_itself(schema):
    assert check(copy.deepcopy(schema), [(1, schema)], "full_transitive") == []

"""Compatibility of JSON Schemas: the changes a new version makes and which readers each one breaks.

BACKWARD: the new schema reads every payload the old one accepted. FORWARD: the old schema reads
every payload the new one accepts. FULL: both. Plain modes compare with the latest earlier
version, transitive ones with every earlier version (the Confluent Schema Registry's rules).
Pure: no I/O. Local `$ref`s are followed; keywords it does not understand count as breaking both
ways when they differ, so an unknown change is never waved through.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

BACKWARD = "backward"
FORWARD = "forward"

Schema = Mapping[str, Any] | bool

_ANNOTATIONS = frozenset({
    "$schema", "$id", "$defs", "definitions", "$comment", "title", "description", "default", "examples",
    "deprecated", "readOnly", "writeOnly", "discriminator",
})
_UNDERSTOOD = _ANNOTATIONS | {
    "type", "enum", "const", "properties", "required", "additionalProperties", "items", "anyOf", "oneOf",
    "allOf", "$ref", "pattern", "format", "uniqueItems", "multipleOf",
}
# Lower bounds tighten as they grow, upper bounds as they shrink.
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_OBJECT_KEYWORDS = frozenset({"properties", "required", "additionalProperties"})
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SchemaError(ValueError):
    """A schema the checker cannot read (a remote `$ref`, a dangling pointer)."""


class Mode(StrEnum):
    NONE = "none"
    BACKWARD = "backward"
    BACKWARD_TRANSITIVE = "backward_transitive"
    FORWARD = "forward"
    FORWARD_TRANSITIVE = "forward_transitive"
    FULL = "full"
    FULL_TRANSITIVE = "full_transitive"

    @classmethod
    def parse(cls, text: str) -> Mode:
        """Accepts `backward`, `BACKWARD_TRANSITIVE`, `full-transitive`, ..."""
        try:
            return cls(text.strip().lower().replace("-", "_"))
        except ValueError:
            raise ValueError(f"unknown compatibility mode {text!r}; one of {', '.join(m.value for m in cls)}") from None

    @property
    def directions(self) -> tuple[str, ...]:
        base = self.value.removesuffix("_transitive")
        return {"none": (), "backward": (BACKWARD,), "forward": (FORWARD,), "full": (BACKWARD, FORWARD)}[base]

    @property
    def transitive(self) -> bool:
        return self.value.endswith("_transitive")


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two schemas, at a JSON path of the payload (`$.lines[].sku`)."""

    kind: str
    path: str
    detail: str
    breaks_backward: bool
    breaks_forward: bool

    def breaks(self, direction: str) -> bool:
        return self.breaks_backward if direction == BACKWARD else self.breaks_forward

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "detail": self.detail,
                "breaks_backward": self.breaks_backward, "breaks_forward": self.breaks_forward}


@dataclass(frozen=True, slots=True)
class Incompatibility:
    """A change that breaks the mode's promise against one earlier version."""

    against_version: int
    direction: str
    change: Change

    def __str__(self) -> str:
        c = self.change
        return f"{c.path}: {c.kind} ({c.detail}) breaks {self.direction} compatibility with v{self.against_version}"

    def to_dict(self) -> dict[str, Any]:
        return {"against_version": self.against_version, "direction": self.direction, **self.change.to_dict()}


def diff(old: Schema, new: Schema) -> list[Change]:
    """Every change from `old` to `new`, each marked with the readers it breaks."""
    return list(_Differ(old, new).compare(old, new, "$"))


def check(new: Schema, earlier: Sequence[tuple[int, Schema]], mode: Mode | str) -> list[Incompatibility]:
    """The incompatibilities of `new` with the earlier versions that `mode` compares it with."""
    mode = mode if isinstance(mode, Mode) else Mode.parse(mode)
    if not mode.directions or not earlier:
        return []
    ordered = sorted(earlier, key=lambda pair: pair[0])
    compared = ordered if mode.transitive else ordered[-1:]
    found = []
    for version, old in compared:
        for change in diff(old, new):
            found.extend(Incompatibility(version, d, change) for d in mode.directions if change.breaks(d))
    return found


class _Differ:
    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self._roots = (old_root, new_root)
        self._active: set[tuple[str, str, str, str]] = set()

    def compare(self, old: Schema, new: Schema, path: str) -> Iterator[Change]:
        old_types, new_types = self._type_map(old, 0), self._type_map(new, 1)
        lost = [t for t in old_types if _accepting(new_types, t) is None]
        gained = [t for t in new_types if _accepting(old_types, t) is None]
        if lost or gained:
            yield Change("type_changed", path, f"{_types_text(old_types)} -> {_types_text(new_types)}",
                         bool(lost), bool(gained))
        # Each old branch meets the new branch that accepts its values, and each new branch the old one
        # that accepts its values: integer against number counts from both sides.
        pairs = {(t, _accepting(new_types, t)) for t in old_types} | {(_accepting(old_types, t), t) for t in new_types}
        for old_type, new_type in sorted(p for p in pairs if None not in p):
            (old_branch, old_ref), (new_branch, new_ref) = old_types[old_type], new_types[new_type]
            seen = (old_ref, new_ref, old_type, new_type)
            if old_ref and new_ref and seen in self._active:
                continue  # a recursive schema: this pair of definitions is being compared further up
            self._active.add(seen)
            try:
                yield from self._compare_typed(_pair_type(old_type, new_type), old_branch, new_branch, path)
            finally:
                self._active.discard(seen)

    def _type_map(self, schema: Schema, side: int, via: str = "") -> dict[str, tuple[Mapping[str, Any], str]]:
        """JSON type -> (the subschema that accepts it, the $ref it was reached through); `*` for any type."""
        schema, ref = _resolve(schema, self._roots[side])
        via = ref or via
        if schema is False:
            return {}
        if schema is True:
            return {"*": ({}, via)}
        schema = self._merge_all_of(schema, side)
        branches = schema.get("anyOf") or schema.get("oneOf")
        if branches:
            found: dict[str, tuple[Mapping[str, Any], str]] = {}
            for branch in branches:
                for json_type, sub in self._type_map(branch, side, via).items():
                    found.setdefault(json_type, sub)
            return found
        return dict.fromkeys(_declared_types(schema), (schema, via))

    def _merge_all_of(self, schema: Mapping[str, Any], side: int) -> Mapping[str, Any]:
        """allOf parts joined into one schema: properties and required united; other keywords, the first wins."""
        if "allOf" not in schema:
            return schema
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            part, _ = _resolve(part, self._roots[side])
            if not isinstance(part, Mapping):
                continue
            part = self._merge_all_of(part, side)
            for key, value in part.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = sorted({*merged.get("required", []), *value})
                else:
                    merged.setdefault(key, value)
        return merged

    def _compare_typed(self, json_type: str, old: Mapping[str, Any], new: Mapping[str, Any],
                       path: str) -> Iterator[Change]:
        yield from _compare_enums(json_type, old, new, path)
        yield from _compare_bounds(old, new, path)
        yield from _compare_exact(old, new, path)
        if json_type == "object" or (json_type == "*" and _OBJECT_KEYWORDS & (old.keys() | new.keys())):
            yield from self._compare_objects(old, new, path)
        if json_type == "array" or (json_type == "*" and ("items" in old or "items" in new)):
            yield from self.compare(old.get("items", True), new.get("items", True), f"{path}[]")

    def _compare_objects(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> Iterator[Change]:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_req, new_req = set(old.get("required", ())), set(new.get("required", ()))
        old_extra, new_extra = old.get("additionalProperties", True), new.get("additionalProperties", True)
        for name in sorted(old_props.keys() - new_props.keys()):
            yield Change("field_removed", _field_path(path, name), "the new schema has no such field",
                         breaks_backward=not _covers(new_extra, old_props[name]),
                         breaks_forward=name in old_req or not _covers(old_props[name], new_extra))
        for name in sorted(new_props.keys() - old_props.keys()):
            required = name in new_req
            yield Change("field_added_required" if required else "field_added", _field_path(path, name),
                         "required" if required else "optional",
                         breaks_backward=required or not _covers(new_props[name], old_extra),
                         breaks_forward=not _covers(old_extra, new_props[name]))
        for name in sorted(old_props.keys() & new_props.keys()):
            field = _field_path(path, name)
            yield from self.compare(old_props[name], new_props[name], field)
            if name in new_req and name not in old_req:
                yield Change("made_required", field, "optional -> required", True, False)
            elif name in old_req and name not in new_req:
                yield Change("made_optional", field, "required -> optional", False, True)
        yield from self._compare_extra(old_extra, new_extra, f"{path}.*")

    def _compare_extra(self, old_extra: Schema, new_extra: Schema, path: str) -> Iterator[Change]:
        """`additionalProperties`: what fields not named in `properties` may hold."""
        if old_extra == new_extra:
            return
        if not _allows_anything(old_extra) and not _allows_anything(new_extra) and isinstance(old_extra, Mapping) \
                and isinstance(new_extra, Mapping):
            yield from self.compare(old_extra, new_extra, path)
            return
        breaks_backward, breaks_forward = not _covers(new_extra, old_extra), not _covers(old_extra, new_extra)
        kind = {(True, False): "additional_properties_restricted", (False, True): "additional_properties_allowed"}
        yield Change(kind.get((breaks_backward, breaks_forward), "additional_properties_changed"), path,
                     f"{_extra_text(old_extra)} -> {_extra_text(new_extra)}", breaks_backward, breaks_forward)


def _compare_enums(json_type: str, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> Iterator[Change]:
    old_values, new_values = _enum_values(old, json_type), _enum_values(new, json_type)
    if old_values is None and new_values is None:
        return
    if old_values is None:
        yield Change("enum_added", path, f"only {_short(new_values)} accepted now", True, False)
    elif new_values is None:
        yield Change("enum_removed", path, f"any value accepted now, not only {_short(old_values)}", False, True)
    else:
        for value in old_values:
            if value not in new_values:
                yield Change("enum_value_removed", path, f"{value!r}", True, False)
        for value in new_values:
            if value not in old_values:
                yield Change("enum_value_added", path, f"{value!r}", False, True)


def _compare_bounds(old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> Iterator[Change]:
    for key in _LOWER_BOUNDS + _UPPER_BOUNDS:
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        lower = key in _LOWER_BOUNDS
        if before is None:
            tightened = True
        elif after is None:
            tightened = False
        else:
            tightened = after > before if lower else after < before
        kind = "constraint_tightened" if tightened else "constraint_loosened"
        yield Change(kind, path, f"{key} {_bound_text(before)} -> {_bound_text(after)}", tightened, not tightened)


def _compare_exact(old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> Iterator[Change]:
    """Keywords compared for equality: a pattern, format or unknown keyword that differs breaks both ways."""
    for key in ("pattern", "format", "uniqueItems", "multipleOf"):
        before, after = old.get(key), new.get(key)
        if before == after or (key == "uniqueItems" and not before and not after):
            continue
        if before in (None, False):
            yield Change("constraint_tightened", path, f"{key} {after!r} added", True, False)
        elif after in (None, False):
            yield Change("constraint_loosened", path, f"{key} {before!r} dropped", False, True)
        else:
            yield Change(f"{key}_changed" if key in ("pattern", "format") else "constraint_changed", path,
                         f"{key} {before!r} -> {after!r}", True, True)
    for key in sorted((old.keys() | new.keys()) - _UNDERSTOOD - set(_LOWER_BOUNDS) - set(_UPPER_BOUNDS)):
        if old.get(key) != new.get(key):
            yield Change("keyword_changed", path, f"{key} {old.get(key)!r} -> {new.get(key)!r}", True, True)


def _resolve(schema: Schema, root: Schema) -> tuple[Schema, str]:
    """Follow `$ref`s to local definitions; keywords beside a `$ref` apply too, so they are merged in."""
    ref_name = ""
    seen = set()
    while isinstance(schema, Mapping) and "$ref" in schema:
        ref = schema["$ref"]
        if ref in seen:
            raise SchemaError(f"$ref cycle through {ref!r}")
        seen.add(ref)
        target = _pointer(root, ref)
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **siblings} if isinstance(target, Mapping) else target
        ref_name = ref
    return schema, ref_name


def _pointer(root: Schema, ref: str) -> Schema:
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        raise SchemaError(f"only local $refs (#/...) are supported, not {ref!r}")
    node: Any = root
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or token not in node:
            raise SchemaError(f"$ref {ref!r} points nowhere")
        node = node[token]
    return node


def _declared_types(schema: Mapping[str, Any]) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return list(declared)
    values = _all_enum_values(schema)
    if values is not None:
        return sorted({_json_type(v) for v in values})
    return ["*"]


def _accepting(types: Mapping[str, Any], json_type: str) -> str | None:
    """Which entry of `types` accepts values of `json_type`; None if none does."""
    if json_type in types:
        return json_type
    if json_type == "integer" and "number" in types:
        return "number"
    if "*" in types:
        return "*"
    return None


def _pair_type(old_type: str, new_type: str) -> str:
    """The JSON type two matched branches are compared as: the specific one, and number over integer."""
    if old_type == "*" or new_type == "*":
        return new_type if old_type == "*" else old_type
    return "number" if "number" in (old_type, new_type) else old_type


def _all_enum_values(schema: Mapping[str, Any]) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    if "enum" in schema:
        return list(schema["enum"])
    return None


def _enum_values(schema: Mapping[str, Any], json_type: str) -> list[Any] | None:
    values = _all_enum_values(schema)
    if values is None or json_type == "*":
        return values
    return [v for v in values if _json_type(v) == json_type or (json_type == "number" and _json_type(v) == "integer")]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _allows_anything(extra: Schema) -> bool:
    return extra is True or extra == {}


def _covers(acceptor: Schema, accepted: Schema) -> bool:
    """Whether `acceptor` surely accepts every value `accepted` does (equal schemas, or one open to anything)."""
    return accepted is False or _allows_anything(acceptor) or acceptor == accepted


def _extra_text(extra: Schema) -> str:
    if _allows_anything(extra):
        return "any other field"
    return "no other field" if extra is False else "other fields of one schema"


def _field_path(path: str, name: str) -> str:
    return f"{path}.{name}" if _IDENTIFIER.match(name) else f"{path}[{name!r}]"


def _types_text(types: Mapping[str, Any]) -> str:
    names = sorted("any" if t == "*" else t for t in types)
    return "|".join(names) if names else "nothing"


def _bound_text(value: Any) -> str:
    return "none" if value is None else str(value)


def _short(values: Sequence[Any] | None) -> str:
    values = list(values or ())
    return repr(values) if len(values) <= 6 else f"{values[:6]!r}..."

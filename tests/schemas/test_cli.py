"""`hub schemas ...` against a real nats-server, and offline for check and export."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import jsonschema
import orjson
from click.testing import CliRunner

from canonical.json_schemas import data_schema
from hub.schemas import registry, usage
from hub.schemas.cli import schemas
from hub.schemas.keys import schema_key
from tests.schemas.conftest import open_bucket

ORDER = {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"],
         "additionalProperties": False}


def on_bucket(url: str, action):
    async def run():
        nc, kv = await open_bucket(url)
        try:
            return await action(kv)
        finally:
            await nc.close()
    return asyncio.run(run())


def hub_schemas(*args: str):
    return CliRunner().invoke(schemas, list(args), catch_exceptions=False)


def write(path: Path, document) -> str:
    path.write_text(json.dumps(document))
    return str(path)


def test_register_list_show_diff_and_mode(nats_url, tmp_path):
    on_bucket(nats_url, registry.register_builtin)
    v1 = write(tmp_path / "v1.json", ORDER)
    result = hub_schemas("register", v1, "--type", "partner.acme.order", "--nats-url", nats_url)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "partner.acme.order: registered as v1 (mode backward)"
    again = hub_schemas("register", v1, "--type", "partner.acme.order", "--nats-url", nats_url)
    assert again.stdout.strip() == "partner.acme.order: unchanged, already v1 (mode backward)"

    v2 = write(tmp_path / "v2.json", {**ORDER, "properties": {**ORDER["properties"], "note": {"type": "string"}}})
    assert hub_schemas("register", v2, "--type", "partner.acme.order", "--nats-url", nats_url).exit_code == 0

    listed = json.loads(hub_schemas("list", "--json", "--nats-url", nats_url).stdout)
    by_type = {row["type"]: row for row in listed}
    assert by_type["partner.acme.order"] == {"type": "partner.acme.order", "versions": [1, 2], "latest": 2,
                                             "mode": "backward", "origin": "custom", "deprecated": []}
    assert by_type["stock.adjusted"]["versions"] == [1, 2]
    table = hub_schemas("list", "--nats-url", nats_url).stdout
    assert "partner.acme.order" in table and "TYPE" in table

    shown = json.loads(hub_schemas("show", "partner.acme.order", "--version", "1", "--nats-url", nats_url).stdout)
    assert shown["schema"] == ORDER and shown["version"] == 1
    diffed = hub_schemas("diff", "partner.acme.order", "1", "2", "--nats-url", nats_url).stdout
    assert "$.note" in diffed and "field_added" in diffed and "forward" in diffed

    assert hub_schemas("mode", "partner.acme.order", "--nats-url", nats_url).stdout.strip() == \
        "partner.acme.order: backward"
    assert hub_schemas("mode", "partner.acme.order", "FULL_TRANSITIVE", "--nats-url", nats_url).stdout.strip() == \
        "partner.acme.order: full_transitive"


def test_an_incompatible_registration_is_refused_with_its_reasons(nats_url, tmp_path):
    on_bucket(nats_url, lambda kv: registry.register(kv, "partner.acme.order", ORDER))
    bad = write(tmp_path / "bad.json", {**ORDER, "properties": {"order_id": {"type": "integer"}}})
    result = hub_schemas("register", bad, "--type", "partner.acme.order", "--nats-url", nats_url)
    assert result.exit_code == 1
    assert "partner.acme.order: refused under mode backward:" in result.stderr
    assert "$.order_id: type_changed (string -> integer) breaks backward compatibility with v1" in result.stderr
    as_json = hub_schemas("register", bad, "--type", "partner.acme.order", "--json", "--nats-url", nats_url)
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["incompatibilities"][0]["path"] == "$.order_id"


def test_bad_input_is_named(nats_url, tmp_path):
    on_bucket(nats_url, registry.register_builtin)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = hub_schemas("register", str(broken), "--type", "partner.x", "--nats-url", nats_url)
    assert result.exit_code == 1 and f"reading {broken}" in result.stderr
    missing = hub_schemas("show", "stock.adjusted", "--version", "9", "--nats-url", nats_url)
    assert missing.exit_code == 1 and "stock.adjusted has no version 9 (registered: [1, 2])" in missing.stderr
    latest = hub_schemas("deprecate", "stock.adjusted", "2", "--nats-url", nats_url)
    assert latest.exit_code == 1 and "v2 is the latest version of stock.adjusted" in latest.stderr


def test_registry_commands_say_when_the_hub_never_ran(nats_url):
    result = hub_schemas("list", "--nats-url", nats_url)
    assert result.exit_code == 1
    assert "no schema registry (KV bucket hub_schemas) on this NATS: start `hub up` once" in result.stderr


def test_deprecate_and_usage(nats_url):
    async def traffic(kv):
        await registry.register_builtin(kv)
        worker = usage.SchemaUsage()
        for _ in range(3):
            worker.observe("pos-1", "stock.adjusted", 1)
        worker.observe("wms", "stock.adjusted", 2)
        await worker.flush(kv)

    on_bucket(nats_url, traffic)
    assert hub_schemas("deprecate", "stock.adjusted", "1", "--note", "by March", "--nats-url", nats_url).exit_code == 0
    rows = json.loads(hub_schemas("usage", "--json", "--nats-url", nats_url).stdout)
    assert [(r["source"], r["version"], r["count"], r["deprecated"]) for r in rows] == [
        ("pos-1", 1, 3, True), ("wms", 2, 1, False)]
    table = hub_schemas("usage", "--nats-url", nats_url)
    assert "DEPRECATED" in table.stdout
    assert "warning: pos-1 sends stock.adjusted v1, which is deprecated (3 events" in table.stderr
    assert hub_schemas("undeprecate", "stock.adjusted", "1", "--nats-url", nats_url).exit_code == 0
    assert not any(r["deprecated"] for r in json.loads(hub_schemas("usage", "--json", "--nats-url", nats_url).stdout))


def test_check_offline_and_against_a_registry(nats_url):
    offline = hub_schemas("check")
    assert offline.exit_code == 0 and "ok: the code's own versions are compatible" in offline.stdout
    stricter = hub_schemas("check", "--mode", "full")
    assert stricter.exit_code == 1
    assert "stock.adjusted v2 (full): $.delta: type_changed (integer -> number) breaks forward" in stricter.stderr
    on_bucket(nats_url, registry.register_builtin)
    assert hub_schemas("check", "--nats-url", nats_url).exit_code == 0

    async def drift(kv):
        changed = data_schema("stock.adjusted", 2)
        changed["properties"]["delta"]["type"] = "string"
        await kv.put(schema_key("stock.adjusted", 2), orjson.dumps(
            {"type": "stock.adjusted", "version": 2, "origin": "builtin", "registered_at": "2026-01-01T00:00:00+00:00",
             "schema": changed}))

    on_bucket(nats_url, drift)
    failed = hub_schemas("check", "--nats-url", nats_url)
    assert failed.exit_code == 1
    assert "stock.adjusted v2 (backward): $.delta: type_changed (string -> number)" in failed.stderr


def test_export_writes_schemas_and_an_asyncapi_document_whose_refs_resolve(tmp_path, nats_url):
    offline = hub_schemas("export", str(tmp_path / "offline"))
    assert offline.exit_code == 0 and "wrote 19 file(s)" in offline.stdout

    on_bucket(nats_url, lambda kv: registry.register(kv, "partner.acme.order", ORDER))
    out = tmp_path / "live"
    assert hub_schemas("export", str(out), "--nats-url", nats_url).exit_code == 0
    partner = json.loads((out / "schemas" / "partner.acme.order.v1.json").read_text())
    assert partner["$id"] == "urn:hub:schema:partner.acme.order:v1"
    v2 = json.loads((out / "schemas" / "stock.adjusted.v2.json").read_text())
    jsonschema.Draft202012Validator.check_schema(v2)

    document = json.loads((out / "asyncapi.json").read_text())
    assert document["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in document["channels"].values()}
    assert {"inv.stock_adjusted.v1.{partition}", "inv.stock_adjusted.v2.{partition}", "out.{connector}.{event_type}",
            "dlq.{stage}.{connector}", "audit.{kind}"} <= addresses
    refs = set()
    _collect_refs(document, refs)
    files = {r for r in refs if not r.startswith("#")}
    assert "schemas/stock.adjusted.v2.json" in files
    for ref in files:
        assert (out / ref).is_file(), ref
    for ref in refs - files:
        node = document
        for token in ref[2:].split("/"):
            node = node[token]


def _collect_refs(node, found: set[str]) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            found.add(node["$ref"])
        for value in node.values():
            _collect_refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _collect_refs(value, found)

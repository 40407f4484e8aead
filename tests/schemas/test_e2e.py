"""End to end through `hub up`: v1 in, v2 out, v1 for a target that asks, and registrations on a running hub."""

from __future__ import annotations

import json
import subprocess
import sys

from canonical import new_event
from hub.testing import HubProcess, wait_until
from tests.core.helpers import copy_example, read_ndjson, write_ndjson

LEGACY_TARGET = """
[connectors.legacy]
type = "file.outbox"
path = "legacy"
schema_versions = { "stock.adjusted" = 1 }

[[routes]]
name = "adjustments-to-legacy"
match = "stock.adjusted"
targets = ["legacy"]
"""


def hub_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, timeout=60)


def adjusted(key: str, data: dict, version: int) -> dict:
    event = new_event("stock.adjusted", data, source="urn:test:pos", subject=f"{data['sku']}@{data['location']}",
                      idempotency_key=key, schema_version=version)
    return event.model_dump(mode="json")


def test_v1_published_v2_delivered_and_v1_served_where_asked(tmp_path):
    config = copy_example("quickstart", tmp_path, append=LEGACY_TARGET)
    inbox = config.parent / "inbox"
    outbox, legacy = config.parent / "outbox" / "events.ndjson", config.parent / "legacy" / "events.ndjson"
    v1 = [adjusted(f"v1-{i}", {"sku": f"SKU-{i}", "location": "STORE-1", "delta": -1 - i, "reason": "sale"}, 1)
          for i in range(3)]
    case = adjusted("v2-case", {"sku": "SKU-C", "location": "DC-1", "delta": 2, "unit_of_measure": "CS",
                                "units_per_uom": 12, "reason": "receipt", "lot": "L-7"}, 2)
    weighed = adjusted("v2-kg", {"sku": "CHEESE", "location": "STORE-1", "delta": -0.25, "unit_of_measure": "KG",
                                 "reason": "sale"}, 2)
    hub = HubProcess(config).start()
    try:
        write_ndjson(inbox / "adjustments.ndjson", [*v1, case, weighed])
        wait_until(lambda: len(read_ndjson(outbox)) >= 5 and len(read_ndjson(legacy)) >= 4, timeout=30,
                   what="deliveries to both targets")
        wait_until(lambda: len(_dead_letters(config)) >= 1, timeout=30, what="the dead letter of the KG event")
        letters = _dead_letters(config)
    finally:
        assert hub.stop() == 0, hub.log_tail()

    latest = {e["idempotency_key"]: e for e in read_ndjson(outbox)}
    assert {e["schema_version"] for e in latest.values()} == {2}
    assert latest["v1-0"]["data"] == {"sku": "SKU-0", "location": "STORE-1", "delta": -1, "reason": "sale",
                                      "unit_of_measure": "EA", "units_per_uom": 1, "serial_numbers": []}
    assert latest["v2-kg"]["data"]["delta"] == -0.25

    served = {e["idempotency_key"]: e for e in read_ndjson(legacy)}
    assert set(served) == {"v1-0", "v1-1", "v1-2", "v2-case"}
    assert {e["schema_version"] for e in served.values()} == {1}
    assert served["v2-case"]["data"] == {"sku": "SKU-C", "location": "DC-1", "delta": 24, "reason": "receipt"}

    (letter,) = letters
    assert (letter["error_class"], letter["stage"], letter["connector"]) == ("contract", "deliver", "legacy")
    assert "not a whole number of eaches" in letter["error"]


def test_an_incompatible_registration_is_refused_by_the_running_hubs_registry(tmp_path):
    config = copy_example("quickstart", tmp_path)
    v1 = tmp_path / "order.v1.json"
    v1.write_text(json.dumps({"type": "object", "properties": {"order_id": {"type": "string"}},
                              "required": ["order_id"], "additionalProperties": False}))
    v2 = tmp_path / "order.v2.json"
    v2.write_text(json.dumps({"type": "object", "properties": {"order_id": {"type": "integer"}},
                              "required": ["order_id"], "additionalProperties": False}))
    hub = HubProcess(config).start()
    try:
        first = hub_cli("schemas", "register", str(v1), "--type", "partner.acme.order", "--config", str(config))
        second = hub_cli("schemas", "register", str(v2), "--type", "partner.acme.order", "--config", str(config))
        shown = hub_cli("schemas", "show", "partner.acme.order", "--config", str(config))
    finally:
        assert hub.stop() == 0, hub.log_tail()
    assert first.returncode == 0, first.stderr
    assert "partner.acme.order: registered as v1" in first.stdout
    assert second.returncode == 1
    assert "$.order_id: type_changed (string -> integer) breaks backward compatibility with v1" in second.stderr
    assert json.loads(shown.stdout)["version"] == 1


def _dead_letters(config) -> list[dict]:
    listing = hub_cli("dlq", "list", "--json", "--config", str(config))
    assert listing.returncode == 0, listing.stderr
    return json.loads(listing.stdout)

"""Connectors registered and removed while the hub runs: started within seconds, no restart."""

from __future__ import annotations

import json

from hub.testing import HubProcess, wait_until
from tests.core.helpers import adjustments, copy_example, read_ndjson, write_ndjson
from tests.core.test_quickstart import hub_cli

ARCHIVE_ROUTE = '\n[[routes]]\nname = "archive-copy"\nmatch = "stock.*"\nroles = ["archive"]\n'


def test_register_list_test_and_remove_a_connector_at_runtime(tmp_path, nats_url):
    config = copy_example("quickstart", tmp_path, append=ARCHIVE_ROUTE)
    inbox = config.parent / "inbox"
    archive = tmp_path / "archive"
    connector_file = tmp_path / "archive.toml"
    connector_file.write_text(f'path = "{archive}"\nroles = ["archive"]\n')
    hub = HubProcess(config, nats_url=nats_url).start()
    try:
        bad = tmp_path / "bad.toml"
        bad.write_text("file_name = 3\n")
        refused = hub_cli("connectors", "register", "broken", "--type", "file.outbox", "--config", str(bad),
                          "--nats-url", nats_url)
        assert refused.returncode != 0 and "connectors.broken.path: Field required" in refused.stderr

        registered = hub_cli("connectors", "register", "archive", "--type", "file.outbox", "--config",
                             str(connector_file), "--nats-url", nats_url)
        assert registered.returncode == 0, registered.stderr

        def listed() -> dict:
            out = hub_cli("connectors", "list", "--json", "--config", str(config), "--nats-url", nats_url)
            return {row["name"]: row for row in json.loads(out.stdout)}

        wait_until(lambda: listed().get("archive", {}).get("state") == "running", timeout=15,
                   what="the registered connector to run")
        rows = listed()
        assert rows["archive"]["origin"] == "registry" and rows["outbox"]["origin"] == "config"
        tested = hub_cli("connectors", "test", "archive", "--config", str(config), "--nats-url", nats_url)
        assert tested.returncode == 0 and "writable" in tested.stdout

        write_ndjson(inbox / "first.ndjson", adjustments(50, prefix="A"))
        wait_until(lambda: len(read_ndjson(archive / "events.ndjson")) == 50, timeout=20, what="archive copies")

        removed = hub_cli("connectors", "remove", "archive", "--nats-url", nats_url)
        assert removed.returncode == 0
        def running_connectors() -> set[str] | None:
            workers = json.loads(hub_cli("status", "--json", "--nats-url", nats_url).stdout)["workers"]
            return {r["name"] for w in workers for r in w["connectors"]} if workers else None

        wait_until(lambda: (names := running_connectors()) is not None and "archive" not in names
                   and "outbox" in names, timeout=15, what="the removed connector to stop")
        write_ndjson(inbox / "second.ndjson", adjustments(50, prefix="B"))
        wait_until(lambda: len(read_ndjson(config.parent / "outbox" / "events.ndjson")) == 100, timeout=20,
                   what="the second batch in the outbox")
    finally:
        assert hub.stop() == 0, hub.log_tail()
    assert len(read_ndjson(archive / "events.ndjson")) == 50  # nothing reached it after removal

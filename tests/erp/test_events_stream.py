"""Poll -> canonical events -> EVENTS on a real nats-server, through the hub's own connector context."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from hub import bus
from hub.ingest import IngestContext
from hub.instances import validate_instance
from hub.metrics import Metrics
from sim.erp import ReferenceErp
from sim.erp.state import MovementInput
from tests.erp.conftest import PASSWORD, SIM, load_config


async def test_polled_events_are_stored_in_events_and_the_cursor_in_kv(
        nats_url: str, erp: ReferenceErp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ERP_PASSWORD", PASSWORD)
    erp.state.post_goods_movement("pos-1", date(2026, 11, 27), [MovementInput("SKU-1001", "STORE-001", "251", 1)])
    b = await bus.connect(nats_url)
    try:
        await b.declare()
        state = bus.KvState(await b.kv(bus.KV_STATE), "erp-sap")
        ctx = IngestContext("erp-sap", b, state, partitions=4, base_dir=SIM, data_dir=tmp_path, metrics=Metrics())
        cls, config = validate_instance("erp-sap", load_config("sap", endpoint=erp.endpoint("sap"), poll=False),
                                        "test.toml")
        connector = cls("erp-sap", config, ctx)
        await connector.start()
        try:
            stored = await connector.poll_once()
            await state.delete("erp.erp-sap.cursor.goods_movements")
            again = await connector.poll_operation(config.mapping.inbound[0])
        finally:
            await connector.stop()
        info = await b.js.stream_info(bus.EVENTS)
        assert stored == 1 + 12  # one movement line, twelve stock rows
        assert info.state.messages == stored
        assert again == 0  # same keys: the second poll from the start is dropped by Nats-Msg-Id
        assert await state.get("erp.erp-sap.cursor.goods_movements") == "4900000001"
    finally:
        await b.close()

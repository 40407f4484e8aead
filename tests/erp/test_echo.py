"""The poll echo: goods movements the hub posted itself are read back but never ingested again."""

from __future__ import annotations

from datetime import date

from sim.erp import ReferenceErp
from sim.erp.state import MovementInput
from tests.erp.conftest import MakeConnector, recorded
from tests.erp.test_roundtrip import adjustment


async def test_the_hubs_own_postings_do_not_come_back_as_events(erp: ReferenceErp, make_connector: MakeConnector):
    connector = await make_connector("sap")
    ctx = recorded(connector)
    movements = connector.config.mapping.inbound[0]
    await connector.deliver(adjustment(delta=-2, reason="shrink", key="hub-adj-1"), 1)
    erp.state.post_goods_movement("DN-77", date(2026, 11, 27), [MovementInput("SKU-1002", "DC-01", "101", 30)],
                                  entered_by="clerk")  # a receipt booked by a person in the ERP

    assert await connector.poll_operation(movements) == 1

    assert [(e.subject, e.data["delta"], e.data["reason"]) for e in ctx.events] == [("SKU-1002@DC-01", 30, "receipt")]
    assert ctx.counted("erp_own_postings_skipped") == 1
    assert await ctx.state.get("erp.sap.cursor.goods_movements") == "4900000002"  # moved past the skipped one too
    assert await connector.poll_operation(movements) == 0


async def test_a_page_of_only_own_postings_moves_the_cursor_and_stores_nothing(
        erp: ReferenceErp, make_connector: MakeConnector):
    connector = await make_connector("sap")
    ctx = recorded(connector)
    op = connector.config.mapping.inbound[0].model_copy(update={"page_size": 2})
    for n in range(3):
        await connector.deliver(adjustment(delta=1, reason="receipt", key=f"own-{n}"), 1)

    assert await connector.poll_operation(op) == 0

    assert ctx.events == [] and ctx.dead_letters == []
    assert ctx.counted("erp_own_postings_skipped") == 3
    assert await ctx.state.get("erp.sap.cursor.goods_movements") == "4900000003"


async def test_without_skip_own_the_echo_is_ingested(erp: ReferenceErp, make_connector: MakeConnector):
    """The loop the option prevents: the same posting returns as a new event with a new key."""
    connector = await make_connector("sap")
    op = connector.config.mapping.inbound[0].model_copy(update={"skip_own": None})
    posted = adjustment(key="hub-adj-2")
    await connector.deliver(posted, 1)

    assert await connector.poll_operation(op) == 1
    (echo,) = recorded(connector).events
    assert echo.idempotency_key != posted.idempotency_key and echo.data["delta"] == posted.data["delta"]

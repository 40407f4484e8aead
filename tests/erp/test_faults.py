"""Each fault class against the reference ERP: retried, dead-lettered as permanent, or as a contract error."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest

from canonical import ContractError, new_event
from connectors.erp import ErpFault, ResponseContractError
from hub.errors import PermanentError, TransientError, classify
from sim.erp import ReferenceErp
from tests.erp.conftest import MakeConnector, recorded


def adjustment(key: str, sku: str = "SKU-1001", delta: int = -1):
    return new_event("stock.adjusted", {"sku": sku, "location": "STORE-001", "delta": delta, "reason": "shrink"},
                     source="urn:hub:test", subject=f"{sku}@STORE-001", idempotency_key=key)


@pytest.mark.parametrize(("lever", "code"), [("unknown", "MaterialInvalid"), ("locked", "ItemLocked"),
                                             ("closed", "PeriodClosed")])
async def test_business_faults_are_permanent_with_code_and_text(
        erp: ReferenceErp, make_connector: MakeConnector, lever: str, code: str):
    connector = await make_connector("sap")
    sku = "SKU-9999" if lever == "unknown" else "SKU-1001"
    if lever == "locked":
        erp.state.lock_item("SKU-1001", "STORE-001")
    event = adjustment(f"biz-{lever}", sku=sku)
    if lever == "closed":
        erp.state.close_period(event.time.strftime("%Y-%m"))

    with pytest.raises(ErpFault) as caught:
        await connector.deliver(event, 1)

    assert classify(caught.value) == "permanent"
    assert caught.value.code == code and caught.value.text
    assert f"fault {code}" in str(caught.value) and "GoodsMovementCreate" in str(caught.value)
    assert len(erp.calls_to("GoodsMovementCreate")) == 1  # not retried
    assert erp.state.documents_for(event.idempotency_key) == []


async def test_errors_inside_the_answer_are_permanent_too(erp: ReferenceErp, make_connector: MakeConnector):
    connector = await make_connector("netsuite")
    with pytest.raises(ErpFault) as caught:
        await connector.deliver(adjustment("ns-bad", sku="SKU-9999"), 1)
    assert caught.value.code == "INVALID_KEY_OR_REF" and "SKU-9999" in caught.value.text


async def test_netsuite_style_faults_take_the_code_from_the_detail(erp: ReferenceErp, make_connector: MakeConnector):
    connector = await make_connector("netsuite")
    erp.inject("fault", code="INSUFFICIENT_PERMISSION", message="role may not post adjustments")
    with pytest.raises(ErpFault) as caught:
        await connector.deliver(adjustment("ns-perm"), 1)
    assert (caught.value.code, caught.value.text) == ("INSUFFICIENT_PERMISSION", "role may not post adjustments")


@pytest.mark.parametrize("injection", [{"kind": "http", "status": 500}, {"kind": "http", "status": 503},
                                       {"kind": "drop"}, {"kind": "fault", "code": "SystemBusy"}])
async def test_transient_failures_are_retried_in_process(
        erp: ReferenceErp, make_connector: MakeConnector, injection: dict[str, object]):
    connector = await make_connector("sap")
    erp.inject(**injection, times=2)
    await connector.deliver(adjustment("retry-me"), 1)
    assert len(erp.state.documents_for("retry-me")) == 1


async def test_a_lasting_outage_raises_transient_for_jetstream_redelivery(
        erp: ReferenceErp, make_connector: MakeConnector):
    connector = await make_connector("sap")
    erp.inject("http", status=503, times=10)
    with pytest.raises(TransientError, match="HTTP 503") as caught:
        await connector.deliver(adjustment("outage"), 1)
    assert classify(caught.value) == "transient"
    assert len(erp.calls_to("GoodsMovementCreate")) == connector.config.retry.in_process_attempts


async def test_a_timeout_is_transient(erp: ReferenceErp, make_connector: MakeConnector):
    connector = await make_connector("sap", timeout=0.2, retry={"in_process_attempts": 1})
    erp.inject("delay", seconds=0.6, operation="MaterialStockGetList")
    with pytest.raises(TransientError, match="no answer within the timeout"):
        await connector.poll_operation(connector.config.mapping.inbound[1])


async def test_the_erp_going_down_and_coming_back(erp: ReferenceErp, make_connector: MakeConnector):
    connector = await make_connector("sap", retry={"in_process_attempts": 1})
    await connector.deliver(adjustment("before-down"), 1)
    erp.go_down()
    with pytest.raises(TransientError, match="GoodsMovementCreate"):
        await connector.deliver(adjustment("while-down"), 1)
    erp.come_up()
    await connector.deliver(adjustment("while-down"), 2)
    assert len(erp.state.documents_for("while-down")) == 1


async def test_a_malformed_answer_is_a_contract_error_naming_the_place(
        erp: ReferenceErp, make_connector: MakeConnector):
    connector = await make_connector("sap")
    erp.inject("malformed", operation="GoodsMovementCreate")
    with pytest.raises(ResponseContractError) as caught:
        await connector.deliver(adjustment("garbled"), 1)
    assert classify(caught.value) == "contract"
    assert "malformed XML" in str(caught.value)
    assert re.fullmatch(r"GoodsMovementCreate response line \d+ column \d+", caught.value.where)
    assert caught.value.raw.startswith(b"<?xml")
    await connector.deliver(adjustment("garbled"), 2)  # a replay is counted as the duplicate it is
    assert len(erp.state.documents_for("garbled")) == 1


async def test_an_answer_that_does_not_fit_the_wsdl_is_a_contract_error(
        erp: ReferenceErp, make_connector: MakeConnector):
    connector = await make_connector("sap")
    erp.inject("invalid", operation="MaterialStockGetList")
    with pytest.raises(ContractError, match="does not fit the WSDL"):
        await connector.poll_operation(connector.config.mapping.inbound[1])


@pytest.mark.parametrize("kind", ["bomb", "xxe"])
async def test_hostile_xml_is_refused_quickly_and_the_connector_keeps_working(
        erp: ReferenceErp, make_connector: MakeConnector, kind: str):
    connector = await make_connector("sap")
    erp.inject(kind, operation="GoodsMovementGetList")
    started = time.monotonic()
    with pytest.raises(ResponseContractError) as caught:
        await connector.poll_operation(connector.config.mapping.inbound[0])
    assert time.monotonic() - started < 2
    message = str(caught.value)
    assert "refused an answer with a DTD" in message and "root:" not in message
    assert await connector.poll_once() > 0  # the next call is served normally


async def test_an_answer_over_the_size_cap_is_refused(erp: ReferenceErp, make_connector: MakeConnector):
    connector = await make_connector("sap", max_response_bytes=50_000)
    erp.inject("huge", size=200_000, operation="MaterialStockGetList")
    with pytest.raises(ResponseContractError, match="exceeds max_response_bytes=50000"):
        await connector.poll_operation(connector.config.mapping.inbound[1])


async def test_wrong_credentials_are_permanent(erp: ReferenceErp, make_connector: MakeConnector,
                                              monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ERP_WRONG", "nope")
    wrong = {"username": "hub", "password": "env:ERP_WRONG"}
    sap = await make_connector("sap", auth={"mode": "wsse", **wrong})
    suite = await make_connector("netsuite", auth={"mode": "basic", **wrong})
    with pytest.raises(ErpFault, match="AuthenticationFailed"):
        await sap.deliver(adjustment("auth-1"), 1)
    with pytest.raises(PermanentError, match="HTTP 401"):
        await suite.deliver(adjustment("auth-2"), 1)


async def test_the_poll_loop_dead_letters_a_bomb_once_and_carries_on(
        erp: ReferenceErp, make_connector: MakeConnector):
    erp.inject("bomb", times=1000, operation="GoodsMovementGetList")
    connector = await make_connector("sap", poll=True, poll_interval=0.05)
    ctx = recorded(connector)
    # Three bombs answered and counted, and the other operations polled: the ERP seeing a third call
    # is not enough, its answer may still be on its way through the connector.
    for _ in range(200):
        if ctx.counted("erp_poll_errors") >= 3 and any(e.type == "stock.snapshot" for e in ctx.events):
            break
        await asyncio.sleep(0.05)
    assert len(erp.calls_to("GoodsMovementGetList")) >= 3
    assert len(ctx.dead_letters) == 1
    letter = ctx.dead_letters[0]
    assert letter["error_class"] == "contract" and b"<!DOCTYPE lolz" in letter["raw"]
    assert letter["origin"] == "sap/GoodsMovementGetList"
    assert any(e.type == "stock.snapshot" for e in ctx.events)  # the other operations still poll
    assert ctx.counted("erp_poll_errors") >= 3


async def test_faults_can_be_injected_over_http_control(erp: ReferenceErp, make_connector: MakeConnector):
    connector = await make_connector("sap", retry={"in_process_attempts": 1})
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{erp.url}/control", json={"inject": {"kind": "http", "status": 502}})
        refused = await client.post(f"{erp.url}/control", json={"inject": {"kind": "nonsense"}})
    assert answer.json() == {"ok": True, "pending": 1}
    assert refused.status_code == 400
    with pytest.raises(TransientError, match="HTTP 502"):
        await connector.deliver(adjustment("ctl-1"), 1)

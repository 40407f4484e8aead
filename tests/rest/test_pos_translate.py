"""Pure translation of commerce payloads to canonical events and of canonical events to commerce calls."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from canonical import ContractError, EventError, new_event
from connectors.pos.feed import SourceInfo, feed_items, translate_items
from connectors.pos.translate import outbound_calls, translate_item

SOURCE = SourceInfo("shop", {"STORE-001": "S001"})


def item(event_type: str, data: dict[str, Any], item_id: str = "evt_1") -> dict[str, Any]:
    return {"id": item_id, "type": event_type, "created_at": "2026-11-27T09:30:00+00:00", "data": data}


def lines(*pairs: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"line": n, "sku": sku, "quantity": qty} for n, (sku, qty) in enumerate(pairs, 1)]


def test_a_sale_is_one_negative_stock_adjustment_per_line_at_the_mapped_store() -> None:
    events = translate_item(item("sale", {"transaction_id": "T1", "store": "STORE-001",
                                          "lines": lines(("A", 2), ("B", 1))}), SOURCE)
    assert [(e.type, e.subject, e.data["delta"], e.data["reason"], e.data["reference"]) for e in events] == [
        ("stock.adjusted", "A@S001", -2, "sale", "T1"),
        ("stock.adjusted", "B@S001", -1, "sale", "T1"),
    ]
    assert [e.idempotency_key for e in events] == ["shop:evt_1:1:stock.adjusted", "shop:evt_1:2:stock.adjusted"]
    assert events[0].source == "urn:peer:shop"
    assert events[0].time.isoformat() == "2026-11-27T09:30:00+00:00"


def test_the_same_item_always_gets_the_same_keys() -> None:
    raw = item("sale", {"transaction_id": "T1", "store": "X", "lines": lines(("A", 2))})
    first, second = translate_item(raw, SOURCE), translate_item(raw, SOURCE)
    assert first[0].idempotency_key == second[0].idempotency_key
    assert first[0].data == second[0].data


def test_a_restocked_return_is_received_and_adds_stock_while_an_unrestocked_one_only_is_received() -> None:
    data = {"return_id": "R1", "store": "STORE-002", "order_id": "O9",
            "lines": [{"line": 1, "sku": "A", "quantity": 1, "reason": "wrong_size", "restocked": True},
                      {"line": 2, "sku": "B", "quantity": 2, "reason": "faulty", "condition": "defective"}]}
    events = translate_item(item("return", data), SOURCE)
    assert [(e.type, e.data["sku"]) for e in events] == [
        ("return.received", "A"), ("stock.adjusted", "A"), ("return.received", "B")]
    assert events[0].data["reason_code"] == "wrong_size" and events[0].data["order_id"] == "O9"
    assert events[1].data["delta"] == 1 and events[1].data["reason"] == "return"
    assert events[2].data["condition"] == "defective"
    assert len({e.idempotency_key for e in events}) == 3


@pytest.mark.parametrize(("event_type", "action"), [
    ("order.reserved", "reserve"), ("order.cancelled", "release"), ("order.fulfilled", "consume")])
def test_order_events_change_reservations(event_type: str, action: str) -> None:
    events = translate_item(item(event_type, {"order_id": "O1", "node": "WEB-01", "channel": "marketplace",
                                              "lines": lines(("A", 3))}), SOURCE)
    assert [(e.type, e.data["action"], e.data["quantity"], e.data["channel"], e.data["location"]) for e in events] \
        == [("reservation.changed", action, 3, "marketplace", "WEB-01")]


def test_an_unknown_type_is_a_contract_error_naming_the_known_ones() -> None:
    with pytest.raises(ContractError, match="unknown commerce event type 'refund'.*sale"):
        translate_item(item("refund", {}), SOURCE)


@pytest.mark.parametrize(("raw", "where"), [
    (item("sale", {"transaction_id": "T1", "store": "S", "lines": [{"line": 1, "quantity": 1}]}),
     "data.lines[0].sku"),
    (item("sale", {"transaction_id": "T1", "store": "S", "lines": lines(("A", 0))}), "data.lines[0].quantity"),
    (item("sale", {"transaction_id": "T1", "store": "S", "lines": []}), "data.lines"),
    ({**item("sale", {}), "created_at": "2026-11-27T09:30:00"}, "created_at"),
    ({"type": "sale", "created_at": "2026-11-27T09:30:00Z", "data": {}}, "id"),
    (item("return", {"return_id": "R", "store": "S", "lines": [
        {"line": 1, "sku": "A", "quantity": 1, "condition": "crushed"}]}), "data.lines[0].condition"),
])
def test_bad_payloads_name_the_field(raw: dict[str, Any], where: str) -> None:
    with pytest.raises(EventError) as caught:
        translate_item(raw, SOURCE)
    assert caught.value.where == where


def test_one_bad_item_is_rejected_with_its_position_and_the_rest_translate() -> None:
    good = item("sale", {"transaction_id": "T1", "store": "S", "lines": lines(("A", 1))})
    bad = item("sale", {"transaction_id": "T2", "store": "S", "lines": [{"line": 1, "sku": "A"}]}, "evt_2")
    out = translate_items(feed_items({"events": [good, bad, "junk"]}),
                          functools.partial(translate_item, source=SOURCE))
    assert len(out.events) == 1
    assert [(r.index, r.error.where) for r in out.rejects] == [(1, "events[1].data.lines[0].quantity"),
                                                               (2, "events[2]")]
    assert b'"evt_2"' in out.rejects[0].raw


@pytest.mark.parametrize(("body", "where"), [([], "$"), ({"items": []}, "$.events"), ({"events": {}}, "$.events")])
def test_a_body_without_an_event_list_is_refused_with_where(body: Any, where: str) -> None:
    with pytest.raises(EventError) as caught:
        feed_items(body)
    assert caught.value.where == where


def test_availability_is_a_put_of_the_absolute_quantity_with_the_event_key() -> None:
    event = new_event("availability.published", {"sku": "SKU 1/2", "location": "WEB-01", "available": 7,
                                                 "channel": "marketplace"},
                      source="urn:hub", subject="SKU 1/2@WEB-01", idempotency_key="k1")
    [call] = outbound_calls(event)
    assert (call.method, call.path, call.json, call.idempotency_key) == (
        "PUT", "/v1/availability/SKU%201%2F2/WEB-01", {"available": 7, "channel": "marketplace"}, "k1")


@pytest.mark.parametrize(("kind", "action"), [("exposure_hold", "hold"), ("exposure_release", "release")])
def test_exposure_tasks_hold_or_release_with_the_key_plus_the_action(kind: str, action: str) -> None:
    event = new_event("task.raised", {"task_id": "T1", "kind": kind, "title": "phantom stock suspected",
                                      "sku": "A", "evidence": {"channel": "amazon"}},
                      source="urn:hub", subject="A", idempotency_key="k2")
    [call] = outbound_calls(event)
    assert (call.method, call.path, call.idempotency_key) == ("POST", f"/v1/exposure/A/amazon/{action}", f"k2.{action}")
    assert call.json == {"reason": "phantom stock suspected", "task_id": "T1"}


def test_events_commerce_cannot_take_are_contract_errors() -> None:
    count = new_event("task.raised", {"task_id": "T1", "kind": "count", "title": "count"},
                      source="urn:hub", subject="A")
    with pytest.raises(ContractError, match="task.raised of kind 'count'"):
        outbound_calls(count)
    hold_without_sku = new_event("task.raised", {"task_id": "T1", "kind": "exposure_hold", "title": "hold"},
                                 source="urn:hub", subject="A")
    with pytest.raises(ContractError, match="names no sku"):
        outbound_calls(hold_without_sku)
    sale = new_event("stock.adjusted", {"sku": "A", "location": "S", "delta": -1, "reason": "sale"},
                     source="urn:hub", subject="A@S")
    with pytest.raises(ContractError, match="cannot deliver stock.adjusted"):
        outbound_calls(sale)

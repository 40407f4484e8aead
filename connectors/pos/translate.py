"""Pure translation between a POS / commerce platform's JSON and canonical events, both directions.

In: sale -> stock.adjusted (sale); return -> return.received, plus stock.adjusted (return) for
lines put back on the shelf; order.reserved / order.cancelled / order.fulfilled ->
reservation.changed (reserve / release / consume).
Out: availability.published -> PUT availability (a set, so a retry is harmless);
task.raised of kind exposure_hold / exposure_release -> POST a hold / release of a SKU on a channel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from pydantic import Field

from canonical import ContractError, Envelope, item_subject, new_event
from canonical.events import ReturnCondition
from connectors.pos.feed import FeedItem, RawModel, SourceInfo, parse_raw
from connectors.pos.http import RestCall

EXPOSURE_KINDS = {"exposure_hold": "hold", "exposure_release": "release"}


class _Line(RawModel):
    line: int = Field(ge=1)
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=0)


class _SaleLine(_Line):
    quantity: int = Field(gt=0)


class Sale(RawModel):
    transaction_id: str = Field(min_length=1, max_length=80)
    store: str = Field(min_length=1)
    lines: list[_SaleLine] = Field(min_length=1)


class _ReturnLine(_Line):
    quantity: int = Field(gt=0)
    reason: str = Field(default="unspecified", min_length=1)
    condition: ReturnCondition = ReturnCondition.NEW
    restocked: bool = Field(default=False, description="Put back on the shelf at once, so on hand grows.")
    refund_amount: float | None = None


class Return(RawModel):
    return_id: str = Field(min_length=1)
    store: str = Field(min_length=1)
    channel: str = "store"
    order_id: str | None = None
    lines: list[_ReturnLine] = Field(min_length=1)


class Order(RawModel):
    order_id: str = Field(min_length=1)
    node: str = Field(min_length=1, description="The fulfilment node holding the reservation.")
    channel: str = "web"
    lines: list[_Line] = Field(min_length=1)


def translate_item(item: Mapping[str, Any], source: SourceInfo) -> list[Envelope]:
    """Canonical events of one feed item; an EventError (or ContractError for an unknown type) naming the field."""
    head = parse_raw(FeedItem, item)
    handler = _INBOUND.get(head.type)
    if handler is None:
        raise ContractError(f"unknown commerce event type {head.type!r} (known: {', '.join(_INBOUND)})", "type")
    return handler(head, source)


def _sale(head: FeedItem, source: SourceInfo) -> list[Envelope]:
    sale = parse_raw(Sale, head.data, "data")
    location = source.location(sale.store)
    return [
        _event(head, source, "stock.adjusted", line.line,
               {"sku": line.sku, "location": location, "delta": -line.quantity, "reason": "sale",
                "reference": sale.transaction_id})
        for line in sale.lines
    ]


def _return(head: FeedItem, source: SourceInfo) -> list[Envelope]:
    ret = parse_raw(Return, head.data, "data")
    location = source.location(ret.store)
    events = []
    for line in ret.lines:
        events.append(_event(head, source, "return.received", line.line, {
            "sku": line.sku, "location": location, "return_id": ret.return_id, "quantity": line.quantity,
            "reason_code": line.reason, "condition": line.condition, "channel": ret.channel,
            "order_id": ret.order_id, "refund_amount": line.refund_amount,
        }))
        if line.restocked:
            events.append(_event(head, source, "stock.adjusted", line.line, {
                "sku": line.sku, "location": location, "delta": line.quantity, "reason": "return",
                "reference": ret.return_id,
            }))
    return events


def _order(action: str) -> Callable[[FeedItem, SourceInfo], list[Envelope]]:
    def translate(head: FeedItem, source: SourceInfo) -> list[Envelope]:
        order = parse_raw(Order, head.data, "data")
        location = source.location(order.node)
        return [
            _event(head, source, "reservation.changed", line.line,
                   {"sku": line.sku, "location": location, "order_id": order.order_id, "channel": order.channel,
                    "action": action, "quantity": line.quantity})
            for line in order.lines
        ]

    return translate


_INBOUND: dict[str, Callable[[FeedItem, SourceInfo], list[Envelope]]] = {
    "sale": _sale,
    "return": _return,
    "order.reserved": _order("reserve"),
    "order.cancelled": _order("release"),
    "order.fulfilled": _order("consume"),
}


def _event(head: FeedItem, source: SourceInfo, event_type: str, line: int, data: dict[str, Any]) -> Envelope:
    data = {k: v for k, v in data.items() if v is not None}
    return new_event(event_type, data, source=source.uri, subject=item_subject(data["sku"], data["location"]),
                     idempotency_key=source.key(head, line, event_type), time=head.created_at)


def outbound_calls(event: Envelope) -> list[RestCall]:
    """The commerce API calls that deliver `event`; a ContractError for an event this target cannot take."""
    if event.type == "availability.published":
        return [availability_call(event)]
    if event.type == "task.raised" and event.data.get("kind") in EXPOSURE_KINDS:
        return [exposure_call(event)]
    what = event.type + (f" of kind {event.data.get('kind')!r}" if event.type == "task.raised" else "")
    raise ContractError(f"commerce.rest cannot deliver {what}", "type")


def availability_call(event: Envelope) -> RestCall:
    data = event.data
    return RestCall("PUT", f"/v1/availability/{_seg(data['sku'])}/{_seg(data['location'])}",
                    {"available": data["available"], "channel": data.get("channel", "web")},
                    event.idempotency_key)


def exposure_call(event: Envelope) -> RestCall:
    """A hold or release of a SKU's exposure on a channel; the channel comes from the task's evidence."""
    data = event.data
    action = EXPOSURE_KINDS[data["kind"]]
    sku = data.get("sku")
    if not sku:
        raise ContractError(f"task.raised of kind {data['kind']} names no sku", "data.sku")
    channel = str(data.get("evidence", {}).get("channel", "marketplace"))
    return RestCall("POST", f"/v1/exposure/{_seg(sku)}/{_seg(channel)}/{action}",
                    {"reason": data["title"], "task_id": data["task_id"]},
                    f"{event.idempotency_key}.{action}")


def _seg(value: str) -> str:
    return quote(value, safe="")

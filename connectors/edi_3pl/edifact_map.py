"""EDIFACT messages <-> canonical events (pure).

Inbound: INVRPT, DESADV, RECADV, ORDRSP, SLSRPT, ORDERS and CONTRL become canonical event dicts; a
message that cannot be mapped gets an EdiError naming its segment number and element, with the
CONTRL syntax error code. Outbound: purchase_order.changed (created) becomes an ORDERS.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.edi_3pl.edifact import (
    INVALID_VALUE,
    MESSAGE_NOT_SUPPORTED,
    MISSING,
    Element,
    Interchange,
    Message,
    Segment,
    value,
)
from connectors.edi_3pl.errors import EdiError
from connectors.edi_3pl.mapping import DocumentId, Partner, iso_datetime
from connectors.edi_3pl.xref import ItemXref, not_translated

Mapper = Callable[[list[Segment], DocumentId], list[dict[str, Any]]]

ORDERS_TYPE = ("ORDERS", "D", "96A", "UN")


@dataclass(slots=True)
class MessageOutcome:
    """One message: the events it maps to, or why it is refused."""

    message: Message
    events: list[dict[str, Any]] = field(default_factory=list)
    errors: list[EdiError] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.errors


def map_interchange(ic: Interchange, partner: Partner) -> list[MessageOutcome]:
    """Every message of the interchange, mapped or refused; one message's error never affects another's."""
    when = iso_datetime(ic.date, ic.time)
    outcomes: list[MessageOutcome] = []
    for message in ic.messages:
        outcome = MessageOutcome(message, errors=list(message.errors))
        outcomes.append(outcome)
        if outcome.errors:
            continue
        where = {"interchange": ic.control, "group": message.group, "set_control": message.ref}
        mapper = MAPPERS.get(message.type)
        if mapper is None:
            outcome.errors.append(EdiError(f"message type {message.type!r} is not supported", segment=1,
                                           segment_id="UNH", element=2, code=MESSAGE_NOT_SUPPORTED, **where))
            continue
        if when is None:
            outcome.errors.append(EdiError(f"UNB date/time {ic.date!r} {ic.time!r} is not a date and time",
                                           segment_id="UNB", element=4, code=INVALID_VALUE, **where))
            continue
        doc = DocumentId(partner, "edifact", ic.control, message.group or "", message.ref, when)
        try:
            outcome.events = mapper(message.segments, doc)
        except EdiError as exc:
            outcome.errors.append(exc.located(**where))
    return outcomes


def _error(message: str, seg: Segment, number: int, index: int | None, code: str) -> EdiError:
    return EdiError(message, segment=number, segment_id=seg[0][0], element=index, code=code)


def _need(seg: Segment, number: int, index: int, component: int, what: str) -> str:
    found = value(seg, index, component).strip()
    if not found:
        raise EdiError(f"{what} ({seg[0][0]} element {index}.{component + 1}) is missing", segment=number,
                       segment_id=seg[0][0], element=index, component=component + 1, code=MISSING)
    return found


def _quantity(seg: Segment, number: int) -> int:
    raw = _need(seg, number, 1, 1, "quantity")
    try:
        amount = float(raw.replace(",", "."))
    except ValueError:
        raise EdiError(f"QTY quantity {raw!r} is not a number", segment=number, segment_id="QTY", element=1,
                       component=2, code=INVALID_VALUE) from None
    if not math.isfinite(amount) or amount != int(amount):
        raise EdiError(f"QTY quantity {raw!r} is not a finite whole number", segment=number, segment_id="QTY", element=1,
                       component=2, code=INVALID_VALUE)
    return int(amount)


def _dtm(seg: Segment, number: int) -> str:
    """DTM date in format 102 (CCYYMMDD), 203 (CCYYMMDDHHMM) or 204 (CCYYMMDDHHMMSS)."""
    raw, fmt = value(seg, 1, 1).strip(), value(seg, 1, 2).strip() or "102"
    stamp = None
    if fmt == "102":
        stamp = iso_datetime(raw)
    elif fmt in ("203", "204"):
        stamp = iso_datetime(raw[:8], raw[8:])
    if stamp is None:
        raise EdiError(f"DTM {raw!r} is not a date in format {fmt} (102, 203 or 204)", segment=number,
                       segment_id="DTM", element=1, component=2, code=INVALID_VALUE)
    return stamp


def _item(seg: Segment, ids: dict[str, str]) -> None:
    """Collect item ids by type from LIN (element 3) or PIA (elements 2..) into `ids`."""
    elements = [seg[3]] if seg[0][0] == "LIN" and len(seg) > 3 else seg[2:] if seg[0][0] == "PIA" else []
    for parts in elements:
        if parts and parts[0]:
            ids.setdefault(parts[1] if len(parts) > 1 else "", parts[0])


_GTIN_TYPES = ("SRV", "EN", "UP")
_VENDOR_TYPES = ("SA", "VN", "VP")
# Without a cross-reference, a supplier's article number (SA) has always been taken as our SKU; a
# partner that has a table gets SA translated through it instead.
_OUR_TYPES = ("IN", "", "BP")
_OUR_TYPES_WITHOUT_XREF = ("IN", "SA", "", "BP")


def _sku(ids: dict[str, str], seg: Segment, number: int, xref: ItemXref | None) -> str:
    """Our SKU: the line's own (IN first, see _OUR_TYPES), else its GTIN or vendor number through the table."""
    sku = ids.get("IN")
    if sku:
        return sku
    for kind in _OUR_TYPES if xref else _OUR_TYPES_WITHOUT_XREF:
        if ids.get(kind):
            return ids[kind]
    gtins = [(t, ids[t]) for t in _GTIN_TYPES if ids.get(t)]
    parts = [(t, ids[t]) for t in _VENDOR_TYPES if ids.get(t)]
    sku = xref.sku_for([v for _, v in gtins], [v for _, v in parts]) if xref else None
    if sku:
        return sku
    ours = "buyer's (IN, BP)" if xref else "buyer's (IN, BP) or supplier's (SA)"
    message = f"no {ours} item number in {seg[0][0]}"
    message += not_translated(gtins + parts, xref) if gtins or parts else f" (types: {sorted(ids)})"
    raise EdiError(message, segment=number, segment_id=seg[0][0], element=3, code=MISSING)


def _required(found: str | None, what: str, segs: list[Segment], tag: str) -> str:
    if not found:
        raise EdiError(f"{what}: no {tag} segment and no partner default", segment=len(segs), segment_id=tag,
                       code=MISSING)
    return found


def _missing(segs: list[Segment], tag: str, what: str) -> EdiError:
    return EdiError(f"no {tag} {what} in the message", segment=len(segs), segment_id=tag, code=MISSING)


@dataclass(slots=True)
class _Line:
    """One LIN group as read: its item ids, quantities by qualifier and the segments' positions."""

    number: int
    seg: Segment
    ids: dict[str, str] = field(default_factory=dict)
    quantities: dict[str, int] = field(default_factory=dict)
    quantity_at: dict[str, int] = field(default_factory=dict)  # qualifier -> segment number, for errors
    action: str = ""
    price: float | None = None
    location: str | None = None

    def sku(self, xref: ItemXref | None) -> str:
        return _sku(self.ids, self.seg, self.number, xref)


def _walk(segs: list[Segment], on_header: Callable[[str, Segment, int], None]) -> list[_Line]:
    """Split a message into its LIN groups; header segments go to `on_header`."""
    lines: list[_Line] = []
    place: str | None = None  # a LOC 162 opens a group of lines at that location (SLSRPT)
    for number, seg in enumerate(segs, 1):
        tag = seg[0][0]
        if tag == "LOC" and value(seg, 1) == "162":
            place = value(seg, 2) or place
            on_header(tag, seg, number)
        elif tag == "LIN":
            line = _Line(number, seg, action=value(seg, 2), location=place)
            _item(seg, line.ids)
            lines.append(line)
        elif lines and tag == "QTY":
            qualifier = value(seg, 1, 0)
            lines[-1].quantities[qualifier] = lines[-1].quantities.get(qualifier, 0) + _quantity(seg, number)
            lines[-1].quantity_at[qualifier] = number
        elif lines and tag == "PIA":
            _item(seg, lines[-1].ids)
        elif lines and tag == "PRI" and value(seg, 1, 1):
            try:
                lines[-1].price = float(value(seg, 1, 1).replace(",", "."))
            except ValueError:
                raise EdiError(f"PRI price {value(seg, 1, 1)!r} is not a number", segment=number, segment_id="PRI",
                               element=1, component=2, code=INVALID_VALUE) from None
        elif lines and tag == "LOC":
            lines[-1].location = value(seg, 2) or lines[-1].location
        else:
            on_header(tag, seg, number)
    return lines


_INVRPT_QTY = {"145": "on_hand", "198": "available", "21": "on_order", "124": "damaged", "83": "in_transit",
               "17": "reserved"}


_INVRPT_PLACES = {("NAD", "WH"), ("NAD", "DP"), ("NAD", "ST"), ("LOC", "14"), ("LOC", "18"), ("LOC", "162")}


def map_invrpt(segs: list[Segment], doc: DocumentId) -> list[dict[str, Any]]:
    """Inventory report: one stock.snapshot per LIN, quantities by QTY qualifier."""
    head: dict[str, Any] = {"location": doc.partner.location}

    def header(tag: str, seg: Segment, number: int) -> None:
        if (tag, value(seg, 1)) in _INVRPT_PLACES:
            head["location"] = value(seg, 2) or head["location"]
        elif tag == "DTM" and value(seg, 1) in ("137", "366"):
            head["as_of"] = _dtm(seg, number)

    lines = _walk(segs, header)
    if not lines:
        raise _missing(segs, "LIN", "line")
    events = []
    for index, line in enumerate(lines, 1):
        status: dict[str, int] = {}
        for qualifier, amount in line.quantities.items():
            bucket = _INVRPT_QTY.get(qualifier)
            if bucket is None:
                raise EdiError(f"QTY qualifier {qualifier!r} is not one of {sorted(_INVRPT_QTY)}",
                               segment=line.quantity_at[qualifier], segment_id="QTY", element=1, component=1,
                               code=INVALID_VALUE)
            status[bucket] = amount
        where = _required(line.location or head["location"], "no location for the stock report", segs, "NAD")
        sku = line.sku(doc.partner.item_xref)
        data: dict[str, Any] = {"sku": sku, "location": where, "status": status}
        if "as_of" in head:
            data["as_of"] = head["as_of"]
        events.append(doc.event("stock.snapshot", data, f"{sku}@{where}", index, time=head.get("as_of")))
    return events


def map_desadv(segs: list[Segment], doc: DocumentId) -> list[dict[str, Any]]:
    """Despatch advice: one shipment.notified with a line per LIN (QTY 12 despatched)."""
    data: dict[str, Any] = {"supplier": doc.partner.supplier, "location": doc.partner.location}

    def header(tag: str, seg: Segment, number: int) -> None:
        if tag == "BGM":
            data["asn_id"] = _need(seg, number, 2, 0, "despatch advice number")
        elif tag == "NAD":
            party = value(seg, 1)
            if party in ("DP", "ST", "WH"):
                data["location"] = value(seg, 2) or data["location"]
            elif party in ("SU", "SE", "CZ"):
                data["supplier"] = value(seg, 2) or data["supplier"]
        elif tag == "RFF" and value(seg, 1, 0) == "ON":
            data.setdefault("po_number", value(seg, 1, 1))
        elif tag == "RFF" and value(seg, 1, 0) in ("BM", "CN") and value(seg, 1, 1):
            data.setdefault("tracking", value(seg, 1, 1))
        elif tag == "TDT" and value(seg, 5):
            data["carrier"] = value(seg, 5)
        elif tag == "DTM" and value(seg, 1) == "11":
            data["shipped_at"] = _dtm(seg, number)
        elif tag == "DTM" and value(seg, 1) in ("17", "132"):
            data["expected_at"] = _dtm(seg, number)

    lines = _walk(segs, header)
    if "asn_id" not in data:
        raise _missing(segs, "BGM", "segment")
    if not lines:
        raise _missing(segs, "LIN", "line")
    _required(data["supplier"], "no supplier for the despatch advice", segs, "NAD")
    _required(data["location"], "no delivery party for the despatch advice", segs, "NAD")
    data["lines"] = []
    for line in lines:
        item: dict[str, Any] = {"sku": line.sku(doc.partner.item_xref), "quantity": line.quantities.get("12", 0)}
        gtin = line.ids.get("SRV") or line.ids.get("EN")
        if gtin:
            item["gtin"] = gtin
        if data.get("po_number"):
            item["po_number"] = data["po_number"]
        data["lines"].append(item)
    return [doc.event("shipment.notified", data, data["asn_id"])]


def map_recadv(segs: list[Segment], doc: DocumentId) -> list[dict[str, Any]]:
    """Receiving advice: one receipt.confirmed; QTY 48 received, 124 damaged, 12 despatched (expected)."""
    data: dict[str, Any] = {"location": doc.partner.location}

    def header(tag: str, seg: Segment, number: int) -> None:
        if tag == "BGM":
            data["receipt_id"] = _need(seg, number, 2, 0, "receiving advice number")
        elif tag == "NAD" and value(seg, 1) in ("DP", "ST", "WH"):
            data["location"] = value(seg, 2) or data["location"]
        elif tag == "RFF" and value(seg, 1, 0) == "ON" and value(seg, 1, 1):
            data["po_number"] = value(seg, 1, 1)
        elif tag == "RFF" and value(seg, 1, 0) in ("AAK", "DQ") and value(seg, 1, 1):
            data["asn_id"] = value(seg, 1, 1)

    lines = _walk(segs, header)
    if "receipt_id" not in data:
        raise _missing(segs, "BGM", "segment")
    if not lines:
        raise _missing(segs, "LIN", "line")
    _required(data["location"], "no receiving location", segs, "NAD")
    data["lines"] = []
    xref = doc.partner.item_xref
    for line in lines:
        item: dict[str, Any] = {"sku": line.sku(xref), "quantity_received": line.quantities.get("48", 0),
                                "quantity_damaged": line.quantities.get("124", 0)}
        if "12" in line.quantities:
            item["quantity_expected"] = line.quantities["12"]
        data["lines"].append(item)
    return [doc.event("receipt.confirmed", data, data["receipt_id"])]


_ORDRSP_STATUS = {"29": "acknowledged", "4": "changed", "5": "changed", "27": "cancelled", "1": "cancelled"}


def map_ordrsp(segs: list[Segment], doc: DocumentId) -> list[dict[str, Any]]:
    """Order response: purchase_order.changed; BGM 1225 gives the status, LIN action 7 zeroes a line."""
    data = _order(segs, doc)
    bgm_number, bgm = next((n, s) for n, s in enumerate(segs, 1) if s[0][0] == "BGM")
    code = value(bgm, 3)
    status = _ORDRSP_STATUS.get(code)
    if status is None:
        raise EdiError(f"BGM message function {code!r} is not one of {sorted(_ORDRSP_STATUS)}", segment=bgm_number,
                       segment_id="BGM", element=3, code=INVALID_VALUE)
    data["status"] = status
    return [doc.event("purchase_order.changed", data, data["po_number"])]


def map_orders(segs: list[Segment], doc: DocumentId) -> list[dict[str, Any]]:
    """Purchase order from a partner that sends orders: purchase_order.changed with status created."""
    data = _order(segs, doc)
    data["status"] = "created"
    return [doc.event("purchase_order.changed", data, data["po_number"])]


def _order(segs: list[Segment], doc: DocumentId) -> dict[str, Any]:
    data: dict[str, Any] = {"supplier": doc.partner.supplier, "location": doc.partner.location}
    seen: dict[str, str] = {}

    def header(tag: str, seg: Segment, number: int) -> None:
        if tag == "BGM":
            seen["bgm"] = _need(seg, number, 2, 0, "document number")
        elif tag == "RFF" and value(seg, 1, 0) == "ON" and value(seg, 1, 1):
            data["po_number"] = value(seg, 1, 1)
        elif tag == "NAD":
            party = value(seg, 1)
            if party in ("DP", "ST", "BY"):
                data["location"] = value(seg, 2) or data["location"]
            elif party in ("SU", "SE"):
                data["supplier"] = value(seg, 2) or data["supplier"]
        elif tag == "DTM" and value(seg, 1) in ("2", "69"):
            data["expected_date"] = _dtm(seg, number)[:10]

    lines = _walk(segs, header)
    if "bgm" not in seen:
        raise _missing(segs, "BGM", "segment")
    data.setdefault("po_number", seen["bgm"])
    _required(data["supplier"], "no supplier for the order", segs, "NAD")
    _required(data["location"], "no delivery location for the order", segs, "NAD")
    data["lines"] = []
    xref = doc.partner.item_xref
    for index, line in enumerate(lines, 1):
        line_no = value(line.seg, 1)
        item: dict[str, Any] = {
            "line": int(line_no) if line_no.isdigit() and int(line_no) > 0 else index, "sku": line.sku(xref),
            "quantity": 0 if line.action == "7" else line.quantities.get("21", line.quantities.get("113", 0)),
        }
        if line.price is not None:
            item["unit_price"] = line.price
        data["lines"].append(item)
    return data


def map_slsrpt(segs: list[Segment], doc: DocumentId) -> list[dict[str, Any]]:
    """Sales report: stock.adjusted per line, QTY 153 sold (negative delta) and 61 returned (positive)."""
    head: dict[str, Any] = {"location": doc.partner.location, "reference": None}

    def header(tag: str, seg: Segment, number: int) -> None:
        if tag == "BGM":
            head["reference"] = value(seg, 2) or None

    lines = _walk(segs, header)
    if not lines:
        raise _missing(segs, "LIN", "line")
    events = []
    for index, line in enumerate(lines, 1):
        where = _required(line.location or head["location"], "no sales location", segs, "LOC")
        sku = line.sku(doc.partner.item_xref)
        moves = [(q, delta, reason) for q, delta, reason in
                 (("153", -1, "sale"), ("61", 1, "return")) if line.quantities.get(q)]
        if not moves:
            raise _error("the line has neither a sales (QTY 153) nor a returns (QTY 61) quantity", line.seg,
                         line.number, None, MISSING)
        for qualifier, sign, reason in moves:
            data: dict[str, Any] = {"sku": sku, "location": where, "delta": sign * line.quantities[qualifier],
                                    "reason": reason}
            if head["reference"]:
                data["reference"] = head["reference"]
            events.append(doc.event("stock.adjusted", data, f"{sku}@{where}", f"{index}.{qualifier}"))
    return events


_UCI_ACTION = {"7": "accepted", "8": "accepted", "4": "rejected"}


def map_contrl(segs: list[Segment], doc: DocumentId) -> list[dict[str, Any]]:
    """Syntax and service report: one partner.acknowledged for the interchange it answers (UCI)."""
    reference: str | None = None
    status: str | None = None
    document_type: str | None = None
    errors: list[dict[str, Any]] = []
    for number, seg in enumerate(segs, 1):
        tag = seg[0][0]
        if tag == "UCI":
            reference = _need(seg, number, 1, 0, "interchange control reference")
            action = value(seg, 4)
            status = _UCI_ACTION.get(action)
            if status is None:
                raise EdiError(f"UCI action {action!r} is not one of {sorted(_UCI_ACTION)}", segment=number,
                               segment_id="UCI", element=4, code=INVALID_VALUE)
            if value(seg, 5):
                errors.append({"segment": value(seg, 6) or None, "code": value(seg, 5), "text": "interchange error"})
        elif tag == "UCM":
            document_type = document_type or value(seg, 2, 0) or None
            if value(seg, 3) == "4":
                errors.append({"segment": "UNH", "code": value(seg, 4) or "18",
                               "text": f"message {value(seg, 1)} rejected"})
        elif tag == "UCS":
            position = value(seg, 1)
            errors.append({"position": int(position) if position.isdigit() else None, "code": value(seg, 2) or "18"})
        elif tag == "UCD" and errors:
            element = value(seg, 2, 0)
            errors[-1]["element"] = int(element) if element.isdigit() else None
            errors[-1]["code"] = value(seg, 1) or errors[-1]["code"]
    if reference is None or status is None:
        raise _missing(segs, "UCI", "segment")
    if status == "accepted" and errors:
        status = "accepted_with_errors"
    data = {"partner": doc.partner.name, "standard": "edifact", "interchange_control": reference,
            "document_type": document_type, "status": status, "errors": errors}
    return [doc.event("partner.acknowledged", data, f"{doc.partner.name}:{reference}")]


MAPPERS: dict[str, Mapper] = {
    "INVRPT": map_invrpt, "DESADV": map_desadv, "RECADV": map_recadv, "ORDRSP": map_ordrsp,
    "SLSRPT": map_slsrpt, "ORDERS": map_orders, "CONTRL": map_contrl,
}


def render_orders(event: dict[str, Any], partner: Partner) -> list[list[Element]]:
    """Body segments (no UNH / UNT) of an ORDERS for a created purchase order."""
    data = event["data"]
    if data.get("status") != "created":
        raise EdiError(f"an ORDERS is sent for a created purchase order, not one with status {data.get('status')!r}")
    body: list[list[Element]] = [
        ["BGM", "220", data["po_number"], "9"],
        ["DTM", ["137", event["time"][:10].replace("-", ""), "102"]],
    ]
    if data.get("expected_date"):
        body.append(["DTM", ["2", data["expected_date"].replace("-", ""), "102"]])
    body += [["NAD", "BY", [data["location"], "", "92"]], ["NAD", "SU", [data["supplier"], "", "92"]]]
    for line in data.get("lines", []):
        body.append(["LIN", str(line["line"]), "", [line["sku"], "IN"]])
        body.append(["QTY", ["21", str(line["quantity"]), line.get("unit_of_measure", "EA")]])
        if line.get("unit_price") is not None:
            body.append(["PRI", ["AAA", f"{line['unit_price']:.4f}".rstrip("0").rstrip(".")]])
    body.append(["UNS", "S"])
    body.append(["CNT", ["2", str(len(data.get("lines", [])))]])
    return body

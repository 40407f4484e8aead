"""X12 transaction sets <-> canonical events (pure).

Inbound: 846, 856, 944, 945, 947, 855, 180, 997, 850 and 940 become canonical event dicts; a set
that cannot be mapped gets an EdiError naming its segment number and element, with the 997 code.
A TA1 (interchange acknowledgement) becomes a partner.acknowledged like a 997 does.
Outbound: purchase_order.changed (created) becomes an 850, transfer.requested a 940.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.edi_3pl.errors import EdiError
from connectors.edi_3pl.mapping import DocumentId, Partner, iso_date, iso_datetime
from connectors.edi_3pl.x12 import FunctionalGroup, Interchange, Segment, TransactionSet, element
from connectors.edi_3pl.xref import not_translated

# AK403 element error codes and AK304 / AK5 codes used by the mapper.
MISSING = "1"
INVALID_CHARACTER = "6"
INVALID_CODE = "7"
INVALID_DATE = "8"
INVALID_TIME = "9"
UNEXPECTED_SEGMENT = "2"
SEGMENT_MISSING = "3"
SET_NOT_SUPPORTED = "1"

Mapper = Callable[[Sequence[Segment], DocumentId], list[dict[str, Any]]]


@dataclass(slots=True)
class SetOutcome:
    """One transaction set: the events it maps to, or why it is refused."""

    group: FunctionalGroup
    tset: TransactionSet
    events: list[dict[str, Any]] = field(default_factory=list)
    errors: list[EdiError] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.errors


def map_interchange(ic: Interchange, partner: Partner) -> list[SetOutcome]:
    """Every set of the interchange, mapped or refused; one set's error never affects another's."""
    outcomes: list[SetOutcome] = []
    sent = _interchange_time(ic)
    for group in ic.groups:
        when = sent or iso_datetime(group.date, _x12_time(group.time))
        for tset in group.sets:
            outcome = SetOutcome(group, tset, errors=list(tset.errors))
            outcomes.append(outcome)
            if outcome.errors:
                continue
            where = {"interchange": ic.control, "group": group.control, "set_control": tset.control}
            mapper = MAPPERS.get(tset.id)
            if mapper is None:
                outcome.errors.append(EdiError(f"transaction set {tset.id!r} is not supported", segment=1,
                                               segment_id="ST", element=1, code=SET_NOT_SUPPORTED, **where))
                continue
            if when is None:
                outcome.errors.append(EdiError(f"ISA09/ISA10 {ic.date!r} {ic.time!r} is not a date and time, nor is "
                                               f"GS04/GS05 {group.date!r} {group.time!r}", segment_id="ISA",
                                               element=9, code=INVALID_DATE, **where))
                continue
            doc = DocumentId(partner, "x12", ic.control, group.control, tset.control, when)
            try:
                outcome.events = mapper(tset.segments, doc)
            except EdiError as exc:
                outcome.errors.append(exc.located(**where))
    return outcomes


def _interchange_time(ic: Interchange) -> str | None:
    """ISA09 / ISA10 as ISO 8601; None when either is not valid (ISA10 is mandatory: blank is no time of day)."""
    return iso_datetime(ic.date, ic.time) if ic.time else None


def _error(message: str, seg: Segment, number: int, index: int | None, code: str) -> EdiError:
    return EdiError(message, segment=number, segment_id=seg[0], element=index, code=code)


def _need(seg: Segment, index: int, number: int, what: str) -> str:
    value = element(seg, index).strip()
    if not value:
        raise _error(f"{what} ({seg[0]}{index:02d}) is missing", seg, number, index, MISSING)
    return value


def _quantity(seg: Segment, index: int, number: int, what: str) -> int:
    raw = seg[index] if index < len(seg) else ""
    # The common case, without the float round trip. isdecimal, not isdigit: int() refuses
    # digits such as superscripts that isdigit accepts.
    if raw.isdecimal():
        return int(raw)
    raw = _need(seg, index, number, what)
    try:
        value = float(raw)
    except ValueError:
        raise _error(f"{what} ({seg[0]}{index:02d}) {raw!r} is not a number", seg, number, index,
                     INVALID_CHARACTER) from None
    if not math.isfinite(value) or value != int(value):
        raise _error(f"{what} ({seg[0]}{index:02d}) {raw!r} is not a finite whole number", seg, number, index,
                     INVALID_CHARACTER)
    return int(value)


def _price(seg: Segment, index: int, number: int) -> float | None:
    raw = element(seg, index).strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise _error(f"unit price ({seg[0]}{index:02d}) {raw!r} is not a number", seg, number, index,
                     INVALID_CHARACTER) from None


def _date(seg: Segment, index: int, number: int, time_index: int | None = None) -> str:
    raw = element(seg, index).strip()
    time = element(seg, time_index).strip() if time_index else ""
    stamp = iso_datetime(raw, _x12_time(time))
    if stamp is not None:
        return stamp
    if time_index is None or iso_datetime(raw) is None:
        raise _error(f"{seg[0]}{index:02d} {raw!r} is not a date (CCYYMMDD)", seg, number, index, INVALID_DATE)
    raise _error(f"{seg[0]}{time_index:02d} {time!r} is not a time (HHMM, HHMMSS, HHMMSSD or HHMMSSDD)", seg, number,
                 time_index, INVALID_TIME)


def _x12_time(value: str) -> str:
    """An X12 time as `iso_datetime` reads it: HHMMSSD and HHMMSSDD lose their decimal seconds."""
    return value[:6] if len(value) in (7, 8) and value.isascii() and value.isdecimal() else value


def _product(seg: Segment, number: int, start: int, doc: DocumentId,
             upc_index: int | None = None) -> tuple[str, str | None]:
    """The SKU and GTIN (UP, EN, UK) of a line from its qualifier / id pairs.

    The SKU is ours (SK or BP) when the line carries it; otherwise the partner's item cross-reference
    translates the line's GTIN or vendor part number (VN, VP).
    """
    ids: dict[str, str] = {}
    for index in range(start, len(seg) - 1, 2):
        qualifier = seg[index].strip()
        if qualifier:
            ids.setdefault(qualifier, seg[index + 1].strip())
    sku = ids.get("SK") or ids.get("BP") or _cross_referenced(seg, number, start, ids, upc_index, doc)
    gtin = ids.get("UP") or ids.get("EN") or ids.get("UK") or (element(seg, upc_index).strip() if upc_index else "")
    return sku, gtin or None


_GTIN_QUALIFIERS = ("UP", "EN", "UK")
_VENDOR_QUALIFIERS = ("VN", "VP")


def _cross_referenced(seg: Segment, number: int, start: int, ids: dict[str, str], upc_index: int | None,
                      doc: DocumentId) -> str:
    """Our SKU for a line without SK / BP: its GTINs first, then its vendor part numbers, in the partner's table."""
    gtins = [(q, ids[q]) for q in _GTIN_QUALIFIERS if ids.get(q)]
    upc = element(seg, upc_index).strip() if upc_index else ""
    if upc:
        gtins.append((f"{seg[0]}{upc_index:02d}", upc))
    parts = [(q, ids[q]) for q in _VENDOR_QUALIFIERS if ids.get(q)]
    xref = doc.partner.item_xref
    sku = xref.sku_for([v for _, v in gtins], [v for _, v in parts]) if xref else None
    if sku:
        return sku
    message = f"no SK or BP product id in {seg[0]}"
    if gtins or parts:
        message += not_translated(gtins + parts, xref)
    else:
        message += f" (qualifiers from {seg[0]}{start:02d})"
    raise _error(message, seg, number, start, MISSING)


def _party(seg: Segment) -> str:
    return element(seg, 4).strip() or element(seg, 2).strip()


def _required(value: str | None, what: str, segs: Sequence[Segment], tag: str) -> str:
    if not value:
        raise EdiError(f"{what}: no {tag} segment and no partner default", segment=len(segs), segment_id=tag,
                       code=SEGMENT_MISSING)
    return value


def _no_lines(segs: Sequence[Segment], tag: str) -> EdiError:
    return EdiError(f"no {tag} line in the set", segment=len(segs), segment_id=tag, code=SEGMENT_MISSING)


_QTY_846 = {"17": "on_hand", "33": "available", "QH": "damaged", "63": "on_order", "IT": "in_transit",
            "RE": "reserved"}


def map_846(segs: Sequence[Segment], doc: DocumentId) -> list[dict[str, Any]]:
    """Inventory advice: one stock.snapshot per LIN, quantities from its QTY segments by qualifier."""
    location = doc.partner.location
    as_of: str | None = None
    lines: list[dict[str, Any]] = []  # each LIN's event data; N1 counts only before the first LIN
    status: dict[str, int] | None = None
    for number, seg in enumerate(segs, 1):
        tag = seg[0]
        if tag == "QTY":
            # The common case inline (this loop runs for most segments of a large file); anything
            # unusual takes the careful path with its errors.
            bucket = _QTY_846.get(seg[1]) if len(seg) > 2 else None
            if bucket is not None and status is not None and bucket not in status and seg[2].isdecimal():
                status[bucket] = int(seg[2])
            else:
                _add_quantity_846(status, seg, number)
        elif tag == "LIN":
            # Most partners put the SKU first; only the others pay for the qualifier scan.
            sku = seg[3] if len(seg) > 3 and seg[2] == "SK" and seg[3] else _product(seg, number, 2, doc)[0]
            status = {}
            lines.append({"sku": sku, "location": location, "status": status})
        elif tag == "N1" and not lines and element(seg, 1).strip() in ("WH", "ST", "RL"):
            location = _party(seg) or location
        elif tag == "BIA":
            as_of = _date(seg, 4, number, 5) if element(seg, 4).strip() else None
    if not lines:
        raise _no_lines(segs, "LIN")
    where = _required(location, "no location for the inventory advice", segs, "N1")
    events = []
    for line, data in enumerate(lines, 1):
        if as_of:
            data["as_of"] = as_of
        events.append(doc.event("stock.snapshot", data, f"{data['sku']}@{where}", line, time=as_of))
    return events


def _add_quantity_846(status: dict[str, int] | None, seg: Segment, number: int) -> None:
    if status is None:
        raise _error("QTY before any LIN", seg, number, None, UNEXPECTED_SEGMENT)
    bucket = _QTY_846.get(element(seg, 1).strip())
    if bucket is None:
        raise _error(f"QTY01 qualifier {element(seg, 1)!r} is not one of {sorted(_QTY_846)}", seg, number, 1,
                     INVALID_CODE)
    status[bucket] = status.get(bucket, 0) + _quantity(seg, 2, number, "quantity")


def map_856(segs: Sequence[Segment], doc: DocumentId) -> list[dict[str, Any]]:
    """Ship notice: one shipment.notified with a line per LIN / SN1 pair."""
    data: dict[str, Any] = {"supplier": doc.partner.supplier, "location": doc.partner.location}
    lines: list[dict[str, Any]] = []
    po_number: str | None = None
    current: dict[str, Any] | None = None
    for number, seg in enumerate(segs, 1):
        tag = seg[0]
        if tag == "LIN":
            sku, gtin = _product(seg, number, 2, doc)
            current = {"sku": sku, "quantity": 0}
            if gtin:
                current["gtin"] = gtin
            if po_number:
                current["po_number"] = po_number
            lines.append(current)
        elif tag == "SN1":
            if current is None:
                raise _error("SN1 before any LIN", seg, number, None, UNEXPECTED_SEGMENT)
            current["quantity"] = _quantity(seg, 2, number, "units shipped")
        elif tag == "PRF":
            po_number = _need(seg, 1, number, "purchase order number")
            data.setdefault("po_number", po_number)
        elif tag == "BSN":
            data["asn_id"] = _need(seg, 2, number, "shipment id")
        elif tag == "N1":
            qualifier = element(seg, 1).strip()
            if qualifier in ("ST", "WH"):
                data["location"] = _party(seg) or data["location"]
            elif qualifier in ("SU", "SF", "VN"):
                data["supplier"] = _party(seg) or data["supplier"]
        elif tag == "TD5" and element(seg, 3).strip():
            data["carrier"] = element(seg, 3).strip()
        elif tag == "REF" and element(seg, 1).strip() in ("BM", "CN") and element(seg, 2).strip():
            data.setdefault("tracking", element(seg, 2).strip())
        elif tag == "DTM":
            qualifier = element(seg, 1).strip()
            if qualifier == "011":
                data["shipped_at"] = _date(seg, 2, number, 3)
            elif qualifier in ("017", "067"):
                data["expected_at"] = _date(seg, 2, number, 3)
    if "asn_id" not in data:
        raise EdiError("no BSN segment with the shipment id", segment=len(segs), segment_id="BSN",
                       code=SEGMENT_MISSING)
    if not lines:
        raise _no_lines(segs, "LIN")
    _required(data["supplier"], "no supplier for the ship notice", segs, "N1")
    _required(data["location"], "no ship-to location for the ship notice", segs, "N1")
    data["lines"] = lines
    return [doc.event("shipment.notified", data, data["asn_id"])]


def map_944(segs: Sequence[Segment], doc: DocumentId) -> list[dict[str, Any]]:
    """Warehouse receipt advice: one receipt.confirmed; W07 lines, W13 damaged quantities."""
    data: dict[str, Any] = {"location": doc.partner.location}
    lines: list[dict[str, Any]] = []
    for number, seg in enumerate(segs, 1):
        tag = seg[0]
        if tag == "W07":
            sku, _ = _product(seg, number, 4, doc, upc_index=3)
            lines.append({"sku": sku, "quantity_received": _quantity(seg, 1, number, "quantity received")})
        elif tag == "W13":
            if not lines:
                raise _error("W13 before any W07", seg, number, None, UNEXPECTED_SEGMENT)
            code = element(seg, 3).strip()
            if code not in ("DM", "07"):
                raise _error(f"W1303 condition {code!r} is not DM or 07 (damaged)", seg, number, 3, INVALID_CODE)
            lines[-1]["quantity_damaged"] = _quantity(seg, 1, number, "damaged quantity")
        elif tag == "W17":
            data["receipt_id"] = _need(seg, 3, number, "warehouse receipt number")
            if element(seg, 4).strip():
                data["po_number"] = element(seg, 4).strip()
            if element(seg, 5).strip():
                data["asn_id"] = element(seg, 5).strip()
        elif tag == "N1" and element(seg, 1).strip() in ("WH", "ST"):
            data["location"] = _party(seg) or data["location"]
    if "receipt_id" not in data:
        raise EdiError("no W17 segment with the receipt number", segment=len(segs), segment_id="W17",
                       code=SEGMENT_MISSING)
    if not lines:
        raise _no_lines(segs, "W07")
    _required(data["location"], "no warehouse for the receipt", segs, "N1")
    data["lines"] = lines
    return [doc.event("receipt.confirmed", data, data["receipt_id"])]


def map_945(segs: Sequence[Segment], doc: DocumentId) -> list[dict[str, Any]]:
    """Warehouse shipping advice: one transfer.shipped per W12 line."""
    head: dict[str, Any] = {"location": doc.partner.location}
    lines: list[tuple[int, Segment]] = []
    for number, seg in enumerate(segs, 1):
        tag = seg[0]
        if tag == "W12":
            lines.append((number, seg))
        elif tag == "W06":
            head["transfer_id"] = _need(seg, 2, number, "depositor order number")
        elif tag == "N1":
            qualifier = element(seg, 1).strip()
            if qualifier in ("SF", "WH"):
                head["location"] = _party(seg) or head["location"]
            elif qualifier == "ST":
                head["to_location"] = _party(seg)
        elif tag == "W27" and element(seg, 2).strip():
            head["carrier"] = element(seg, 2).strip()
        elif tag == "N9" and element(seg, 1).strip() in ("BM", "CN") and element(seg, 2).strip():
            head.setdefault("tracking", element(seg, 2).strip())
    if "transfer_id" not in head:
        raise EdiError("no W06 segment with the order number", segment=len(segs), segment_id="W06",
                       code=SEGMENT_MISSING)
    if not lines:
        raise _no_lines(segs, "W12")
    _required(head.get("to_location"), "no ship-to party", segs, "N1")
    location = _required(head["location"], "no ship-from warehouse", segs, "N1")
    events = []
    for line, (number, seg) in enumerate(lines, 1):
        sku, _ = _product(seg, number, 7, doc, upc_index=6)
        data = {**head, "sku": sku, "quantity": _quantity(seg, 3, number, "quantity shipped")}
        events.append(doc.event("transfer.shipped", data, f"{sku}@{location}", line))
    return events


def map_947(segs: Sequence[Segment], doc: DocumentId) -> list[dict[str, Any]]:
    """Warehouse inventory adjustment: one stock.adjusted per W19, reason from the partner's code table."""
    location = doc.partner.location
    reference: str | None = None
    lines: list[tuple[int, Segment]] = []
    for number, seg in enumerate(segs, 1):
        tag = seg[0]
        if tag == "W19":
            lines.append((number, seg))
        elif tag == "W15":
            reference = element(seg, 2).strip() or None
        elif tag == "N1" and element(seg, 1).strip() in ("WH", "ST"):
            location = _party(seg) or location
    if not lines:
        raise _no_lines(segs, "W19")
    where = _required(location, "no warehouse for the adjustment", segs, "N1")
    reasons = doc.partner.adjustment_reasons
    events = []
    for line, (number, seg) in enumerate(lines, 1):
        code = element(seg, 1).strip()
        reason = reasons.get(code)
        if reason is None:
            raise _error(f"W1901 adjustment reason {code!r} is not one of {sorted(reasons)}", seg, number, 1,
                         INVALID_CODE)
        sku, _ = _product(seg, number, 5, doc, upc_index=4)
        data: dict[str, Any] = {"sku": sku, "location": where, "reason": reason,
                                "delta": _quantity(seg, 2, number, "adjusted quantity")}
        if reference:
            data["reference"] = reference
        events.append(doc.event("stock.adjusted", data, f"{sku}@{where}", line))
    return events


_BAK_STATUS = {"AD": "acknowledged", "AK": "acknowledged", "AT": "acknowledged", "AC": "changed",
               "RD": "cancelled", "RJ": "cancelled"}


def map_855(segs: Sequence[Segment], doc: DocumentId) -> list[dict[str, Any]]:
    """PO acknowledgement: purchase_order.changed with the supplier's view of each line (ACK overrides PO1)."""
    data = _order_header(segs, doc, "BAK", po_index=3)
    bak_number, bak = next((n, s) for n, s in enumerate(segs, 1) if s[0] == "BAK")
    code = element(bak, 2).strip()
    status = _BAK_STATUS.get(code)
    if status is None:
        raise _error(f"BAK02 acknowledgement type {code!r} is not one of {sorted(_BAK_STATUS)}", bak, bak_number,
                     2, INVALID_CODE)
    data["status"] = status
    return [doc.event("purchase_order.changed", data, data["po_number"])]


def map_850(segs: Sequence[Segment], doc: DocumentId) -> list[dict[str, Any]]:
    """Purchase order from a partner that sends orders: purchase_order.changed with status created."""
    data = _order_header(segs, doc, "BEG", po_index=3)
    data["status"] = "created"
    return [doc.event("purchase_order.changed", data, data["po_number"])]


def _order_header(segs: Sequence[Segment], doc: DocumentId, begin: str, po_index: int) -> dict[str, Any]:
    data: dict[str, Any] = {"supplier": doc.partner.supplier, "location": doc.partner.location}
    lines: list[dict[str, Any]] = []
    for number, seg in enumerate(segs, 1):
        tag = seg[0]
        if tag == "PO1":
            sku, _ = _product(seg, number, 6, doc)
            line_no = element(seg, 1).strip()
            line: dict[str, Any] = {
                "line": int(line_no) if line_no.isdecimal() and int(line_no) > 0 else len(lines) + 1,
                "sku": sku, "quantity": _quantity(seg, 2, number, "quantity ordered"),
            }
            uom = element(seg, 3).strip()
            if uom in ("EA", "CS", "PK", "KG", "M"):
                line["unit_of_measure"] = uom
            price = _price(seg, 4, number)
            if price is not None:
                line["unit_price"] = price
            lines.append(line)
        elif tag == "ACK" and lines:
            if element(seg, 1).strip() in ("IR", "ID", "R2"):
                lines[-1]["quantity"] = 0
            elif element(seg, 2).strip():
                lines[-1]["quantity"] = _quantity(seg, 2, number, "acknowledged quantity")
        elif tag == begin:
            data["po_number"] = _need(seg, po_index, number, "purchase order number")
        elif tag == "N1":
            qualifier = element(seg, 1).strip()
            if qualifier in ("ST", "WH"):
                data["location"] = _party(seg) or data["location"]
            elif qualifier in ("SU", "VN", "SE"):
                data["supplier"] = _party(seg) or data["supplier"]
        elif tag == "DTM" and element(seg, 1).strip() in ("002", "067", "010"):
            data["expected_date"] = _date(seg, 2, number)[:10]
    if "po_number" not in data:
        raise EdiError(f"no {begin} segment with the purchase order number", segment=len(segs), segment_id=begin,
                       code=SEGMENT_MISSING)
    _required(data["supplier"], "no supplier for the order", segs, "N1")
    _required(data["location"], "no ship-to location for the order", segs, "N1")
    data["lines"] = lines
    return data


def map_940(segs: Sequence[Segment], doc: DocumentId) -> list[dict[str, Any]]:
    """Warehouse shipping order: one transfer.requested per W01 line."""
    head: dict[str, Any] = {"location": doc.partner.location}
    lines: list[tuple[int, Segment]] = []
    for number, seg in enumerate(segs, 1):
        tag = seg[0]
        if tag == "W01":
            lines.append((number, seg))
        elif tag == "W05":
            head["transfer_id"] = _need(seg, 2, number, "depositor order number")
        elif tag == "N1":
            qualifier = element(seg, 1).strip()
            if qualifier in ("SF", "WH"):
                head["location"] = _party(seg) or head["location"]
            elif qualifier == "ST":
                head["to_location"] = _party(seg)
        elif tag == "G62" and element(seg, 1).strip() in ("02", "10"):
            head["needed_by"] = _date(seg, 2, number)[:10]
    if "transfer_id" not in head:
        raise EdiError("no W05 segment with the order number", segment=len(segs), segment_id="W05",
                       code=SEGMENT_MISSING)
    if not lines:
        raise _no_lines(segs, "W01")
    _required(head.get("to_location"), "no ship-to party", segs, "N1")
    location = _required(head["location"], "no ship-from warehouse", segs, "N1")
    events = []
    for line, (number, seg) in enumerate(lines, 1):
        sku, _ = _product(seg, number, 4, doc, upc_index=3)
        data = {**head, "sku": sku, "quantity": _quantity(seg, 1, number, "quantity ordered")}
        events.append(doc.event("transfer.requested", data, f"{sku}@{location}", line))
    return events


def map_180(segs: Sequence[Segment], doc: DocumentId) -> list[dict[str, Any]]:
    """Return authorisation: one return.received per BLI line; reason and use from RDR (line RDR wins)."""
    return_id: str | None = None
    location = doc.partner.location
    reason, opened = "", False
    lines: list[dict[str, Any]] = []
    for number, seg in enumerate(segs, 1):
        tag = seg[0]
        if tag == "BLI":
            sku, _ = _product(seg, number, 1, doc)
            lines.append({"sku": sku, "quantity": _quantity(seg, 3, number, "quantity returned"),
                          "reason_code": reason, "condition": "opened" if opened else "new"})
        elif tag == "RDR":
            code = element(seg, 2).strip() or element(seg, 1).strip()
            used = element(seg, 5).strip().upper() == "Y"
            if lines:
                lines[-1]["reason_code"] = code or lines[-1]["reason_code"]
                lines[-1]["condition"] = "opened" if used else lines[-1]["condition"]
            else:
                reason, opened = code, used
        elif tag == "BGN":
            return_id = _need(seg, 2, number, "return authorisation number")
        elif tag == "N1" and element(seg, 1).strip() in ("ST", "WH", "RL"):
            location = _party(seg) or location
    if not return_id:
        raise EdiError("no BGN segment with the return authorisation number", segment=len(segs),
                       segment_id="BGN", code=SEGMENT_MISSING)
    if not lines:
        raise _no_lines(segs, "BLI")
    where = _required(location, "no location receiving the return", segs, "N1")
    events = []
    for line, item in enumerate(lines, 1):
        data = {**item, "return_id": return_id, "location": where, "reason_code": item["reason_code"] or "unspecified"}
        events.append(doc.event("return.received", data, f"{item['sku']}@{where}", line))
    return events


_AK_STATUS = {"A": "accepted", "E": "accepted_with_errors", "P": "accepted_with_errors", "R": "rejected",
              "M": "rejected", "W": "rejected", "X": "rejected"}


def map_997(segs: Sequence[Segment], doc: DocumentId) -> list[dict[str, Any]]:
    """Functional acknowledgement: one partner.acknowledged for the group it answers (AK1 / AK9)."""
    group_control: str | None = None
    functional_id = ""
    status: str | None = None
    errors: list[dict[str, Any]] = []
    for number, seg in enumerate(segs, 1):
        tag = seg[0]
        if tag == "AK1":
            functional_id = element(seg, 1).strip()
            group_control = _need(seg, 2, number, "acknowledged group control number")
        elif tag == "AK3":
            errors.append({"segment": element(seg, 1).strip() or None, "code": element(seg, 4).strip() or "8",
                           "position": _optional_int(element(seg, 2))})
        elif tag == "AK4":
            position = element(seg, 1).split(_ak4_separator(seg))[0].strip()
            errors.append({"segment": errors[-1]["segment"] if errors else None,
                           "position": errors[-1]["position"] if errors else None,
                           "element": _optional_int(position), "code": element(seg, 3).strip() or "1",
                           "text": element(seg, 4).strip()})
        elif tag == "AK5" and element(seg, 1).strip() != "A":
            errors.append({"code": element(seg, 2).strip() or element(seg, 1).strip(),
                           "text": f"set rejected ({element(seg, 1).strip()})"})
        elif tag == "AK9":
            code = element(seg, 1).strip()
            status = _AK_STATUS.get(code)
            if status is None:
                raise _error(f"AK901 {code!r} is not one of {sorted(_AK_STATUS)}", seg, number, 1, INVALID_CODE)
    if group_control is None:
        raise EdiError("no AK1 segment", segment=len(segs), segment_id="AK1", code=SEGMENT_MISSING)
    if status is None:
        raise EdiError("no AK9 segment", segment=len(segs), segment_id="AK9", code=SEGMENT_MISSING)
    # A 997 names only the group; the hub sends one group per interchange numbered like its ISA13.
    data = {
        "partner": doc.partner.name, "standard": "x12",
        "interchange_control": f"{int(group_control):09d}" if group_control.isdecimal() else group_control,
        "group_control": group_control, "document_type": _FUNCTIONAL_DOCUMENTS.get(functional_id, functional_id),
        "status": status, "errors": errors,
    }
    return [doc.event("partner.acknowledged", data, f"{doc.partner.name}:{group_control}")]


_FUNCTIONAL_DOCUMENTS = {"PO": "850", "OW": "940", "PR": "855", "SH": "856", "IB": "846", "RE": "944",
                         "SW": "945", "AW": "947", "AN": "180", "FA": "997"}


_TA1_STATUS = {"A": "accepted", "E": "accepted_with_errors", "R": "rejected"}


@dataclass(slots=True)
class Ta1Outcome:
    """One TA1 segment of an inbound interchange: its partner.acknowledged event, or why it is refused."""

    control: str
    events: list[dict[str, Any]] = field(default_factory=list)
    errors: list[EdiError] = field(default_factory=list)


def map_ta1s(ic: Interchange, partner: Partner) -> list[Ta1Outcome]:
    """Every TA1 of the interchange, each naming the interchange of ours that it answers."""
    when = _interchange_time(ic)
    outcomes: list[Ta1Outcome] = []
    for seg in ic.ta1:
        outcome = Ta1Outcome(element(seg, 1).strip())
        outcomes.append(outcome)
        if when is None:
            outcome.errors.append(EdiError(f"ISA09/ISA10 {ic.date!r} {ic.time!r} is not a date and time",
                                           segment_id="ISA", element=9, interchange=ic.control, code=INVALID_DATE))
            continue
        doc = DocumentId(partner, "x12", ic.control, "", f"TA1:{outcome.control}", when)
        try:
            outcome.events = map_ta1(seg, doc)
        except EdiError as exc:
            outcome.errors.append(exc.located(interchange=ic.control))
    return outcomes


def map_ta1(seg: Segment, doc: DocumentId) -> list[dict[str, Any]]:
    """Interchange acknowledgement: one partner.acknowledged for the interchange named in TA101."""
    control = element(seg, 1).strip()
    if not control.isdecimal():
        raise EdiError(f"TA101 {control!r} is not an interchange control number", segment_id="TA1", element=1,
                       code=INVALID_CHARACTER)
    code = element(seg, 4).strip()
    status = _TA1_STATUS.get(code)
    if status is None:
        raise EdiError(f"TA104 {code!r} is not one of {sorted(_TA1_STATUS)}", segment_id="TA1", element=4,
                       code=INVALID_CODE)
    note = element(seg, 5).strip()
    errors = [] if note in ("", "000") else [{"segment": "ISA", "code": note, "text": f"TA1 note code {note}"}]
    data = {
        "partner": doc.partner.name, "standard": "x12", "interchange_control": f"{int(control):09d}",
        "group_control": None, "document_type": None, "status": status, "errors": errors,
    }
    return [doc.event("partner.acknowledged", data, f"{doc.partner.name}:{control}")]


def _ak4_separator(seg: Segment) -> str:
    """AK401 may be a composite (position > component); any non-digit separates it."""
    raw = element(seg, 1)
    return next((c for c in raw if not c.isdigit() and c != " "), "\x00")


def _optional_int(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw.isdecimal() else None


MAPPERS: dict[str, Mapper] = {
    "846": map_846, "856": map_856, "944": map_944, "945": map_945, "947": map_947, "855": map_855,
    "180": map_180, "997": map_997, "850": map_850, "940": map_940,
}


def functional_id(set_id: str) -> str:
    """GS01 for an outbound set."""
    return {"850": "PO", "940": "OW", "997": "FA"}[set_id]


def render_850(event: dict[str, Any], partner: Partner) -> list[list[str]]:
    """Body segments (no ST / SE) of an 850 for a created purchase order."""
    data = event["data"]
    if data.get("status") != "created":
        raise EdiError(f"an 850 is sent for a created purchase order, not one with status {data.get('status')!r}")
    body = [
        ["BEG", "00", "SA", data["po_number"], "", _ccyymmdd(event["time"])],
        ["N1", "ST", "", "92", data["location"]],
        ["N1", "SU", "", "92", data["supplier"]],
    ]
    if data.get("expected_date"):
        body.append(["DTM", "002", data["expected_date"].replace("-", "")])
    for line in data.get("lines", []):
        price = line.get("unit_price")
        body.append(["PO1", str(line["line"]), str(line["quantity"]), line.get("unit_of_measure", "EA"),
                     "" if price is None else f"{price:.4f}".rstrip("0").rstrip("."), "", "SK", line["sku"]])
    body.append(["CTT", str(len(data.get("lines", [])))])
    return body


def render_940(event: dict[str, Any], partner: Partner) -> list[list[str]]:
    """Body segments (no ST / SE) of a 940 asking the 3PL to ship one transfer line."""
    data = event["data"]
    body = [
        ["W05", "N", data["transfer_id"]],
        ["N1", "SF", "", "9", data["location"]],
        ["N1", "ST", "", "9", data["to_location"]],
    ]
    if data.get("needed_by"):
        body.append(["G62", "02", data["needed_by"].replace("-", "")])
    body += [
        ["LX", "1"],
        ["W01", str(data["quantity"]), "EA", "", "SK", data["sku"]],
        ["W76", str(data["quantity"])],
    ]
    return body


def _ccyymmdd(iso: str) -> str:
    stamp = iso_date(iso[:10].replace("-", ""))
    if stamp is None:
        raise EdiError(f"event time {iso!r} is not a date")
    return stamp.replace("-", "")

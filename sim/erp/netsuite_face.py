"""The NetSuite-style inventory service (netsuite_item_availability.wsdl) over the reference ERP's books.

Unlike the SAP-style face, write errors come back inside a normal response (status isSuccess="false"
with a status detail code), and faults carry their code in the detail rather than the faultcode.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from lxml import etree

from sim.erp.envelope import SOAP_ENV, BadRequest, child_text, fault, number
from sim.erp.state import BusinessFault, ErpState, MovementInput

NS = "urn:rih:sim:erp:suite:inventory"
WSDL_FILE = "netsuite_item_availability.wsdl"
AUTH = "basic"

# The books' error codes as this API names them.
STATUS_CODES = {
    "DuplicateDocument": "DUP_RCRD",
    "MaterialInvalid": "INVALID_KEY_OR_REF",
    "PlantInvalid": "INVALID_KEY_OR_REF",
    "PeriodClosed": "PERIOD_CLOSED",
    "ItemLocked": "RCRD_LOCKED",
}

# A handler gets the books, the operation element and the signed-in user (whom postings record).
Handler = Callable[[ErpState, etree._Element, str], etree._Element]


def handle(state: ErpState, request: etree._Element, user: str = "") -> etree._Element:
    name = etree.QName(request).localname
    handler = _OPERATIONS.get(name) if etree.QName(request).namespace == NS else None
    if handler is None:
        raise BadRequest(f"unknown operation {request.tag}")
    return handler(state, request, user)


def business_fault(exc: BusinessFault) -> bytes:
    return client_fault(STATUS_CODES.get(exc.code, exc.code), exc.message)


def client_fault(code: str, message: str) -> bytes:
    detail = _el("suiteFault")
    _sub(detail, "code", code)
    _sub(detail, "message", message)
    return fault("soapenv:Server.userException", message, detail, nsmap={"soapenv": SOAP_ENV})


def _get_item_availability(state: ErpState, request: etree._Element, _user: str) -> etree._Element:
    after = number(child_text(request, NS, "itemAvailabilityFilter/lastChangeAfter", "0"), "lastChangeAfter")
    size = number(child_text(request, NS, "itemAvailabilityFilter/pageSize", "100"), "pageSize")
    response = _el("getItemAvailabilityResponse")
    result = _sub(response, "getItemAvailabilityResult")
    _sub(result, "status").set("isSuccess", "true")
    listing = _sub(result, "itemAvailabilityList")
    for r in state.stock_changed_after(after, size):
        row = _sub(listing, "itemAvailability")
        _sub(row, "item").set("externalId", r.material)
        _sub(row, "locationId").set("externalId", r.plant)
        for name, value in (("quantityOnHand", r.on_hand), ("quantityAvailable", r.unrestricted),
                            ("quantityCommitted", r.reserved), ("quantityOnOrder", r.on_order),
                            ("quantityInTransit", r.in_transit), ("lastChange", r.change),
                            ("lastModifiedDate", r.changed_at.isoformat())):
            _sub(row, name, value)
    return response


def _add_inventory_adjustment(state: ErpState, request: etree._Element, user: str) -> etree._Element:
    record = request.find(f"{{{NS}}}record")
    if record is None:
        raise BadRequest("addInventoryAdjustment: missing element record")
    tran_date = child_text(record, NS, "tranDate", "")
    posting_date = _date(tran_date) if tran_date else datetime.now(UTC).date()
    lines = []
    for n, inv in enumerate(record.findall(f"{{{NS}}}inventoryList/{{{NS}}}inventory"), start=1):
        qty = number(child_text(inv, NS, "adjustQtyBy"), f"inventoryList/inventory[{n}]/adjustQtyBy")
        lines.append(MovementInput(material=_ref(inv, "item"), plant=_ref(inv, "location"),
                                   movement_type="701" if qty >= 0 else "702", quantity=abs(qty)))
    response = _el("addInventoryAdjustmentResponse")
    write = _sub(response, "writeResponse")
    status = _sub(write, "status")
    external_id = record.get("externalId") or ""
    try:
        document = state.post_goods_movement(external_id, posting_date, lines, entered_by=user)
    except BusinessFault as exc:
        status.set("isSuccess", "false")
        detail = _sub(status, "statusDetail")
        _sub(detail, "code", STATUS_CODES.get(exc.code, "INVALID_FLD_VALUE"))
        _sub(detail, "message", exc.message)
        if exc.document:
            _base_ref(write, exc.document, external_id)
        return response
    status.set("isSuccess", "true")
    _base_ref(write, document, external_id)
    return response


_OPERATIONS: dict[str, Handler] = {
    "getItemAvailability": _get_item_availability,
    "addInventoryAdjustment": _add_inventory_adjustment,
}


def _base_ref(write: etree._Element, internal_id: str, external_id: str) -> None:
    ref = _sub(write, "baseRef")
    ref.set("internalId", internal_id)
    ref.set("externalId", external_id)


def _ref(parent: etree._Element, name: str) -> str:
    node = parent.find(f"{{{NS}}}{name}")
    value = None if node is None else (node.get("externalId") or node.get("internalId"))
    if not value:
        raise BadRequest(f"{etree.QName(parent).localname}: {name} has no externalId")
    return value


def _el(name: str) -> etree._Element:
    return etree.Element(f"{{{NS}}}{name}", nsmap={"inv": NS})


def _sub(parent: etree._Element, name: str, value: object = None) -> etree._Element:
    child = etree.SubElement(parent, f"{{{NS}}}{name}")
    if value is not None:
        child.text = str(value)
    return child


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise BadRequest(f"record/tranDate: {value!r} is not a date") from None

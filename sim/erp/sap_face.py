"""The SAP-style materials service (sap_goods_movement.wsdl) over the reference ERP's books."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from lxml import etree

from sim.erp.envelope import BadRequest, child_text, fault, number
from sim.erp.state import BusinessFault, ErpState, MovementInput, PoItem

NS = "urn:rih:sim:erp:materials"
WSDL_FILE = "sap_goods_movement.wsdl"
AUTH = "wsse"

# A handler gets the books, the operation element and the signed-in user (whom postings record).
Handler = Callable[[ErpState, etree._Element, str], etree._Element]


def handle(state: ErpState, request: etree._Element, user: str = "") -> etree._Element:
    """The response payload for one operation element; raises BusinessFault or BadRequest."""
    name = etree.QName(request).localname
    handler = _OPERATIONS.get(name) if etree.QName(request).namespace == NS else None
    if handler is None:
        raise BadRequest(f"unknown operation {request.tag}")
    return handler(state, request, user)


def business_fault(exc: BusinessFault) -> bytes:
    """Business errors travel as SOAP faults whose faultcode names the error."""
    detail = _el("BusinessError")
    _sub(detail, "Code", exc.code)
    _sub(detail, "Message", exc.message)
    if exc.document:
        _sub(detail, "Document", exc.document)
    return fault(f"erp:{exc.code}", exc.message, detail, nsmap={"erp": NS})


def client_fault(code: str, message: str) -> bytes:
    return business_fault(BusinessFault(code, message))


def _goods_movement_get_list(state: ErpState, request: etree._Element, _user: str) -> etree._Element:
    rows = state.movements_after(child_text(request, NS, "FromDocument", ""),
                                 number(child_text(request, NS, "MaxRows"), "MaxRows"))
    response = _el("GoodsMovementGetListResponse")
    movements = _sub(response, "Movements")
    for m in rows:
        line = _sub(movements, "Movement")
        for name, value in (("MaterialDocument", m.document), ("DocumentYear", m.year), ("Item", m.item),
                            ("Material", m.material), ("Plant", m.plant), ("MovementType", m.movement_type),
                            ("DebitCredit", m.debit_credit), ("Quantity", m.quantity), ("Unit", m.unit),
                            ("PostingDate", m.posting_date.isoformat()), ("EnteredAt", m.entered_at.isoformat()),
                            ("ExternalReference", m.external_reference), ("StockAfter", m.stock_after),
                            ("EnteredBy", m.entered_by)):
            _sub(line, name, value)
    return response


def _material_stock_get_list(state: ErpState, request: etree._Element, _user: str) -> etree._Element:
    rows = state.stock_changed_after(number(child_text(request, NS, "FromChange", "0"), "FromChange"),
                                     number(child_text(request, NS, "MaxRows"), "MaxRows"))
    response = _el("MaterialStockGetListResponse")
    stocks = _sub(response, "Stocks")
    for r in rows:
        line = _sub(stocks, "Stock")
        for name, value in (("Material", r.material), ("Plant", r.plant), ("OnHand", r.on_hand),
                            ("Unrestricted", r.unrestricted), ("Reserved", r.reserved), ("Blocked", r.blocked),
                            ("InTransit", r.in_transit), ("OnOrder", r.on_order), ("ChangeNumber", r.change),
                            ("ChangedAt", r.changed_at.isoformat())):
            _sub(line, name, value)
    return response


def _purchase_order_get_changes(state: ErpState, request: etree._Element, _user: str) -> etree._Element:
    orders = state.purchase_orders_changed_after(number(child_text(request, NS, "FromChange", "0"), "FromChange"),
                                                 number(child_text(request, NS, "MaxRows"), "MaxRows"))
    response = _el("PurchaseOrderGetChangesResponse")
    listing = _sub(response, "PurchaseOrders")
    for o in orders:
        po = _sub(listing, "PurchaseOrder")
        for name, value in (("PoNumber", o.number), ("Vendor", o.vendor), ("Plant", o.plant), ("Status", o.status)):
            _sub(po, name, value)
        if o.delivery_date:
            _sub(po, "DeliveryDate", o.delivery_date.isoformat())
        _sub(po, "ChangeNumber", o.change)
        _sub(po, "ChangedAt", o.changed_at.isoformat())
        items = _sub(po, "Items")
        for i in o.items:
            item = _sub(items, "Item")
            for name, value in (("ItemNo", i.item_no), ("Material", i.material), ("Quantity", i.quantity),
                                ("Unit", i.unit)):
                _sub(item, name, value)
            if i.net_price is not None:
                _sub(item, "NetPrice", f"{i.net_price:.2f}")
    return response


def _goods_movement_create(state: ErpState, request: etree._Element, user: str) -> etree._Element:
    header = _find(request, "Header")
    lines = []
    for n, item in enumerate(_find(request, "Items").findall(f"{{{NS}}}Item"), start=1):
        receiving = child_text(item, NS, "ReceivingPlant", "")
        lines.append(MovementInput(
            material=child_text(item, NS, "Material"), plant=child_text(item, NS, "Plant"),
            movement_type=child_text(item, NS, "MovementType"),
            quantity=number(child_text(item, NS, "Quantity"), f"Items/Item[{n}]/Quantity"),
            unit=child_text(item, NS, "Unit"), receiving_plant=receiving or None))
    posting_date = _date(child_text(header, NS, "PostingDate"), "Header/PostingDate")
    document = state.post_goods_movement(child_text(header, NS, "ExternalReference"), posting_date, lines,
                                         entered_by=user)
    response = _el("GoodsMovementCreateResponse")
    _sub(response, "MaterialDocument", document)
    _sub(response, "DocumentYear", posting_date.year)
    return response


def _purchase_order_create(state: ErpState, request: etree._Element, _user: str) -> etree._Element:
    header = _find(request, "Header")
    items = []
    for n, item in enumerate(_find(request, "Items").findall(f"{{{NS}}}Item"), start=1):
        price = child_text(item, NS, "NetPrice", "")
        items.append(PoItem(item_no=number(child_text(item, NS, "ItemNo"), f"Items/Item[{n}]/ItemNo"),
                            material=child_text(item, NS, "Material"),
                            quantity=number(child_text(item, NS, "Quantity"), f"Items/Item[{n}]/Quantity"),
                            unit=child_text(item, NS, "Unit"), net_price=float(price) if price else None))
    delivery = child_text(header, NS, "DeliveryDate", "")
    po_number = state.create_purchase_order(
        child_text(header, NS, "ExternalReference"), child_text(header, NS, "Vendor"), child_text(header, NS, "Plant"),
        items, _date(delivery, "Header/DeliveryDate") if delivery else None)
    response = _el("PurchaseOrderCreateResponse")
    _sub(response, "PoNumber", po_number)
    return response


def _material_planning_change(state: ErpState, request: etree._Element, user: str) -> etree._Element:
    change = state.change_planning(
        child_text(request, NS, "ExternalReference"), child_text(request, NS, "Material"),
        child_text(request, NS, "Plant"), number(child_text(request, NS, "SafetyStock"), "SafetyStock"),
        number(child_text(request, NS, "ReorderPoint"), "ReorderPoint"), entered_by=user)
    response = _el("MaterialPlanningChangeResponse")
    _sub(response, "ChangeDocument", change.document)
    _sub(response, "SafetyStockBefore", change.safety_stock_before)
    _sub(response, "ReorderPointBefore", change.reorder_point_before)
    return response


_OPERATIONS: dict[str, Handler] = {
    "GoodsMovementGetList": _goods_movement_get_list,
    "MaterialStockGetList": _material_stock_get_list,
    "PurchaseOrderGetChanges": _purchase_order_get_changes,
    "GoodsMovementCreate": _goods_movement_create,
    "PurchaseOrderCreate": _purchase_order_create,
    "MaterialPlanningChange": _material_planning_change,
}


def _el(name: str) -> etree._Element:
    return etree.Element(f"{{{NS}}}{name}", nsmap={"erp": NS})


def _sub(parent: etree._Element, name: str, value: object = None) -> etree._Element:
    child = etree.SubElement(parent, f"{{{NS}}}{name}")
    if value is not None:
        child.text = str(value)
    return child


def _find(parent: etree._Element, name: str) -> etree._Element:
    found = parent.find(f"{{{NS}}}{name}")
    if found is None:
        raise BadRequest(f"{etree.QName(parent).localname}: missing element {name}")
    return found


def _date(value: str, where: str) -> date:
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise BadRequest(f"{where}: {value!r} is not a date") from None

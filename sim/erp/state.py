"""The reference ERP's books: items, stock and planning parameters per plant, goods movements and purchase
orders, in memory.

Every posting is all-or-nothing and checked like a real ERP would: unknown material or plant,
closed posting period, locked item, and the external-reference duplicate check.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

# Movement type -> debit (S, stock in) or credit (H, stock out); 301 moves stock between plants.
MOVEMENT_TYPES: dict[str, str] = {
    "101": "S",  # goods receipt
    "102": "H",  # goods receipt reversal
    "251": "H",  # sale
    "252": "S",  # customer return
    "551": "H",  # scrapping (shrink)
    "555": "H",  # scrapping from blocked stock (damage)
    "701": "S",  # inventory difference, gain
    "702": "H",  # inventory difference, loss
    "301": "H",  # plant-to-plant transfer: H at Plant, S at ReceivingPlant
}

PO_STATUSES = ("01", "02", "03", "04", "05", "06", "09")  # created .. invoiced, 09 cancelled


class BusinessFault(Exception):
    """A posting the ERP refuses. `document` names the existing document for a duplicate."""

    def __init__(self, code: str, message: str, document: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.document = document


@dataclass(slots=True)
class Movement:
    document: str
    year: int
    item: int
    material: str
    plant: str
    movement_type: str
    debit_credit: str
    quantity: int
    unit: str
    posting_date: date
    entered_at: datetime
    external_reference: str
    stock_after: int
    entered_by: str = ""  # the user who posted it, as an ERP keeps it for every document


@dataclass(slots=True)
class Stock:
    material: str
    plant: str
    on_hand: int = 0
    reserved: int = 0
    blocked: int = 0
    in_transit: int = 0
    on_order: int = 0
    change: int = 0
    changed_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def unrestricted(self) -> int:
        return max(self.on_hand - self.reserved - self.blocked, 0)


@dataclass(slots=True)
class PlanningChange:
    """One change of an item's planning parameters at a plant, as the change history keeps it."""

    document: str
    material: str
    plant: str
    safety_stock_before: int
    safety_stock: int
    reorder_point_before: int
    reorder_point: int
    external_reference: str
    entered_by: str
    changed_at: datetime


@dataclass(slots=True)
class Planning:
    """An item's planning parameters at a plant (MRP view): what stock to keep and when to reorder."""

    safety_stock: int = 0
    reorder_point: int = 0


@dataclass(slots=True)
class PoItem:
    item_no: int
    material: str
    quantity: int
    unit: str = "EA"
    net_price: float | None = None


@dataclass(slots=True)
class PurchaseOrder:
    number: str
    vendor: str
    plant: str
    status: str
    items: list[PoItem]
    delivery_date: date | None
    external_reference: str
    change: int = 0
    changed_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    history: list[str] = field(default_factory=list)


@dataclass(slots=True)
class MovementInput:
    material: str
    plant: str
    movement_type: str
    quantity: int
    unit: str = "EA"
    receiving_plant: str | None = None


class ErpState:
    """Thread-safe books of the reference ERP."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.items: dict[str, str] = {}  # material -> description
        self.plants: set[str] = set()
        self.stock: dict[tuple[str, str], Stock] = {}
        self.movements: list[Movement] = []
        self.purchase_orders: dict[str, PurchaseOrder] = {}
        self.planning: dict[tuple[str, str], Planning] = {}
        self.planning_changes: list[PlanningChange] = []
        self.external_refs: dict[str, str] = {}  # external reference -> document number
        self.locked: set[tuple[str, str]] = set()
        self.closed_periods: set[str] = set()  # "YYYY-MM"
        self._change = 0
        self._next_document = 4900000001
        self._next_po = 4500000001
        self._next_planning_change = 1

    # master data and test levers

    def add_item(self, material: str, description: str = "") -> None:
        with self._lock:
            self.items[material] = description

    def add_plant(self, plant: str) -> None:
        with self._lock:
            self.plants.add(plant)

    def set_stock(self, material: str, plant: str, on_hand: int, *, reserved: int = 0, blocked: int = 0,
                  in_transit: int = 0, on_order: int = 0) -> None:
        with self._lock:
            row = self._row(material, plant)
            row.on_hand, row.reserved, row.blocked = on_hand, reserved, blocked
            row.in_transit, row.on_order = in_transit, on_order
            self._touch(row)

    def lock_item(self, material: str, plant: str) -> None:
        with self._lock:
            self.locked.add((material, plant))

    def close_period(self, period: str) -> None:
        with self._lock:
            self.closed_periods.add(period)

    # postings

    def post_goods_movement(self, external_reference: str, posting_date: date,
                            lines: Sequence[MovementInput], *, entered_by: str = "") -> str:
        """Post one material document; returns its number. Raises BusinessFault, posting nothing."""
        with self._lock:
            self._check_duplicate(external_reference)
            if posting_date.strftime("%Y-%m") in self.closed_periods:
                raise BusinessFault("PeriodClosed", f"posting period {posting_date:%Y-%m} is closed")
            if not lines:
                raise BusinessFault("NoItems", "a goods movement needs at least one item")
            for number, line in enumerate(lines, start=1):
                self._check_line(number, line)
            document = str(self._next_document)
            self._next_document += 1
            now = datetime.now(UTC)
            item = 0
            for line in lines:
                postings = [(line.plant, MOVEMENT_TYPES[line.movement_type])]
                if line.movement_type == "301":
                    postings.append((line.receiving_plant or "", "S"))
                for plant, debit_credit in postings:
                    item += 1
                    row = self._row(line.material, plant)
                    row.on_hand += line.quantity if debit_credit == "S" else -line.quantity
                    self._touch(row)
                    self.movements.append(Movement(
                        document=document, year=posting_date.year, item=item, material=line.material,
                        plant=plant, movement_type=line.movement_type, debit_credit=debit_credit,
                        quantity=line.quantity, unit=line.unit, posting_date=posting_date, entered_at=now,
                        external_reference=external_reference, stock_after=row.on_hand,
                        entered_by=entered_by))
            self.external_refs[external_reference] = document
            return document

    def change_planning(self, external_reference: str, material: str, plant: str, safety_stock: int,
                        reorder_point: int, *, entered_by: str = "") -> PlanningChange:
        """Set an item's safety stock and reorder point at a plant; returns the change as the history keeps it."""
        with self._lock:
            self._check_duplicate(external_reference)
            if material not in self.items:
                raise BusinessFault("MaterialInvalid", f"material {material} does not exist")
            if plant not in self.plants:
                raise BusinessFault("PlantInvalid", f"plant {plant or '(none)'} does not exist")
            if (material, plant) in self.locked:
                raise BusinessFault("ItemLocked", f"material {material} at plant {plant} is locked by another user")
            if safety_stock < 0 or reorder_point < 0:
                raise BusinessFault("QuantityInvalid", f"safety stock ({safety_stock}) and reorder point "
                                    f"({reorder_point}) must not be negative")
            if reorder_point < safety_stock:
                raise BusinessFault("PlanningInvalid", f"reorder point {reorder_point} is below the safety stock "
                                    f"{safety_stock}")
            params = self.planning.setdefault((material, plant), Planning())
            document = f"PC{self._next_planning_change:08d}"
            self._next_planning_change += 1
            change = PlanningChange(
                document=document, material=material, plant=plant, safety_stock_before=params.safety_stock,
                safety_stock=safety_stock, reorder_point_before=params.reorder_point, reorder_point=reorder_point,
                external_reference=external_reference, entered_by=entered_by, changed_at=datetime.now(UTC))
            self.planning_changes.append(change)
            params.safety_stock, params.reorder_point = safety_stock, reorder_point
            self.external_refs[external_reference] = document
            return change

    def planning_history(self, material: str, plant: str) -> list[PlanningChange]:
        with self._lock:
            return [c for c in self.planning_changes if (c.material, c.plant) == (material, plant)]

    def create_purchase_order(self, external_reference: str, vendor: str, plant: str,
                              items: Sequence[PoItem], delivery_date: date | None = None) -> str:
        with self._lock:
            self._check_duplicate(external_reference)
            if plant not in self.plants:
                raise BusinessFault("PlantInvalid", f"plant {plant} does not exist")
            if not items:
                raise BusinessFault("NoItems", "a purchase order needs at least one item")
            for item in items:
                if item.material not in self.items:
                    raise BusinessFault("MaterialInvalid", f"item {item.item_no}: material {item.material} does not exist")
            number = str(self._next_po)
            self._next_po += 1
            order = PurchaseOrder(number=number, vendor=vendor, plant=plant, status="01", items=list(items),
                                  delivery_date=delivery_date, external_reference=external_reference)
            self.purchase_orders[number] = order
            for item in items:
                self._row(item.material, plant).on_order += item.quantity
            self._touch_po(order)
            self.external_refs[external_reference] = number
            return number

    def set_po_status(self, number: str, status: str) -> None:
        with self._lock:
            if status not in PO_STATUSES:
                raise BusinessFault("StatusInvalid", f"purchase order status {status} is not one of {PO_STATUSES}")
            try:
                order = self.purchase_orders[number]
            except KeyError:
                raise BusinessFault("DocumentInvalid", f"purchase order {number} does not exist") from None
            order.status = status
            self._touch_po(order)

    # queries for the poll operations

    def movements_after(self, document: str, max_rows: int) -> list[Movement]:
        """Whole documents after `document`, at least one, stopping once `max_rows` lines are reached."""
        after = int(document) if document.strip() else 0
        with self._lock:
            lines = sorted((m for m in self.movements if int(m.document) > after), key=lambda m: (m.document, m.item))
        out: list[Movement] = []
        for line in lines:
            if len(out) >= max_rows and line.document != out[-1].document:
                break
            out.append(line)
        return out

    def stock_changed_after(self, change: int, max_rows: int) -> list[Stock]:
        with self._lock:
            rows = sorted((r for r in self.stock.values() if r.change > change), key=lambda r: r.change)
        return rows[:max_rows]

    def purchase_orders_changed_after(self, change: int, max_rows: int) -> list[PurchaseOrder]:
        with self._lock:
            orders = sorted((o for o in self.purchase_orders.values() if o.change > change), key=lambda o: o.change)
        return orders[:max_rows]

    def documents_for(self, external_reference: str) -> list[Movement]:
        with self._lock:
            return [m for m in self.movements if m.external_reference == external_reference]

    # helpers

    def _check_duplicate(self, external_reference: str) -> None:
        if not external_reference:
            raise BusinessFault("ReferenceMissing", "an external reference is required")
        existing = self.external_refs.get(external_reference)
        if existing is not None:
            raise BusinessFault("DuplicateDocument", f"external reference {external_reference} was already "
                                f"posted as document {existing}", document=existing)

    def _check_line(self, number: int, line: MovementInput) -> None:
        if line.material not in self.items:
            raise BusinessFault("MaterialInvalid", f"item {number}: material {line.material} does not exist")
        plants = [line.plant] + ([line.receiving_plant or ""] if line.movement_type == "301" else [])
        for plant in plants:
            if plant not in self.plants:
                raise BusinessFault("PlantInvalid", f"item {number}: plant {plant or '(none)'} does not exist")
            if (line.material, plant) in self.locked:
                raise BusinessFault("ItemLocked", f"item {number}: material {line.material} at plant {plant} "
                                    "is locked by another user")
        if line.movement_type not in MOVEMENT_TYPES:
            raise BusinessFault("MovementTypeInvalid", f"item {number}: movement type {line.movement_type} is unknown")
        if line.quantity <= 0:
            raise BusinessFault("QuantityInvalid", f"item {number}: quantity must be positive, not {line.quantity}")

    def _row(self, material: str, plant: str) -> Stock:
        key = (material, plant)
        row = self.stock.get(key)
        if row is None:
            row = self.stock[key] = Stock(material=material, plant=plant)
        return row

    def _touch(self, row: Stock) -> None:
        self._change += 1
        row.change, row.changed_at = self._change, datetime.now(UTC)

    def _touch_po(self, order: PurchaseOrder) -> None:
        self._change += 1
        order.change, order.changed_at = self._change, datetime.now(UTC)
        order.history.append(order.status)


def seed(state: ErpState, *, skus: int = 500, stores: int = 20, dcs: int = 2, seed_value: int = 7) -> None:
    """Fill the books with a retailer's master data and opening stock (deterministic)."""
    rng = random.Random(seed_value)
    plants = [f"STORE-{i:03d}" for i in range(1, stores + 1)] + [f"DC-{i:02d}" for i in range(1, dcs + 1)]
    for plant in plants:
        state.add_plant(plant)
    for n in range(skus):
        material = f"SKU-{1001 + n}"
        state.add_item(material, f"Article {1001 + n}")
        for plant in plants:
            scale = 400 if plant.startswith("DC") else 30
            state.set_stock(material, plant, rng.randint(0, scale), reserved=rng.randint(0, 2))

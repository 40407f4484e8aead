"""stock.adjusted v2: quantities in a unit of measure, a sub-reason, lot and serial numbers.

v2 reads every v1 payload as it is (backward compatible); the upcaster only makes the unit
explicit. A v2 event is served as v1 where its change is a whole number of eaches.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, PlainSerializer, model_validator

from canonical.errors import ContractError
from canonical.events import AdjustmentReason, _ItemAtLocation
from canonical.master import UnitOfMeasure

EVENT_TYPE = "stock.adjusted"


def _compact(quantity: float) -> int | float:
    return int(quantity) if quantity.is_integer() else quantity


# Whole quantities stay JSON integers, so consumers that only ever saw v1 see the same numbers.
Quantity = Annotated[float, PlainSerializer(_compact, return_type=int | float)]


class StockAdjustedV2(_ItemAtLocation):
    """A change in on-hand stock (negative for stock that left), counted in `unit_of_measure`."""

    delta: Quantity = Field(description="Signed change, in `unit_of_measure` (fractions for weighed goods).")
    unit_of_measure: UnitOfMeasure = UnitOfMeasure.EACH
    units_per_uom: int = Field(default=1, ge=1, description="Eaches in one `unit_of_measure` (12 for a case of 12).")
    reason: AdjustmentReason
    sub_reason: str | None = Field(
        default=None, max_length=40, pattern=r"^[a-z0-9_]+$",
        description="Finer cause within `reason`, e.g. theft or expired for shrink.",
    )
    lot: str | None = Field(default=None, min_length=1, max_length=64)
    serial_numbers: list[str] = Field(default_factory=list, description="One per unit for serialised items.")
    reference: str | None = Field(default=None, max_length=100, description="Source document (receipt, sale, ...).")
    on_hand_after: Quantity | None = Field(default=None, description="On hand after the change, in `unit_of_measure`.")

    @model_validator(mode="after")
    def _serials_match_quantity(self) -> StockAdjustedV2:
        if self.serial_numbers and len(self.serial_numbers) != abs(self.delta_each()):
            raise ValueError(
                f"serial_numbers has {len(self.serial_numbers)} entries but the change is "
                f"{abs(self.delta_each())} units"
            )
        return self

    def delta_each(self) -> float:
        return self.delta * self.units_per_uom


def upcast_v1(data: dict[str, Any]) -> dict[str, Any]:
    """v1 counted eaches; v2 says so explicitly."""
    return {**data, "unit_of_measure": UnitOfMeasure.EACH.value, "units_per_uom": 1}


def downcast_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 knows whole eaches only; sub-reason, lot and serials have no place in v1 and are left out."""
    per_uom = data.get("units_per_uom", 1)
    v1: dict[str, Any] = {
        "sku": data["sku"],
        "location": data["location"],
        "delta": _whole_eaches(data["delta"], per_uom, "data.delta"),
        "reason": data["reason"],
    }
    if data.get("reference") is not None:
        v1["reference"] = data["reference"]
    if data.get("on_hand_after") is not None:
        v1["on_hand_after"] = _whole_eaches(data["on_hand_after"], per_uom, "data.on_hand_after")
    return v1


def _whole_eaches(quantity: float, per_uom: int, where: str) -> int:
    eaches = quantity * per_uom
    if eaches != int(eaches):
        raise ContractError(f"{EVENT_TYPE} v2 {quantity} x {per_uom} is not a whole number of eaches; v1 cannot carry it",
                            where)
    return int(eaches)

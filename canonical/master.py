"""Master data: items, locations, suppliers, and the inventory status of an item at a location."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

Sku = str


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UnitOfMeasure(StrEnum):
    EACH = "EA"
    CASE = "CS"
    PACK = "PK"
    KILOGRAM = "KG"
    METRE = "M"


class Item(_Model):
    sku: Sku = Field(min_length=1, max_length=64)
    gtin: str | None = Field(default=None, pattern=r"^\d{8}$|^\d{12,14}$", description="GTIN-8/12/13/14 (UPC is GTIN-12).")
    description: str = ""
    style: str | None = None
    colour: str | None = None
    size: str | None = None
    category: str | None = None
    unit_of_measure: UnitOfMeasure = UnitOfMeasure.EACH
    unit_cost: float | None = Field(default=None, ge=0)
    unit_price: float | None = Field(default=None, ge=0)


class LocationKind(StrEnum):
    STORE = "store"
    DC = "dc"
    THREE_PL = "3pl"
    ECOMMERCE_NODE = "ecommerce"
    SUPPLIER = "supplier"


class Location(_Model):
    id: str = Field(min_length=1, max_length=64)
    kind: LocationKind
    name: str = ""
    region: str | None = None


class Supplier(_Model):
    id: str = Field(min_length=1, max_length=64)
    name: str = ""
    lead_time_days: float = Field(default=7.0, ge=0)
    edi_partner: str | None = None


class InventoryStatus(_Model):
    """Quantities of one item at one location, by status."""

    on_hand: int = 0
    available: int = 0
    reserved: int = 0
    in_transit: int = 0
    on_order: int = 0
    damaged: int = 0

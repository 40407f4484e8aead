"""The warehouse connector wms.rest: receipts, shipments, cycle counts and adjustments in; transfers and count tasks out."""

from connectors.wms.connector import WmsRest

__all__ = ["WmsRest"]

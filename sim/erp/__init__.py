"""The reference ERP: a stateful SOAP peer on loopback with SAP-style and NetSuite-style services."""

from sim.erp.server import Injection, ReferenceErp
from sim.erp.state import BusinessFault, ErpState, seed

__all__ = ["BusinessFault", "ErpState", "Injection", "ReferenceErp", "seed"]

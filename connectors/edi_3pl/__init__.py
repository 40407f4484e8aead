"""EDI with suppliers and 3PLs: X12 and EDIFACT files over SFTP (connector type `edi.sftp`)."""

from connectors.edi_3pl.acks import open_acknowledgements
from connectors.edi_3pl.errors import EdiError
from connectors.edi_3pl.mapping import Partner
from connectors.edi_3pl.translate import Translation, translate

__all__ = ["EdiError", "Partner", "Translation", "open_acknowledgements", "translate"]

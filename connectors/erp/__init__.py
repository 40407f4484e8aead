"""SOAP ERP connector (`erp.soap`): a WSDL and a mapping turn ERP documents into canonical events and back."""

from connectors.erp.config import ErpMapping, ErpSoapConfig
from connectors.erp.connector import ErpSoap
from connectors.erp.transport import ErpFault, ResponseContractError, SoapTransport

__all__ = ["ErpFault", "ErpMapping", "ErpSoap", "ErpSoapConfig", "ResponseContractError", "SoapTransport"]

"""SOAP I/O for `erp.soap`: one zeep client over one pooled HTTP session, safe XML, and error translation.

Outcomes map onto the hub's error classes: transport errors, timeouts and 5xx without a SOAP fault
are TransientError; business faults are ErpFault (permanent); an answer that is not well-formed,
carries a DTD / entities, is too large or does not fit the WSDL is a ResponseContractError.
"""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path
from typing import Any

import httpx
from lxml import etree
from requests import Response
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential
from zeep import AsyncClient, Settings
from zeep.exceptions import Error as ZeepError
from zeep.exceptions import Fault
from zeep.helpers import serialize_object
from zeep.loader import parse_xml
from zeep.proxy import AsyncServiceProxy
from zeep.transports import AsyncTransport
from zeep.wsdl import Document
from zeep.wsdl.utils import etree_to_string
from zeep.wsse.username import UsernameToken
from zeep.xsd.context import XmlParserContext

from canonical import ContractError
from connectors.erp.config import ErpSoapConfig, ErrorRules
from hub.errors import PermanentError, TransientError
from hub.sdk import resolve_path
from hub.tracing import inject_traceparent

# zeep parses with these; the transport screens every answer the same way before zeep sees it.
SAFE_SETTINGS = Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True,
                         xml_huge_tree=False, force_https=False)
# Calls return the raw answer: SoapTransport reads the response element itself, so mapping paths follow
# the WSDL literally instead of zeep's unwrapping of single-child wrappers.
_CALL_SETTINGS = Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True,
                          xml_huge_tree=False, force_https=False, raw_response=True)
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

# Checked before parsing: libxml2 meets an entity bomb with a confusing error, and a DTD is refused anyway.
_DOCTYPE_IN_PROLOG = re.compile(rb"^\s*(<\?xml[^>]*\?>)?\s*(<!--.*?-->\s*)*<!DOCTYPE", re.DOTALL)
_DTD_REFUSED = "refused an answer with a DTD (DOCTYPE and entity declarations are never expanded or resolved)"

_DOCUMENTS: dict[str, Document] = {}
_DOCUMENTS_LOCK = threading.Lock()


class ErpFault(PermanentError):
    """A SOAP fault the ERP answered with: its code, text and, for a duplicate, the existing document."""

    def __init__(self, operation: str, code: str, text: str, document: str | None = None) -> None:
        super().__init__(f"ERP refused {operation}: fault {code}: {text}")
        self.operation, self.code, self.text, self.document = operation, code, text, document


class ResponseContractError(ContractError):
    """An answer the hub will not read; `raw` holds its first bytes for the dead letter."""

    def __init__(self, message: str, where: str, raw: bytes = b"") -> None:
        super().__init__(message, where)
        self.raw = raw


class SoapTransport:
    """Calls SOAP operations of one WSDL port. `open()` once, `call()` many times, `close()` at the end."""

    def __init__(self, config: ErpSoapConfig, base_dir: Path) -> None:
        self.config = config
        self.base_dir = base_dir
        self.endpoint = ""
        self._http: httpx.AsyncClient | None = None
        self._proxy: AsyncServiceProxy | None = None
        self._document: Document | None = None
        self._binding: Any = None
        self._operations: set[str] = set()

    async def open(self) -> None:
        cfg = self.config
        auth = httpx.BasicAuth(cfg.auth.username, _password(cfg)) if cfg.auth.mode in ("basic", "both") else None
        timeout = httpx.Timeout(cfg.timeout, connect=cfg.connect_timeout)
        self._http = httpx.AsyncClient(auth=auth, timeout=timeout,
                                       limits=httpx.Limits(max_connections=cfg.max_connections),
                                       event_hooks={"request": [inject_traceparent]})
        wsdl_http = httpx.Client(auth=auth, timeout=timeout)
        transport = _ScreeningTransport(self._http, wsdl_http, cfg.max_response_bytes)
        try:
            document = await asyncio.to_thread(_load_wsdl, self._wsdl_location(), transport)
        except Exception:
            await self.close()
            raise
        finally:
            wsdl_http.close()
        wsse = None
        if cfg.auth.mode in ("wsse", "wsse_digest", "both"):
            wsse = UsernameToken(cfg.auth.username, _password(cfg), use_digest=cfg.auth.mode == "wsse_digest")
        client = AsyncClient(wsdl=document, transport=transport, wsse=wsse, settings=_CALL_SETTINGS)
        port = _port(document, cfg.service, cfg.port)
        self.endpoint = cfg.endpoint or port.binding_options.get("address") or ""
        if not self.endpoint:
            await self.close()
            raise ValueError(f"WSDL {cfg.wsdl}: port {port.name} has no soap:address; set endpoint")
        self._document, self._binding = document, port.binding
        self._operations = set(port.binding.all())
        self._proxy = AsyncServiceProxy(client, port.binding, address=self.endpoint)

    @property
    def operations(self) -> set[str]:
        return set(self._operations)

    async def close(self) -> None:
        http, self._http, self._proxy = self._http, None, None
        if http is not None:
            await http.aclose()

    async def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Call with quick retries of transient failures (config.retry); the answer as plain dicts."""
        retry = self.config.retry
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(retry.in_process_attempts),
            wait=wait_exponential(multiplier=retry.in_process_wait, max=10),
            reraise=True,
        ):
            with attempt:
                return await self.call_once(operation, params)
        raise AssertionError("unreachable: tenacity reraises the last error")

    async def call_once(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if self._proxy is None:
            raise TransientError(f"calling {operation}: the SOAP client is not open")
        if operation not in self._operations:
            raise ContractError(f"operation {operation} is not in the WSDL port (has {sorted(self._operations)})",
                                "operation")
        doing = f"calling {operation} at {self.endpoint}"
        try:
            response = await self._proxy[operation](**params)
            return self._read_answer(operation, response)
        except httpx.TimeoutException as exc:
            raise TransientError(f"{doing}: no answer within the timeout ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise TransientError(f"{doing}: {type(exc).__name__}: {exc or 'connection failed'}") from exc
        except _HttpStatus as exc:
            raise exc.as_hub_error(doing) from None
        except _Refused as exc:
            raise ResponseContractError(f"{doing}: {exc.reason}", f"{operation} response {exc.where}",
                                        exc.raw) from None
        except Fault as exc:
            raise _fault_error(operation, exc, self.config.mapping.errors, doing) from None
        except (TypeError, ValueError) as exc:
            raise ContractError(f"{doing}: the request does not fit the WSDL: {exc}", f"{operation} request") from None
        except ZeepError as exc:
            raise ResponseContractError(f"{doing}: the answer does not fit the WSDL: {exc}",
                                        f"{operation} response") from None

    def _read_answer(self, operation: str, response: Response) -> dict[str, Any]:
        """The content of the response element as plain dicts; a SOAP fault raises zeep's Fault."""
        assert self._document is not None
        doc = parse_xml(response.content, None, settings=SAFE_SETTINGS)
        body = doc.find("soap-env:Body", namespaces=self._binding.nsmap)
        if body is None:
            raise _Refused("the answer has no SOAP Body", "Envelope", response.content)
        if response.status_code != 200 or body.find("soap-env:Fault", namespaces=self._binding.nsmap) is not None:
            self._binding.process_error(doc, self._binding.get(operation))
        payload = next((child for child in body if isinstance(child.tag, str)), None)
        if payload is None:
            return {}
        element = self._document.types.get_element(payload.tag)
        value = element.parse(payload, self._document.types, context=XmlParserContext(settings=SAFE_SETTINGS))
        answer = serialize_object(value, dict)
        return answer if isinstance(answer, dict) else {"value": answer}

    def _wsdl_location(self) -> str:
        wsdl = self.config.wsdl
        if wsdl.startswith(("http://", "https://")):
            return wsdl
        path = resolve_path(self.base_dir, wsdl)
        if not path.is_file():
            raise FileNotFoundError(f"WSDL {wsdl}: no such file (looked at {path})")
        return str(path)


class _HttpStatus(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(status)
        self.status, self.retry_after = status, retry_after

    def as_hub_error(self, doing: str) -> Exception:
        if self.status >= 500 or self.status == 429:
            return TransientError(f"{doing}: HTTP {self.status} without a SOAP answer", retry_after=self.retry_after)
        if self.status in (401, 403):
            return PermanentError(f"{doing}: HTTP {self.status}: the ERP refused the credentials")
        return PermanentError(f"{doing}: HTTP {self.status} without a SOAP answer")


class _Refused(Exception):
    def __init__(self, reason: str, where: str, raw: bytes) -> None:
        super().__init__(reason)
        self.reason, self.where, self.raw = reason, where, raw[:4096]


class _ScreeningTransport(AsyncTransport):
    """zeep's async transport, reading answers in chunks up to a cap and screening them before zeep parses."""

    def __init__(self, client: httpx.AsyncClient, wsdl_client: httpx.Client, max_bytes: int) -> None:
        super().__init__(client=client, wsdl_client=wsdl_client)
        self.max_bytes = max_bytes

    async def post_xml(self, address: str, envelope: Any, headers: dict[str, str]) -> Response:
        message = etree_to_string(envelope)
        async with self.client.stream("POST", address, content=message, headers=headers) as response:
            body = await self._read_capped(response)
        _screen(response.status_code, response.headers, body)
        answer = Response()
        answer._content = body
        answer.status_code = response.status_code
        answer.headers = response.headers  # type: ignore[assignment] - zeep only reads it like a mapping
        answer.encoding = response.encoding
        return answer

    async def _read_capped(self, response: httpx.Response) -> bytes:
        declared = int(response.headers.get("Content-Length") or 0)
        if declared > self.max_bytes:
            raise _Refused(f"answer of {declared} bytes exceeds max_response_bytes={self.max_bytes}", "size", b"")
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise _Refused(f"answer exceeds max_response_bytes={self.max_bytes}", "size", b"".join(chunks))
            chunks.append(chunk)
        return b"".join(chunks)


def _screen(status: int, headers: httpx.Headers, body: bytes) -> None:
    """Refuse what zeep must not see; let through SOAP envelopes (faults included)."""
    looks_xml = body.lstrip()[:1] == b"<" and b"<html" not in body[:200].lower()
    if status >= 300 and not looks_xml:
        retry_after = headers.get("Retry-After")
        raise _HttpStatus(status, float(retry_after) if retry_after and retry_after.isdigit() else None)
    if _DOCTYPE_IN_PROLOG.match(body):
        raise _Refused(_DTD_REFUSED, "prolog <!DOCTYPE", body)
    try:
        root = etree.fromstring(body, _SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        snippet = body.splitlines()[line - 1][max(column - 60, 0): column + 20] if body.splitlines() else b""
        raise _Refused(f"malformed XML: {exc.msg} near {snippet!r}", f"line {line} column {column}", body) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise _Refused(_DTD_REFUSED, f"prolog {docinfo.doctype!r}", body)


def _fault_error(operation: str, fault: Fault, rules: ErrorRules, doing: str) -> Exception:
    if fault.code is None:
        return TransientError(f"{doing}: an error status with a SOAP answer that is not a fault: {fault.message}")
    code = _detail_text(fault.detail, rules.code_element) if rules.code_element else None
    code = code or (fault.code or "").rpartition(":")[2] or "UNKNOWN"
    document = _detail_text(fault.detail, rules.document_element) if rules.document_element else None
    if code in rules.transient_codes:
        return TransientError(f"{doing}: fault {code}: {fault.message}")
    return ErpFault(operation, code, fault.message or "", document)


def _detail_text(detail: etree._Element | None, local_name: str | None) -> str | None:
    if detail is None or not local_name:
        return None
    for node in detail.iter():
        if isinstance(node.tag, str) and etree.QName(node).localname == local_name:
            return (node.text or "").strip() or None
    return None


def _load_wsdl(location: str, transport: AsyncTransport) -> Document:
    """Parse a WSDL once per process; instances that name the same WSDL share the parsed document."""
    with _DOCUMENTS_LOCK:
        document = _DOCUMENTS.get(location)
        if document is None:
            try:
                document = Document(location, transport, settings=SAFE_SETTINGS)
            except (ZeepError, etree.XMLSyntaxError, httpx.HTTPError, OSError) as exc:
                raise ValueError(f"loading WSDL {location}: {exc}") from exc
            _DOCUMENTS[location] = document
        return document


def _port(document: Document, service_name: str | None, port_name: str | None) -> Any:
    services = document.services
    if not services:
        raise ValueError("the WSDL defines no service")
    try:
        service = services[service_name] if service_name else next(iter(services.values()))
    except KeyError:
        raise ValueError(f"WSDL has no service {service_name!r}; it has {sorted(services)}") from None
    try:
        return service.ports[port_name] if port_name else next(iter(service.ports.values()))
    except KeyError:
        raise ValueError(f"service {service.name} has no port {port_name!r}; it has {sorted(service.ports)}") from None


def _password(config: ErpSoapConfig) -> str:
    assert config.auth.password is not None  # Auth validates that credentials come with a mode that needs them
    return config.auth.password.reveal()

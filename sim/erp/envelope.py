"""SOAP 1.1 envelopes for the reference ERP: safe request parsing, WS-Security check, replies and faults."""

from __future__ import annotations

import base64
import hashlib
import hmac

from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PASSWORD_DIGEST = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                          remove_comments=True)


class BadRequest(Exception):
    """A request that is not a SOAP envelope the service understands (answered as a Client fault)."""


def parse_request(body: bytes) -> tuple[etree._Element | None, etree._Element]:
    """The SOAP Header (or None) and the operation element inside the Body."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise BadRequest(f"request is not well-formed XML: {exc.msg}") from None
    if root.getroottree().docinfo.doctype:
        raise BadRequest("request carries a DOCTYPE, which this service refuses")
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise BadRequest(f"root element is {root.tag}, not a SOAP 1.1 Envelope")
    body_el = root.find(f"{{{SOAP_ENV}}}Body")
    operation = None if body_el is None else next((c for c in body_el if isinstance(c.tag, str)), None)
    if operation is None:
        raise BadRequest("SOAP Body is empty")
    return root.find(f"{{{SOAP_ENV}}}Header"), operation


def username_token_valid(header: etree._Element | None, username: str, password: str) -> bool:
    """True when the header carries a UsernameToken with these credentials (text or digest password)."""
    if header is None:
        return False
    token = header.find(f"{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    if token is None or token.findtext(f"{{{WSSE}}}Username") != username:
        return False
    password_el = token.find(f"{{{WSSE}}}Password")
    if password_el is None:
        return False
    given = password_el.text or ""
    if password_el.get("Type") != PASSWORD_DIGEST:
        return hmac.compare_digest(given, password)
    nonce = base64.b64decode(token.findtext(f"{{{WSSE}}}Nonce") or "")
    created = (token.findtext(f"{{{WSU}}}Created") or "").encode()
    expected = base64.b64encode(hashlib.sha1(nonce + created + password.encode()).digest()).decode()
    return hmac.compare_digest(given, expected)


def reply(payload: etree._Element) -> bytes:
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body").append(payload)
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def fault(code: str, message: str, detail: etree._Element | None = None,
          nsmap: dict[str, str] | None = None) -> bytes:
    """A SOAP 1.1 Fault; `code` is a QName whose prefix is declared in `nsmap` (or `soap`)."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV, **(nsmap or {})})
    fault_el = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body"), f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault_el, "faultcode").text = code
    etree.SubElement(fault_el, "faultstring").text = message
    if detail is not None:
        etree.SubElement(fault_el, "detail").append(detail)
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def child_text(parent: etree._Element, ns: str, path: str, default: str | None = None) -> str:
    """Text at a slash path of local names in namespace `ns`; BadRequest when missing and no default."""
    node = parent
    for name in path.split("/"):
        found = node.find(f"{{{ns}}}{name}")
        if found is None:
            if default is not None:
                return default
            raise BadRequest(f"{parent.tag}: missing element {path}")
        node = found
    return (node.text or "").strip()


def number(value: str, where: str) -> int:
    """An integral quantity given as xs:decimal or xs:double text."""
    try:
        parsed = float(value)
    except ValueError:
        raise BadRequest(f"{where}: {value!r} is not a number") from None
    if parsed != int(parsed):
        raise BadRequest(f"{where}: {value!r} is not a whole quantity")
    return int(parsed)

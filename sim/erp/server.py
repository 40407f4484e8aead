"""The reference ERP peer: two SOAP services (SAP-style and NetSuite-style) over one set of books on loopback.

WSDL first: the services answer exactly the WSDLs in this folder, served at /wsdl/<kind> with the
address rewritten to this server. Faults are injected through `inject` (or POST /control), and the
server can go down and come back on the same port.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, get_args

from lxml import etree

from sim.erp import netsuite_face, sap_face
from sim.erp.envelope import BadRequest, parse_request, reply, username_token_valid
from sim.erp.state import BusinessFault, ErpState

HERE = Path(__file__).parent
FACES: dict[str, ModuleType] = {"sap": sap_face, "netsuite": netsuite_face}
WSDL_ADDRESS = "http://127.0.0.1:8080"

InjectionKind = Literal["fault", "http", "delay", "malformed", "invalid", "bomb", "xxe", "huge", "drop"]

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><x>&lol9;</x></soap:Body></soap:Envelope>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><x>&xxe;</x></soap:Body></soap:Envelope>
"""


@dataclass(slots=True)
class Injection:
    """One planned misbehaviour for the next `times` matching calls."""

    kind: InjectionKind
    times: int = 1
    face: str | None = None
    operation: str | None = None
    code: str = "SystemBusy"
    message: str = "injected fault"
    status: int = 500
    seconds: float = 1.0
    size: int = 1_000_000

    def matches(self, face: str, operation: str) -> bool:
        return self.face in (None, face) and self.operation in (None, operation)


@dataclass(frozen=True, slots=True)
class Call:
    face: str
    operation: str
    outcome: str


class ReferenceErp:
    """A stateful SOAP ERP on 127.0.0.1. `start()` / `stop()`, or use it as a context manager."""

    def __init__(self, *, port: int = 0, host: str = "127.0.0.1", username: str = "hub",
                 password: str = "erp-secret", state: ErpState | None = None,
                 auth: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.state = state or ErpState()
        # Which credentials each face demands: wsse, basic, both or none.
        self.auth = {kind: face.AUTH for kind, face in FACES.items()} | (auth or {})
        self.calls: list[Call] = []
        self.connections_accepted = 0  # shows whether clients reuse connections
        self._injections: list[Injection] = []
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> ReferenceErp:
        self._httpd = _Server((self.host, self.port), _Handler, self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"reference-erp-{self.port}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def go_down(self) -> None:
        """Stop answering: the port refuses connections and open connections are cut."""
        self.stop()

    def come_up(self) -> None:
        """Answer again on the same port, with the same books."""
        if self._httpd is None:
            self.start()

    def __enter__(self) -> ReferenceErp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # addresses

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def endpoint(self, kind: str) -> str:
        self._face(kind)
        return f"{self.url}/{kind}"

    def wsdl_url(self, kind: str) -> str:
        self._face(kind)
        return f"{self.url}/wsdl/{kind}"

    @staticmethod
    def wsdl_path(kind: str) -> Path:
        return HERE / ReferenceErp._face(kind).WSDL_FILE

    # fault injection

    def inject(self, kind: InjectionKind, times: int = 1, **params: Any) -> None:
        """Misbehave on the next `times` calls (optionally only for `face` / `operation`)."""
        if kind not in get_args(InjectionKind):
            raise ValueError(f"unknown injection {kind!r}; known: {', '.join(get_args(InjectionKind))}")
        with self._lock:
            self._injections.append(Injection(kind=kind, times=times, **params))

    def clear_injections(self) -> None:
        with self._lock:
            self._injections.clear()

    def calls_to(self, operation: str) -> list[Call]:
        return [c for c in self.calls if c.operation == operation]

    def _take(self, face: str, operation: str) -> Injection | None:
        with self._lock:
            for injection in self._injections:
                if injection.matches(face, operation):
                    injection.times -= 1
                    if injection.times <= 0:
                        self._injections.remove(injection)
                    return injection
        return None

    def _control(self, command: dict[str, Any]) -> dict[str, Any]:
        if "inject" in command:
            self.inject(**command["inject"])
        if command.get("clear"):
            self.clear_injections()
        if "down_for" in command:
            seconds = float(command["down_for"])
            threading.Thread(target=self._bounce, args=(seconds,), daemon=True).start()
        return {"ok": True, "pending": len(self._injections)}

    def _bounce(self, seconds: float) -> None:
        self.go_down()
        time.sleep(seconds)
        self.come_up()

    @staticmethod
    def _face(kind: str) -> ModuleType:
        try:
            return FACES[kind]
        except KeyError:
            raise ValueError(f"unknown ERP service kind {kind!r}; known: {sorted(FACES)}") from None

    # one SOAP call

    def answer(self, kind: str, body: bytes, authorization: str | None) -> tuple[int, bytes] | None:
        """Status and body for one POST to a face; None means: cut the connection."""
        face = FACES[kind]
        try:
            header, request = parse_request(body)
        except BadRequest as exc:
            return self._record(kind, "?", "bad request", 500, face.client_fault("BadRequest", str(exc)))
        operation = etree.QName(request).localname
        if not self._authorised(kind, header, authorization):
            if self.auth[kind] == "basic":
                return self._record(kind, operation, "unauthorised", 401, b"authentication required")
            return self._record(kind, operation, "unauthorised", 500,
                                face.client_fault("AuthenticationFailed", "user name or password is wrong"))
        injection = self._take(kind, operation)
        if injection is not None and injection.kind == "drop":
            self._record(kind, operation, "injected drop", 0, b"")
            return None
        early = self._inject_early(injection, face)
        if early is not None and injection is not None:
            return self._record(kind, operation, f"injected {injection.kind}", *early)
        user = "" if self.auth[kind] == "none" else self.username  # whom the ERP books the postings on
        status, payload = self._process(face, request, user)
        if injection is not None and injection.kind == "malformed":
            payload = payload[: len(payload) // 2]
        elif injection is not None and injection.kind == "invalid":
            payload = reply(etree.Element(f"{{{face.NS}}}Unexpected"))
        elif injection is not None and injection.kind == "huge":
            payload = payload.replace(b"<soap:Body>", b"<!--" + b" " * injection.size + b"--><soap:Body>", 1)
        outcome = "ok" if status == 200 else "fault"
        answer = self._record(kind, operation, outcome if injection is None else f"{outcome}, {injection.kind}",
                              status, payload)
        if injection is not None and injection.kind == "delay":
            time.sleep(injection.seconds)  # booked already: a slow answer, not a slow posting
        return answer

    def _inject_early(self, injection: Injection | None, face: ModuleType) -> tuple[int, bytes] | None:
        """The answer of an injection that replaces the processing, else None."""
        if injection is None:
            return None
        simple: dict[str, Callable[[], tuple[int, bytes]]] = {
            "fault": lambda: (500, face.client_fault(injection.code, injection.message)),
            "http": lambda: (injection.status, b"<html><body>Service Unavailable</body></html>"),
            "bomb": lambda: (200, BILLION_LAUGHS),
            "xxe": lambda: (200, EXTERNAL_ENTITY),
        }
        make = simple.get(injection.kind)
        return make() if make else None

    def _process(self, face: ModuleType, request: etree._Element, user: str) -> tuple[int, bytes]:
        try:
            return 200, reply(face.handle(self.state, request, user))
        except BusinessFault as exc:
            return 500, face.business_fault(exc)
        except BadRequest as exc:
            return 500, face.client_fault("BadRequest", str(exc))

    def _authorised(self, kind: str, header: etree._Element | None, authorization: str | None) -> bool:
        mode = self.auth[kind]
        basic_ok = authorization == "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        wsse_ok = username_token_valid(header, self.username, self.password)
        return {"none": True, "basic": basic_ok, "wsse": wsse_ok, "both": basic_ok and wsse_ok}[mode]

    def _record(self, kind: str, operation: str, outcome: str, status: int, body: bytes) -> tuple[int, bytes]:
        self.calls.append(Call(kind, operation, outcome))
        return status, body

    def wsdl_text(self, kind: str) -> bytes:
        return self.wsdl_path(kind).read_bytes().replace(WSDL_ADDRESS.encode(), self.url.encode())


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], erp: ReferenceErp) -> None:
        self.erp = erp
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        self.erp.connections_accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut kept-alive connections too, so going down looks like a crashed ERP to its clients."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients can reuse one connection
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, delayed ACKs add ~40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        kind = self.path.removeprefix("/wsdl/").split("?")[0]
        if not self.path.startswith("/wsdl/") or kind not in FACES:
            self._send(404, b"not found", "text/plain")
            return
        self._send(200, self.server.erp.wsdl_text(kind), "text/xml; charset=utf-8")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.strip("/")
        if path == "control":
            try:
                result = self.server.erp._control(json.loads(body or b"{}"))
            except (ValueError, TypeError) as exc:
                self._send(400, json.dumps({"error": str(exc)}).encode(), "application/json")
                return
            self._send(200, json.dumps(result).encode(), "application/json")
            return
        if path not in FACES:
            self._send(404, b"not found", "text/plain")
            return
        answer = self.server.erp.answer(path, body, self.headers.get("Authorization"))
        if answer is None:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        status, payload = answer
        self._send(status, payload, "text/xml; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="erp"')
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up waiting (a timeout on its side)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the calls list is the record tests read."""


__all__ = ["Call", "Injection", "ReferenceErp"]

"""The status server of `hub up` (aiohttp): the page, its JSON, /metrics, /healthz, /readyz, AsyncAPI, replay.

It binds to loopback by default. Bound anywhere else it refuses to start without a token; with a
token, every endpoint but /healthz wants `Authorization: Bearer <token>` or `?token=<token>` (the
page, opened as `/?token=...`, sends the header on its own requests). Writes (the replay action)
also want a JSON body, which a cross-site form cannot send, and the Host header must name this
server, which defeats DNS rebinding against a loopback port.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from hub import dlq
from hub.config import ConfigError, StatusSettings
from hub.kpis import render_gauges
from hub.secrets import reveal
from hub.web.collector import StatusCollector, group_key

if TYPE_CHECKING:
    from hub.runtime import Hub

log = logging.getLogger("hub.web")

URL_FILE = "status.url"
_LETTER_ID = re.compile(r"^[0-9a-f]{6,32}$")
_OPEN_PATHS = frozenset({"/healthz"})
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                               "connect-src 'self'; img-src data:; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class StatusServerError(ConfigError):
    """The `[status]` settings do not allow the server to start."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class StatusServer:
    def __init__(self, hub: Hub, settings: StatusSettings, data_dir: Path) -> None:
        try:
            self.token = reveal(settings.token)
        except ValueError as exc:
            raise StatusServerError(f"status.token: {exc}") from None
        if not is_loopback(settings.host) and not self.token:
            raise StatusServerError(
                f"status.host = {settings.host!r} is not a loopback address: set status.token "
                "(env:NAME or file:/path) to serve the status endpoints beyond this machine, or bind 127.0.0.1")
        self.hub = hub
        self.settings = settings
        self.url_file = data_dir / URL_FILE
        self.collector = StatusCollector(hub)
        self.url: str | None = None
        self._runner: web.AppRunner | None = None
        self._page = resources.files("hub.web").joinpath("index.html").read_bytes()

    async def start(self) -> str:
        """Serve, write the page's address to `<data dir>/status.url`, and return it."""
        app = web.Application(middlewares=[self._guard], client_max_size=64 * 1024)
        app.router.add_get("/", self._index)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/asyncapi.json", self._asyncapi)
        app.router.add_get("/api/status", self._status)
        app.router.add_post("/api/dlq/replay", self._replay)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise StatusServerError(f"status server: cannot listen on {self.settings.host}:{self.settings.port}: "
                                    f"{exc.strerror or exc}") from None
        port = self._runner.addresses[0][1]
        host = f"[{self.settings.host}]" if ":" in self.settings.host else self.settings.host
        self.url = f"http://{host}:{port}/"
        self.url_file.parent.mkdir(parents=True, exist_ok=True)
        self.url_file.write_text(self.url + "\n")
        await self.collector.start()
        log.info("status page on %s%s", self.url, " (token required)" if self.token else "")
        return self.url

    async def stop(self) -> None:
        await self.collector.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        with contextlib.suppress(FileNotFoundError):
            self.url_file.unlink()

    # ------------------------------------------------------------ access
    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not self._host_allowed(request.host):
            return _json({"error": f"Host {request.host!r} is not this status server"}, status=421)
        if request.path not in _OPEN_PATHS and self.token and not self._authorised(request):
            return _json({"error": "a token is required: Authorization: Bearer <token> or ?token=<token>"},
                         status=401, headers={"WWW-Authenticate": 'Bearer realm="hub"'})
        response = await handler(request)
        response.headers.update(_SECURITY_HEADERS)
        return response

    def _host_allowed(self, host: str) -> bool:
        if not is_loopback(self.settings.host):
            return True  # beyond loopback the token protects it, and the name it is reached by is not known
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return is_loopback(name)

    def _authorised(self, request: web.Request) -> bool:
        assert self.token is not None
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            given = request.query.get("token", "")
        return hmac.compare_digest(given.encode(), self.token.encode())

    # ------------------------------------------------------------ endpoints
    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(body=self._page, content_type="text/html", charset="utf-8")

    async def _healthz(self, request: web.Request) -> web.Response:
        return _json({"status": "ok", "worker": self.hub.worker_id})

    async def _readyz(self, request: web.Request) -> web.Response:
        """Ready when connected to NATS and every connector has been started (those that failed are listed)."""
        hub = self.hub
        connected = bool(hub.bus and hub.bus.nc.is_connected)
        failed = [r["name"] for r in (hub.instances.statuses() if hub.instances else []) if r["state"] == "failed"]
        ready = connected and hub.ready
        return _json({"ready": ready, "nats_connected": connected, "started": hub.ready,
                      "connectors_failed": failed}, status=200 if ready else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        text = self.hub.metrics.render() + render_gauges(self._gauges()) + _hook_counters(self.collector)
        return web.Response(text=text, content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})

    async def _asyncapi(self, request: web.Request) -> web.Response:
        from hub.schemas.asyncapi import asyncapi_document

        return _json(asyncapi_document())

    async def _status(self, request: web.Request) -> web.Response:
        return _json(self.collector.snapshot())

    async def _replay(self, request: web.Request) -> web.Response:
        """Replay dead letters by id (`{"ids": [...]}`) or a whole group of the page (`{"group": key}`)."""
        if request.content_type != "application/json":
            return _json({"error": "send the request as application/json"}, status=415)
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError as exc:
            return _json({"error": f"request body is not JSON: {exc}"}, status=400)
        ids, group = (body.get("ids"), body.get("group")) if isinstance(body, dict) else (None, None)
        if ids is not None and (not isinstance(ids, list) or not ids or
                                not all(isinstance(i, str) and _LETTER_ID.match(i) for i in ids)):
            return _json({"error": "ids: expected a non-empty list of dead letter ids (hex)"}, status=400)
        if ids is None and not (isinstance(group, str) and _LETTER_ID.match(group)):
            return _json({"error": "expected {\"ids\": [...]} or {\"group\": \"<key>\"}"}, status=400)
        hub = self.hub
        if hub.bus is None:
            return _json({"error": "not connected to NATS"}, status=503)
        flt = dlq.Filter(ids=ids or [])
        letters = [letter async for letter in dlq.iterate(hub.bus.js, flt)
                   if ids is not None or group_key(letter) == group]
        if not letters:
            return _json({"error": "no such dead letter (already replayed?)", "replayed": 0}, status=404)
        count = await dlq.replay(hub.bus.js, letters, partitions=hub.config.hub.partitions)
        log.info("replayed %d dead letter(s) from the status page", count)
        self.collector.refresh_soon()
        return _json({"replayed": count, "ids": [letter.id for letter in letters]})

    def _gauges(self) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
        gauges = self.hub.exceptions.gauges()
        gauges["hub_ready"] = {(): 1.0 if self.hub.ready else 0.0}
        if self.hub.instances:
            gauges["hub_connector_up"] = {
                (("connector", r["name"]), ("state", r["state"])): 1.0 if r["state"] == "running" else 0.0
                for r in self.hub.instances.statuses()}
        sections = self.collector.sections
        if sections.get("streams"):
            gauges["hub_stream_messages"] = {(("stream", name),): float(info["messages"])
                                             for name, info in sections["streams"].items()}
        if sections.get("dead_letters"):
            gauges["hub_dlq_depth"] = {(): float(sections["dead_letters"]["depth"])}
        report = sections.get("reconciliation")
        if report:
            gauges["hub_stock_positions"] = {(): float(report["positions"])}
            gauges["hub_stock_pairs_compared"] = {(("pair", p),): float(c["compared"])
                                                  for p, c in report["by_pair"].items()}
            gauges["hub_stock_pairs_disagreeing"] = {(("pair", p),): float(c["disagreeing"])
                                                     for p, c in report["by_pair"].items()}
        return gauges


def _hook_counters(collector: StatusCollector) -> str:
    """The hook stage's counters (`hook_results.<hook>`, `hook_decisions.<decision>`, ...) as hub_ counters."""
    pipeline = collector.hub.pipeline
    counts = getattr(pipeline.hooks, "metrics", None) if pipeline else None
    if not counts:
        return ""
    series: dict[str, list[str]] = {}
    for key, value in sorted(counts.items()):
        kind, _, label = key.partition(".")
        label_name = "decision" if kind == "hook_decisions" else "hook"
        series.setdefault(f"hub_{kind}_total", []).append(f'hub_{kind}_total{{{label_name}="{label}"}} {value:g}')
    return "".join(f"# TYPE {name} counter\n" + "\n".join(lines) + "\n" for name, lines in series.items())


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS), status=status,
                        content_type="application/json", headers=headers)

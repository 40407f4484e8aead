"""What the simulated REST peers share: an aiohttp server on loopback with bearer auth, rate limits,
idempotency-key replay, an event feed with cursor pagination, signed webhooks and fault injection.

A test drives it from Python: `url = await peer.start()`, inspect its state, inject faults
(`peer.faults.fail_next(3)`, `peer.faults.delay_next(1, 2.0)`, `await peer.go_down()`,
`await peer.come_up()`), then `await peer.stop()`.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from aiohttp import web

from connectors.generic.webhook import signed_headers

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Faults:
    """Faults the next requests meet (each counts down per request; health checks are exempt)."""

    fail_count: int = 0
    fail_status: int = 503
    delay_count: int = 0
    delay_seconds: float = 0.0

    def fail_next(self, count: int, status: int = 503) -> None:
        self.fail_count, self.fail_status = count, status

    def delay_next(self, count: int, seconds: float) -> None:
        self.delay_count, self.delay_seconds = count, seconds

    def clear(self) -> None:
        self.fail_count = self.delay_count = 0


@dataclass
class RateLimit:
    """A fixed window: at most `limit` requests per `window` seconds, then 429 with Retry-After."""

    limit: int
    window: float = 1.0
    _start: float = 0.0
    _used: int = 0

    def admit(self, now: float) -> float | None:
        """None when admitted, else the seconds until the window reopens."""
        if now - self._start >= self.window:
            self._start, self._used = now, 0
        if self._used < self.limit:
            self._used += 1
            return None
        return self._start + self.window - now


@dataclass
class SentWebhook:
    webhook_id: str
    headers: dict[str, str]
    body: bytes
    statuses: list[int] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        # 409 means the hub already has this delivery: a lost 2xx retried.
        return bool(self.statuses) and (200 <= self.statuses[-1] < 300 or self.statuses[-1] == 409)


class EventFeed:
    """An append-only list of the peer's events, read in pages through an opaque cursor."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._ids = itertools.count(1)
        self.items: list[dict[str, Any]] = []

    def append(self, event_type: str, data: dict[str, Any], created_at: datetime | None = None) -> dict[str, Any]:
        item = {"id": f"{self._prefix}_{next(self._ids):08d}", "type": event_type,
                "created_at": (created_at or datetime.now(UTC)).isoformat(), "data": data}
        self.items.append(item)
        return item

    def page(self, cursor: str | None, limit: int) -> dict[str, Any]:
        start = decode_cursor(cursor) if cursor else 0
        end = min(start + limit, len(self.items))
        return {"events": self.items[start:end], "next_cursor": encode_cursor(end), "has_more": end < len(self.items)}


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The feed offset in a cursor; ValueError when it is not one this peer gave out."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, offset = text.partition(":")
        if kind != "o" or not offset.isdigit():
            raise ValueError
        return int(offset)
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"invalid cursor {cursor!r}") from None


class HttpPeer(ABC):
    """Base of a simulated REST peer. Subclasses add their routes in `_add_routes`."""

    feed_prefix = "evt"

    def __init__(self, *, token: str, port: int = 0, host: str = "127.0.0.1", rate_limit: int | None = None,
                 rate_window: float = 1.0, webhook_url: str | None = None, webhook_secret: str | None = None) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.faults = Faults()
        self.rate_limit = RateLimit(rate_limit, rate_window) if rate_limit else None
        self.feed = EventFeed(self.feed_prefix)
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.webhooks_enabled = True
        self.webhook_attempts = 4
        self.sent_webhooks: list[SentWebhook] = []
        self.requests: list[tuple[str, str, int]] = []
        self._idempotent: dict[tuple[str, str], tuple[int, bytes]] = {}
        self._runner: web.AppRunner | None = None
        self._client: httpx.AsyncClient | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def status_count(self, status: int) -> int:
        return sum(1 for _, _, s in self.requests if s == status)

    async def start(self) -> str:
        app = web.Application(middlewares=[self._record, self._inject_faults, self._authorise, self._limit_rate,
                                           self._replay_idempotent])
        app.router.add_get("/v1/health", self._health)
        app.router.add_get("/v1/events", self._events)
        self._add_routes(app)
        # Going down is abrupt: requests in flight get a broken connection, as with a crashed peer.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]
        self._client = self._client or httpx.AsyncClient(timeout=5.0)
        return self.url

    async def stop(self) -> None:
        await self.go_down()
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def go_down(self) -> None:
        """Stop listening (connections are refused) but keep all state, to come back on the same port."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def come_up(self) -> str:
        return await self.start()

    @abstractmethod
    def _add_routes(self, app: web.Application) -> None:
        """Add the peer's own API to the app."""

    # ---- webhooks

    async def send_webhook(self, items: list[dict[str, Any]]) -> SentWebhook | None:
        """Post items to the hub, signed; retried on 5xx and connection errors. None if webhooks are off."""
        if not (self.webhooks_enabled and self.webhook_url and self.webhook_secret):
            return None
        body = orjson.dumps({"events": items})
        webhook_id = "wh_" + items[0]["id"] if len(items) == 1 else f"wh_{items[0]['id']}_{len(items)}"
        sent = SentWebhook(webhook_id, signed_headers(self.webhook_secret, webhook_id, body), body)
        self.sent_webhooks.append(sent)
        await self._post_webhook(sent)
        return sent

    async def _post_webhook(self, sent: SentWebhook) -> None:
        if self._client is None:
            raise RuntimeError("start the peer before it sends webhooks")
        wait = 0.1
        for attempt in range(self.webhook_attempts):
            if attempt:
                await asyncio.sleep(wait)
                wait *= 2
            try:
                response = await self._client.post(self.webhook_url or "", content=sent.body, headers=sent.headers)
            except httpx.TransportError:
                sent.statuses.append(0)
                continue
            sent.statuses.append(response.status_code)
            if response.status_code < 500:
                return

    # ---- routes every peer has

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _events(self, request: web.Request) -> web.Response:
        try:
            limit = int(request.query.get("limit", "100"))
            if not 1 <= limit <= 1000:
                raise ValueError("limit must be 1..1000")
            page = self.feed.page(request.query.get("cursor"), limit)
        except ValueError as exc:
            return error(400, str(exc))
        return web.json_response(page)

    # ---- middlewares, outermost first

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            self.requests.append((request.method, request.path, exc.status))
            raise
        self.requests.append((request.method, request.path, response.status))
        return response

    @web.middleware
    async def _inject_faults(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/v1/health":
            return await handler(request)
        if self.faults.delay_count > 0:
            self.faults.delay_count -= 1
            await asyncio.sleep(self.faults.delay_seconds)
        if self.faults.fail_count > 0:
            self.faults.fail_count -= 1
            return error(self.faults.fail_status, "injected fault")
        return await handler(request)

    @web.middleware
    async def _authorise(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return error(401, "missing or wrong bearer token")
        return await handler(request)

    @web.middleware
    async def _limit_rate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.rate_limit is not None:
            wait = self.rate_limit.admit(time.monotonic())
            if wait is not None:
                response = error(429, "rate limit exceeded")
                response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
                return response
        return await handler(request)

    @web.middleware
    async def _replay_idempotent(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """A repeated Idempotency-Key gets the first answer again, without doing the work twice."""
        key = request.headers.get("Idempotency-Key")
        if request.method == "GET" or not key:
            return await handler(request)
        remembered = self._idempotent.get((request.path, key))
        if remembered is not None:
            status, body = remembered
            return web.Response(status=status, body=body, content_type="application/json",
                                headers={"Idempotent-Replayed": "true"})
        response = await handler(request)
        if isinstance(response, web.Response) and response.status < 500:
            self._idempotent[(request.path, key)] = (response.status, response.body or b"")
        return response


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or a 400 answer saying what was wrong."""
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise web.HTTPBadRequest(text=orjson.dumps({"error": f"malformed JSON: {exc.msg}"}).decode(),
                                 content_type="application/json") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text='{"error": "expected a JSON object"}', content_type="application/json")
    return body

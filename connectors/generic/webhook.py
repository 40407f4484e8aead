"""Signed webhooks: the signature scheme peers use, and the intake server that verifies and accepts them once.

Scheme (version v1). A sender adds three headers to every POST:

- `Webhook-Id`: the delivery's id; it stays the same when the sender retries the delivery.
- `Webhook-Timestamp`: the time of signing, integer Unix seconds.
- `Webhook-Signature`: `v1=` + hex HMAC-SHA256, keyed with the shared secret, over the bytes
  `<Webhook-Timestamp> "." <Webhook-Id> "." <raw body>`. Several signatures may be given,
  separated by spaces or commas (during a secret rotation); one match is enough.

The receiver refuses with 401 a request that lacks a header (`unsigned`), whose timestamp is not
an integer or whose signature does not match (`bad_signature`), or whose timestamp is more than
the tolerance away from its clock (`stale`). A webhook id accepted once is refused afterwards
with 409 (`replay`), so a captured request cannot be played again even inside the tolerance.
The accepted ids are claim marks that expire (the connector context's `claim_once`), so they do
not pile up. A delivery stays fresh for up to twice the tolerance after it is accepted (its
timestamp may be ahead of the receiver's clock by the tolerance), so an intake refuses to start
unless the marks are kept at least that long: a replay could otherwise outlive its mark.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub.errors import PermanentError
from hub.sdk import ConnectorContext, SecretRef

ID_HEADER = "Webhook-Id"
TIMESTAMP_HEADER = "Webhook-Timestamp"
SIGNATURE_HEADER = "Webhook-Signature"
SCHEME = "v1"
MAX_ID_LENGTH = 200
# Claim keys start with this; earlier versions kept them, under the same prefix, in the connector's own state.
MARK_PREFIX = "wh"
MAX_BODY_BYTES = 4 * 1024 * 1024


class WebhookRefused(Exception):
    """A webhook that fails verification; `reason` is one of unsigned, bad_signature, stale."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def sign(secret: str, timestamp: int, webhook_id: str, body: bytes) -> str:
    """The `Webhook-Signature` value for one delivery."""
    message = f"{timestamp}.{webhook_id}.".encode() + body
    return f"{SCHEME}=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, webhook_id: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The three headers a sender puts on a delivery of `body`."""
    timestamp = int(time.time() if now is None else now)
    return {
        ID_HEADER: webhook_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, webhook_id, body),
        "Content-Type": "application/json",
    }


def verify(headers: Mapping[str, str], body: bytes, secret: str, tolerance: float,
           now: float | None = None) -> str:
    """Check a delivery's signature and age; returns its webhook id or raises WebhookRefused."""
    webhook_id = headers.get(ID_HEADER, "")
    stamp = headers.get(TIMESTAMP_HEADER, "")
    given = headers.get(SIGNATURE_HEADER, "")
    missing = [name for name, value in ((ID_HEADER, webhook_id), (TIMESTAMP_HEADER, stamp),
                                        (SIGNATURE_HEADER, given)) if not value]
    if missing:
        raise WebhookRefused("unsigned", f"missing header {', '.join(missing)}")
    if len(webhook_id) > MAX_ID_LENGTH:
        raise WebhookRefused("bad_signature", f"{ID_HEADER} longer than {MAX_ID_LENGTH} characters")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookRefused("bad_signature", f"{TIMESTAMP_HEADER} {stamp[:40]!r} is not integer seconds") from None
    expected = sign(secret, timestamp, webhook_id, body)
    candidates = [c for c in re.split(r"[\s,]+", given) if c]
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise WebhookRefused("bad_signature", f"{SIGNATURE_HEADER} does not match the body")
    # Checked after the signature so an attacker cannot probe the clock with unsigned requests.
    age = (time.time() if now is None else now) - timestamp
    if abs(age) > tolerance:
        raise WebhookRefused("stale", f"timestamp is {age:+.0f}s from now, tolerance is {tolerance:g}s")
    return webhook_id


def once_key(webhook_id: str) -> str:
    """The claim key marking a webhook id as accepted (KV keys allow only [A-Za-z0-9_=.-])."""
    return f"{MARK_PREFIX}." + hashlib.sha256(webhook_id.encode()).hexdigest()[:40]


class WebhookConfig(BaseModel):
    """Where the hub listens for a peer's webhooks and how it verifies them."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(default=0, ge=0, le=65535, description="Port to listen on; 0 picks a free port.")
    path: str = Field(default="/webhooks", pattern=r"^/", description="URL path the peer posts to.")
    secret: SecretRef = Field(description="Shared HMAC-SHA256 secret (env:NAME or file:/path).")
    tolerance_seconds: float = Field(default=300, gt=0, le=86400,
                                     description="Largest accepted difference between the signing time and now; "
                                                 "at most half of [hub] dedupe_hours, how long accepted ids are "
                                                 "remembered.")


@dataclass(frozen=True, slots=True)
class Answer:
    """What the intake answers the sender after handling a verified delivery."""

    status: int
    body: dict[str, object]


# Called with the raw body and the webhook id of a verified, first-seen delivery. It must store the
# delivery's events before returning a 2xx answer; raising makes the intake answer 503.
DeliveryHandler = Callable[[bytes, str], Awaitable[Answer]]


class WebhookIntake:
    """An aiohttp server on one path: verify, accept each webhook id once, hand the body to a handler."""

    def __init__(self, config: WebhookConfig, ctx: ConnectorContext, handler: DeliveryHandler) -> None:
        self._config = config
        self._ctx = ctx
        self._handler = handler
        self._secret = config.secret.reveal()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        await self._check_ids_outlive_tolerance()
        await self._sweep_marks_of_earlier_versions()
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post(self._config.path, self._receive)
        # On stop, deliveries in flight get a few seconds to finish storing and be answered.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._config.host, self._config.port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{self._config.host}:{port}{self._config.path}"
        return self.url

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _check_ids_outlive_tolerance(self) -> None:
        tolerance = self._config.tolerance_seconds
        # Accepted at a timestamp up to `tolerance` ahead of our clock, a copy passes `verify` for up to
        # another `tolerance` after that timestamp: twice the tolerance after the id was claimed.
        fresh_for = 2 * tolerance
        kept = await self._ctx.claim_ttl_seconds()
        if fresh_for > kept:
            raise PermanentError(
                f"webhook.tolerance_seconds is {tolerance:g}s, so a delivery can be replayed up to {fresh_for:g}s "
                f"after it is accepted, but accepted webhook ids are remembered for only {kept:g}s (the hub_dedupe "
                f"bucket's TTL, [hub] dedupe_hours); lower tolerance_seconds to at most {kept / 2:g} or raise "
                f"dedupe_hours")

    async def _sweep_marks_of_earlier_versions(self) -> None:
        """Earlier versions marked accepted ids in the connector's own state, under `wh.`, where nothing
        expires; the marks now live in `hub_dedupe`, so those are removed (all at once, however many)."""
        try:
            swept = await self._ctx.state.purge(MARK_PREFIX)
        except Exception as exc:  # noqa: BLE001 - a cleanup: failing it must not keep the intake from starting
            self._ctx.log.warning("webhook id marks of an earlier version not removed (tried again at the next "
                                  "start): %s", exc)
            return
        if swept:
            self._ctx.log.info("removed %d webhook id mark(s) left in hub_state by an earlier version", swept)

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            webhook_id = verify(request.headers, body, self._secret, self._config.tolerance_seconds)
        except WebhookRefused as refused:
            return self._refuse(401, refused.reason, refused.detail)
        key = once_key(webhook_id)
        if not await self._ctx.claim_once(key):
            return self._refuse(409, "replay", f"webhook {webhook_id} was already accepted")
        try:
            answer = await self._handler(body, webhook_id)
        except Exception as exc:  # noqa: BLE001 - any failure to store means the sender must retry
            # Forget the id so the sender's retry of this delivery is accepted.
            await self._ctx.release_claim(key)
            self._ctx.log.warning("webhook %s not stored, answered 503: %s", webhook_id, exc)
            self._ctx.count("webhook_failed")
            return web.json_response({"error": "not stored, retry later"}, status=503)
        self._ctx.count("webhook_accepted")
        return web.json_response(answer.body, status=answer.status)

    def _refuse(self, status: int, reason: str, detail: str) -> web.Response:
        self._ctx.count("webhook_refused", reason=reason)
        self._ctx.log.warning("webhook refused (%s): %s", reason, detail)
        return web.json_response({"error": reason, "detail": detail}, status=status)

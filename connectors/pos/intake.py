"""Feed intake for REST peers: webhooks and a polling fallback feeding the same idempotent consumer.

Used by pos.rest and wms.rest. A webhook is answered 2xx only after `ctx.ingest` has stored its
events; polling walks the peer's feed with cursor pagination and saves the cursor only after the
page is stored, so a crash re-reads a page rather than losing one. Events carry keys derived from
the peer's own ids, so an event seen by both paths is published once.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from abc import abstractmethod
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import orjson
from pydantic import BaseModel, Field

from canonical import Envelope, EventError
from connectors.generic.webhook import Answer, WebhookConfig, WebhookIntake
from connectors.pos.feed import ItemTranslator, SourceInfo, Translated, feed_items, translate_items
from connectors.pos.http import RestClient, RestPeerConfig
from hub.errors import PermanentError, TransientError
from hub.sdk import Connector, ConnectorConfig, ConnectorContext, IngestResult

CURSOR_KEY = "cursor"


class FeedSourceConfig(RestPeerConfig):
    """A REST peer whose events come by signed webhook, by polling its feed, or both."""

    system: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,60}$",
                        description="Name of the peer system; part of every event's source and idempotency key.")
    locations: dict[str, str] = Field(default_factory=dict,
                                      description="Peer location id -> hub location id; ids not listed pass through.")
    feed_path: str = Field(default="/v1/events", pattern=r"^/", description="Path of the peer's event feed.")
    page_size: int = Field(default=100, ge=1, le=1000, description="Feed items asked for per page.")
    poll_interval_seconds: float = Field(default=60.0, ge=0,
                                         description="Seconds between polls of the feed; 0 turns polling off.")
    max_rate_limit_waits: int = Field(default=30, ge=0, le=1000,
                                      description="429 answers one poll waits out (Retry-After) before it gives up.")
    webhook: WebhookConfig | None = Field(default=None, description="Listen for signed webhooks; absent: polling only.")


class PollReport(BaseModel):
    pages: int = 0
    items: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    rate_limited: int = 0


class FeedIntake:
    """The idempotent consumer in front of `ctx.ingest`: translate, drop recent repeats, store, dead-letter rejects."""

    def __init__(self, ctx: ConnectorContext, translate: ItemTranslator, remember: int = 20_000) -> None:
        self._ctx = ctx
        self._translate = translate
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._remember = remember

    async def accept_webhook(self, body: bytes, webhook_id: str) -> Answer:
        origin = f"webhook:{webhook_id}"
        try:
            items = feed_items(orjson.loads(body))
        except orjson.JSONDecodeError as exc:
            return await self._unreadable(body, origin, f"malformed JSON: {exc.msg} at byte {exc.pos}")
        except EventError as exc:
            return await self._unreadable(body, origin, str(exc))
        result = await self.store(self.translate(items), raw=body, origin=origin)
        return Answer(200, result.model_dump(include={"stored", "duplicates", "dead_lettered", "errors"}))

    def translate(self, items: list[Any]) -> Translated:
        return translate_items(items, self._translate)

    async def store(self, translated: Translated, *, raw: bytes, origin: str) -> IngestResult:
        """Store the events, then dead-letter the rejects; raises when the events could not be stored."""
        fresh = [e for e in translated.events if e.idempotency_key not in self._recent]
        result = await self._ctx.ingest(fresh, raw=raw, origin=origin) if fresh else IngestResult()
        result.duplicates += len(translated.events) - len(fresh)
        self._remember_all(e.idempotency_key for e in fresh)
        for reject in translated.rejects:
            # The same bad item can come by webhook and again by polling: dead-letter it once.
            digest = "reject:" + hashlib.sha256(reject.raw).hexdigest()
            if digest in self._recent:
                continue
            await self._ctx.dead_letter(raw=reject.raw, reason=str(reject.error),
                                        error_class=reject.error.error_class, origin=origin)
            self._remember_all([digest])
            result.dead_lettered += 1
            result.errors.append(str(reject.error))
        self._ctx.count("events_ingested", result.stored)
        return result

    async def _unreadable(self, body: bytes, origin: str, reason: str) -> Answer:
        dead_letter_id = await self._ctx.dead_letter(raw=body, reason=reason, error_class="permanent", origin=origin)
        self._ctx.count("webhook_unreadable")
        return Answer(422, {"error": reason, "dead_letter": dead_letter_id})

    def _remember_all(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._recent[key] = None
        while len(self._recent) > self._remember:
            self._recent.popitem(last=False)


class FeedPoller:
    """Walks a peer's feed from the stored cursor to its end; Retry-After is honoured on 429."""

    def __init__(self, client: RestClient, ctx: ConnectorContext, intake: FeedIntake,
                 config: FeedSourceConfig) -> None:
        self._client = client
        self._ctx = ctx
        self._intake = intake
        self._config = config

    async def poll_once(self) -> PollReport:
        report = PollReport()
        cursor: str | None = await self._ctx.state.get(CURSOR_KEY)
        while True:
            page, raw = await self._page(cursor, report)
            translated = self._intake.translate(page["events"])
            result = await self._intake.store(translated, raw=raw, origin=f"poll:{cursor or 'start'}")
            report.pages += 1
            report.items += len(page["events"])
            report.stored += result.stored
            report.duplicates += result.duplicates
            report.dead_lettered += result.dead_lettered
            next_cursor = page["next_cursor"]
            if next_cursor and next_cursor != cursor:
                cursor = next_cursor
                await self._ctx.state.put(CURSOR_KEY, cursor)
            elif page["has_more"]:
                raise PermanentError(f"polling {self._config.feed_path}: the page at cursor {cursor or '(start)'} "
                                     "says has_more but gives no new next_cursor")
            if not page["has_more"]:
                return report

    async def run(self) -> None:
        """Poll forever at the configured interval; a failed poll is logged and tried again next time."""
        while True:
            try:
                report = await self.poll_once()
            except Exception as exc:  # noqa: BLE001 - the loop must outlive any one failed poll
                self._ctx.count("poll_failed", error_class=getattr(exc, "error_class", "transient"))
                self._ctx.log.warning("polling %s failed: %s", self._config.feed_path, exc)
            else:
                if report.stored:
                    self._ctx.log.info("polled %d new events in %d pages", report.stored, report.pages)
            await asyncio.sleep(self._config.poll_interval_seconds)

    async def _page(self, cursor: str | None, report: PollReport) -> tuple[dict[str, Any], bytes]:
        params: dict[str, Any] = {"limit": self._config.page_size}
        if cursor:
            params["cursor"] = cursor
        waits = 0
        while True:
            try:
                response = await self._client.call("GET", self._config.feed_path, params=params)
                break
            except TransientError as exc:
                if exc.retry_after is None or waits >= self._config.max_rate_limit_waits:
                    raise
                waits += 1
                report.rate_limited += 1
                self._ctx.count("rate_limited")
                await asyncio.sleep(min(exc.retry_after, 60.0))
        return _checked_page(self._client.json_of(response), cursor), response.content


def _checked_page(page: Any, cursor: str | None) -> dict[str, Any]:
    where = f"feed page at cursor {cursor or '(start)'}"
    try:
        items = feed_items(page, where)
    except EventError as exc:
        raise PermanentError(f"polling: {exc}") from None
    next_cursor = page.get("next_cursor")
    if next_cursor is not None and not isinstance(next_cursor, str):
        raise PermanentError(f"polling: {where}.next_cursor: expected a string or null")
    return {"events": items, "next_cursor": next_cursor, "has_more": bool(page.get("has_more"))}


class FeedSource(Connector):
    """Base of a connector type whose inbound side is a feed: webhook intake plus polling fallback."""

    config_model: ClassVar[type[ConnectorConfig]] = FeedSourceConfig
    config: FeedSourceConfig

    def __init__(self, name: str, config: ConnectorConfig, ctx: ConnectorContext) -> None:
        super().__init__(name, config, ctx)
        self._client: RestClient | None = None
        self._webhook: WebhookIntake | None = None
        self._poll_task: asyncio.Task[None] | None = None
        self._poller: FeedPoller | None = None

    @abstractmethod
    def translate_item(self, item: Mapping[str, Any], source: SourceInfo) -> list[Envelope]:
        """Canonical events of one feed item (pure); EventError when it cannot be translated."""

    @property
    def webhook_url(self) -> str:
        """Where the peer must post its webhooks (known after start)."""
        return self._webhook.url if self._webhook else ""

    @property
    def client(self) -> RestClient:
        if self._client is None:
            raise RuntimeError(f"connector {self.name} is not started")
        return self._client

    async def start(self) -> None:
        cfg = self.config
        source = SourceInfo(cfg.system, cfg.locations)
        intake = FeedIntake(self.ctx, functools.partial(self.translate_item, source=source))
        secrets = [cfg.webhook.secret.reveal()] if cfg.webhook else []
        self._client = RestClient(cfg, peer=self.name, extra_secrets=secrets)
        self._poller = FeedPoller(self._client, self.ctx, intake, cfg)
        try:
            if cfg.webhook is not None:
                self._webhook = WebhookIntake(cfg.webhook, self.ctx, intake.accept_webhook)
                url = await self._webhook.start()
                self.ctx.log.info("listening for webhooks on %s", url)
        except OSError as exc:
            await self.stop()
            raise PermanentError(f"starting webhook listener on {cfg.webhook.host}:{cfg.webhook.port}: {exc}") from None
        except PermanentError:  # a configuration the listener refuses: close the REST client before saying so
            await self.stop()
            raise
        if cfg.poll_interval_seconds > 0:
            self._poll_task = asyncio.create_task(self._poller.run(), name=f"{self.name}.poll")

    async def stop(self) -> None:
        task, self._poll_task = self._poll_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        webhook, self._webhook = self._webhook, None
        if webhook is not None:
            await webhook.stop()
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def poll_once(self) -> PollReport:
        """Catch up with the peer's feed now (what the polling loop does each interval)."""
        if self._poller is None:
            raise RuntimeError(f"connector {self.name} is not started")
        return await self._poller.poll_once()

    async def check(self) -> str:
        await self.client.call("GET", self.config.feed_path, params={"limit": 1})
        return f"{self.config.system} feed answers at {self.config.base_url}"

"""wms.rest: a warehouse system's receipts, shipments, counts and adjustments in; transfer and count requests out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from canonical import Envelope
from connectors.pos.feed import SourceInfo
from connectors.pos.intake import FeedSource
from connectors.wms import translate
from hub.sdk import Sink

ACCEPTED_TYPES = frozenset({"transfer.requested", "task.raised"})


class WmsRest(FeedSource, Sink):
    """Both directions over one REST API: the feed by signed webhook and polling, requests by idempotent POST.

    Outbound failures follow commerce.rest: 429 / 5xx / timeouts are transient, other 4xx permanent.
    """

    type_name: ClassVar[str] = "wms.rest"
    direction = "both"
    summary: ClassVar[str] = "warehouse receipts, shipments, counts and adjustments in; transfers and count tasks out"

    def translate_item(self, item: Mapping[str, Any], source: SourceInfo) -> list[Envelope]:
        return translate.translate_item(item, source)

    def accepts(self, event_type: str) -> bool:
        return event_type in ACCEPTED_TYPES

    async def deliver(self, event: Envelope, attempt: int) -> None:
        for call in translate.outbound_calls(event, self.config.locations):
            await self.client.send(call)
        self.ctx.count("delivered", event_type=event.type)

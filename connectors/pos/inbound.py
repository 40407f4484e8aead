"""pos.rest: sales, returns and order reservations from a POS or commerce platform, by webhook and by polling."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from canonical import Envelope
from connectors.pos import translate
from connectors.pos.feed import SourceInfo
from connectors.pos.intake import FeedSource
from hub.sdk import Source


class PosRest(FeedSource, Source):
    """Inbound POS / commerce events: signed webhooks served by the hub, with a polling fallback."""

    type_name: ClassVar[str] = "pos.rest"
    summary: ClassVar[str] = "POS / commerce sales, returns and reservations by signed webhook and feed polling"

    def translate_item(self, item: Mapping[str, Any], source: SourceInfo) -> list[Envelope]:
        return translate.translate_item(item, source)

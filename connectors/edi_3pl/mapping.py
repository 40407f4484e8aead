"""What both mappers share: the trading partner, the document's identity, and canonical event dicts."""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.edi_3pl.xref import ItemXref

DEFAULT_ADJUSTMENT_REASONS: Mapping[str, str] = {
    "AA": "count_correction", "AB": "damage", "AC": "shrink", "AD": "receipt", "AE": "return",
    "AF": "transfer_in", "AG": "transfer_out", "ZZ": "other",
}


@dataclass(frozen=True, slots=True)
class Partner:
    """The trading partner a document came from, and the defaults its documents may leave out."""

    name: str
    supplier: str | None = None
    location: str | None = None
    adjustment_reasons: Mapping[str, str] = field(default_factory=lambda: DEFAULT_ADJUSTMENT_REASONS)
    item_xref: ItemXref | None = None  # translates lines that carry only a GTIN or a vendor part number

    @property
    def source(self) -> str:
        return f"urn:hub:edi:{self.name}"


@dataclass(frozen=True, slots=True)
class DocumentId:
    """Where one transaction set / message sits, for idempotency keys and event times."""

    partner: Partner
    standard: str
    interchange: str
    group: str
    document: str
    time: str  # ISO 8601, from the interchange header
    # What every event of the document shares, worked out once: a large set maps to thousands of
    # events. BLAKE2 takes its input in pieces, so a copy of the state after the key prefix, fed the
    # line, gives the digest of the whole key without rehashing the prefix.
    _key_prefix: str = field(init=False, repr=False, compare=False)
    _source: str = field(init=False, repr=False, compare=False)
    _prefix_hash: hashlib.blake2b = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        prefix = f"edi:{self.partner.name}:{self.standard}:{self.interchange}:{self.group}:{self.document}:"
        object.__setattr__(self, "_key_prefix", prefix)
        object.__setattr__(self, "_source", self.partner.source)
        object.__setattr__(self, "_prefix_hash", hashlib.blake2b(prefix.encode(), digest_size=16))

    def event(self, event_type: str, data: dict[str, Any], subject: str, line: int | str = 0,
              time: str | None = None) -> dict[str, Any]:
        """A canonical event dict whose id and idempotency key depend only on the document and line."""
        suffix = str(line)
        digest = self._prefix_hash.copy()
        digest.update(suffix.encode())
        return {
            "id": "edi-" + digest.hexdigest(),
            "type": event_type,
            "source": self._source,
            "time": time or self.time,
            "subject": subject,
            "idempotency_key": self._key_prefix + suffix,
            "data": data,
        }


def iso_datetime(date: str, time: str = "") -> str | None:
    """CCYYMMDD or YYMMDD plus HHMM[SS] as ISO 8601 UTC; an empty time is midnight.

    None when the date is not a date, or the time, when given, is not a time of day: a document is
    then dated from elsewhere or refused, never by a guess.
    """
    if not (date.isascii() and date.isdecimal()):  # isdecimal alone passes digits of other scripts
        return None
    if len(date) == 6:
        date = ("20" if int(date[:2]) < 70 else "19") + date
    if len(date) != 8:
        return None
    month, day = int(date[4:6]), int(date[6:8])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    if day > 28 and day > calendar.monthrange(int(date[:4]), month)[1]:  # 31 November, 29 February 2026
        return None
    time = time or "0000"
    if len(time) not in (4, 6) or not (time.isascii() and time.isdecimal()):
        return None
    if int(time[:2]) > 23 or int(time[2:4]) > 59 or int(time[4:6] or 0) > 59:
        return None
    seconds = time[4:6] or "00"
    return f"{date[:4]}-{date[4:6]}-{date[6:8]}T{time[:2]}:{time[2:4]}:{seconds}+00:00"


def iso_date(date: str) -> str | None:
    stamp = iso_datetime(date)
    return stamp[:10] if stamp else None

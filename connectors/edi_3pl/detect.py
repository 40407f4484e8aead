"""Which standard a file is in (X12 or EDIFACT) and how its bytes are encoded, from its first bytes."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Literal

from connectors.edi_3pl.errors import EdiError

Standard = Literal["x12", "edifact"]

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_EBCDIC = "cp037"
_EBCDIC_SPACE = b"\x40\x25\x15\x0d\x05"
# EDIFACT syntax identifiers (UNB 0001) and the character sets they stand for.
_EDIFACT_CHARSETS = {
    "UNOA": "ascii", "UNOB": "ascii", "UNOC": "latin-1", "UNOD": "iso8859-2", "UNOE": "iso8859-5",
    "UNOF": "iso8859-7", "UNOW": "utf-8", "UNOY": "utf-8",
}


@dataclass(frozen=True, slots=True)
class Detected:
    standard: Standard
    encoding: str
    text: str
    bom: bool = False


def detect(raw: bytes) -> Detected:
    """Decode `raw` and name its standard; an EdiError when it is neither X12 nor EDIFACT."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            text = _decode(raw[len(bom):], encoding)
            return Detected(_standard_of(text), encoding, text.lstrip(), bom=True)
    if raw[:2] in (b"I\x00", b"U\x00") or raw[:2] in (b"\x00I", b"\x00U"):
        encoding = "utf-16-le" if raw[1:2] == b"\x00" else "utf-16-be"
        text = _decode(raw, encoding)
        return Detected(_standard_of(text), encoding, text.lstrip())
    stripped = raw.lstrip(_EBCDIC_SPACE)
    if stripped[:3] in (b"\xc9\xe2\xc1", b"\xe4\xd5\xc1", b"\xe4\xd5\xc2"):
        text = raw.decode(_EBCDIC).lstrip()
        return Detected(_standard_of(text), f"{_EBCDIC} (EBCDIC)", text)
    head = raw.lstrip()
    if head[:3] == b"ISA":
        encoding = "utf-8" if _is_utf8(head) else "latin-1"
        return Detected("x12", encoding, head.decode(encoding))
    if head[:3] in (b"UNA", b"UNB"):
        encoding = _edifact_charset(head)
        return Detected("edifact", encoding, _decode(head, encoding))
    raise EdiError(f"not an X12 or EDIFACT document: it starts with {raw[:16]!r} "
                   "(X12 starts with ISA, EDIFACT with UNA or UNB)")


def _standard_of(text: str) -> Standard:
    head = text.lstrip()[:3]
    if head == "ISA":
        return "x12"
    if head in ("UNA", "UNB"):
        return "edifact"
    raise EdiError(f"not an X12 or EDIFACT document: it starts with {text[:16]!r}")


def _edifact_charset(head: bytes) -> str:
    """The encoding named by the UNB syntax identifier; UNOA/UNOB files with stray 8-bit bytes read as latin-1."""
    at = head.find(b"UNB")
    syntax = head[at + 4:at + 8].decode("ascii", "replace") if at >= 0 else ""
    encoding = _EDIFACT_CHARSETS.get(syntax, "latin-1")
    if encoding == "ascii" and not head.isascii():
        return "latin-1"
    return encoding


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise EdiError(f"bytes {exc.start}-{exc.end} are not valid {encoding}: {exc.reason}") from None

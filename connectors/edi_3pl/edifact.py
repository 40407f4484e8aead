"""A tolerant EDIFACT reader and a writer (pure; no I/O).

The reader honours a UNA service string advice (and the syntax defaults when there is none), the
release character, CR / LF after terminators and indented segments, and checks UNB / UNZ,
UNG / UNE and UNH / UNT counts and references. Errors inside a message are kept on it, so a
CONTRL can report them; only an unreadable UNA / UNB stops the reader.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from connectors.edi_3pl._gc import paused_gc
from connectors.edi_3pl.errors import EdiError

Segment = list[list[str]]  # [[tag], [component, ...], ...]

_WS = " \t\r\n"
_ENVELOPE_TAGS = frozenset({"UNB", "UNZ", "UNG", "UNE", "UNH", "UNT"})
SYNTAX_IDENTIFIERS = frozenset({"UNOA", "UNOB", "UNOC", "UNOD", "UNOE", "UNOF", "UNOW", "UNOY"})

# Syntax error codes (data element 0085) used in CONTRL.
SYNTAX_NOT_SUPPORTED = "2"
INVALID_VALUE = "12"
MISSING = "13"
NOT_SUPPORTED_HERE = "15"
UNSPECIFIED = "18"
INVALID_CHARACTER = "21"
REFERENCE_MISMATCH = "28"
COUNT_MISMATCH = "29"
MESSAGE_NOT_SUPPORTED = "12"


@dataclass(frozen=True, slots=True)
class Separators:
    component: str = ":"
    element: str = "+"
    decimal: str = "."
    release: str = "?"
    repetition: str = "*"
    segment: str = "'"


DEFAULT_SEPARATORS = Separators()


@dataclass(slots=True)
class Message:
    ref: str
    type: str
    version: str
    release: str
    agency: str
    group: str | None
    segments: list[Segment]  # UNH .. UNT; segments[i] is segment number i + 1
    errors: list[EdiError] = field(default_factory=list)


@dataclass(slots=True)
class Interchange:
    syntax: str
    syntax_version: str
    sender: str
    sender_qualifier: str
    recipient: str
    recipient_qualifier: str
    date: str
    time: str
    control: str
    test: bool
    separators: Separators
    messages: list[Message] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    errors: list[EdiError] = field(default_factory=list)

    @property
    def segment_count(self) -> int:
        return sum(len(m.segments) for m in self.messages)


def value(seg: Segment, index: int, component: int = 0) -> str:
    """Component `component` (0-based) of element `index` (1-based), "" when absent."""
    if index < len(seg):
        parts = seg[index]
        if component < len(parts):
            return parts[component]
    return ""


def read(text: str) -> list[Interchange]:
    """Every interchange in `text`, in order. Raises EdiError only when no UNB can be read."""
    with paused_gc():
        return _read(text)


def _read(text: str) -> list[Interchange]:
    text = text.lstrip(_WS)
    seps = DEFAULT_SEPARATORS
    if text.startswith("UNA"):
        seps = _read_una(text)
        text = text[9:]
    restore: dict[int, str] | None = None
    if seps.release and seps.release in text:
        text, restore = _protect(text, seps)
    walker = _Walker(seps)
    element_sep, component_sep = seps.element, seps.component
    for piece in text.split(seps.segment):
        seg_text = piece.strip(_WS)
        if not seg_text:
            continue
        if restore is None:
            seg = [e.split(component_sep) for e in seg_text.split(element_sep)]
        else:
            seg = [[c.translate(restore) for c in e.split(component_sep)] for e in seg_text.split(element_sep)]
        walker.feed(seg)
    walker.finish()
    if not walker.interchanges:
        raise EdiError("no UNB segment: the file holds no interchange", segment_id="UNB")
    return walker.interchanges


def _read_una(text: str) -> Separators:
    una = text[3:9]
    if len(una) < 6:
        raise EdiError(f"UNA is incomplete: {text[:9]!r}", segment=1, segment_id="UNA")
    component, element, decimal, release, repetition, segment = una
    chars = [c for c in (component, element, segment) if c]
    if len(set(chars)) != len(chars) or any(c.isalnum() or c in "\r\n" for c in chars):
        raise EdiError(f"UNA separators {una!r} are not distinct service characters", segment=1, segment_id="UNA")
    return Separators(component, element, decimal, "" if release == " " else release,
                      "" if repetition == " " else repetition, segment)


_PLACEHOLDER_BASE = 0xE000  # private-use code points never found in EDI text


def _protect(text: str, seps: Separators) -> tuple[str, dict[int, str]]:
    """Hide released service characters behind placeholders so plain splits are safe."""
    specials = [seps.component, seps.element, seps.segment, seps.release, seps.repetition]
    placeholders = {c: chr(_PLACEHOLDER_BASE + i) for i, c in enumerate(specials) if c}
    pattern = re.compile(re.escape(seps.release) + "(.)", re.S)
    protected = pattern.sub(lambda m: placeholders.get(m.group(1), m.group(1)), text)
    return protected, {ord(p): c for c, p in placeholders.items()}


class _Walker:
    """Follows UNB / UNG / UNH nesting segment by segment and records what does not add up."""

    __slots__ = ("group", "ic", "interchanges", "message", "position", "seps")

    def __init__(self, seps: Separators) -> None:
        self.seps = seps
        self.interchanges: list[Interchange] = []
        self.ic: Interchange | None = None
        self.group: str | None = None
        self.message: Message | None = None
        self.position = 0

    def feed(self, seg: Segment) -> None:
        self.position += 1
        tag = seg[0][0]
        message = self.message
        if message is not None and tag not in _ENVELOPE_TAGS:
            message.segments.append(seg)
            if len(tag) != 3 or not tag.isalnum():
                message.errors.append(self._message_error(message, f"unrecognised segment tag {tag[:10]!r}",
                                                          len(message.segments), tag[:10], code=INVALID_VALUE))
            return
        handler = {"UNH": self._start_message, "UNT": self._end_message, "UNB": self._start_interchange,
                   "UNZ": self._end_interchange, "UNG": self._start_group, "UNE": self._end_group}.get(tag)
        if handler is not None:
            handler(seg)
            return
        ic = self._need_interchange(tag)
        ic.errors.append(EdiError(f"segment {tag[:10]!r} outside a message", interchange=ic.control,
                                  segment=self.position, segment_id=tag[:10], code=NOT_SUPPORTED_HERE))

    def finish(self) -> None:
        if self.ic is not None:
            self._close_message("end of file")
            self.ic.errors.append(EdiError("UNZ missing at end of file", interchange=self.ic.control,
                                           segment_id="UNZ", code=MISSING))
            self.ic = None

    def _need_interchange(self, tag: str) -> Interchange:
        if self.ic is None:
            raise EdiError(f"{tag} before UNB: the interchange header is missing", segment=self.position,
                           segment_id=tag[:10], code=MISSING)
        return self.ic

    def _start_interchange(self, seg: Segment) -> None:
        if self.ic is not None:
            self.finish()
        self.position = 1
        syntax = value(seg, 1, 0)
        ic = Interchange(
            syntax=syntax, syntax_version=value(seg, 1, 1), sender=value(seg, 2, 0), sender_qualifier=value(seg, 2, 1),
            recipient=value(seg, 3, 0), recipient_qualifier=value(seg, 3, 1), date=value(seg, 4, 0),
            time=value(seg, 4, 1), control=value(seg, 5, 0), test=value(seg, 11, 0) == "1", separators=self.seps,
        )
        self.interchanges.append(ic)
        self.ic = ic
        if syntax not in SYNTAX_IDENTIFIERS:
            ic.errors.append(EdiError(f"syntax identifier {syntax!r} is not one of {sorted(SYNTAX_IDENTIFIERS)}",
                                      interchange=ic.control, segment=1, segment_id="UNB", element=1, component=1,
                                      code=SYNTAX_NOT_SUPPORTED))
        for index, what in ((2, "sender"), (3, "recipient"), (5, "control reference")):
            if not value(seg, index, 0):
                ic.errors.append(EdiError(f"UNB {what} is missing", interchange=ic.control, segment=1,
                                          segment_id="UNB", element=index, code=MISSING))

    def _start_message(self, seg: Segment) -> None:
        ic = self._need_interchange("UNH")
        self._close_message("UNH")
        self.message = Message(ref=value(seg, 1), type=value(seg, 2, 0), version=value(seg, 2, 1),
                               release=value(seg, 2, 2), agency=value(seg, 2, 3), group=self.group, segments=[seg])
        ic.messages.append(self.message)

    def _end_message(self, seg: Segment) -> None:
        ic = self._need_interchange("UNT")
        message = self.message
        if message is None:
            ic.errors.append(EdiError("UNT without UNH", interchange=ic.control, segment=self.position,
                                      segment_id="UNT", code=NOT_SUPPORTED_HERE))
            return
        message.segments.append(seg)
        number = len(message.segments)
        count = value(seg, 1)
        if count != str(number):
            message.errors.append(self._message_error(message, f"UNT says {count!r} segments, the message has {number}",
                                                      number, "UNT", element=1, code=COUNT_MISMATCH))
        if value(seg, 2) != message.ref:
            message.errors.append(self._message_error(
                message, f"UNT reference {value(seg, 2)!r} does not match UNH {message.ref!r}", number, "UNT",
                element=2, code=REFERENCE_MISMATCH))
        self.message = None

    def _start_group(self, seg: Segment) -> None:
        ic = self._need_interchange("UNG")
        self._close_message("UNG")
        self.group = value(seg, 5)
        ic.groups.append(self.group)

    def _end_group(self, seg: Segment) -> None:
        ic = self._need_interchange("UNE")
        self._close_message("UNE")
        if value(seg, 2) != self.group:
            ic.errors.append(EdiError(f"UNE reference {value(seg, 2)!r} does not match UNG {self.group!r}",
                                      interchange=ic.control, segment=self.position, segment_id="UNE", element=2,
                                      code=REFERENCE_MISMATCH))
        in_group = sum(1 for m in ic.messages if m.group == self.group)
        if value(seg, 1) != str(in_group):
            ic.errors.append(EdiError(f"UNE says {value(seg, 1)!r} messages, the group has {in_group}",
                                      interchange=ic.control, segment=self.position, segment_id="UNE", element=1,
                                      code=COUNT_MISMATCH))
        self.group = None

    def _end_interchange(self, seg: Segment) -> None:
        ic = self._need_interchange("UNZ")
        self._close_message("UNZ")
        expected = len(ic.groups) if ic.groups else len(ic.messages)
        if value(seg, 1) != str(expected):
            what = "groups" if ic.groups else "messages"
            ic.errors.append(EdiError(f"UNZ says {value(seg, 1)!r} {what}, the interchange has {expected}",
                                      interchange=ic.control, segment=self.position, segment_id="UNZ", element=1,
                                      code=COUNT_MISMATCH))
        if value(seg, 2) != ic.control:
            ic.errors.append(EdiError(f"UNZ reference {value(seg, 2)!r} does not match UNB {ic.control!r}",
                                      interchange=ic.control, segment=self.position, segment_id="UNZ", element=2,
                                      code=REFERENCE_MISMATCH))
        self.ic = None
        self.group = None

    def _close_message(self, by: str) -> None:
        message = self.message
        if message is not None:
            message.errors.append(self._message_error(message, f"UNT missing: the message ends at {by}",
                                                      len(message.segments) + 1, "UNT", code=MISSING))
            self.message = None

    def _message_error(self, message: Message, text: str, number: int, segment_id: str,
                       element: int | None = None, code: str = "") -> EdiError:
        return EdiError(text, interchange=self.ic.control if self.ic else None, group=message.group,
                        set_control=message.ref, segment=number, segment_id=segment_id, element=element, code=code)


Element = str | Sequence[str]


@dataclass(frozen=True, slots=True)
class Header:
    """Who sends an outbound interchange to whom, and its control reference."""

    sender: str
    sender_qualifier: str
    recipient: str
    recipient_qualifier: str
    control: int
    when: datetime
    syntax: str = "UNOC"
    syntax_version: str = "3"
    test: bool = False


def render(header: Header, messages: Sequence[tuple[Sequence[str], Sequence[Sequence[Element]]]],
           seps: Separators = DEFAULT_SEPARATORS, newline: bool = True) -> str:
    """One interchange (with a UNA) holding `messages`: each (type:version:release:agency, body without UNH/UNT)."""
    if not 0 < header.control <= 99_999_999_999_999:
        raise EdiError(f"control reference {header.control} is out of range", segment_id="UNB", element=5)
    control = str(header.control)
    unb: list[Element] = [
        "UNB", [header.syntax, header.syntax_version], [header.sender, header.sender_qualifier],
        [header.recipient, header.recipient_qualifier], [header.when.strftime("%y%m%d"), header.when.strftime("%H%M")],
        control,
    ]
    if header.test:
        unb += ["", "", "", "", "", "1"]
    segments: list[Sequence[Element]] = [unb]
    for number, (message_type, body) in enumerate(messages, start=1):
        ref = str(number)
        segments.append(["UNH", ref, list(message_type)])
        segments.extend(body)
        segments.append(["UNT", str(len(body) + 2), ref])
    segments.append(["UNZ", str(len(messages)), control])
    end = seps.segment + ("\n" if newline else "")
    una = f"UNA{seps.component}{seps.element}{seps.decimal}{seps.release}{seps.repetition or ' '}{seps.segment}"
    return una + ("\n" if newline else "") + "".join(_join(seg, seps) + end for seg in segments)


def _join(seg: Sequence[Element], seps: Separators) -> str:
    specials = {c for c in (seps.component, seps.element, seps.segment, seps.release, seps.repetition) if c}

    def escape(text: str) -> str:
        return "".join(seps.release + c if c in specials else c for c in text) if specials & set(text) else text

    parts = [seg[0] if isinstance(seg[0], str) else seg[0][0]]
    for item in seg[1:]:
        components = [item] if isinstance(item, str) else list(item)
        while len(components) > 1 and not components[-1]:
            components.pop()
        parts.append(seps.component.join(escape(c) for c in components))
    while len(parts) > 1 and not parts[-1]:
        parts.pop()
    return seps.element.join(parts)

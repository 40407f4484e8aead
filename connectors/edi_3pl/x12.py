"""A tolerant X12 reader and a strict X12 writer (pure; no I/O).

The reader takes its delimiters from the ISA segment, accepts any ISA12 version, CR / LF / CRLF
after or instead of segment terminators and indented segments, and checks the envelopes
(ISA / IEA, GS / GE, ST / SE counts and control numbers, the ISA date and time). Errors inside a
set or group are kept on it (so a 997 can report them), envelope errors on the interchange with
their TA1 note code; only an unreadable ISA stops the reader. TA1 segments (a partner's
interchange acknowledgements) are kept on the interchange.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from typing import overload

from connectors.edi_3pl._gc import paused_gc
from connectors.edi_3pl.errors import EdiError

Segment = list[str]  # [tag, element 1, element 2, ...]

_WS = " \t\r\n"
_ENVELOPE_TAGS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
_ISA_ELEMENTS = 16

# 997 codes: AK304 segment errors, AK5 set errors, AK9 group errors.
SEGMENT_UNRECOGNISED = "1"
SET_TRAILER_MISSING = "2"
SET_CONTROL_MISMATCH = "3"
SET_COUNT_MISMATCH = "4"
GROUP_TRAILER_MISSING = "3"
GROUP_CONTROL_MISMATCH = "4"
GROUP_COUNT_MISMATCH = "5"
# TA105 interchange note codes for the envelope errors the reader finds.
NOTE_CONTROL_MISMATCH = "001"
NOTE_INVALID_DATE = "014"
NOTE_INVALID_TIME = "015"
NOTE_INVALID_CONTROL_NUMBER = "018"
NOTE_GROUP_COUNT = "021"
NOTE_PREMATURE_END = "023"


@dataclass(frozen=True, slots=True)
class Delimiters:
    element: str = "*"
    component: str = ">"
    segment: str = "~"
    repetition: str | None = None


@dataclass(slots=True)
class TransactionSet:
    id: str
    control: str
    separator: str
    # ST .. SE as text; texts[i] is segment number i + 1. Kept unsplit so that reading a large file
    # does not hold a list per segment; the mapper splits one set at a time.
    texts: list[str]
    errors: list[EdiError] = field(default_factory=list)

    @property
    def segments(self) -> Segments:
        return Segments(self.texts, self.separator)


class Segments(Sequence[Segment]):
    """A set's segments, each split into elements when it is visited.

    Splitting as the mapper walks the set (rather than the whole set up front) keeps only one
    segment's lists alive at a time, which is what makes mapping a large file fast.
    """

    __slots__ = ("_separator", "_texts")

    def __init__(self, texts: list[str], separator: str) -> None:
        self._texts = texts
        self._separator = separator

    def __len__(self) -> int:
        return len(self._texts)

    def __iter__(self) -> Iterator[Segment]:
        return map(str.split, self._texts, repeat(self._separator))

    @overload
    def __getitem__(self, index: int) -> Segment: ...

    @overload
    def __getitem__(self, index: slice) -> list[Segment]: ...

    def __getitem__(self, index: int | slice) -> Segment | list[Segment]:
        if isinstance(index, slice):
            return [text.split(self._separator) for text in self._texts[index]]
        return self._texts[index].split(self._separator)


@dataclass(slots=True)
class FunctionalGroup:
    functional_id: str
    sender: str
    receiver: str
    date: str
    time: str
    control: str
    version: str
    sets: list[TransactionSet] = field(default_factory=list)
    errors: list[EdiError] = field(default_factory=list)


@dataclass(slots=True)
class Interchange:
    control: str
    sender_qualifier: str
    sender: str
    receiver_qualifier: str
    receiver: str
    date: str
    time: str
    version: str
    usage: str
    delimiters: Delimiters
    ack_requested: str = "0"  # ISA14: "1" asks for a TA1
    groups: list[FunctionalGroup] = field(default_factory=list)
    errors: list[EdiError] = field(default_factory=list)
    ta1: list[Segment] = field(default_factory=list)

    @property
    def segment_count(self) -> int:
        return sum(len(s.texts) for g in self.groups for s in g.sets)


def element(segment: Segment, index: int) -> str:
    """Element `index` (1-based) of a segment, "" when absent."""
    return segment[index] if index < len(segment) else ""


def read(text: str) -> list[Interchange]:
    """Every interchange in `text`, in order. Raises EdiError only when no ISA can be read."""
    with paused_gc():
        return _read(text)


def _read(text: str) -> list[Interchange]:
    interchanges: list[Interchange] = []
    offset: int | None = 0
    while offset is not None:
        start = _skip_space(text, offset)
        if start >= len(text):
            break
        if not text.startswith("ISA", start):
            where = f"interchange {len(interchanges) + 1}"
            raise EdiError(f"expected ISA at character {start}, found {text[start:start + 10]!r}",
                           segment_id="ISA", interchange=where if interchanges else None)
        interchange, offset = _read_interchange(text, start)
        interchanges.append(interchange)
    if not interchanges:
        raise EdiError("no ISA segment: the file is empty", segment_id="ISA")
    return interchanges


def _skip_space(text: str, offset: int) -> int:
    while offset < len(text) and text[offset] in _WS:
        offset += 1
    return offset


def _read_isa(text: str, start: int) -> tuple[Segment, Delimiters, int]:
    sep = text[start + 3:start + 4]
    if not sep or sep.isalnum() or sep in _WS:
        raise EdiError(f"ISA element separator {sep!r} is not a usable delimiter", segment=1, segment_id="ISA")
    pos = start + 3
    for count in range(1, _ISA_ELEMENTS):
        pos = text.find(sep, pos + 1)
        if pos < 0:
            raise EdiError(f"ISA is incomplete: {count} of 16 elements found", segment=1, segment_id="ISA",
                           element=count)
    component = text[pos + 1:pos + 2]
    terminator = text[pos + 2:pos + 3]
    if not component or component == sep or component.isalnum():
        raise EdiError(f"ISA16 component separator {component!r} is not a usable delimiter",
                       segment=1, segment_id="ISA", element=16)
    fields = text[start:pos + 2].split(sep)
    body = pos + 3
    if terminator in ("\r", "\n", ""):
        # A partner that ends segments with line breaks only.
        terminator = "\n"
        if text[pos + 2:pos + 4] == "\r\n":
            body += 1
    elif terminator == sep or terminator.isalnum():
        raise EdiError(f"segment terminator {terminator!r} after ISA16 is not a usable delimiter",
                       segment=1, segment_id="ISA", element=16)
    version = fields[12].strip()
    repetition = fields[11].strip() if version >= "00402" else None
    if repetition is not None and (len(repetition) != 1 or repetition.isalnum()):
        raise EdiError(f"ISA11 repetition separator {repetition!r} is not a usable delimiter for version {version}",
                       segment=1, segment_id="ISA", element=11)
    return fields, Delimiters(sep, component, terminator, repetition), body


def _read_interchange(text: str, start: int) -> tuple[Interchange, int | None]:
    isa, delims, body = _read_isa(text, start)
    control = isa[13].strip()
    ic = Interchange(
        control=control, sender_qualifier=isa[5].strip(), sender=isa[6].strip(),
        receiver_qualifier=isa[7].strip(), receiver=isa[8].strip(), date=isa[9].strip(), time=isa[10].strip(),
        version=isa[12].strip(), ack_requested=isa[14].strip(), usage=isa[15].strip(), delimiters=delims,
    )
    if not control.isdigit():
        ic.errors.append(EdiError(f"ISA13 control number {control!r} is not numeric", interchange=control,
                                  segment=1, segment_id="ISA", element=13, code=NOTE_INVALID_CONTROL_NUMBER))
    ic.errors.extend(_date_time_errors(ic))
    # One split of the whole interchange; each segment stays a string until a mapper needs its elements.
    pieces, splitter = _split_segments(text, body, delims.segment)
    walker = _Walker(ic, delims.element)
    body_heads = walker.body_heads
    empty = 0
    for index, piece in enumerate(pieces):
        seg_text = piece.strip(_WS)
        if not seg_text:
            empty += 1
            continue
        tset = walker.tset
        # The hot path: a body segment inside an open set whose first four characters were already
        # seen on a valid body segment, so its tag is valid too and needs no splitting or checks.
        if tset is not None and seg_text[:4] in body_heads:
            tset.texts.append(seg_text)
            continue
        position = index + 2 - empty  # the ISA is segment 1
        if walker.closed:
            if seg_text.startswith("ISA"):
                consumed = sum(len(p) for p in pieces[:index]) + index * len(splitter)
                return ic, body + consumed
            ic.errors.append(EdiError(f"segment {seg_text[:3]!r} after IEA", interchange=control, segment=position))
            break
        walker.feed(seg_text, position)
    walker.finish()
    return ic, None


def _date_time_errors(ic: Interchange) -> list[EdiError]:
    """ISA09 that is not a calendar date (YYMMDD), ISA10 that is not a time of day (HHMM)."""
    errors = []
    if not _is_date(ic.date):
        errors.append(EdiError(f"ISA09 interchange date {ic.date!r} is not a valid date (YYMMDD)",
                               interchange=ic.control, segment=1, segment_id="ISA", element=9,
                               code=NOTE_INVALID_DATE))
    if not _is_time(ic.time):
        errors.append(EdiError(f"ISA10 interchange time {ic.time!r} is not a valid time (HHMM)",
                               interchange=ic.control, segment=1, segment_id="ISA", element=10,
                               code=NOTE_INVALID_TIME))
    return errors


def _is_date(value: str) -> bool:
    if len(value) != 6 or not value.isdecimal() or not value.isascii():
        return False
    try:
        # 20YY: a month has the same days in 19YY, but for February 1900, which no interchange carries.
        datetime(2000 + int(value[:2]), int(value[2:4]), int(value[4:]))
    except ValueError:
        return False
    return True


def _is_time(value: str) -> bool:
    return (len(value) == 4 and value.isdecimal() and value.isascii() and int(value[:2]) <= 23
            and int(value[2:]) <= 59)


def _split_segments(text: str, body: int, terminator: str) -> tuple[list[str], str]:
    """The segments after the ISA, and what separates them: the terminator, plus the line break
    after it when every terminator has the same one.

    Splitting on both at once leaves segments that need no copy to strip the line break: about a
    tenth of reading a large file. The split itself counts the joined separators, so only the
    terminators need a separate count to confirm that none lacks the line break.
    """
    for line_break in ("\r\n", "\n"):
        if terminator != "\n" and text.startswith(line_break, body):
            joined = terminator + line_break
            pieces = text[body:].split(joined)
            if text.count(terminator, body) == len(pieces) - 1:
                return pieces, joined
    return text[body:].split(terminator), terminator


class _Walker:
    """Follows the envelope nesting segment by segment and records what does not add up."""

    __slots__ = ("body_heads", "closed", "group", "ic", "position", "separator", "tset")

    def __init__(self, ic: Interchange, separator: str) -> None:
        self.ic = ic
        self.separator = separator
        self.position = 1  # the ISA
        self.group: FunctionalGroup | None = None
        self.tset: TransactionSet | None = None
        self.closed = False
        # First four characters of body segments with a valid tag: any segment starting the same
        # way has the same valid tag (a tag is two or three characters before the separator).
        self.body_heads: set[str] = set()

    def feed(self, text: str, position: int) -> None:
        """One segment, `position` counting from the ISA as 1."""
        self.position = position
        seg = text.split(self.separator)
        tag = seg[0]
        tset = self.tset
        if tset is not None and tag not in _ENVELOPE_TAGS:
            tset.texts.append(text)
            if 2 <= len(tag) <= 3 and tag.isalnum():
                self.body_heads.add(text[:4])
            else:
                tset.errors.append(self._set_error(tset, f"unrecognised segment id {tag[:10]!r}",
                                                   len(tset.texts), tag[:10], code=SEGMENT_UNRECOGNISED))
            return
        if tag == "ST":
            self._start_set(seg, text)
        elif tag == "SE":
            self._end_set(seg, text)
        elif tag == "GS":
            self._start_group(seg)
        elif tag == "GE":
            self._end_group(seg)
        elif tag == "IEA":
            self._end_interchange(seg)
        elif tag == "TA1":
            self.ic.ta1.append(seg)
        else:
            self.ic.errors.append(EdiError(f"segment {tag[:10]!r} outside a transaction set",
                                           interchange=self.ic.control, segment=self.position,
                                           segment_id=tag[:10]))

    def finish(self) -> None:
        if not self.closed:
            self._close_group("end of file")
            self.ic.errors.append(EdiError("IEA missing at end of file", interchange=self.ic.control,
                                           segment_id="IEA", code=NOTE_PREMATURE_END))

    def _start_set(self, seg: Segment, text: str) -> None:
        self._close_set("ST")
        if self.group is None:
            self.ic.errors.append(EdiError("ST outside a functional group (GS missing)", interchange=self.ic.control,
                                           segment=self.position, segment_id="ST"))
            self._start_group(["GS", "", "", "", "", "", "", ""])
        assert self.group is not None
        self.tset = TransactionSet(id=element(seg, 1).strip(), control=element(seg, 2).strip(),
                                   separator=self.separator, texts=[text])
        self.group.sets.append(self.tset)

    def _end_set(self, seg: Segment, text: str) -> None:
        tset = self.tset
        if tset is None:
            self.ic.errors.append(EdiError("SE without ST", interchange=self.ic.control, segment=self.position,
                                           segment_id="SE"))
            return
        tset.texts.append(text)
        count = element(seg, 1).strip()
        number = len(tset.texts)
        if count != str(number):
            tset.errors.append(self._set_error(tset, f"SE01 says {count!r} segments, the set has {number}",
                                               number, "SE", element=1, code=SET_COUNT_MISMATCH))
        if element(seg, 2).strip() != tset.control:
            tset.errors.append(self._set_error(tset, f"SE02 {element(seg, 2)!r} does not match ST02 {tset.control!r}",
                                               number, "SE", element=2, code=SET_CONTROL_MISMATCH))
        self.tset = None

    def _start_group(self, seg: Segment) -> None:
        self._close_group("GS")
        self.group = FunctionalGroup(
            functional_id=element(seg, 1).strip(), sender=element(seg, 2).strip(), receiver=element(seg, 3).strip(),
            date=element(seg, 4).strip(), time=element(seg, 5).strip(), control=element(seg, 6).strip(),
            version=element(seg, 8).strip(),
        )
        self.ic.groups.append(self.group)

    def _end_group(self, seg: Segment) -> None:
        self._close_set("GE")
        group = self.group
        if group is None:
            self.ic.errors.append(EdiError("GE without GS", interchange=self.ic.control, segment=self.position,
                                           segment_id="GE"))
            return
        count = element(seg, 1).strip()
        where = {"interchange": self.ic.control, "group": group.control, "segment": self.position, "segment_id": "GE"}
        if count != str(len(group.sets)):
            group.errors.append(EdiError(f"GE01 says {count!r} sets, the group has {len(group.sets)}",
                                         element=1, code=GROUP_COUNT_MISMATCH, **where))  # type: ignore[arg-type]
        if element(seg, 2).strip() != group.control:
            group.errors.append(EdiError(f"GE02 {element(seg, 2)!r} does not match GS06 {group.control!r}",
                                         element=2, code=GROUP_CONTROL_MISMATCH, **where))  # type: ignore[arg-type]
        self.group = None

    def _end_interchange(self, seg: Segment) -> None:
        self._close_group("IEA")
        ic = self.ic
        count = element(seg, 1).strip()
        if count != str(len(ic.groups)):
            ic.errors.append(EdiError(f"IEA01 says {count!r} groups, the interchange has {len(ic.groups)}",
                                      interchange=ic.control, segment=self.position, segment_id="IEA", element=1,
                                      code=NOTE_GROUP_COUNT))
        if element(seg, 2).strip() != ic.control:
            ic.errors.append(EdiError(f"IEA02 {element(seg, 2)!r} does not match ISA13 {ic.control!r}",
                                      interchange=ic.control, segment=self.position, segment_id="IEA", element=2,
                                      code=NOTE_CONTROL_MISMATCH))
        self.closed = True

    def _close_set(self, by: str) -> None:
        tset = self.tset
        if tset is not None:
            tset.errors.append(self._set_error(tset, f"SE missing: the set ends at {by}", len(tset.texts) + 1,
                                               "SE", code=SET_TRAILER_MISSING))
            self.tset = None

    def _close_group(self, by: str) -> None:
        self._close_set(by)
        if self.group is not None:
            self.group.errors.append(EdiError(f"GE missing: the group ends at {by}", interchange=self.ic.control,
                                              group=self.group.control, segment_id="GE", code=GROUP_TRAILER_MISSING))
            self.group = None

    def _set_error(self, tset: TransactionSet, message: str, number: int, segment_id: str,
                   element: int | None = None, code: str = "") -> EdiError:
        return EdiError(message, interchange=self.ic.control, group=self.group.control if self.group else None,
                        set_control=tset.control, segment=number, segment_id=segment_id, element=element, code=code)


@dataclass(frozen=True, slots=True)
class Header:
    """Who sends an outbound interchange to whom, and its control number."""

    sender_qualifier: str
    sender: str
    receiver_qualifier: str
    receiver: str
    control: int
    functional_id: str
    when: datetime
    version: str = "00401"
    usage: str = "P"


DEFAULT_DELIMITERS = Delimiters("*", ">", "~", None)


def render(header: Header, sets: Sequence[tuple[str, Sequence[Sequence[str]]]],
           delims: Delimiters = DEFAULT_DELIMITERS, newline: bool = True) -> str:
    """One interchange with one functional group holding `sets` (each: set id, body segments without ST/SE).

    The group control number equals the interchange control number, so a 997 (which names only the
    group) identifies the interchange too.
    """
    gs_version = header.version[1:] + "0"
    segments: list[Sequence[str]] = [
        _isa(header, delims),
        ["GS", header.functional_id, header.sender, header.receiver, header.when.strftime("%Y%m%d"),
         header.when.strftime("%H%M"), str(header.control), "X", gs_version],
    ]
    for number, (set_id, body) in enumerate(sets, start=1):
        control = f"{number:04d}"
        segments.append(["ST", set_id, control])
        segments.extend(body)
        segments.append(["SE", str(len(body) + 2), control])
    segments.append(["GE", str(len(sets)), str(header.control)])
    segments.append(["IEA", "1", f"{header.control:09d}"])
    return _text(segments, delims, newline)


def render_ta1(header: Header, ta1: Sequence[str], delims: Delimiters = DEFAULT_DELIMITERS,
               newline: bool = True) -> str:
    """One interchange holding only a TA1 segment (no functional group; `header.functional_id` is unused)."""
    return _text([_isa(header, delims), ta1, ["IEA", "0", f"{header.control:09d}"]], delims, newline)


def _isa(header: Header, delims: Delimiters) -> list[str]:
    if not 0 < header.control <= 999_999_999:
        raise EdiError(f"control number {header.control} is outside 1..999999999", element=13, segment_id="ISA")
    repetition = (delims.repetition or "^") if header.version >= "00402" else "U"
    # ISA14 "0": the hub never asks for a TA1 back.
    return [
        "ISA", "00", " " * 10, "00", " " * 10, header.sender_qualifier.ljust(2), header.sender.ljust(15)[:15],
        header.receiver_qualifier.ljust(2), header.receiver.ljust(15)[:15], header.when.strftime("%y%m%d"),
        header.when.strftime("%H%M"), repetition, header.version, f"{header.control:09d}", "0", header.usage,
        delims.component,
    ]


def _text(segments: Sequence[Sequence[str]], delims: Delimiters, newline: bool) -> str:
    end = delims.segment + ("\n" if newline else "")
    return "".join(_join(seg, delims, number) + end for number, seg in enumerate(segments, start=1))


def _join(seg: Sequence[str], delims: Delimiters, number: int) -> str:
    for index, value in enumerate(seg[1:], start=1):
        if seg[0] == "ISA" and index == 16:
            continue
        for name, char in (("element", delims.element), ("component", delims.component),
                           ("segment", delims.segment)):
            if char in value:
                raise EdiError(f"value {value!r} contains the {name} separator {char!r}", segment=number,
                               segment_id=seg[0], element=index)
    return delims.element.join(seg).rstrip(delims.element) if seg[0] != "ISA" else delims.element.join(seg)

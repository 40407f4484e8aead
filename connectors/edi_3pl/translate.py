"""One entry for inbound files: detect, read and map a file of either standard (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.edi_3pl import edifact, edifact_map, x12, x12_map
from connectors.edi_3pl._gc import paused_gc
from connectors.edi_3pl.detect import Standard, detect
from connectors.edi_3pl.errors import EdiError
from connectors.edi_3pl.mapping import Partner


@dataclass(slots=True)
class Document:
    """One transaction set (X12) or message (EDIFACT) with its events or its errors."""

    type: str
    control: str
    group: str | None
    events: list[dict[str, Any]] = field(default_factory=list)
    errors: list[EdiError] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.errors


@dataclass(slots=True)
class InterchangeResult:
    standard: Standard
    control: str
    sender: str
    receiver: str
    source: x12.Interchange | edifact.Interchange
    documents: list[Document]
    errors: list[EdiError] = field(default_factory=list)

    @property
    def status(self) -> str:
        """accepted, accepted_with_errors or rejected, as its acknowledgement will say."""
        accepted = sum(1 for d in self.documents if d.accepted)
        if accepted == len(self.documents) and not self.errors:
            return "accepted"
        return "accepted_with_errors" if accepted else "rejected"


@dataclass(slots=True)
class Translation:
    standard: Standard
    encoding: str
    interchanges: list[InterchangeResult]

    @property
    def events(self) -> list[dict[str, Any]]:
        return [e for ic in self.interchanges for d in ic.documents if d.accepted for e in d.events]

    @property
    def errors(self) -> list[EdiError]:
        return [e for ic in self.interchanges for e in (*ic.errors, *(x for d in ic.documents for x in d.errors))]

    @property
    def segment_count(self) -> int:
        return sum(ic.source.segment_count for ic in self.interchanges)


def translate(raw: bytes, partner: Partner) -> Translation:
    """Read and map every interchange in `raw`; an EdiError when the file cannot be read at all."""
    detected = detect(raw)
    with paused_gc():
        if detected.standard == "x12":
            results = [_x12_result(ic, partner) for ic in x12.read(detected.text)]
        else:
            results = [_edifact_result(ic, partner) for ic in edifact.read(detected.text)]
    return Translation(detected.standard, detected.encoding, results)


def _x12_result(ic: x12.Interchange, partner: Partner) -> InterchangeResult:
    documents = [Document(o.tset.id, o.tset.control, o.group.control, o.events, o.errors)
                 for o in x12_map.map_interchange(ic, partner)]
    # After the sets, so the sets still line up with the groups they came from (the 997 walks both).
    documents += [Document("TA1", o.control, None, o.events, o.errors) for o in x12_map.map_ta1s(ic, partner)]
    group_errors = [e for g in ic.groups for e in g.errors]
    return InterchangeResult("x12", ic.control, ic.sender, ic.receiver, ic, documents, [*ic.errors, *group_errors])


def _edifact_result(ic: edifact.Interchange, partner: Partner) -> InterchangeResult:
    documents = [Document(o.message.type, o.message.ref, o.message.group, o.events, o.errors)
                 for o in edifact_map.map_interchange(ic, partner)]
    return InterchangeResult("edifact", ic.control, ic.sender, ic.recipient, ic, documents, list(ic.errors))

"""Acknowledgements: 997 / CONTRL for what came in, and the book of acknowledgements still owed to us.

Building an acknowledgement is pure. The book lives in the connector's state (`acks.open`), so
`hub status` can list it with `open_acknowledgements(state)`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.edi_3pl import edifact, x12
from connectors.edi_3pl.edifact import Element
from connectors.edi_3pl.errors import EdiError
from connectors.edi_3pl.mapping import Partner
from connectors.edi_3pl.translate import Document, InterchangeResult
from hub.sdk import StateStore

OPEN_KEY = "acks.open"
_ACK_TYPES = frozenset({"997", "999", "CONTRL"})


def needs_ack(result: InterchangeResult) -> bool:
    """Acknowledgements themselves are never acknowledged."""
    return any(d.type not in _ACK_TYPES for d in result.documents) or not result.documents


def x12_997_sets(result: InterchangeResult) -> list[tuple[str, list[list[str]]]]:
    """One 997 body per functional group (FA groups excepted), with AK3 / AK4 / AK5 / AK9 from the errors."""
    ic = result.source
    assert isinstance(ic, x12.Interchange)
    documents = iter(result.documents)
    sets: list[tuple[str, list[list[str]]]] = []
    for group in ic.groups:
        docs = [next(documents) for _ in group.sets]
        if group.functional_id == "FA":
            continue
        body: list[list[str]] = [["AK1", group.functional_id, group.control]]
        for doc in docs:
            body.append(["AK2", doc.type, doc.control])
            body.extend(_ak3_ak4(doc))
            set_codes = [e.code for e in doc.errors if e.segment_id in ("ST", "SE") and e.code][:5]
            body.append(["AK5", "A" if doc.accepted else "R", *(set_codes or ([] if doc.accepted else ["5"]))])
        accepted = sum(1 for d in docs if d.accepted)
        code = "R" if group.errors or not accepted else "A" if accepted == len(docs) else "P"
        group_codes = [e.code for e in group.errors if e.code][:5]
        body.append(["AK9", code, str(len(docs)), str(len(docs)), str(accepted), *group_codes])
        sets.append(("997", body))
    return sets


def _ak3_ak4(doc: Document) -> list[list[str]]:
    segments: list[list[str]] = []
    for error in doc.errors:
        if error.segment_id in ("ST", "SE") or error.segment is None:
            continue
        if error.element is None:
            segments.append(["AK3", error.segment_id or "", str(error.segment), "", error.code or "8"])
        else:
            segments.append(["AK3", error.segment_id or "", str(error.segment), "", "8"])
            segments.append(["AK4", str(error.element), "", error.code or "1"])
    return segments


def contrl_body(result: InterchangeResult) -> list[list[Element]]:
    """A CONTRL body (no UNH / UNT) answering one EDIFACT interchange."""
    ic = result.source
    assert isinstance(ic, edifact.Interchange)
    rejected = result.status == "rejected"
    uci: list[Element] = ["UCI", ic.control, [ic.sender, ic.sender_qualifier], [ic.recipient, ic.recipient_qualifier],
                          "4" if rejected else "7"]
    if ic.errors:
        first = ic.errors[0]
        uci += [first.code or "18", first.segment_id or "", str(first.segment or "")]
    body: list[list[Element]] = [uci]
    for message, doc in zip(ic.messages, result.documents, strict=True):
        if doc.accepted:
            body.append(["UCM", message.ref, [message.type, message.version, message.release, message.agency], "7"])
            continue
        first = doc.errors[0]
        body.append(["UCM", message.ref, [message.type, message.version, message.release, message.agency], "4",
                     first.code or "18"])
        for error in doc.errors:
            if error.segment is None:
                continue
            body.append(["UCS", str(error.segment), "" if error.element else (error.code or "18")])
            if error.element:
                body.append(["UCD", error.code or "18", [str(error.element), str(error.component or "")]])
    return body


def render_ack(result: InterchangeResult, partner: Partner, *, sender: tuple[str, str], control: int,
               when: datetime, x12_version: str = "00401", usage: str = "P") -> tuple[str, str]:
    """(document type, text) of the acknowledgement of one inbound interchange, from us (`sender`) to them."""
    ic = result.source
    if isinstance(ic, x12.Interchange):
        header = x12.Header(sender[0], sender[1], ic.sender_qualifier, ic.sender, control, "FA", when,
                            version=x12_version, usage=usage)
        return "997", x12.render(header, x12_997_sets(result), _outbound_delimiters(ic.delimiters))
    header_e = edifact.Header(sender[1], sender[0], ic.sender, ic.sender_qualifier, control, when,
                              syntax=ic.syntax if ic.syntax in edifact.SYNTAX_IDENTIFIERS else "UNOC",
                              syntax_version=ic.syntax_version or "3", test=ic.test)
    return "CONTRL", edifact.render(header_e, [(("CONTRL", "D", "3", "UN"), contrl_body(result))], ic.separators)


def _outbound_delimiters(seen: x12.Delimiters) -> x12.Delimiters:
    """Answer in the partner's own delimiters, unless it ends segments with bare line breaks."""
    return seen if seen.segment != "\n" else x12.DEFAULT_DELIMITERS


async def expect(state: StateStore, record: dict[str, Any]) -> None:
    """Note an outbound interchange whose acknowledgement is due by `record["deadline"]` (ISO time)."""
    book = await state.get(OPEN_KEY) or {}
    book[record["control"]] = record
    await state.put(OPEN_KEY, book)


async def settle(state: StateStore, control: str) -> dict[str, Any] | None:
    """Close the open acknowledgement for interchange `control`; its record, or None if none was open."""
    book = await state.get(OPEN_KEY) or {}
    record = book.pop(control, None)
    if record is not None:
        await state.put(OPEN_KEY, book)
    return record


async def overdue(state: StateStore, now: datetime) -> list[dict[str, Any]]:
    """Open acknowledgements past their deadline not yet raised as a task; marks them raised."""
    book = await state.get(OPEN_KEY) or {}
    late = [r for r in book.values() if not r.get("task_raised") and datetime.fromisoformat(r["deadline"]) <= now]
    for record in late:
        record["task_raised"] = True
    if late:
        await state.put(OPEN_KEY, book)
    return late


async def open_acknowledgements(state: StateStore) -> list[dict[str, Any]]:
    """Outbound interchanges still waiting for their 997 / CONTRL, oldest first (for `hub status`)."""
    book = await state.get(OPEN_KEY) or {}
    return sorted(book.values(), key=lambda r: r["sent_at"])


def ack_task(record: dict[str, Any], kind: str, *, now: datetime | None = None,
             ack: dict[str, Any] | None = None) -> dict[str, Any]:
    """A task.raised event dict for a person: an acknowledgement overdue, late or rejecting."""
    partner, control = record["partner"], record["control"]
    titles = {
        "ack_overdue": f"No acknowledgement from {partner} for {record['document_type']} {control} by {record['deadline']}",
        "ack_late": f"Late acknowledgement from {partner} for {record['document_type']} {control}",
        "ack_rejected": f"{partner} rejected {record['document_type']} {control}",
    }
    if kind not in titles:
        raise EdiError(f"unknown acknowledgement task kind {kind!r}")
    key = f"edi:{partner}:task:{kind}:{control}"
    evidence: dict[str, Any] = {"outbound": record}
    if ack is not None:
        evidence["acknowledgement"] = ack
    stamp = (now or datetime.now(UTC)).isoformat()
    return {
        "id": key.replace(":", "-"), "type": "task.raised", "source": f"urn:hub:edi:{partner}", "time": stamp,
        "subject": f"{partner}:{control}", "idempotency_key": key,
        "data": {"task_id": key, "kind": kind, "title": titles[kind], "priority": 2 if kind != "ack_late" else 3,
                 "assignee_role": "edi_analyst", "recommended_action": "contact the partner and resend if needed",
                 "evidence": evidence},
    }

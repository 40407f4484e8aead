"""Acknowledgements: 997 / CONTRL and TA1 for what came in, and the book of acknowledgements still owed to us.

Building an acknowledgement is pure. The book lives in the connector's state, one key per open
interchange (`acks.open.<control>`), so several workers can add, settle and raise entries at once
without losing any; `hub status` lists it with `open_acknowledgements(state)`.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

from connectors.edi_3pl import edifact, x12
from connectors.edi_3pl.edifact import Element
from connectors.edi_3pl.errors import EdiError
from connectors.edi_3pl.mapping import Partner
from connectors.edi_3pl.translate import Document, InterchangeResult
from hub.sdk import StateStore

OPEN_PREFIX = "acks.open"
LEGACY_KEY = "acks.open"  # earlier versions kept the whole book as one dict under this key
# A control number goes into one key token; any other character is written as =XX (its UTF-8 bytes).
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_ACK_TYPES = frozenset({"997", "999", "CONTRL", "TA1"})
# TA105 for an interchange whose envelope reads well but holds segments outside any set or group
# (read and reported by the reader, without a note code of their own): the standard's nearest code.
NOTE_NONE = "000"
NOTE_INVALID_CONTENT = "024"


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


def envelope_note(ic: x12.Interchange) -> str | None:
    """The TA1 note code of the first ISA / IEA error (the envelope is broken); None if none."""
    return next((e.code for e in ic.errors if e.segment_id in ("ISA", "IEA") and e.code), None)


def x12_ta1(ic: x12.Interchange, took_data: bool = False) -> list[str] | None:
    """The TA1 answering `ic`: when the partner asked for one (ISA14 = 1) or its envelope is broken; else None.

    A broken envelope is `E` (accepted with errors: the sender must not resend) when the hub still took
    documents out of it (`took_data`), and `R` (rejected: resend) only when it took nothing, so the TA1
    never tells a partner to resend data that was kept."""
    note = envelope_note(ic)
    if note is not None:
        return ["TA1", ic.control, ic.date, ic.time, "E" if took_data else "R", note]
    if ic.ack_requested != "1":
        return None
    if ic.errors:
        return ["TA1", ic.control, ic.date, ic.time, "E", NOTE_INVALID_CONTENT]
    return ["TA1", ic.control, ic.date, ic.time, "A", NOTE_NONE]


def render_ta1(ic: x12.Interchange, ta1: list[str], *, sender: tuple[str, str], control: int, when: datetime,
               x12_version: str = "00401", usage: str = "P") -> str:
    """An interchange of our own (control number `control`) carrying `ta1` back to the sender of `ic`."""
    header = x12.Header(sender[0], sender[1], ic.sender_qualifier, ic.sender, control, "", when,
                        version=x12_version, usage=usage)
    return x12.render_ta1(header, ta1, _outbound_delimiters(ic.delimiters))


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
        sets = x12_997_sets(result)
        try:
            return "997", x12.render(header, sets, _outbound_delimiters(ic.delimiters))
        except EdiError as exc:
            # Named by the partner's group whose values cannot be echoed, not by a segment number of a 997
            # that is never sent.
            raise EdiError(exc.reason, group=_answered_group(ic, sets, exc.segment), segment_id=exc.segment_id,
                           element=exc.element) from None
    header_e = edifact.Header(sender[1], sender[0], ic.sender, ic.sender_qualifier, control, when,
                              syntax=ic.syntax if ic.syntax in edifact.SYNTAX_IDENTIFIERS else "UNOC",
                              syntax_version=ic.syntax_version or "3", test=ic.test)
    return "CONTRL", edifact.render(header_e, [(("CONTRL", "D", "3", "UN"), contrl_body(result))], ic.separators)


def _answered_group(ic: x12.Interchange, sets: list[tuple[str, list[list[str]]]], segment: int | None) -> str | None:
    """The control number of the group of `ic` whose 997 holds segment `segment` of the rendered interchange."""
    if segment is None or segment <= 2:  # ISA and GS: the interchange's own
        return None
    end = 2
    answered = (group for group in ic.groups if group.functional_id != "FA")
    for group, (_, body) in zip(answered, sets, strict=True):
        end += len(body) + 2  # ST, the body, SE
        if segment <= end:
            return group.control
    return None


def _outbound_delimiters(seen: x12.Delimiters) -> x12.Delimiters:
    """Answer in the partner's own delimiters, unless it ends segments with bare line breaks."""
    return seen if seen.segment != "\n" else x12.DEFAULT_DELIMITERS


async def expect(state: StateStore, record: dict[str, Any]) -> None:
    """Note an outbound interchange whose acknowledgement is due by `record["deadline"]` (ISO time).

    Created, never overwritten: a redelivered send keeps the first record, its deadline and any task
    already raised for it.
    """
    await state.create(_open_key(record["control"]), record)


async def settle(state: StateStore, control: str) -> dict[str, Any] | None:
    """Close the open acknowledgement for interchange `control`; its record, or None if none was open."""
    key = _open_key(control)
    while (entry := await state.get_entry(key)) is not None:
        record, revision = entry
        if await state.delete_if(key, revision):
            return record
        # `overdue` marked it raised in between (or another worker settled it): read it again, so
        # the caller sees the task that was raised and only one caller gets the record.
    return None


async def pending(state: StateStore, control: str) -> dict[str, Any] | None:
    """The open acknowledgement for interchange `control`, left open; None if none is open."""
    record: dict[str, Any] | None = await state.get(_open_key(control))
    return record


async def overdue(state: StateStore, now: datetime) -> list[dict[str, Any]]:
    """Open acknowledgements past their deadline not yet raised as a task, oldest first; marks them raised.

    The mark is a compare-and-set on the record's revision: when two workers find the same late
    record, only one update succeeds, so the task is raised once. A separate create-once marker key
    would do the same, but the flag in the record is what `settle` and `hub status` read anyway,
    and `settle`'s delete then leaves no marker behind to clean up.
    """
    late = []
    for key, record, revision in await _open_entries(state):
        if record.get("task_raised") or datetime.fromisoformat(record["deadline"]) > now:
            continue
        raised = {**record, "task_raised": True}
        if await state.update(key, raised, revision):
            late.append(raised)
    return late


async def open_acknowledgements(state: StateStore) -> list[dict[str, Any]]:
    """Outbound interchanges still waiting for their 997 / CONTRL, oldest first (for `hub status`)."""
    return [record for _, record, _ in await _open_entries(state)]


async def migrate_legacy_book(state: StateStore) -> int:
    """Move a book that an earlier version kept under one key to one key per interchange; records moved.

    Records are created before the old key is deleted, so a crash in between loses none: the next
    start moves the rest, and `create` leaves a record that is already there (perhaps marked raised) alone.
    """
    book: dict[str, dict[str, Any]] | None = await state.get(LEGACY_KEY)
    if book is None:
        return 0
    for control, record in book.items():
        await state.create(_open_key(control), record)
    await state.delete(LEGACY_KEY)
    return len(book)


async def _open_entries(state: StateStore) -> list[tuple[str, dict[str, Any], int]]:
    """(key, record, revision) of every open acknowledgement, oldest first."""
    keys = await state.keys(OPEN_PREFIX)
    entries = await asyncio.gather(*(state.get_entry(key) for key in keys))
    found = [(key, entry[0], entry[1]) for key, entry in zip(keys, entries, strict=True) if entry is not None]
    return sorted(found, key=lambda item: item[1]["sent_at"])


def _open_key(control: str) -> str:
    # One state key per interchange: the state is already the connector instance's, one partner's.
    return f"{OPEN_PREFIX}.{_KEY_UNSAFE.sub(_escape, control) or '='}"


def _escape(found: re.Match[str]) -> str:
    return "".join(f"={byte:02X}" for byte in found.group().encode())


def ack_task(record: dict[str, Any], kind: str, *, now: datetime | None = None,
             ack: dict[str, Any] | None = None) -> dict[str, Any]:
    """A task.raised event dict for a person: an acknowledgement overdue, late or rejecting."""
    partner, control = record["partner"], record["control"]
    titles = {
        "ack_overdue": f"No acknowledgement from {partner} for {record['document_type']} {control} by {record['deadline']}",
        "ack_late": f"Late acknowledgement from {partner} for {record['document_type']} {control}",
        "ack_rejected": f"{partner} rejected {record['document_type']} {control}",
        "ta1_rejected": f"{partner} rejected or flagged the interchange envelope of {record['document_type']} "
                        f"{control} (TA1)",
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

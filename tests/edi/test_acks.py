"""The book of acknowledgements owed to us, and the tasks it raises (pure parts, memory state)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from canonical import parse_event
from connectors.edi_3pl import acks
from connectors.edi_3pl.mapping import Partner
from connectors.edi_3pl.translate import translate
from hub.testing import MemoryState
from tests.edi.conftest import CORPUS

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def record(control: str, deadline: datetime) -> dict[str, object]:
    return {"partner": "acme", "standard": "x12", "control": control, "document_type": "850",
            "file": f"acme_850_{control}.edi", "sent_at": (deadline - timedelta(hours=1)).isoformat(),
            "deadline": deadline.isoformat()}


async def test_book_lists_settles_and_marks_overdue_once() -> None:
    state = MemoryState()
    await acks.expect(state, record("000000002", NOW + timedelta(hours=1)))
    await acks.expect(state, record("000000001", NOW - timedelta(minutes=1)))
    assert [r["control"] for r in await acks.open_acknowledgements(state)] == ["000000001", "000000002"]
    late = await acks.overdue(state, NOW)
    assert [r["control"] for r in late] == ["000000001"]
    assert await acks.overdue(state, NOW) == []
    settled = await acks.settle(state, "000000001")
    assert settled is not None and settled["task_raised"] is True
    assert await acks.settle(state, "000000001") is None
    assert [r["control"] for r in await acks.open_acknowledgements(state)] == ["000000002"]


def test_tasks_are_valid_events_with_stable_keys() -> None:
    for kind in ("ack_overdue", "ack_late", "ack_rejected"):
        event = acks.ack_task(record("000000007", NOW), kind, now=NOW, ack={"status": "rejected"})
        parsed = parse_event(event)
        assert parsed.data["kind"] == kind and "000000007" in parsed.data["title"]
        assert event["idempotency_key"] == acks.ack_task(record("000000007", NOW), kind)["idempotency_key"]


def test_acknowledgements_are_not_acknowledged() -> None:
    partner = Partner("acme")
    (ack_ic,) = translate((CORPUS / "x12" / "997_rejecting.x12").read_bytes(), partner).interchanges
    (contrl_ic,) = translate((CORPUS / "edifact" / "contrl_rejecting.edi").read_bytes(), partner).interchanges
    (asn_ic,) = translate((CORPUS / "x12" / "856_asn_bom_indent_00501.x12").read_bytes(), partner).interchanges
    assert (acks.needs_ack(ack_ic), acks.needs_ack(contrl_ic), acks.needs_ack(asn_ic)) == (False, False, True)


def test_997_answers_in_the_partners_delimiters() -> None:
    (ic,) = translate((CORPUS / "x12" / "945_shipped_pipe_00403.x12").read_bytes(), Partner("acme")).interchanges
    kind, text = acks.render_ack(ic, Partner("acme"), sender=("ZZ", "RETAILHUB"), control=3, when=NOW)
    assert kind == "997"
    assert "AK1|SW|104~" in text and "AK2|945|0001~" in text and "AK9|A|1|1|1~" in text
    assert "|ZZ|ACME3PL        |" in text  # sent back to the sender of the interchange


def test_contrl_rejects_an_interchange_with_no_good_message() -> None:
    raw = (CORPUS / "edifact" / "invrpt_partial_errors.edi").read_bytes().replace(b"QTY+145:80", b"QTY+999:80")
    (ic,) = translate(raw, Partner("acme")).interchanges
    assert ic.status == "rejected"
    kind, text = acks.render_ack(ic, Partner("acme"), sender=("ZZ", "RETAILHUB"), control=9, when=NOW)
    assert kind == "CONTRL"
    assert "UCI+EX1008+ACMEEU:ZZ+RETAILHUB:ZZ+4'" in text
    assert text.count("UCM+") == 2 and "+4+12'" in text

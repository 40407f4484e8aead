"""Dates and times read from documents: ASCII digits only, a time that is given must be one, never a guess."""

from __future__ import annotations

from datetime import datetime

import pytest

from connectors.edi_3pl import x12
from connectors.edi_3pl.mapping import Partner, iso_date, iso_datetime
from connectors.edi_3pl.translate import Document, translate
from connectors.edi_3pl.x12_map import map_ta1s
from tests.edi.conftest import CORPUS

PARTNER = Partner("acme", "SUP-ACME", "3PL-WEST")
ADJUSTMENT = (CORPUS / "x12" / "947_adjustment.x12").read_text()  # ISA 261127 1015, GS 20261127 1015
ISA_WHEN, GS_WHEN = "*261127*1015*", "*20261127*1015*"


@pytest.mark.parametrize(("date", "time", "stamp"), [
    ("20261127", "1015", "2026-11-27T10:15:00+00:00"),
    ("261127", "101530", "2026-11-27T10:15:30+00:00"),
    ("991231", "2359", "1999-12-31T23:59:00+00:00"),
    ("20261127", "", "2026-11-27T00:00:00+00:00"),  # no time given: midnight
])
def test_a_date_and_time_of_ascii_digits_is_read(date: str, time: str, stamp: str) -> None:
    assert iso_datetime(date, time) == stamp


@pytest.mark.parametrize(("date", "time"), [
    ("2026112\u0667", "1015"),  # ARABIC-INDIC DIGIT SEVEN: decimal, not ASCII
    ("\uff12\uff10\uff12\uff16\uff11\uff11\uff12\uff17", ""),  # fullwidth digits
    ("20261127", "10\u0661\u0665"),
    ("20261127", "101 "),
    ("20261127", "10:1"),
    ("20261127", "101"),
    ("20261127", "10153"),
    ("20261127", "10153012"),  # decimal seconds are the X12 mapper's to drop, not a time here
    ("20261127", "2400"),
    ("20261127", "1060"),
    ("20261127", "101560"),
    ("20261131", "1015"),
    ("2026-11-27", ""),
])
def test_anything_else_is_not_a_date_and_time(date: str, time: str) -> None:
    assert iso_datetime(date, time) is None


def test_iso_date_takes_ascii_digits_only() -> None:
    assert iso_date("20261127") == "2026-11-27"
    assert iso_date("2026112\u0667") is None


def adjustment(isa: str = ISA_WHEN, gs: str = GS_WHEN) -> Document:
    (ic,) = translate(ADJUSTMENT.replace(ISA_WHEN, isa).replace(GS_WHEN, gs).encode(), PARTNER).interchanges
    (doc,) = ic.documents
    return doc


@pytest.mark.parametrize(("isa", "gs", "stamp"), [
    ("*261127*10:1*", "*20261127*0930*", "2026-11-27T09:30:00+00:00"),
    ("*261127*    *", "*20261127*0930*", "2026-11-27T09:30:00+00:00"),  # ISA10 is mandatory: blank is no time
    ("*26112\u0667*1015*", "*20261127*0930*", "2026-11-27T09:30:00+00:00"),
    ("*261127*10:1*", "*20261127*09303012*", "2026-11-27T09:30:30+00:00"),  # GS05 HHMMSSDD
])
def test_documents_of_an_interchange_with_a_bad_isa_date_or_time_are_dated_by_their_gs(
        isa: str, gs: str, stamp: str) -> None:
    doc = adjustment(isa, gs)
    assert doc.accepted
    assert {event["time"] for event in doc.events} == {stamp}


def test_a_bad_isa_and_a_bad_gs_time_refuse_the_documents_naming_both() -> None:
    doc = adjustment("*261127*10:1*", "*20261127*93*")
    assert doc.events == []
    (error,) = doc.errors
    assert (error.segment_id, error.element, error.code) == ("ISA", 9, "8")
    assert error.reason == "ISA09/ISA10 '261127' '10:1' is not a date and time, nor is GS04/GS05 '20261127' '93'"


ASN = (CORPUS / "x12" / "856_asn_bom_indent_00501.x12").read_text()  # DTM*011*20261127*1200: shipped_at


@pytest.mark.parametrize(("dtm", "shipped_at"), [
    ("DTM*011*20261127*1200~", "2026-11-27T12:00:00+00:00"),
    ("DTM*011*20261127*120030~", "2026-11-27T12:00:30+00:00"),
    ("DTM*011*20261127*12003045~", "2026-11-27T12:00:30+00:00"),
    ("DTM*011*20261127~", "2026-11-27T00:00:00+00:00"),
])
def test_a_dtm_time_is_read_with_whole_seconds(dtm: str, shipped_at: str) -> None:
    (ic,) = translate(ASN.replace("DTM*011*20261127*1200~", dtm).encode(), PARTNER).interchanges
    (event,) = ic.documents[0].events
    assert event["data"]["shipped_at"] == shipped_at


@pytest.mark.parametrize(("dtm", "element", "code", "reason"), [
    ("DTM*011*20261127*10:1~", 3, "9", "DTM03 '10:1' is not a time (HHMM, HHMMSS, HHMMSSD or HHMMSSDD)"),
    ("DTM*011*20261127*101~", 3, "9", "DTM03 '101' is not a time (HHMM, HHMMSS, HHMMSSD or HHMMSSDD)"),
    ("DTM*011*2026112\u0667*1200~", 2, "8", "DTM02 '2026112\u0667' is not a date (CCYYMMDD)"),
])
def test_a_bad_dtm_date_or_time_refuses_the_document_naming_the_element(dtm: str, element: int, code: str,
                                                                      reason: str) -> None:
    (ic,) = translate(ASN.replace("DTM*011*20261127*1200~", dtm).encode(), PARTNER).interchanges
    (doc,) = ic.documents
    (error,) = doc.errors
    assert (error.segment, error.segment_id, error.element, error.code) == (6, "DTM", element, code)
    assert error.reason == reason
    assert doc.events == []


def test_a_ta1_in_an_interchange_with_a_bad_isa_time_is_refused_naming_the_isa() -> None:
    header = x12.Header("ZZ", "ACME3PL", "ZZ", "RETAILHUB", 9001, "", datetime(2026, 11, 27, 10, 0))
    text = x12.render_ta1(header, ["TA1", "000000001", "261127", "0959", "A", "000"])
    (ic,) = x12.read(text.replace("*261127*1000*", "*261127*10:1*"))
    (outcome,) = map_ta1s(ic, PARTNER)
    assert outcome.events == []
    (error,) = outcome.errors
    assert (error.segment_id, error.element) == ("ISA", 9)
    assert error.reason == "ISA09/ISA10 '261127' '10:1' is not a date and time"


EDIFACT = (CORPUS / "edifact" / "desadv_no_una_unoa_crlf.edi").read_text()  # UNB 261127:1015


@pytest.mark.parametrize(("old", "new", "reason"), [
    ("261127:1015", "261127:101", "UNB date/time '261127' '101' is not a date and time"),
    ("DTM+11:20261127:102", "DTM+11:2026112710:203", "DTM '2026112710' is not a date in format 203 (102, 203 or 204)"),
])
def test_a_bad_edifact_date_or_time_refuses_the_message_naming_the_element(old: str, new: str, reason: str) -> None:
    (ic,) = translate(EDIFACT.replace(old, new).encode(), PARTNER).interchanges
    (doc,) = ic.documents
    assert doc.events == []
    assert [e.reason for e in doc.errors] == [reason]

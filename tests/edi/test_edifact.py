"""The EDIFACT reader's service string handling and envelope checks, and the writer, on their own."""

from __future__ import annotations

from datetime import datetime

import pytest

from connectors.edi_3pl import edifact
from connectors.edi_3pl.errors import EdiError

BODY = "UNB+UNOA:3+ACME:ZZ+HUB:ZZ+261127:1015+R1'UNH+1+INVRPT:D:96A:UN'LIN+1++A:IN'UNT+3+1'UNZ+1+R1'"


def test_defaults_without_una() -> None:
    (ic,) = edifact.read(BODY)
    assert ic.separators == edifact.DEFAULT_SEPARATORS and ic.syntax == "UNOA"
    assert ic.messages[0].segments[1] == [["LIN"], ["1"], [""], ["A", "IN"]]
    assert ic.errors == [] and ic.messages[0].errors == []


def test_una_separators_and_release_character() -> None:
    text = "UNA|*,# !\n" + BODY.replace("+", "*").replace(":", "|").replace("'", "!\n").replace(
        "A|IN", "A#!B#*C#|D##|IN")
    (ic,) = edifact.read(text)
    assert ic.separators.element == "*" and ic.separators.release == "#"
    assert ic.messages[0].segments[1][3] == ["A!B*C|D#", "IN"]


@pytest.mark.parametrize("syntax", ["UNOA", "UNOB", "UNOC", "UNOY"])
def test_syntax_identifiers(syntax: str) -> None:
    (ic,) = edifact.read(BODY.replace("UNOA", syntax))
    assert ic.syntax == syntax and ic.errors == []


def test_unknown_syntax_identifier_is_an_error_with_position() -> None:
    (ic,) = edifact.read(BODY.replace("UNOA", "UNOQ"))
    assert str(ic.errors[0]).startswith("interchange R1, segment 1 (UNB), element 1.1: syntax identifier 'UNOQ'")


def test_counts_and_references_are_checked() -> None:
    (ic,) = edifact.read(BODY.replace("UNT+3+1", "UNT+4+2").replace("UNZ+1+R1", "UNZ+2+R9"))
    assert [(e.segment, e.element, e.code) for e in ic.messages[0].errors] == [(3, 1, "29"), (3, 2, "28")]
    assert [(e.segment_id, e.element, e.code) for e in ic.errors] == [("UNZ", 1, "29"), ("UNZ", 2, "28")]


def test_groups_count_in_unz() -> None:
    text = BODY.replace("UNH", "UNG+INVRPT+ACME+HUB+261127:1015+G1+UN+D:96A'UNH").replace(
        "UNZ+1", "UNE+1+G1'UNZ+1")
    (ic,) = edifact.read(text)
    assert ic.groups == ["G1"] and ic.messages[0].group == "G1" and ic.errors == []


def test_missing_unb_raises() -> None:
    with pytest.raises(EdiError, match="UNH before UNB"):
        edifact.read("UNH+1+INVRPT:D:96A:UN'")


def test_writer_escapes_service_characters_and_round_trips() -> None:
    header = edifact.Header("HUB", "ZZ", "ACME", "ZZ", 5, datetime(2026, 11, 27, 8, 30))
    text = edifact.render(header, [(("ORDERS", "D", "96A", "UN"), [["BGM", "220", "PO+1?'x:y", "9"]])])
    assert "BGM+220+PO?+1???'x?:y+9'" in text
    (ic,) = edifact.read(text)
    assert ic.messages[0].segments[1][2] == ["PO+1?'x:y"]
    assert ic.errors == [] and ic.messages[0].errors == []

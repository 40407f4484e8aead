"""Standard and encoding detection from a file's first bytes."""

from __future__ import annotations

import codecs

import pytest

from connectors.edi_3pl.detect import detect
from connectors.edi_3pl.errors import EdiError

X12 = "ISA*00*          *00*          *ZZ*A              *ZZ*B              *261127*1015*U*00401*000000001*0*P*>~"
EDIFACT = "UNB+UNOC:3+A:ZZ+B:ZZ+261127:1015+R1'"


@pytest.mark.parametrize("raw,standard,encoding", [
    (X12.encode(), "x12", "utf-8"),
    (codecs.BOM_UTF8 + X12.encode(), "x12", "utf-8"),
    (codecs.BOM_UTF16_LE + X12.encode("utf-16-le"), "x12", "utf-16-le"),
    (X12.encode("utf-16-be"), "x12", "utf-16-be"),
    (X12.encode("cp037"), "x12", "cp037 (EBCDIC)"),
    (("\r\n " + X12).encode(), "x12", "utf-8"),
    ((X12 + "N1*ST*Caf\xe9").encode("latin-1"), "x12", "latin-1"),
    (EDIFACT.encode("latin-1"), "edifact", "latin-1"),
    (EDIFACT.replace("UNOC", "UNOY").encode(), "edifact", "utf-8"),
    (("UNA:+.? '" + EDIFACT.replace("UNOC", "UNOA")).encode(), "edifact", "ascii"),
    (EDIFACT.replace("UNOC", "UNOA").encode("cp037"), "edifact", "cp037 (EBCDIC)"),
], ids=["x12", "bom", "utf16-bom", "utf16-nobom", "ebcdic", "leading-space", "latin1", "unoc", "unoy", "una",
        "edifact-ebcdic"])
def test_detects_standard_and_encoding(raw: bytes, standard: str, encoding: str) -> None:
    found = detect(raw)
    assert (found.standard, found.encoding) == (standard, encoding)
    assert found.text.startswith(("ISA", "UNA", "UNB"))


@pytest.mark.parametrize("raw", [b"", b"%PDF-1.4", b"<?xml version='1.0'?>", b"\x00\x01\x02"])
def test_refuses_what_is_not_edi(raw: bytes) -> None:
    with pytest.raises(EdiError, match="not an X12 or EDIFACT document"):
        detect(raw)

"""The X12 reader's tolerance and envelope checks, and the writer, on their own."""

from __future__ import annotations

from datetime import datetime

import pytest

from connectors.edi_3pl import x12
from connectors.edi_3pl.errors import EdiError


def isa(version: str = "00401", sep: str = "*", rep: str = "U", comp: str = ">") -> str:
    fields = ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", "ACME".ljust(15), "ZZ", "HUB".ljust(15), "261127", "1015",
              rep, version, "000000007", "0", "P", comp]
    return sep.join(fields)


def interchange(version: str = "00401", term: str = "~", after: str = "", sep: str = "*", rep: str = "U",
                body: str = "ST*846*0001~LIN**SK*A~SE*3*0001") -> str:
    segs = [isa(version, sep, rep), "GS*IB*ACME*HUB*20261127*1015*7*X*004010", *body.split("~"), "GE*1*7",
            "IEA*1*000000007"]
    return "".join(s.replace("*", sep) + term + after for s in segs)


@pytest.mark.parametrize("term,after", [("~", ""), ("~", "\n"), ("~", "\r\n"), ("\n", ""), ("\r\n", "")],
                         ids=["plain", "lf-after", "crlf-after", "lf-instead", "crlf-instead"])
def test_terminators_and_line_breaks(term: str, after: str) -> None:
    (ic,) = x12.read(interchange(term=term, after=after))
    assert ic.delimiters.segment == ("~" if term == "~" else "\n")
    assert [s[0] for s in ic.groups[0].sets[0].segments] == ["ST", "LIN", "SE"]
    assert ic.errors == [] and ic.groups[0].sets[0].errors == []


def test_delimiters_come_from_the_isa() -> None:
    (ic,) = x12.read(interchange(sep="|"))
    assert ic.delimiters == x12.Delimiters("|", ">", "~", None)
    assert ic.groups[0].sets[0].segments[1] == ["LIN", "", "SK", "A"]


def test_repetition_separator_only_from_version_00402() -> None:
    (old,) = x12.read(interchange("00401", rep="U"))
    (new,) = x12.read(interchange("00501", rep="^"))
    assert old.delimiters.repetition is None and new.delimiters.repetition == "^"
    with pytest.raises(EdiError, match="ISA11 repetition separator 'U' is not a usable delimiter for version 00501"):
        x12.read(interchange("00501", rep="U"))


def test_any_version_and_indentation_are_read() -> None:
    (ic,) = x12.read("  \n" + interchange("00200", after="\n    ").rstrip())
    assert ic.version == "00200" and ic.control == "000000007"


def test_envelope_errors_name_segment_and_element() -> None:
    text = interchange(body="ST*846*0001~LIN**SK*A~SE*9*0002").replace("GE*1*7", "GE*2*8")
    (ic,) = x12.read(text.replace("IEA*1*000000007", "IEA*1*000000008"))
    set_errors = [str(e) for e in ic.groups[0].sets[0].errors]
    assert set_errors == [
        "interchange 000000007, group 7, set 0001, segment 3 (SE), element 1: SE01 says '9' segments, the set has 3",
        "interchange 000000007, group 7, set 0001, segment 3 (SE), element 2: SE02 '0002' does not match ST02 '0001'",
    ]
    assert [e.code for e in ic.groups[0].errors] == ["5", "4"]
    assert [str(e) for e in ic.errors] == [
        "interchange 000000007, segment 7 (IEA), element 2: IEA02 '000000008' does not match ISA13 '000000007'"]


@pytest.mark.parametrize("date,time,notes", [
    ("261127", "1015", []),
    ("240229", "2359", []),  # a leap day, the last minute of it
    ("000229", "0000", []),  # 2000 was a leap year
    ("260229", "1015", ["014"]),  # 2026 is not
    ("261131", "1015", ["014"]),
    ("261327", "1015", ["014"]),
    ("261100", "1015", ["014"]),
    ("20261127", "1015", ["014"]),
    ("26-1-27", "1015", ["014"]),
    ("\u0662\u0666\u0661\u0661\u0662\u0667", "1015", ["014"]),  # Arabic-Indic digits are not X12 digits
    ("261127", "2400", ["015"]),
    ("261127", "1060", ["015"]),
    ("261127", "101", ["015"]),
    ("261127", "10:1", ["015"]),
    ("261127", "    ", ["015"]),
    ("261131", "2460", ["014", "015"]),
])
def test_interchange_date_and_time_are_checked(date: str, time: str, notes: list[str]) -> None:
    (ic,) = x12.read(interchange().replace("*261127*1015*", f"*{date}*{time}*"))
    assert [e.code for e in ic.errors] == notes
    assert [s[0] for s in ic.groups[0].sets[0].segments] == ["ST", "LIN", "SE"]
    assert ic.groups[0].errors == [] and ic.groups[0].sets[0].errors == []


def test_bad_interchange_date_and_time_name_the_isa_element() -> None:
    (ic,) = x12.read(interchange().replace("*261127*1015*", "*261131*2460*").replace("000000007*0", "00000000X*0"))
    assert [str(e) for e in ic.errors] == [
        "interchange 00000000X, segment 1 (ISA), element 13: ISA13 control number '00000000X' is not numeric",
        "interchange 00000000X, segment 1 (ISA), element 9: ISA09 interchange date '261131' is not a valid date "
        "(YYMMDD)",
        "interchange 00000000X, segment 1 (ISA), element 10: ISA10 interchange time '2460' is not a valid time "
        "(HHMM)",
        "interchange 00000000X, segment 7 (IEA), element 2: IEA02 '000000007' does not match ISA13 '00000000X'",
    ]


def test_missing_trailers_are_reported_not_raised() -> None:
    text = isa() + "~GS*IB*A*B*20261127*1015*7*X*004010~ST*846*0001~LIN**SK*A~"
    (ic,) = x12.read(text)
    assert [e.code for e in ic.groups[0].sets[0].errors] == ["2"]
    assert [e.code for e in ic.groups[0].errors] == ["3"]
    assert "IEA missing" in str(ic.errors[0])


def test_two_interchanges_with_different_delimiters() -> None:
    first = interchange()
    second = interchange(sep="|", term="!").replace("000000007", "000000008")
    ics = x12.read(first + "\n" + second)
    assert [(ic.control, ic.delimiters.element) for ic in ics] == [("000000007", "*"), ("000000008", "|")]


@pytest.mark.parametrize("text,message", [
    ("", "the file is empty"),
    ("ISA*00*   ", "ISA is incomplete: 2 of 16 elements"),
    ("ISAX00", "ISA element separator 'X' is not a usable delimiter"),
    ("GS*IB~", "expected ISA at character 0"),
])
def test_unreadable_isa_raises_with_position(text: str, message: str) -> None:
    with pytest.raises(EdiError, match=message):
        x12.read(text)


def test_writer_round_trip_and_refuses_delimiters_in_values() -> None:
    header = x12.Header("ZZ", "HUB", "ZZ", "ACME", 42, "PO", datetime(2026, 11, 27, 8, 30))
    text = x12.render(header, [("850", [["BEG", "00", "SA", "PO-1", "", "20261127"], ["CTT", "0"]])])
    (ic,) = x12.read(text)
    assert (ic.control, ic.groups[0].control, ic.groups[0].sets[0].segments[1]) == (
        "000000042", "42", ["BEG", "00", "SA", "PO-1", "", "20261127"])
    assert ic.errors == [] and ic.groups[0].errors == [] and ic.groups[0].sets[0].errors == []
    assert len(text.splitlines()[0]) == 106
    with pytest.raises(EdiError, match=r"segment 4 \(BEG\), element 3: value 'PO\*1' contains the element separator"):
        x12.render(header, [("850", [["BEG", "00", "SA", "PO*1"]])])

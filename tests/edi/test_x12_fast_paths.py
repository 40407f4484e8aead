"""The X12 reader's and 846 mapper's fast paths give what the careful paths give, layout by layout."""

from __future__ import annotations

import gc
import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.edi_3pl import x12
from connectors.edi_3pl._gc import paused_gc
from connectors.edi_3pl.errors import EdiError
from connectors.edi_3pl.mapping import DocumentId, Partner
from connectors.edi_3pl.translate import translate
from tests.edi.test_x12 import interchange, isa

PARTNER = Partner("acme", supplier="SUP-ACME", location="3PL-WEST")
BODY = ["ST*846*0001", "BIA*00*MM*INV-1*20261127*0600", "N1*WH*West*9*3PL-WEST", "LIN**SK*A", "QTY*17*5*EA",
        "LIN**SK*B", "QTY*17*7*EA", "QTY*33*6*EA", "SE*9*0001"]


def _file(body: list[str], breaks: list[str]) -> str:
    segs = [isa(), "GS*IB*ACME*HUB*20261127*1015*7*X*004010", *body, "GE*1*7", "IEA*1*000000007"]
    return "".join(seg + "~" + breaks[n % len(breaks)] for n, seg in enumerate(segs))


def _shape(ic: x12.Interchange) -> list[object]:
    return [[(s.id, s.control, list(s.segments), [str(e) for e in s.errors]) for s in g.sets] + [str(e) for e in g.errors]
            for g in ic.groups] + [str(e) for e in ic.errors]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["", "\n", "\r\n", " \n  ", "\t"]), min_size=1, max_size=8))
def test_any_mix_of_line_breaks_reads_like_none(breaks: list[str]) -> None:
    (plain,) = x12.read(_file(BODY, [""]))
    (mixed,) = x12.read(_file(BODY, breaks))
    assert _shape(mixed) == _shape(plain)
    assert plain.errors == [] and plain.groups[0].sets[0].errors == []


def test_second_interchange_is_found_after_line_broken_first() -> None:
    first = _file(BODY, ["\n"])
    second = interchange(sep="|", term="!").replace("000000007", "000000008")
    ics = x12.read(first + second)
    assert [(ic.control, ic.delimiters.element, ic.errors) for ic in ics] == [
        ("000000007", "*", []), ("000000008", "|", [])]
    assert ics[1].groups[0].sets[0].segments[1] == ["LIN", "", "SK", "A"]


def test_bad_tags_after_many_good_ones_are_still_reported_with_positions() -> None:
    body = ["ST*846*0001", *["LIN**SK*A"] * 50, "L*1", "LINX*2", "N1", "N1*WH", "*LIN", "LIN", "SE*58*0001"]
    (ic,) = x12.read(_file(body, ["\n"]))
    tset = ic.groups[0].sets[0]
    assert [(e.segment, e.segment_id, e.code) for e in tset.errors] == [
        (52, "L", "1"), (53, "LINX", "1"), (56, "", "1")]
    assert len(tset.segments) == 58 and tset.segments[-2] == ["LIN"]


def test_segment_positions_outside_sets_count_skipped_empty_segments() -> None:
    text = _file(["ST*846*0001", "LIN**SK*A", "SE*3*0001"], ["\n"]).replace("GE*1*7~", "~~ZZ*1~GE*1*7~")
    (ic,) = x12.read(text)
    assert [(e.segment, e.segment_id) for e in ic.errors] == [(6, "ZZ")]


def test_segments_split_on_demand_like_a_list() -> None:
    (ic,) = x12.read(_file(BODY, ["\n"]))
    segments = ic.groups[0].sets[0].segments
    assert len(segments) == 9 and ic.segment_count == 9
    assert segments[3] == ["LIN", "", "SK", "A"] and segments[-1] == ["SE", "9", "0001"]
    assert segments[4:6] == [["QTY", "17", "5", "EA"], ["LIN", "", "SK", "B"]]
    assert [s[0] for s in segments] == [s[0] for s in segments] == [b.split("*")[0] for b in BODY]


def test_846_quantities_fast_and_careful_paths_agree() -> None:
    careful = [seg.replace("QTY*17*", "QTY* 17 *") for seg in BODY]
    careful[6] = "QTY*17*3*EA~QTY*17*4.0"  # the same qualifier twice on a line adds up
    careful[-1] = "SE*10*0001"
    fast = translate(_file(BODY, ["\n"]).encode(), PARTNER).events
    slow = translate(_file(careful, ["\n"]).encode(), PARTNER).events
    assert [e["data"]["status"] for e in fast] == [e["data"]["status"] for e in slow] == [
        {"on_hand": 5}, {"on_hand": 7, "available": 6}]


def test_846_quantity_with_non_decimal_digits_is_a_positioned_error() -> None:
    body = [seg.replace("QTY*17*5*", "QTY*17*\u00b25*") for seg in BODY]
    (doc,) = translate(_file(body, ["\n"]).encode(), PARTNER).interchanges[0].documents
    assert [(e.segment, e.segment_id, e.element, e.code) for e in doc.errors] == [(5, "QTY", 2, "6")]
    assert "'²5' is not a number" in str(doc.errors[0])


def test_quantity_before_any_line_is_refused_on_the_careful_path() -> None:
    body = [*BODY[:3], "QTY*17*5*EA", *BODY[3:-1], "SE*10*0001"]
    (doc,) = translate(_file(body, [""]).encode(), PARTNER).interchanges[0].documents
    assert [(e.segment, e.code, e.reason) for e in doc.errors] == [(4, "2", "QTY before any LIN")]


def test_event_ids_are_the_hash_of_the_whole_key_line_after_line() -> None:
    doc = DocumentId(PARTNER, "x12", "000000007", "7", "0001", "2026-11-27T00:00:00+00:00")
    for line in (1, 2, 12, "header", 2):
        event = doc.event("stock.snapshot", {}, "A@3PL-WEST", line)
        key = f"edi:acme:x12:000000007:7:0001:{line}"
        assert event["idempotency_key"] == key
        assert event["id"] == "edi-" + hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
        assert (event["source"], event["time"]) == ("urn:hub:edi:acme", "2026-11-27T00:00:00+00:00")


def test_paused_gc_resumes_and_leaves_anothers_freeze_alone() -> None:
    assert gc.isenabled()
    before = gc.get_freeze_count()  # another test in this process may have frozen objects already
    with paused_gc():
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled() and gc.get_freeze_count() == before
    kept = [object()]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with paused_gc():
            kept.append(object())
        assert gc.isenabled() and gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_paused_gc_resumes_after_an_error() -> None:
    try:
        with paused_gc():
            raise EdiError("boom")
    except EdiError:
        pass
    assert gc.isenabled()

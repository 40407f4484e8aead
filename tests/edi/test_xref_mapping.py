"""Lines that carry only a GTIN or a vendor part number, mapped through the partner's item cross-reference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors.edi_3pl import edifact_map, x12_map
from connectors.edi_3pl.cli import edi
from connectors.edi_3pl.edifact import Segment as EdifactSegment
from connectors.edi_3pl.errors import EdiError
from connectors.edi_3pl.mapping import DocumentId, Partner
from connectors.edi_3pl.xref import load_item_xref

XREF_DIR = Path(__file__).parent / "xref"
WITH_XREF = Partner("acme", supplier="SUP-ACME", location="DC-01", item_xref=load_item_xref(XREF_DIR / "items.csv"))
WITHOUT_XREF = Partner("acme", supplier="SUP-ACME", location="DC-01")
WHEN = "2026-11-27T10:15:00+00:00"


def x12_doc(partner: Partner = WITH_XREF) -> DocumentId:
    return DocumentId(partner, "x12", "000000001", "1", "0001", WHEN)


def edifact_doc(partner: Partner = WITH_XREF) -> DocumentId:
    return DocumentId(partner, "edifact", "R1", "", "1", WHEN)


def x12_segs(*texts: str) -> list[list[str]]:
    return [text.split("*") for text in texts]


def edifact_segs(*texts: str) -> list[EdifactSegment]:
    return [[element.split(":") for element in text.split("+")] for text in texts]


def asn(*lines: str) -> list[list[str]]:
    return x12_segs("ST*856*0001", "BSN*00*ASN-1*20261127*1200", *lines, "SE*9*0001")


def order(*lines: str) -> list[list[str]]:
    return x12_segs("ST*850*0001", "BEG*00*SA*PO-1**20261127", *lines, "CTT*1", "SE*9*0001")


def test_x12_856_with_upc_only_lines_gets_our_skus_and_keeps_the_gtins() -> None:
    (event,) = x12_map.map_856(asn("LIN**UP*012345678905", "SN1**12*EA", "LIN**EN*0012345678912", "SN1**3*EA"),
                               x12_doc())
    assert event["data"]["lines"] == [{"sku": "SKU-1001", "quantity": 12, "gtin": "012345678905"},
                                      {"sku": "SKU-1002", "quantity": 3, "gtin": "0012345678912"}]


def test_x12_850_with_upc_or_vendor_part_only_lines() -> None:
    (event,) = x12_map.map_850(order("PO1*1*24*EA*3.5**UP*012345678905", "PO1*2*6*EA***VN*ACME-3003",
                                     "PO1*3*1*EA***VP*A-2001"), x12_doc())
    assert [(line["line"], line["sku"]) for line in event["data"]["lines"]] == [
        (1, "SKU-1001"), (2, "SKU-3003"), (3, "SKU-2001")]


def test_x12_846_with_a_upc_only_line_beside_a_sku_line() -> None:
    segs = x12_segs("ST*846*0001", "BIA*00*MM*INV-1*20261127", "LIN**UP*012345678905", "QTY*17*4*EA",
                    "LIN**SK*SKU-OURS", "QTY*17*2*EA", "SE*7*0001")
    events = x12_map.map_846(segs, x12_doc())
    assert [(e["data"]["sku"], e["data"]["status"]) for e in events] == [("SKU-1001", {"on_hand": 4}),
                                                                         ("SKU-OURS", {"on_hand": 2})]


def test_x12_vendor_part_resolves_when_the_gtin_is_unknown() -> None:
    (event,) = x12_map.map_856(asn("LIN**UP*036000291452*VN*ACME-1002", "SN1**1*EA"), x12_doc())
    assert event["data"]["lines"][0]["sku"] == "SKU-1002"


def test_x12_upc_element_of_a_warehouse_line_is_looked_up() -> None:
    segs = x12_segs("ST*944*0001", "W17*F*20261127*RCV-1", "W07*5*EA*012345678905", "SE*4*0001")
    (event,) = x12_map.map_944(segs, x12_doc())
    assert event["data"]["lines"] == [{"sku": "SKU-1001", "quantity_received": 5}]


def test_x12_sk_present_wins_over_the_table() -> None:
    (event,) = x12_map.map_856(asn("LIN**UP*012345678905*SK*SKU-OURS*VN*ACME-1002", "SN1**1*EA"), x12_doc())
    assert event["data"]["lines"][0] == {"sku": "SKU-OURS", "quantity": 1, "gtin": "012345678905"}


def test_x12_unresolved_line_is_a_positioned_error_naming_every_id() -> None:
    with pytest.raises(EdiError) as caught:
        x12_map.map_856(asn("LIN**SK*SKU-1", "SN1**1*EA", "LIN**UP*036000291452*LT*L-1*VN*ACME-9", "SN1**1*EA"),
                        x12_doc())
    error = caught.value
    assert error.reason == ("no SK or BP product id in LIN, and UP 036000291452 / VN ACME-9 not in the item "
                            "cross-reference items.csv")
    assert (error.segment, error.segment_id, error.element, error.code) == (5, "LIN", 2, x12_map.MISSING)


def test_x12_gtin_only_line_without_a_table_says_there_is_none() -> None:
    with pytest.raises(EdiError) as caught:
        x12_map.map_850(order("PO1*1*24*EA***UP*012345678905"), x12_doc(WITHOUT_XREF))
    assert caught.value.reason == ("no SK or BP product id in PO1, and no item cross-reference to translate "
                                   "UP 012345678905")
    assert (caught.value.segment, caught.value.element) == (3, 6)


def test_edifact_lin_with_only_a_gtin() -> None:
    segs = edifact_segs("UNH+1+DESADV:D:96A:UN", "BGM+351+DES-1+9", "LIN+1++4006381333931:SRV", "QTY+12:4",
                        "UNT+5+1")
    (event,) = edifact_map.map_desadv(segs, edifact_doc())
    assert event["data"]["lines"] == [{"sku": "SKU-2001", "quantity": 4, "gtin": "4006381333931"}]


def test_edifact_pia_with_only_a_supplier_article_number() -> None:
    segs = edifact_segs("UNH+1+RECADV:D:96A:UN", "BGM+632+RCV-1+9", "LIN+1", "PIA+5+ACME-3003:SA", "QTY+48:7",
                        "UNT+6+1")
    (event,) = edifact_map.map_recadv(segs, edifact_doc())
    assert event["data"]["lines"] == [{"sku": "SKU-3003", "quantity_received": 7, "quantity_damaged": 0}]


def test_edifact_without_a_table_takes_sa_as_our_sku_as_before() -> None:
    segs = edifact_segs("UNH+1+RECADV:D:96A:UN", "BGM+632+RCV-1+9", "LIN+1", "PIA+5+ACME-3003:SA", "QTY+48:7",
                        "UNT+6+1")
    (event,) = edifact_map.map_recadv(segs, edifact_doc(WITHOUT_XREF))
    assert event["data"]["lines"][0]["sku"] == "ACME-3003"


def test_edifact_buyer_item_number_wins_over_the_table() -> None:
    segs = edifact_segs("UNH+1+ORDERS:D:96A:UN", "BGM+220+PO-1+9", "LIN+1++4006381333931:SRV",
                        "PIA+1+SKU-OURS:IN+ACME-3003:SA", "QTY+21:2", "UNT+6+1")
    (event,) = edifact_map.map_orders(segs, edifact_doc())
    assert event["data"]["lines"][0]["sku"] == "SKU-OURS"


def test_edifact_unresolved_line_is_a_positioned_error_naming_every_id() -> None:
    segs = edifact_segs("UNH+1+INVRPT:D:96A:UN", "LIN+1++036000291452:SRV", "PIA+5+X-9:SA", "QTY+145:1",
                        "UNT+5+1")
    with pytest.raises(EdiError) as caught:
        edifact_map.map_invrpt(segs, edifact_doc())
    error = caught.value
    assert error.reason == ("no buyer's (IN, BP) item number in LIN, and SRV 036000291452 / SA X-9 not in the "
                            "item cross-reference items.csv")
    assert (error.segment, error.segment_id, error.element) == (2, "LIN", 3)


def test_cli_parse_uses_the_item_xref() -> None:
    result = CliRunner().invoke(edi, ["parse", str(XREF_DIR / "856_upc_only.x12"), "--json",
                                      "--item-xref", str(XREF_DIR / "items.csv")])
    assert result.exit_code == 0, result.output
    (event,) = json.loads(result.output)["events"]
    assert [line["sku"] for line in event["data"]["lines"]] == ["SKU-1001", "SKU-1002"]
    without = CliRunner().invoke(edi, ["parse", str(XREF_DIR / "856_upc_only.x12")])
    assert without.exit_code == 2
    assert "no item cross-reference to translate UP 012345678905" in without.output


def test_cli_parse_refuses_a_bad_item_xref(tmp_path: Path) -> None:
    bad = tmp_path / "items.csv"
    bad.write_text("sku,gtin\nA,12345\n")
    result = CliRunner().invoke(edi, ["parse", str(XREF_DIR / "856_upc_only.x12"), "--item-xref", str(bad)])
    assert result.exit_code == 2
    assert "line 2: gtin '12345' is not 8, 12, 13 or 14 digits" in result.output

"""The item cross-reference table: loading, its checks with file and line, and GTIN normalisation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connectors.edi_3pl.xref import ItemXrefError, gtin14, load_item_xref

ITEMS = Path(__file__).parent / "xref" / "items.csv"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "items.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_maps_gtins_and_vendor_parts_to_skus() -> None:
    xref = load_item_xref(ITEMS)
    assert xref.name == "items.csv"
    assert xref.by_gtin == {"00012345678905": "SKU-1001", "00012345678912": "SKU-1002",
                            "04006381333931": "SKU-2001"}
    assert xref.by_vendor_part == {"ACME-1001": "SKU-1001", "ACME-1002": "SKU-1002", "A-2001": "SKU-2001",
                                   "ACME-3003": "SKU-3003"}


@pytest.mark.parametrize("given", ["012345678912", "0012345678912", "00012345678912"],
                         ids=["upc-12", "ean-13", "gtin-14"])
def test_a_gtin_matches_in_any_length(given: str) -> None:
    # The table holds SKU-1002 as a GTIN-14, SKU-1001 as a UPC-12; both match the other forms.
    xref = load_item_xref(ITEMS)
    assert xref.sku_for_gtin(given) == "SKU-1002"
    assert xref.sku_for_gtin(given.replace("12345678912", "12345678905")) == "SKU-1001"


def test_gtin14_pads_valid_lengths_and_refuses_others() -> None:
    assert gtin14("96385074") == "00000096385074"
    assert gtin14(" 012345678905 ") == "00012345678905"
    assert [gtin14(v) for v in ("", "1234567", "123456789", "01234567890A", "１２３４５６７８")] == [None] * 5


def test_gtins_come_before_vendor_parts_and_unknown_ids_give_none() -> None:
    xref = load_item_xref(ITEMS)
    assert xref.sku_for(["012345678905"], ["ACME-1002"]) == "SKU-1001"
    assert xref.sku_for(["036000291452"], ["ACME-1002"]) == "SKU-1002"
    assert xref.sku_for(["036000291452", "not-a-gtin"], ["acme-1002"]) is None


def test_a_byte_order_mark_blank_lines_and_header_case_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_bytes("\ufeffSKU, GTIN\r\nA,96385074\r\n\r\n,\r\nA,96385074\r\n".encode())
    assert load_item_xref(path).by_gtin == {"00000096385074": "A"}


@pytest.mark.parametrize("text,line,what", [
    ("sku,gtin\n,012345678905\n", 2, "sku is missing"),
    ("sku,gtin\nA,012345678905\nB,12345\n", 3, "gtin '12345' is not 8, 12, 13 or 14 digits"),
    ("sku,gtin\nA,01234567890A\n", 2, "gtin '01234567890A' is not 8, 12, 13 or 14 digits"),
    ("sku,gtin\nA,012345678906\n", 2, "gtin '012345678906' has a wrong check digit"),
    ("sku,gtin\nA,012345678905\nB,00012345678905\n", 3,
     "gtin 00012345678905 is mapped to 'B' here and to 'A' on line 2"),
    ("sku,vendor_part\nA,P-1\nA,P-2\nC,P-1\n", 4, "vendor_part 'P-1' is mapped to 'C' here and to 'A' on line 2"),
    ("sku,gtin,vendor_part\nA,,\n", 2, "neither gtin nor vendor_part is given"),
    ("sku,gtin\nA,012345678905,extra\n", 2, "3 columns where the header has 2"),
    ("sku,gtn\nA,012345678905\n", 1, "unknown column(s) ['gtn'] (the columns are sku, gtin and vendor_part)"),
    ("gtin,vendor_part\n012345678905,P-1\n", 1, "the header row needs a sku column and a gtin or vendor_part column"),
    ("sku\nA\n", 1, "the header row needs a sku column and a gtin or vendor_part column"),
    ("sku,gtin,gtin\n", 1, "a column is named twice in ['sku', 'gtin', 'gtin']"),
    ("", 1, "the header row needs a sku column and a gtin or vendor_part column"),
    (f"sku,vendor_part\nA,P-1\nB,{'x' * 131_073}\n", 3, "not readable as CSV: field larger than field limit (131072)"),
    (f"sku,{'x' * 131_073}\n", 1, "not readable as CSV: field larger than field limit (131072)"),
], ids=["no-sku", "short-gtin", "letters", "check-digit", "gtin-two-skus", "part-two-skus", "no-id", "columns",
        "unknown-column", "no-sku-column", "no-id-column", "twice", "empty", "huge-field", "huge-header"])
def test_a_bad_row_names_the_file_the_line_and_what_is_wrong(tmp_path: Path, text: str, line: int,
                                                            what: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ItemXrefError) as caught:
        load_item_xref(path)
    assert str(caught.value) == f"item cross-reference {path}, line {line}: {what}"


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ItemXrefError, match=re.escape(f"item cross-reference {tmp_path / 'nope.csv'}: cannot be read")):
        load_item_xref(tmp_path / "nope.csv")

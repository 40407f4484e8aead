"""A trading partner's item cross-reference: its GTINs and vendor part numbers -> our SKUs.

Suppliers and 3PLs often identify an item only by its GTIN / UPC or by their own part number; the
table, a CSV kept beside the hub's config, translates those into the SKU every canonical event uses.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

COLUMNS = ("sku", "gtin", "vendor_part")
_GTIN_LENGTHS = (8, 12, 13, 14)


class ItemXrefError(ValueError):
    """A cross-reference file that cannot be used, with the file, the line and what is wrong."""


@dataclass(frozen=True, slots=True)
class ItemXref:
    """The loaded table; GTINs are keyed by their 14-digit form, so UPC-12, EAN-13 and GTIN-14 all match."""

    name: str  # the file's name, for error messages on documents
    by_gtin: Mapping[str, str]
    by_vendor_part: Mapping[str, str]

    def sku_for_gtin(self, gtin: str) -> str | None:
        key = gtin14(gtin)
        return self.by_gtin.get(key) if key else None

    def sku_for(self, gtins: Sequence[str], parts: Sequence[str]) -> str | None:
        """The SKU of the first of the line's GTINs, else of its vendor part numbers, that the table knows."""
        for gtin in gtins:
            sku = self.sku_for_gtin(gtin)
            if sku:
                return sku
        return next((self.by_vendor_part[p] for p in parts if p in self.by_vendor_part), None)


def not_translated(carried: Sequence[tuple[str, str]], xref: ItemXref | None) -> str:
    """How a line's ids (qualifier, id) failed to translate, to follow "no SKU in ..." in an error."""
    ids = " / ".join(f"{qualifier} {value}" for qualifier, value in carried)
    if xref is None:
        return f", and no item cross-reference to translate {ids}"
    return f", and {ids} not in the item cross-reference {xref.name}"


def gtin14(value: str) -> str | None:
    """The GTIN left-padded with zeros to 14 digits; None when it is not 8, 12, 13 or 14 digits."""
    value = value.strip()
    if len(value) not in _GTIN_LENGTHS or not value.isdecimal() or not value.isascii():
        return None
    return value.zfill(14)


def load_item_xref(path: Path) -> ItemXref:
    """Read and check the table at `path`; ItemXrefError names the file and, for a bad row, its line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ItemXrefError(f"item cross-reference {path}: cannot be read: {exc}") from None
    return parse_item_xref(text, path)


def parse_item_xref(text: str, path: Path) -> ItemXref:
    """The table in CSV `text` (read from `path`, which error messages name)."""
    by_gtin: dict[str, tuple[str, int]] = {}
    by_part: dict[str, tuple[str, int]] = {}
    for line, sku, gtin, part in _rows(text, path):
        if gtin:
            key = gtin14(gtin)
            if key is None:
                raise _bad(path, line, f"gtin {gtin!r} is not 8, 12, 13 or 14 digits")
            if not _check_digit_ok(key):
                raise _bad(path, line, f"gtin {gtin!r} has a wrong check digit")
            _claim(by_gtin, key, sku, line, path, f"gtin {gtin}")
        if part:
            _claim(by_part, part, sku, line, path, f"vendor_part {part!r}")
    return ItemXref(path.name, {k: v[0] for k, v in by_gtin.items()}, {k: v[0] for k, v in by_part.items()})


def _rows(text: str, path: Path) -> Iterator[tuple[int, str, str, str]]:
    """(line, sku, gtin, vendor_part) of each data row, after checking the header and the sku."""
    lines = _csv_lines(text, path)
    header = [name.strip().lower() for name in next(lines, (1, []))[1]]
    _check_header(header, path)
    column = {name: header.index(name) for name in COLUMNS if name in header}
    for line, row in lines:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise _bad(path, line, f"{len(row)} columns where the header has {len(header)}")
        sku, gtin, part = (row[column[name]].strip() if name in column else "" for name in COLUMNS)
        if not sku:
            raise _bad(path, line, "sku is missing")
        if not gtin and not part:
            raise _bad(path, line, "neither gtin nor vendor_part is given")
        yield line, sku, gtin, part


def _csv_lines(text: str, path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of each CSV row; a row the csv module cannot read is an ItemXrefError naming its line."""
    reader = csv.reader(io.StringIO(text))
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:  # e.g. a field over the csv module's limit of 131,072 characters
        raise _bad(path, reader.line_num, f"not readable as CSV: {exc}") from None


def _check_header(header: list[str], path: Path) -> None:
    # Unknown columns are refused rather than ignored, so that a misspelt "gtin" is not silently unused.
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise _bad(path, 1, f"unknown column(s) {unknown} (the columns are sku, gtin and vendor_part)")
    if len(set(header)) != len(header):
        raise _bad(path, 1, f"a column is named twice in {header}")
    if "sku" not in header or not {"gtin", "vendor_part"} & set(header):
        raise _bad(path, 1, "the header row needs a sku column and a gtin or vendor_part column")


def _claim(table: dict[str, tuple[str, int]], key: str, sku: str, line: int, path: Path, what: str) -> None:
    """Map `key` to `sku`; a key already mapped to another SKU would make lookups ambiguous."""
    known = table.setdefault(key, (sku, line))
    if known[0] != sku:
        raise _bad(path, line, f"{what} is mapped to {sku!r} here and to {known[0]!r} on line {known[1]}")


def _check_digit_ok(gtin: str) -> bool:
    """GS1 mod-10 check digit of a 14-digit GTIN (weights 3 and 1 from the left)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(gtin[:13]))
    return (10 - total % 10) % 10 == int(gtin[13])


def _bad(path: Path, line: int, what: str) -> ItemXrefError:
    return ItemXrefError(f"item cross-reference {path}, line {line}: {what}")

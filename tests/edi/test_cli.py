"""`hub edi parse` and `hub edi render` through click's runner, on corpus files."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from canonical.examples import example_event
from connectors.edi_3pl.cli import edi
from tests.edi.conftest import CORPUS


def test_parse_prints_events_and_exits_zero() -> None:
    result = CliRunner().invoke(edi, ["parse", str(CORPUS / "x12" / "846_inventory_ebcdic.x12"), "--partner", "acme",
                                      "--location", "3PL-WEST"])
    assert result.exit_code == 0, result.output
    assert "x12, cp037 (EBCDIC)" in result.output
    assert "stock.snapshot SKU-1001@3PL-WEST" in result.output


def test_parse_json_names_error_positions_and_exits_one() -> None:
    result = CliRunner().invoke(edi, ["parse", str(CORPUS / "edifact" / "invrpt_partial_errors.edi"), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    (error,) = report["interchanges"][0]["documents"][1]["errors"]
    assert (error["interchange"], error["set"], error["segment"], error["segment_id"], error["element"]) == (
        "EX1008", "2", 5, "QTY", 1)
    assert len(report["events"]) == 2


def test_parse_refuses_unreadable_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.edi"
    junk.write_bytes(b"ISA*00*short")
    result = CliRunner().invoke(edi, ["parse", str(junk)])
    assert result.exit_code == 2
    assert "refused: segment 1 (ISA), element 2: ISA is incomplete" in result.output


def test_parse_refuses_a_file_whose_sets_are_all_rejected(tmp_path: Path) -> None:
    text = (CORPUS / "x12" / "947_adjustment.x12").read_text().replace("W19*AA", "W19*QQ")
    bad = tmp_path / "bad.x12"
    bad.write_text(text)
    result = CliRunner().invoke(edi, ["parse", str(bad), "--location", "X"])
    assert result.exit_code == 2
    assert "segment 4 (W19), element 1: W1901 adjustment reason 'QQ'" in result.output


def test_render_850_and_orders(tmp_path: Path) -> None:
    event_file = tmp_path / "po.json"
    event_file.write_text(example_event("purchase_order.changed").model_dump_json())
    x12_out = CliRunner().invoke(edi, ["render", "850", str(event_file), "--receiver", "ACME", "--control", "77"])
    assert x12_out.exit_code == 0, x12_out.output
    assert "ISA*00*" in x12_out.output and "*000000077*" in x12_out.output
    assert "PO1*1*120*EA*4.2**SK*SKU-1001~" in x12_out.output
    orders = CliRunner().invoke(edi, ["render", "orders", str(event_file)])
    assert orders.exit_code == 0 and "UNH+1+ORDERS:D:96A:UN'" in orders.output
    wrong = CliRunner().invoke(edi, ["render", "940", str(event_file)])
    assert wrong.exit_code == 1 and "a 940 is rendered from transfer.requested" in wrong.output


def test_render_refuses_an_invalid_event(tmp_path: Path) -> None:
    event_file = tmp_path / "bad.json"
    event_file.write_text('{"type": "purchase_order.changed"}')
    result = CliRunner().invoke(edi, ["render", "850", str(event_file)])
    assert result.exit_code == 1 and "not a valid canonical event" in result.output

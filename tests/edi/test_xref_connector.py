"""The edi.sftp connector with an item cross-reference, against the real loopback SFTP server."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.edi_3pl import connector as connector_module
from connectors.edi_3pl import x12
from connectors.edi_3pl.connector import EdiSftp
from connectors.edi_3pl.xref import ItemXref
from hub.errors import PermanentError
from hub.testing import RecordingContext
from sim.sftp import SftpServer
from tests.edi.conftest import drop
from tests.edi.test_connector import files

MakeConnector = Callable[..., EdiSftp]
XREF_DIR = Path(__file__).parent / "xref"


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def test_upc_only_asn_is_mapped_and_unknown_upc_is_dead_lettered(sftp_server: SftpServer, tmp_path: Path,
                                                                      make_connector: MakeConnector) -> None:
    shutil.copy(XREF_DIR / "items.csv", tmp_path / "items.csv")  # the config's folder is the context's base_dir
    drop(sftp_server, "to_hub", "a_upc.x12", (XREF_DIR / "856_upc_only.x12").read_bytes())
    drop(sftp_server, "to_hub", "b_unknown.x12", (XREF_DIR / "856_unknown_upc.x12").read_bytes())
    connector = make_connector(item_xref="items.csv")
    await connector.start()
    await until(lambda: files(sftp_server, "to_hub") == [] and len(files(sftp_server, "from_hub")) == 2)
    ctx = connector.ctx
    assert isinstance(ctx, RecordingContext)

    (event,) = ctx.events
    assert event.type == "shipment.notified" and event.data["asn_id"] == "ASN-131"
    assert [(line["sku"], line["gtin"], line["quantity"]) for line in event.data["lines"]] == [
        ("SKU-1001", "012345678905", 120), ("SKU-1002", "012345678912", 60)]
    assert files(sftp_server, "archive") == ["a_upc.x12"]

    (dead,) = ctx.dead_letters
    reason = ("interchange 000000132, group 132, set 0001, segment 10 (LIN), element 2: no SK or BP product id in "
              "LIN, and UP 036000291452 / VN ACME-9 not in the item cross-reference items.csv")
    assert dead["origin"] == "b_unknown.x12#000000132/0001"
    assert dead["reason"] == reason
    assert files(sftp_server, "error") == ["b_unknown.x12", "b_unknown.x12.reason"]
    assert (sftp_server.root / "error" / "b_unknown.x12.reason").read_text() == reason + "\n"
    segments = [seg for seg in read_997_for(sftp_server, "132") if seg[0] in ("AK3", "AK4", "AK5", "AK9")]
    assert segments == [["AK3", "LIN", "10", "", "8"], ["AK4", "2", "", "1"], ["AK5", "R", "5"],
                        ["AK9", "R", "1", "1", "0"]]


def read_997_for(server: SftpServer, group: str) -> list[list[str]]:
    """The segments of the 997 answering group `group`, among the acknowledgements written."""
    for name in files(server, "from_hub"):
        (ic,) = x12.read((server.root / "from_hub" / name).read_text())
        segments = [seg for s in ic.groups[0].sets for seg in s.segments]
        if any(seg[0] == "AK1" and seg[2] == group for seg in segments):
            return segments
    raise AssertionError(f"no 997 answers group {group}")


async def test_a_bad_table_stops_the_connector_starting(sftp_server: SftpServer, tmp_path: Path,
                                                        make_connector: MakeConnector) -> None:
    (tmp_path / "items.csv").write_text("sku,gtin\nSKU-1,012345678905\n,036000291452\n")
    drop(sftp_server, "to_hub", "a_upc.x12", (XREF_DIR / "856_upc_only.x12").read_bytes())
    connector = make_connector(item_xref="items.csv")
    expected = f"edi.sftp edi-acme: item cross-reference {tmp_path / 'items.csv'}, line 3: sku is missing"
    with pytest.raises(PermanentError) as caught:
        await connector.start()
    assert str(caught.value) == expected
    assert files(sftp_server, "to_hub") == ["a_upc.x12"]
    with pytest.raises(PermanentError) as checked:  # `hub connectors test` reports it too
        await connector.check()
    assert str(checked.value) == expected


ADDED_ROW = "SKU-9,036000291452,ACME-9\n"


def unknown_upc(control: int) -> bytes:
    """The ASN whose second line carries only UP 036000291452 / VN ACME-9, as interchange `control` (3 digits)."""
    return (XREF_DIR / "856_unknown_upc.x12").read_text().replace("132", str(control)).encode()


async def started(connector: EdiSftp) -> RecordingContext:
    """Start `connector` (poll_interval long) and wait until its first poll has processed the one waiting file,
    so that the test's own polls do not run beside the loop's."""
    await connector.start()
    ctx = connector.ctx
    assert isinstance(ctx, RecordingContext)
    await until(lambda: ctx.counted("edi_files") == 1)
    return ctx


def shipped_skus(ctx: RecordingContext) -> list[list[str]]:
    return [[line["sku"] for line in e.data["lines"]] for e in ctx.events if e.type == "shipment.notified"]


async def test_a_changed_table_is_read_again_before_the_next_poll(sftp_server: SftpServer, tmp_path: Path,
                                                                  make_connector: MakeConnector) -> None:
    table = tmp_path / "items.csv"
    shutil.copy(XREF_DIR / "items.csv", table)
    drop(sftp_server, "to_hub", "a_unknown.x12", unknown_upc(201))
    connector = make_connector(item_xref="items.csv", poll_interval=3600)
    ctx = await started(connector)
    assert files(sftp_server, "error") == ["a_unknown.x12", "a_unknown.x12.reason"]
    assert shipped_skus(ctx) == []

    table.write_text(table.read_text() + ADDED_ROW)
    drop(sftp_server, "to_hub", "b_unknown.x12", unknown_upc(202))
    await connector.poll_once()
    assert files(sftp_server, "archive") == ["b_unknown.x12"]
    assert shipped_skus(ctx) == [["SKU-1001", "SKU-9"]]
    assert len(ctx.dead_letters) == 1  # only the file read before the table changed


async def test_a_bad_new_table_or_a_missing_one_keeps_the_table_in_use(
        sftp_server: SftpServer, tmp_path: Path, make_connector: MakeConnector, caplog: pytest.LogCaptureFixture) -> None:
    table = tmp_path / "items.csv"
    good = (XREF_DIR / "items.csv").read_text()
    table.write_text(good + ADDED_ROW)
    drop(sftp_server, "to_hub", "a_unknown.x12", unknown_upc(201))
    connector = make_connector(item_xref="items.csv", poll_interval=3600)
    ctx = await started(connector)
    caplog.set_level("WARNING", logger="hub.connector.edi-acme")

    table.write_text(good + "SKU-7,12345,\n")  # drops SKU-9, and line 7 is bad: nothing of it is used
    for control, name in ((202, "b_unknown.x12"), (203, "c_unknown.x12")):  # the second poll: not read again
        drop(sftp_server, "to_hub", name, unknown_upc(control))
        await connector.poll_once()
    assert ctx.counted("edi_item_xref_reload_failures") == 1
    assert [r.getMessage() for r in caplog.records] == [
        f"item cross-reference {table}, line 7: gtin '12345' is not 8, 12, 13 or 14 digits; "
        "the table read before stays in use until the file changes again"]

    caplog.clear()
    table.unlink()
    for control, name in ((204, "d_unknown.x12"), (205, "e_unknown.x12")):
        drop(sftp_server, "to_hub", name, unknown_upc(control))
        await connector.poll_once()
    assert [r.getMessage() for r in caplog.records] == [
        f"item cross-reference {table} cannot be found; the table read before stays in use"]
    assert files(sftp_server, "archive") == [f"{c}_unknown.x12" for c in "abcde"]
    assert shipped_skus(ctx) == [["SKU-1001", "SKU-9"]] * 5
    assert ctx.dead_letters == []

    table.write_text(good)  # a good version again is read, and it no longer knows ACME-9
    drop(sftp_server, "to_hub", "f_unknown.x12", unknown_upc(206))
    await connector.poll_once()
    assert files(sftp_server, "error") == ["f_unknown.x12", "f_unknown.x12.reason"]
    assert ctx.counted("edi_item_xref_reload_failures") == 1


async def test_a_table_written_to_while_it_is_read_is_not_used_and_is_read_again(
        sftp_server: SftpServer, tmp_path: Path, make_connector: MakeConnector,
        monkeypatch: pytest.MonkeyPatch) -> None:
    table = tmp_path / "items.csv"
    good = (XREF_DIR / "items.csv").read_text()
    table.write_text(good + ADDED_ROW)  # ACME-9 is SKU-9
    drop(sftp_server, "to_hub", "a_unknown.x12", unknown_upc(201))
    connector = make_connector(item_xref="items.csv", poll_interval=3600)
    ctx = await started(connector)
    assert shipped_skus(ctx) == [["SKU-1001", "SKU-9"]]

    # A new version (ACME-9 becomes SKU-10) is being written: the poll reads its first part, which
    # lacks ACME-9, and the rest is written before the read is over.
    new = good + ADDED_ROW.replace("SKU-9", "SKU-10")
    table.write_text(good)
    read = connector_module.load_item_xref

    def read_while_written(path: Path) -> ItemXref:
        xref = read(path)
        path.write_text(new)
        monkeypatch.setattr(connector_module, "load_item_xref", read)
        return xref

    monkeypatch.setattr(connector_module, "load_item_xref", read_while_written)
    drop(sftp_server, "to_hub", "b_unknown.x12", unknown_upc(202))
    await connector.poll_once()
    assert shipped_skus(ctx) == [["SKU-1001", "SKU-9"]] * 2  # the table read before, not the half-written one
    assert ctx.counted("edi_item_xref_reload_failures") == 0

    drop(sftp_server, "to_hub", "c_unknown.x12", unknown_upc(203))
    await connector.poll_once()  # the file has not changed since, but its whole version was never read
    assert shipped_skus(ctx) == [["SKU-1001", "SKU-9"]] * 2 + [["SKU-1001", "SKU-10"]]
    assert files(sftp_server, "archive") == ["a_unknown.x12", "b_unknown.x12", "c_unknown.x12"]
    assert ctx.dead_letters == []


async def test_a_table_refused_while_it_was_written_is_not_counted_and_is_read_again(
        sftp_server: SftpServer, tmp_path: Path, make_connector: MakeConnector,
        monkeypatch: pytest.MonkeyPatch) -> None:
    table = tmp_path / "items.csv"
    good = (XREF_DIR / "items.csv").read_text()
    table.write_text(good)
    drop(sftp_server, "to_hub", "a_upc.x12", (XREF_DIR / "856_upc_only.x12").read_bytes())
    connector = make_connector(item_xref="items.csv", poll_interval=3600)
    ctx = await started(connector)

    table.write_text(good + "SKU-9,0360")  # cut off in the middle of a row
    read = connector_module.load_item_xref

    def read_while_written(path: Path) -> ItemXref:
        try:
            return read(path)
        finally:
            path.write_text(good + ADDED_ROW)
            monkeypatch.setattr(connector_module, "load_item_xref", read)

    monkeypatch.setattr(connector_module, "load_item_xref", read_while_written)
    await connector.poll_once()
    assert ctx.counted("edi_item_xref_reload_failures") == 0

    drop(sftp_server, "to_hub", "b_unknown.x12", unknown_upc(202))
    await connector.poll_once()
    assert shipped_skus(ctx)[-1] == ["SKU-1001", "SKU-9"]  # the whole new version, read again
    assert ctx.counted("edi_item_xref_reload_failures") == 0

"""The edi.sftp connector with an item cross-reference, against the real loopback SFTP server."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.edi_3pl import x12
from connectors.edi_3pl.connector import EdiSftp
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

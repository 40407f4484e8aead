"""The edi.sftp connector against a real SFTP server on loopback: pickup, exactly once, acks, outbound."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import asyncssh
import pytest

from canonical import new_event
from canonical.examples import example_event
from connectors.edi_3pl import acks, x12, x12_map
from connectors.edi_3pl.config import EdiSftpConfig
from connectors.edi_3pl.connector import EdiSftp
from connectors.edi_3pl.control import next_control
from connectors.edi_3pl.mapping import DocumentId, Partner
from connectors.edi_3pl.translate import translate
from hub.errors import ContractError
from hub.testing import RecordingContext
from sim.sftp import SftpServer
from tests.edi.conftest import CORPUS, drop

MakeConnector = Callable[..., EdiSftp]


def files(server: SftpServer, folder: str) -> list[str]:
    path = server.root / folder
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


def read_997(server: SftpServer) -> list[list[str]]:
    (name,) = [n for n in files(server, "from_hub") if "997" in n]
    (ic,) = x12.read((server.root / "from_hub" / name).read_text())
    assert ic.groups[0].functional_id == "FA"
    return [seg for s in ic.groups[0].sets for seg in s.segments]


async def test_inbound_file_is_ingested_acknowledged_and_archived(sftp_server: SftpServer,
                                                                  make_connector: MakeConnector) -> None:
    connector = make_connector()
    drop(sftp_server, "to_hub", "asn.x12", (CORPUS / "x12" / "856_asn_bom_indent_00501.x12").read_bytes())
    assert await connector.poll_once() == 1
    ctx = connector.ctx
    assert isinstance(ctx, RecordingContext)
    assert [e.type for e in ctx.events] == ["shipment.notified"]
    assert ctx.events[0].data["asn_id"] == "ASN-77"
    assert files(sftp_server, "to_hub") == []
    assert files(sftp_server, "archive") == ["asn.x12"]
    ak9 = [seg for seg in read_997(sftp_server) if seg[0] == "AK9"]
    assert ak9 == [["AK9", "A", "1", "1", "1"]]


async def test_same_file_again_is_not_processed_twice(sftp_server: SftpServer, make_connector: MakeConnector) -> None:
    connector = make_connector()
    data = (CORPUS / "x12" / "947_adjustment.x12").read_bytes()
    drop(sftp_server, "to_hub", "adj.x12", data)
    await connector.poll_once()
    drop(sftp_server, "to_hub", "adj.x12", data)
    await connector.poll_once()
    ctx = connector.ctx
    assert isinstance(ctx, RecordingContext)
    assert len(ctx.events) == 3
    assert ctx.counted("edi_duplicate_files") == 1
    assert len(files(sftp_server, "archive")) == 2
    assert len([n for n in files(sftp_server, "from_hub") if "997" in n]) == 1


class CrashAfterIngest(RecordingContext):
    """Stores what it is given, then dies as a process would, before the connector can archive."""

    def __init__(self, shared: RecordingContext) -> None:
        super().__init__("edi-acme", shared.base_dir)
        self.state = shared.state
        self.events = shared.events

    async def ingest(self, events, *, raw=None, origin=""):  # type: ignore[no-untyped-def]
        await super().ingest(events, raw=raw, origin=origin)
        raise SystemExit("crash between ingest and archive")


async def test_crash_between_ingest_and_archive_does_not_process_twice(
        sftp_server: SftpServer, make_connector: MakeConnector, tmp_path: Path) -> None:
    shared = RecordingContext("edi-acme", tmp_path)
    drop(sftp_server, "to_hub", "inv.x12", (CORPUS / "x12" / "846_inventory_crlf.x12").read_bytes())
    first = make_connector(CrashAfterIngest(shared), claim_timeout=0.2)
    with pytest.raises(SystemExit):
        await first.poll_once()
    assert len(shared.events) == 2
    assert files(sftp_server, "to_hub") == ["inv.x12"]

    restarted = make_connector(shared, claim_timeout=0.2)
    await restarted.poll_once()  # the dead worker's claim is still fresh: left alone
    assert files(sftp_server, "to_hub") == ["inv.x12"]
    await asyncio.sleep(0.25)
    await restarted.poll_once()
    assert len(shared.events) == 2
    assert files(sftp_server, "to_hub") == []
    assert files(sftp_server, "archive") == ["inv.x12"]


async def test_crash_after_ledger_resumes_with_ack_and_archive_only(
        sftp_server: SftpServer, make_connector: MakeConnector, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    shared = RecordingContext("edi-acme", tmp_path)
    drop(sftp_server, "to_hub", "rcv.x12", (CORPUS / "x12" / "944_receipt_lf_only_00305.x12").read_bytes())
    first = make_connector(shared)

    async def die(path: str) -> None:
        raise SystemExit("crash before archive")

    monkeypatch.setattr(first, "_archive", die)
    with pytest.raises(SystemExit):
        await first.poll_once()
    acks_before = files(sftp_server, "from_hub")

    restarted = make_connector(shared)
    await restarted.poll_once()
    assert [e.type for e in shared.events] == ["receipt.confirmed"]
    assert files(sftp_server, "archive") == ["rcv.x12"]
    assert files(sftp_server, "from_hub") == acks_before  # the same 997, same control number, rewritten


async def test_unreadable_file_goes_to_error_folder_with_reason(sftp_server: SftpServer,
                                                                make_connector: MakeConnector) -> None:
    connector = make_connector()
    drop(sftp_server, "to_hub", "junk.edi", b"%PDF-1.4 not edi at all")
    await connector.poll_once()
    assert files(sftp_server, "error") == ["junk.edi", "junk.edi.reason"]
    reason = (sftp_server.root / "error" / "junk.edi.reason").read_text()
    assert "not an X12 or EDIFACT document" in reason
    ctx = connector.ctx
    assert isinstance(ctx, RecordingContext)
    assert ctx.events == []
    assert ctx.dead_letters[0]["origin"] == "junk.edi"
    assert ctx.dead_letters[0]["raw"] == b"%PDF-1.4 not edi at all"


async def test_partly_bad_file_publishes_good_sets_and_reports_bad_ones(sftp_server: SftpServer,
                                                                       make_connector: MakeConnector) -> None:
    connector = make_connector()
    drop(sftp_server, "to_hub", "mixed.x12", (CORPUS / "x12" / "846_partial_errors.x12").read_bytes())
    await connector.poll_once()
    ctx = connector.ctx
    assert isinstance(ctx, RecordingContext)
    assert len(ctx.events) == 2
    assert [d["origin"] for d in ctx.dead_letters] == ["mixed.x12#000000112/0002", "mixed.x12#000000112/0003"]
    segments = read_997(sftp_server)
    assert ["AK5", "R", "4"] in segments
    assert ["AK3", "QTY", "9", "", "8"] in segments
    assert ["AK4", "2", "", "6"] in segments
    assert ["AK9", "P", "3", "3", "1"] in segments
    assert files(sftp_server, "archive") == ["mixed.x12"]


async def test_outbound_850_is_written_atomically_and_its_ack_settles(sftp_server: SftpServer,
                                                                      make_connector: MakeConnector) -> None:
    connector = make_connector()
    order = example_event("purchase_order.changed")
    await connector.deliver(order, 1)
    await connector.deliver(order, 2)  # a redelivery: same file, not a second one
    assert files(sftp_server, "from_hub") == ["acme_850_1.edi"]
    text = (sftp_server.root / "from_hub" / "acme_850_1.edi").read_text()
    (ic,) = x12.read(text)
    assert ic.control == "000000001" and ic.sender == "RETAILHUB" and ic.receiver == "ACME3PL"
    echoed = x12_map.map_850(ic.groups[0].sets[0].segments, _doc())
    assert echoed[0]["data"]["lines"] == order.data["lines"]
    (book,) = await acks.open_acknowledgements(connector.ctx.state)
    assert book["control"] == "000000001" and book["document_type"] == "850"

    drop(sftp_server, "to_hub", "ack.x12", _997(group="1", status="A"))
    await connector.poll_once()
    assert await acks.open_acknowledgements(connector.ctx.state) == []
    ctx = connector.ctx
    assert isinstance(ctx, RecordingContext)
    assert [e.type for e in ctx.events] == ["partner.acknowledged"]
    assert not [n for n in files(sftp_server, "from_hub") if "997" in n]  # an ack is never acknowledged


async def test_rejecting_ack_raises_a_task(sftp_server: SftpServer, make_connector: MakeConnector) -> None:
    connector = make_connector()
    await connector.deliver(example_event("transfer.requested"), 1)
    assert files(sftp_server, "from_hub") == ["acme_940_1.edi"]
    drop(sftp_server, "to_hub", "ack.x12", _997(group="1", status="R"))
    await connector.poll_once()
    ctx = connector.ctx
    assert isinstance(ctx, RecordingContext)
    tasks = [e for e in ctx.events if e.type == "task.raised"]
    assert [t.data["kind"] for t in tasks] == ["ack_rejected"]
    assert tasks[0].data["evidence"]["outbound"]["file"] == "acme_940_1.edi"


async def test_overdue_ack_raises_one_task(sftp_server: SftpServer, make_connector: MakeConnector) -> None:
    connector = make_connector(ack_deadline=0.05)
    await connector.deliver(example_event("purchase_order.changed"), 1)
    await asyncio.sleep(0.1)
    await connector.poll_once()
    await connector.poll_once()
    ctx = connector.ctx
    assert isinstance(ctx, RecordingContext)
    assert [e.data["kind"] for e in ctx.events if e.type == "task.raised"] == ["ack_overdue"]
    (still_open,) = await acks.open_acknowledgements(ctx.state)
    assert still_open["task_raised"] is True


async def test_edifact_partner_gets_orders_and_contrl(sftp_server: SftpServer, make_connector: MakeConnector) -> None:
    connector = make_connector(standard="edifact")
    await connector.deliver(example_event("purchase_order.changed"), 1)
    assert files(sftp_server, "from_hub") == ["acme_ORDERS_1.edi"]
    ordered = translate((sftp_server.root / "from_hub" / "acme_ORDERS_1.edi").read_bytes(), Partner("hub"))
    assert [e["data"]["po_number"] for e in ordered.events] == ["PO-4500012"]
    with pytest.raises(ContractError, match="no edifact document for transfer.requested"):
        await connector.deliver(example_event("transfer.requested"), 1)

    drop(sftp_server, "to_hub", "inv.edi", (CORPUS / "edifact" / "invrpt_partial_errors.edi").read_bytes())
    await connector.poll_once()
    (contrl_name,) = [n for n in files(sftp_server, "from_hub") if "CONTRL" in n]
    contrl = (sftp_server.root / "from_hub" / contrl_name).read_text()
    assert "UCI+EX1008+ACMEEU:ZZ+RETAILHUB:ZZ+7'" in contrl
    assert "UCM+2+INVRPT:D:96A:UN+4+12'" in contrl
    assert "UCS+5'" in contrl and "UCD+12+1:1'" in contrl


async def test_unpinned_or_changed_host_key_is_refused(sftp_server: SftpServer, make_connector: MakeConnector,
                                                       tmp_path: Path) -> None:
    impostor = SftpServer(tmp_path / "other").start()
    try:
        changed = impostor.known_hosts_line.replace(f":{impostor.port}", f":{sftp_server.port}")
        with pytest.raises(Exception, match="does not match its known_hosts entry: the key changed"):
            await make_connector(host_key=changed).poll_once()
        with pytest.raises(Exception, match="no known_hosts entry"):
            await make_connector(host_key=impostor.known_hosts_line).poll_once()
        with pytest.raises(Exception, match="not the pinned"):
            await make_connector(host_key=None, host_key_fingerprint=impostor.fingerprint).poll_once()
    finally:
        impostor.stop()
    pinned = make_connector(host_key=None, host_key_fingerprint=sftp_server.fingerprint)
    assert await pinned.check() == "0 file(s) in to_hub"


async def test_key_authentication(tmp_path: Path, make_config: Callable[..., EdiSftpConfig]) -> None:
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    (tmp_path / "id").write_bytes(client_key.export_private_key("openssh"))
    server = SftpServer(tmp_path / "keyed", authorized_keys=client_key.export_public_key("openssh").decode()).start()
    try:
        config = make_config(port=server.port, host_key=server.known_hosts_line, password=None,
                             private_key=f"file:{tmp_path / 'id'}")
        connector = EdiSftp("edi-keyed", config, RecordingContext("edi-keyed", tmp_path))
        assert await connector.poll_once() == 0
        await connector.stop()
    finally:
        server.stop()


async def test_partner_down_does_not_affect_another(sftp_server: SftpServer, make_connector: MakeConnector,
                                                    tmp_path: Path) -> None:
    down = SftpServer(tmp_path / "down").start()
    port, line = down.port, down.known_hosts_line
    down.stop()
    broken = make_connector(RecordingContext("edi-down", tmp_path), port=port, host_key=line, partner="down")
    healthy = make_connector()
    drop(sftp_server, "to_hub", "inv.x12", (CORPUS / "x12" / "846_inventory_crlf.x12").read_bytes())
    await broken.start()
    await healthy.start()
    with pytest.raises(Exception, match=r"writing down_850_1\.edi to from_hub on sftp://127\.0\.0\.1"):
        await broken.deliver(example_event("purchase_order.changed"), 1)
    for _ in range(100):
        if files(sftp_server, "archive"):
            break
        await asyncio.sleep(0.05)
    assert files(sftp_server, "archive") == ["inv.x12"]
    assert isinstance(broken.ctx, RecordingContext) and broken.ctx.counted("edi_poll_failures") >= 1
    assert isinstance(healthy.ctx, RecordingContext) and len(healthy.ctx.events) == 2


async def test_control_numbers_are_never_reused(make_connector: MakeConnector) -> None:
    state = make_connector().ctx.state
    numbers = await asyncio.gather(*(next_control(state, "x12") for _ in range(50)))
    assert sorted(numbers) == list(range(1, 51))
    await state.put("ctl.x12", 10)  # a counter that went backwards (restored snapshot) still never reuses
    assert await next_control(state, "x12") == 51


async def test_a_half_written_outbound_file_is_never_visible(sftp_server: SftpServer,
                                                            make_connector: MakeConnector) -> None:
    connector = make_connector()
    big = new_event("purchase_order.changed", {
        "po_number": "PO-BIG", "status": "created", "supplier": "SUP-ACME", "location": "DC-01",
        "lines": [{"line": i, "sku": f"SKU-{i}", "quantity": 1} for i in range(1, 40001)],
    }, source="urn:test", subject="PO-BIG")
    final = sftp_server.root / "from_hub" / "acme_850_1.edi"
    seen_sizes: list[int] = []
    task = asyncio.create_task(connector.deliver(big, 1))
    while not task.done():
        if final.exists():
            seen_sizes.append(final.stat().st_size)
        await asyncio.sleep(0.001)
    await task
    complete = final.stat().st_size
    assert complete > 1_000_000
    assert all(size == complete for size in seen_sizes)
    assert files(sftp_server, "from_hub") == ["acme_850_1.edi"]


def _doc() -> DocumentId:
    return DocumentId(Partner("hub"), "x12", "1", "1", "0001", "2026-11-27T00:00:00+00:00")


def _997(group: str, status: str) -> bytes:
    header = x12.Header("ZZ", "ACME3PL", "ZZ", "RETAILHUB", 9001, "FA", datetime(2026, 11, 27, 10, 0))
    body = [["AK1", "PO", group], ["AK2", "850", "0001"], ["AK5", status], ["AK9", status, "1", "1",
                                                                              "1" if status == "A" else "0"]]
    return x12.render(header, [("997", body)]).encode()

"""TA1 interchange acknowledgements: rendered, sent when asked for or when the envelope is broken, and read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from canonical.examples import example_event
from connectors.edi_3pl import acks, x12
from connectors.edi_3pl.connector import EdiSftp
from connectors.edi_3pl.mapping import Partner
from connectors.edi_3pl.translate import translate
from hub.testing import RecordingContext
from sim.sftp import SftpServer
from tests.edi.conftest import CORPUS, drop

MakeConnector = Callable[..., EdiSftp]
NOW = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)
ASN = (CORPUS / "x12" / "947_adjustment.x12").read_text()


def asking_for_ta1(text: str) -> str:
    """The same interchange with ISA14 set to 1 (the element before the usage indicator)."""
    isa, rest = text.split("~", 1)
    fields = isa.split("*")
    fields[14] = "1"
    return "*".join(fields) + "~" + rest


def outbound(server: SftpServer, document: str) -> list[x12.Interchange]:
    folder = server.root / "from_hub"
    names = sorted(p.name for p in folder.iterdir() if f"_{document}_" in p.name) if folder.exists() else []
    return [ic for name in names for ic in x12.read((folder / name).read_text())]


def test_ta1_is_rendered_in_an_interchange_of_its_own() -> None:
    (ic,) = translate(asking_for_ta1(ASN).encode(), Partner("acme")).interchanges
    source = ic.source
    assert isinstance(source, x12.Interchange)
    ta1 = acks.x12_ta1(source)
    assert ta1 == ["TA1", "000000105", "261127", "1015", "A", "000"]
    text = acks.render_ta1(source, ta1, sender=("ZZ", "RETAILHUB"), control=42, when=NOW)
    assert text.splitlines() == [
        "ISA*00*          *00*          *ZZ*RETAILHUB      *ZZ*ACME3PL        *261127*1230*U*00401*000000042*0*P*>~",
        "TA1*000000105*261127*1015*A*000~",
        "IEA*0*000000042~",
    ]


def test_no_ta1_unless_asked_for_or_the_envelope_is_broken() -> None:
    (ic,) = x12.read(ASN)
    assert acks.x12_ta1(ic) is None
    (broken,) = x12.read(ASN.replace(f"IEA*1*{ic.control}", f"IEA*2*{ic.control}"))
    assert acks.x12_ta1(broken) == ["TA1", ic.control, ic.date, ic.time, "R", "021"]
    assert acks.x12_ta1(broken, took_data=True) == ["TA1", ic.control, ic.date, ic.time, "E", "021"]
    (stray,) = x12.read(asking_for_ta1(ASN).replace("GS*AW", "N9*XX~GS*AW"))
    assert acks.x12_ta1(stray) == ["TA1", ic.control, ic.date, ic.time, "E", "024"]


def test_bad_interchange_date_or_time_gets_note_014_or_015_and_the_group_date_is_used() -> None:
    (ic,) = x12.read(ASN)
    (bad_date,) = translate(ASN.replace("*261127*1015*", "*261131*1015*").encode(), Partner("acme")).interchanges
    assert isinstance(bad_date.source, x12.Interchange)
    assert acks.x12_ta1(bad_date.source) == ["TA1", ic.control, "261131", "1015", "R", "014"]
    assert acks.x12_ta1(bad_date.source, took_data=True) == ["TA1", ic.control, "261131", "1015", "E", "014"]
    # The documents are still read, dated by the GS (20261127 1015) instead.
    assert [d.accepted for d in bad_date.documents] == [True]
    assert {e["time"] for e in bad_date.documents[0].events} == {"2026-11-27T10:15:00+00:00"}
    (bad_time,) = x12.read(ASN.replace("*261127*1015*", "*261127*2400*"))
    assert acks.x12_ta1(bad_time, took_data=True) == ["TA1", ic.control, "261127", "2400", "E", "015"]


async def test_asked_for_ta1_is_sent_with_the_997(sftp_server: SftpServer, make_connector: MakeConnector) -> None:
    connector = make_connector()
    drop(sftp_server, "to_hub", "adj.x12", asking_for_ta1(ASN).encode())
    await connector.poll_once()
    (partner_ic,) = x12.read(ASN)
    (ta1_ic,) = outbound(sftp_server, "TA1")
    assert ta1_ic.groups == [] and ta1_ic.receiver == partner_ic.sender
    assert ta1_ic.ta1 == [["TA1", partner_ic.control, partner_ic.date, partner_ic.time, "A", "000"]]
    (ack_ic,) = outbound(sftp_server, "997")
    assert ack_ic.control != ta1_ic.control  # each outbound interchange has its own control number
    assert (sftp_server.root / "archive" / "adj.x12").exists()


async def test_broken_envelope_whose_documents_were_taken_gets_a_ta1_with_errors_and_its_997(
        sftp_server: SftpServer, make_connector: MakeConnector) -> None:
    (partner_ic,) = x12.read(ASN)
    mismatched = ASN.replace(f"IEA*1*{partner_ic.control}", "IEA*1*000000999")
    connector = make_connector()
    drop(sftp_server, "to_hub", "adj.x12", mismatched.encode())
    await connector.poll_once()
    # The adjustments were published, so the partner must not resend: E, not R, and the 997 as always.
    assert connector.ctx.events
    (ta1_ic,) = outbound(sftp_server, "TA1")
    assert ta1_ic.ta1 == [["TA1", partner_ic.control, partner_ic.date, partner_ic.time, "E", "001"]]
    assert len(outbound(sftp_server, "997")) == 1


async def test_broken_envelope_nothing_was_taken_from_gets_a_ta1_reject_and_no_997(
        sftp_server: SftpServer, make_connector: MakeConnector) -> None:
    (partner_ic,) = x12.read(ASN)
    refused = ASN.replace(f"IEA*1*{partner_ic.control}", "IEA*1*000000999").replace("**SK*", "**XX*")
    connector = make_connector()
    drop(sftp_server, "to_hub", "adj.x12", refused.encode())
    await connector.poll_once()
    assert not [e for e in connector.ctx.events if e.type == "stock.adjusted"]
    (ta1_ic,) = outbound(sftp_server, "TA1")
    assert ta1_ic.ta1 == [["TA1", partner_ic.control, partner_ic.date, partner_ic.time, "R", "001"]]
    assert outbound(sftp_server, "997") == []


async def test_partners_ta1_reject_raises_a_task_and_is_not_acknowledged(
        sftp_server: SftpServer, make_connector: MakeConnector) -> None:
    connector = make_connector()
    await connector.deliver(example_event("purchase_order.changed"), 1)
    header = x12.Header("ZZ", "ACME3PL", "ZZ", "RETAILHUB", 9001, "", datetime(2026, 11, 27, 10, 0))
    ta1 = ["TA1", "000000001", "261127", "0959", "R", "006"]
    drop(sftp_server, "to_hub", "ta1.x12", asking_for_ta1(x12.render_ta1(header, ta1)).encode())
    await connector.poll_once()
    ctx = connector.ctx
    assert isinstance(ctx, RecordingContext)
    assert ctx.dead_letters == []
    tasks = [e for e in ctx.events if e.type == "task.raised"]
    assert [t.data["kind"] for t in tasks] == ["ta1_rejected"]
    assert tasks[0].data["evidence"]["outbound"]["file"] == "acme_850_1.edi"
    assert tasks[0].data["evidence"]["acknowledgement"]["errors"][0]["code"] == "006"
    assert await acks.open_acknowledgements(ctx.state) == []  # rejected: no 997 will follow
    assert outbound(sftp_server, "TA1") == [] and outbound(sftp_server, "997") == []
    assert (sftp_server.root / "archive" / "ta1.x12").exists()


async def test_bad_interchange_date_gets_a_ta1_with_errors_and_its_997(
        sftp_server: SftpServer, make_connector: MakeConnector) -> None:
    (partner_ic,) = x12.read(ASN)
    connector = make_connector()
    drop(sftp_server, "to_hub", "adj.x12", ASN.replace("*261127*1015*", "*260229*1015*").encode())
    await connector.poll_once()
    # Not asked for (ISA14 = 0), but the envelope is broken; the adjustments were still taken: E, not R.
    assert [e.type for e in connector.ctx.events] == ["stock.adjusted"] * 3
    (ta1_ic,) = outbound(sftp_server, "TA1")
    assert ta1_ic.ta1 == [["TA1", partner_ic.control, "260229", "1015", "E", "014"]]
    assert len(outbound(sftp_server, "997")) == 1
    assert (sftp_server.root / "archive" / "adj.x12").exists()


async def test_a_ta1_that_cannot_echo_the_isa_does_not_hold_up_later_files(
        sftp_server: SftpServer, make_connector: MakeConnector) -> None:
    connector = make_connector()
    # ">" is the component separator, so the TA1 cannot carry this ISA09 back.
    drop(sftp_server, "to_hub", "a_adj.x12", ASN.replace("*261127*1015*", "*26>127*1015*").encode())
    drop(sftp_server, "to_hub", "b_adj.x12", ASN.replace("000000105", "000000106").encode())
    await connector.poll_once()
    ctx = connector.ctx
    assert isinstance(ctx, RecordingContext)
    assert ctx.counted("edi_ta1_unwritable") == 1
    assert outbound(sftp_server, "TA1") == []
    assert len(outbound(sftp_server, "997")) == 2
    assert sorted(p.name for p in (sftp_server.root / "archive").iterdir()) == ["a_adj.x12", "b_adj.x12"]

"""Acknowledgements that cannot echo what the partner sent: skipped, counted and logged, never holding up a poll."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connectors.edi_3pl import acks
from connectors.edi_3pl.connector import EdiSftp
from connectors.edi_3pl.errors import EdiError
from connectors.edi_3pl.mapping import Partner
from connectors.edi_3pl.translate import translate
from hub.testing import RecordingContext
from sim.sftp import SftpServer
from tests.edi.conftest import drop
from tests.edi.test_connector import files
from tests.edi.test_ta1 import ASN, NOW, outbound

MakeConnector = Callable[..., EdiSftp]
PARTNER = Partner("acme", "SUP-ACME", "3PL-WEST")


async def test_a_997_that_cannot_echo_the_set_control_does_not_hold_up_later_files(
        sftp_server: SftpServer, make_connector: MakeConnector, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="hub.connector.edi-acme")
    # ">" is the component separator, so the 997 cannot carry this ST02 back in its AK2.
    unanswerable = ASN.replace("ST*947*0001~", "ST*947*00>1~").replace("SE*7*0001~", "SE*7*00>1~")
    drop(sftp_server, "to_hub", "a_adj.x12", unanswerable.encode())
    drop(sftp_server, "to_hub", "b_adj.x12", ASN.replace("000000105", "000000106").encode())
    connector = make_connector()
    await connector.poll_once()
    ctx = connector.ctx
    assert isinstance(ctx, RecordingContext)

    assert [e.type for e in ctx.events] == ["stock.adjusted"] * 6  # both files' adjustments were taken
    assert ctx.counted("edi_ack_unwritable") == 1
    assert [r.getMessage() for r in caplog.records] == [
        "no 997 can answer interchange 000000105: group 105, segment AK2, element 2: "
        "value '00>1' contains the component separator '>'"]
    assert files(sftp_server, "archive") == ["a_adj.x12", "b_adj.x12"]
    assert files(sftp_server, "to_hub") == []
    # Only the second file's 997, and it has the first control number: the skipped one claimed none.
    (ack,) = outbound(sftp_server, "997")
    assert ack.control == "000000001"
    assert [seg for s in ack.groups[0].sets for seg in s.segments if seg[0] == "AK2"] == [["AK2", "947", "0001"]]

    await connector.poll_once()  # the skipped acknowledgement is not tried again
    assert ctx.counted("edi_ack_unwritable") == 1
    assert len(ctx.events) == 6


async def test_a_ta1_that_cannot_be_written_claims_no_control_number(
        sftp_server: SftpServer, make_connector: MakeConnector) -> None:
    # ">" is the component separator, so no TA1 can carry this ISA09 back; the 997 still can.
    drop(sftp_server, "to_hub", "a_adj.x12", ASN.replace("*261127*1015*", "*26>127*1015*").encode())
    drop(sftp_server, "to_hub", "b_adj.x12", ASN.replace("000000105", "000000106").encode())
    connector = make_connector()
    await connector.poll_once()
    ctx = connector.ctx
    assert isinstance(ctx, RecordingContext)
    assert ctx.counted("edi_ta1_unwritable") == 1
    assert outbound(sftp_server, "TA1") == []
    acks_sent = outbound(sftp_server, "997")
    assert [ic.control for ic in acks_sent] == ["000000001", "000000002"]
    assert [ic.groups[0].sets[0].segments[1] for ic in acks_sent] == [["AK1", "AW", "105"]] * 2


def test_a_997_that_cannot_be_rendered_names_the_partners_group() -> None:
    isa, rest = ASN.split("~", 1)
    group = rest[:rest.index("IEA")]
    second = group.replace("*105*X*", "*1>6*X*").replace("GE*1*105~", "GE*1*1>6~")
    (result,) = translate(f"{isa}~{group}{second}IEA*2*000000105~".encode(), PARTNER).interchanges
    assert [d.accepted for d in result.documents] == [True, True]
    with pytest.raises(EdiError) as caught:
        acks.render_ack(result, PARTNER, sender=("ZZ", "RETAILHUB"), control=1, when=NOW)
    assert str(caught.value) == "group 1>6, segment AK1, element 2: value '1>6' contains the component separator '>'"

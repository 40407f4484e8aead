"""The hostile-input corpus, all of it through one running hub: each input is refused or dead-lettered
with a clear error, the hub stays up, and valid traffic sent around it arrives."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import pytest

from canonical.examples import example_event
from connectors.generic.webhook import signed_headers
from hub import bus, dlq
from hub.natsserver import free_port
from hub.testing import HubProcess, wait_until
from sim.erp import ReferenceErp, seed
from sim.sftp import SftpServer
from tests.core.helpers import adjustments, write_ndjson
from tests.faults.helpers import RecordingTarget, hub_cli, write_config

pytestmark = pytest.mark.fault

CORPUS = Path(__file__).parent / "corpus"
EDI_CORPUS = Path(__file__).parents[1] / "edi" / "corpus" / "x12"
ERP_SIM = Path(__file__).parents[2] / "sim" / "erp"
WEBHOOK_SECRET, EDI_PASSWORD, ERP_PASSWORD = "corpus-webhook-secret", "corpus-sftp-pw", "corpus-erp-pw"
ENV = {"CORPUS_WEBHOOK_SECRET": WEBHOOK_SECRET, "CORPUS_EDI_PASSWORD": EDI_PASSWORD,
       "CORPUS_ERP_PASSWORD": ERP_PASSWORD}


@dataclass
class Row:
    group: str
    name: str
    expected: str  # "dead letter" or "refused <status>"
    connector: str = ""  # where a dead letter is expected: this connector ...
    key: str = ""  # ... and this origin prefix or idempotency key
    outcome: str = "nothing"
    error: str = ""
    letters: list[dlq.DeadLetter] = field(default_factory=list)


class Corpus:
    """The running parts: hub, web target, SFTP partner, reference ERP; and the table being filled."""

    def __init__(self, tmp_path: Path, nats_url: str) -> None:
        self.nats_url = nats_url
        self.rows: list[Row] = []
        self.web = RecordingTarget(free_port()).start()
        self.sftp = SftpServer(tmp_path / "sftp", passwords={"acme": EDI_PASSWORD}).start()
        self.erp = ReferenceErp(password=ERP_PASSWORD)
        seed(self.erp.state, skus=4, stores=2, dcs=1)
        self.erp.start()
        self.webhook_port = free_port()
        self.config = write_config(tmp_path / "hub", web_url=self.web.url, outbox=False, extra=self._extra())
        self.inbox = self.config.parent / "inbox"
        self.hub = HubProcess(self.config, nats_url=nats_url, env=ENV).start()
        self._register_erp(tmp_path / "erp")

    def _extra(self) -> str:
        return f"""
[connectors.pos]
type = "pos.rest"
system = "pos1"
base_url = "http://127.0.0.1:{free_port()}"
poll_interval_seconds = 0
webhook = {{ port = {self.webhook_port}, secret = "env:CORPUS_WEBHOOK_SECRET" }}

[connectors.edi]
type = "edi.sftp"
partner = "acme"
host = "127.0.0.1"
port = {self.sftp.port}
username = "acme"
password = "env:CORPUS_EDI_PASSWORD"
host_key = "{self.sftp.known_hosts_line}"
inbound_dir = "to_hub"
outbound_dir = "from_hub"
our_id = "RETAILHUB"
partner_id = "ACME3PL"
supplier_id = "SUP-ACME"
location = "3PL-WEST"
poll_interval = 0.5

[[routes]]
name = "transfers-to-erp"
match = "transfer.requested"
roles = ["erp"]
"""

    def _register_erp(self, folder: Path) -> None:
        folder.mkdir()
        shutil.copy(ERP_SIM / "sap_goods_movement.wsdl", folder)
        text = (f'endpoint = "{self.erp.endpoint("sap")}"\npoll = false\n'
                'retry = { in_process_attempts = 1, in_process_wait = 0.05, max_deliveries = 2, backoff = [0.5] }\n'
                'circuit = { failure_threshold = 1000 }\n' + (ERP_SIM / "erp_sap.toml").read_text())
        (folder / "erp.toml").write_text(text.replace("env:ERP_PASSWORD", "env:CORPUS_ERP_PASSWORD"))
        out = hub_cli("connectors", "register", "erp", "--type", "erp.soap", "--config", str(folder / "erp.toml"),
                      "--nats-url", self.nats_url)
        assert out.returncode == 0, out.stderr

    def close(self) -> int:
        try:
            alive = self.hub.process is not None and self.hub.process.poll() is None
            code = self.hub.stop()
            return code if alive else -1
        finally:
            self.web.stop()
            self.sftp.stop()
            self.erp.stop()

    # ---- sending

    def drop_file(self, name: str, data: bytes) -> None:
        tmp = self.inbox / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.rename(self.inbox / name)

    def drop_edi(self, name: str, data: bytes) -> None:
        folder = self.sftp.root / "to_hub"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ".partial").write_bytes(data)
        (folder / ".partial").rename(folder / name)

    def webhook(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(f"http://127.0.0.1:{self.webhook_port}/webhooks", content=body, headers=headers,
                          timeout=30)

    def dead_letters(self) -> list[dlq.DeadLetter]:
        async def collect() -> list[dlq.DeadLetter]:
            b = await bus.connect(self.nats_url)
            try:
                return [letter async for letter in dlq.iterate(b.js)]
            finally:
                await b.close()

        return asyncio.run(collect())


def _event(kind: str, key: str, **changes) -> dict:
    event = example_event(kind).model_dump(mode="json")
    event.update(id=key, idempotency_key=key, **changes)
    return event


def _sale(webhook_id: str) -> bytes:
    return orjson.dumps({"events": [{"id": webhook_id, "type": "sale", "created_at": "2026-11-27T10:00:00+00:00",
                                     "data": {"transaction_id": f"TXN-{webhook_id}", "store": "STORE-001",
                                              "lines": [{"line": 1, "sku": "SKU-00001", "quantity": 1}]}}]})


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _file_rows(c: Corpus) -> list[tuple[Row, Callable[[], None]]]:
    bad_type = _event("stock.adjusted", "h-type", type="stock.teleported")
    bad_version = _event("stock.adjusted", "h-version", schema_version=99)
    invalid = _event("stock.adjusted", "h-invalid")
    invalid["data"]["delta"] = "a lot"
    deep_field = _event("stock.adjusted", "h-deepfield")
    deep_field["data"]["sku"] = orjson.loads(_nested(200))
    oversize = _event("stock.adjusted", "h-oversize", enrichments={"padding": "x" * 2_000_000})
    inputs = [("malformed JSON", "malformed.json", (CORPUS / "malformed.json").read_bytes()),
              ("schema-invalid event", "invalid.json", orjson.dumps(invalid)),
              ("unknown event type", "unknown-type.json", orjson.dumps(bad_type)),
              ("unknown schema version", "unknown-version.json", orjson.dumps(bad_version)),
              ("valid event too big for NATS (2 MB)", "oversize.json", orjson.dumps(oversize)),
              ("deeply nested JSON (100k levels)", "deep.json", _nested(100_000)),
              ("deeply nested field (200 levels)", "deep-field.json", orjson.dumps(deep_field))]
    out = []
    for label, name, data in inputs:
        row = Row("json file", f"{label}: {name}", "dead letter", "inbox", name)
        out.append((row, lambda name=name, data=data: c.drop_file(name, data)))
    return out


def _webhook_rows(c: Corpus, valid_id: str) -> list[tuple[Row, Callable[[], httpx.Response]]]:
    body = _sale(valid_id)
    signed = signed_headers(WEBHOOK_SECRET, valid_id, body)
    forged = signed_headers("a-guessed-secret", "wh-forged", _sale("wh-forged"))
    stale_body = _sale("wh-stale")
    stale = signed_headers(WEBHOOK_SECRET, "wh-stale", stale_body, now=time.time() - 3600)
    tampered = dict(signed_headers(WEBHOOK_SECRET, "wh-tampered", _sale("wh-tampered")))
    broken, deep = b'{"events": [{"id": "wh-broken", ', b'{"events": ' + _nested(50_000) + b"}"
    huge = orjson.dumps({"events": [], "padding": "x" * 5_000_000})
    cases = [
        ("forged signature", "refused 401", _sale("wh-forged"), forged),
        ("stale timestamp (1 h old)", "refused 401", stale_body, stale),
        ("replayed delivery", "refused 409", body, signed),
        ("unsigned", "refused 401", _sale("wh-unsigned"), {"content-type": "application/json"}),
        ("body changed after signing", "refused 401", _sale("wh-tampered").replace(b"STORE-001", b"STORE-002"),
         tampered),
        ("malformed JSON, signed", "dead letter", broken, signed_headers(WEBHOOK_SECRET, "wh-broken", broken)),
        ("deeply nested JSON, signed", "dead letter", deep, signed_headers(WEBHOOK_SECRET, "wh-deep", deep)),
        ("oversize body (5 MB), signed", "refused 413", huge, signed_headers(WEBHOOK_SECRET, "wh-huge", huge)),
    ]
    return [(Row("webhook", label, expected, "pos", f"webhook:{h.get('Webhook-Id', '')}"),
             lambda b=b, h=h: c.webhook(b, h)) for label, expected, b, h in cases]


def _edi_rows(c: Corpus) -> list[tuple[Row, Callable[[], None]]]:
    garbage = (CORPUS / "garbage.edi").read_bytes()
    inputs = [("EDI garbage", "garbage.edi", garbage),
              ("truncated interchange", "truncated.x12", (CORPUS / "truncated.x12").read_bytes()),
              ("wrong control counts", "wrong_counts.x12", (CORPUS / "wrong_counts.x12").read_bytes()),
              ("path traversal in name", "..%2F..%2Fescape.edi", garbage),
              ("backslash traversal in name", "..\\..\\escape.edi", garbage),
              ("shell characters in name", "-rf $(touch pwned);.edi", garbage),
              ("control and non-ASCII characters in name", "ünï\tcödé\x7f.edi", garbage)]
    return [(Row("edi/sftp", f"{label}: {name!r}", "dead letter", "edi", name), lambda n=name, d=data: c.drop_edi(n, d))
            for label, name, data in inputs]


ERP_FAULTS = [("bomb", "XML bomb (billion laughs) in the response", {}),
              ("xxe", "external entity in the response", {}),
              ("malformed", "malformed SOAP response", {}),
              ("invalid", "response that breaks the WSDL contract", {}),
              ("huge", "oversize SOAP response (6 MB)", {"size": 6_000_000})]


def _match(row: Row, letters: list[dlq.DeadLetter]) -> None:
    row.letters = [letter for letter in letters if letter.connector == row.connector
                   and (letter.origin.startswith(row.key) or letter.idempotency_key == row.key)]
    if row.letters:
        row.outcome = f"dead letter ({row.letters[0].stage}, {row.letters[0].error_class})"
        row.error = row.letters[0].error


def test_every_hostile_input_is_refused_or_dead_lettered_and_valid_traffic_flows(tmp_path, nats_url):
    c = Corpus(tmp_path, nats_url)
    valid = adjustments(100, items=10, prefix="V")
    try:
        write_ndjson(c.inbox / "valid-before.ndjson", valid[:50])
        file_rows = _file_rows(c)
        for _, send in file_rows:
            send()
        assert c.webhook(_sale("wh-valid"), signed_headers(WEBHOOK_SECRET, "wh-valid", _sale("wh-valid"))).is_success
        webhook_rows = _webhook_rows(c, "wh-valid")
        for row, send in webhook_rows:
            answer = send()
            row.outcome = f"refused {answer.status_code}" if answer.status_code in (401, 409, 413) else \
                f"answered {answer.status_code}"
            row.error = answer.text[:200]
        c.drop_edi("valid.x12", (EDI_CORPUS / "846_inventory_crlf.x12").read_bytes())
        edi_rows = _edi_rows(c)
        for _, send in edi_rows:
            send()
        transfer = _event("transfer.requested", "erp-valid")
        write_ndjson(c.inbox / "erp-valid.ndjson", [transfer])
        wait_until(lambda: c.erp.state.documents_for("erp-valid"), timeout=30, what="a valid transfer in the ERP")
        erp_rows = []
        for kind, label, params in ERP_FAULTS:
            row = Row("erp/soap", label, "dead letter", "erp", f"erp-{kind}")
            c.erp.inject(kind, times=50, operation="GoodsMovementCreate", **params)
            write_ndjson(c.inbox / f"erp-{kind}.ndjson", [_event("transfer.requested", f"erp-{kind}")])
            wait_until(lambda k=kind: any(letter.idempotency_key == f"erp-{k}" for letter in c.dead_letters()),
                       timeout=30, what=f"the ERP {kind} dead letter")
            c.erp.clear_injections()
            erp_rows.append(row)
        write_ndjson(c.inbox / "valid-after.ndjson", valid[50:])
        wait_until(lambda: {e["idempotency_key"] for e in valid} <= set(c.web.applied), timeout=30,
                   what="the valid inbox events around the hostile ones")
        wait_until(lambda: any(e["source"].endswith("pos1") or "pos1" in e["source"] for e in c.web.applied.values()),
                   timeout=15, what="the valid webhook's event")
        wait_until(lambda: any(e["type"] == "stock.snapshot" for e in c.web.applied.values()), timeout=15,
                   what="the valid EDI file's events")
        time.sleep(2.0)
        letters = c.dead_letters()
    finally:
        code = c.close()
    table = [row for row, _ in file_rows + webhook_rows + edi_rows] + erp_rows
    for row in table:
        if row.expected == "dead letter":
            _match(row, letters)
    _print_table(table)
    assert code == 0, "the hub did not survive the corpus"
    for row in table:
        assert row.outcome.startswith(row.expected), f"{row.group} / {row.name}: {row.outcome} ({row.error})"
        assert row.error, f"{row.group} / {row.name}: no error text"
    assert not list(tmp_path.rglob("pwned")) and not list(tmp_path.rglob("escape.edi"))  # nothing left its folder
    assert len([p for p in (c.sftp.root / "error").iterdir() if p.name.endswith("escape.edi")]) == 2


def _print_table(rows: list[Row]) -> None:
    width = max(len(f"{r.group} / {r.name}") for r in rows)
    print(f"\n{'INPUT':<{width}}  {'OUTCOME':<32}  ERROR")
    for row in rows:
        error = " ".join(row.error.split())[:110]
        print(f"{row.group + ' / ' + row.name:<{width}}  {row.outcome:<32}  {error}")

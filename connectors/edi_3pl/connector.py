"""The `edi.sftp` connector: one trading partner's SFTP server, polled for inbound EDI and written to.

As a source it picks up each inbound file exactly once (ledger in KV), publishes its canonical
events, acknowledges every interchange (997 / CONTRL, and a TA1 when asked for or when the X12
envelope is broken) and archives the file. As a sink it sends 850 / ORDERS and 940 documents and
books the acknowledgement it expects from the partner.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import posixpath
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from canonical import Envelope, EventError, parse_event
from connectors.edi_3pl import acks, edifact, edifact_map, ledger, x12, x12_map
from connectors.edi_3pl.config import EdiSftpConfig
from connectors.edi_3pl.control import control_for
from connectors.edi_3pl.errors import EdiError
from connectors.edi_3pl.mapping import Partner
from connectors.edi_3pl.translate import Document, InterchangeResult, Translation, translate
from connectors.edi_3pl.transport import SftpClient, SftpSession, SftpSettings
from connectors.edi_3pl.xref import ItemXref, ItemXrefError, load_item_xref
from hub.errors import ContractError, HubError, PermanentError
from hub.sdk import ConnectorContext, Sink, resolve_path

_ACK_PROBLEMS = ("rejected", "accepted_with_errors")
_ACK_DOCUMENTS = {"x12": "997", "edifact": "CONTRL"}
_Rendered = TypeVar("_Rendered")


class EdiSftp(Sink):
    type_name: ClassVar[str] = "edi.sftp"
    config_model = EdiSftpConfig
    direction = "both"
    summary = "Supplier / 3PL EDI (X12, EDIFACT) over SFTP: inbound documents, outbound 850 / ORDERS / 940, acks."

    def __init__(self, name: str, config: EdiSftpConfig, ctx: ConnectorContext) -> None:  # type: ignore[override]
        super().__init__(name, config, ctx)
        self.config: EdiSftpConfig = config
        self.partner = Partner(config.partner, config.supplier_id, config.location, config.adjustment_reasons)
        self.session = SftpSession(_settings(config), attempts=config.attempts, backoff=config.backoff)
        self._poller: asyncio.Task[None] | None = None
        # (modification time, size) of the item_xref file as last read, whether it was loaded or refused.
        self._item_xref_version: tuple[int, int] | None = None
        self._item_xref_gone = False

    async def start(self) -> None:
        await self._load_item_xref()
        moved = await acks.migrate_legacy_book(self.ctx.state)
        if moved:
            self.ctx.log.info("moved %d open acknowledgement(s) from the single-key book to one key each", moved)
        self._poller = asyncio.create_task(self._poll_loop(), name=f"edi.sftp:{self.name}")

    async def _load_item_xref(self) -> None:
        """Read the partner's item cross-reference; a table that cannot be used stops the connector starting."""
        if self.config.item_xref is None:
            return
        path = resolve_path(self.ctx.base_dir, self.config.item_xref)
        version = _file_version(path)
        try:
            xref = await asyncio.to_thread(load_item_xref, path)
        except ItemXrefError as exc:
            raise PermanentError(f"edi.sftp {self.name}: {exc}") from None
        self._item_xref_version = version
        self._use_item_xref(path, xref)

    async def _reload_item_xref(self) -> None:
        """Read the item cross-reference again when its file changed (modification time or size).

        A bad new version, or a file that is gone, leaves the table in use; a bad version is read
        again only once the file changes again. A file that changed while it was read (still being
        written) is neither used nor refused: the next poll reads it again.
        """
        if self.config.item_xref is None:
            return
        path = resolve_path(self.ctx.base_dir, self.config.item_xref)
        version = _file_version(path)
        if version is None:
            if not self._item_xref_gone:
                self._item_xref_gone = True
                self.ctx.log.warning("item cross-reference %s cannot be found; the table read before stays in use",
                                     path)
            return
        self._item_xref_gone = False
        if version == self._item_xref_version:
            return
        try:
            xref = await asyncio.to_thread(load_item_xref, path)
        except ItemXrefError as exc:
            if self._unchanged_while_read(path, version):
                self.ctx.count("edi_item_xref_reload_failures", partner=self.config.partner)
                self.ctx.log.warning("%s; the table read before stays in use until the file changes again", exc)
            return
        if self._unchanged_while_read(path, version):
            self._use_item_xref(path, xref)

    def _unchanged_while_read(self, path: Path, version: tuple[int, int]) -> bool:
        """Whether the file is still at `version` (taken before the read); if so, that version counts as read.

        A file written to during the read may have been read half-written: the next poll reads it again.
        """
        if _file_version(path) != version:
            self.ctx.log.info("item cross-reference %s changed while it was read; it is read again at the next poll",
                              path)
            return False
        self._item_xref_version = version
        return True

    def _use_item_xref(self, path: Path, xref: ItemXref) -> None:
        self.partner = replace(self.partner, item_xref=xref)
        self.ctx.log.info("item cross-reference %s: %d GTIN(s), %d vendor part number(s)", path,
                          len(xref.by_gtin), len(xref.by_vendor_part))

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None
        await self.session.close()

    async def check(self) -> str:
        """Check the item cross-reference, connect (host key checked), create missing folders, count waiting files."""
        await self._load_item_xref()
        c = self.config
        await self.session.call("preparing folders", lambda client: _ensure_folders(client, c))
        files = await self.session.call(f"listing {c.inbound_dir}", lambda client: client.list_files(c.inbound_dir))
        return f"{len(files)} file(s) in {c.inbound_dir}"

    def accepts(self, event_type: str) -> bool:
        return event_type in ("purchase_order.changed", "transfer.requested")

    # ---- source -------------------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        while True:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a partner's outage must not end the loop
                self.ctx.count("edi_poll_failures", partner=self.config.partner)
                self.ctx.log.warning("polling partner %s failed: %s", self.config.partner, exc)
            await asyncio.sleep(self.config.poll_interval)

    async def poll_once(self) -> int:
        """Process every waiting inbound file and raise tasks for overdue acknowledgements; files processed."""
        await self._reload_item_xref()
        c = self.config
        await self.session.call("preparing folders", lambda client: _ensure_folders(client, c))
        files = await self.session.call(f"listing {c.inbound_dir}", lambda client: client.list_files(c.inbound_dir))
        names = sorted(f.name for f in files if any(fnmatch.fnmatch(f.name, p) for p in c.inbound_patterns))
        for name in names:
            await self.process_file(name)
        await self.raise_overdue()
        return len(names)

    async def process_file(self, name: str) -> None:
        c = self.config
        path = posixpath.join(c.inbound_dir, name)
        raw = await self.session.call(f"reading {path}", lambda client: client.read(path))
        key = ledger.file_key(name, raw)
        claim = await ledger.claim(self.ctx.state, key, c.claim_timeout)
        if claim == "busy":
            return
        if claim == "done":
            self.ctx.count("edi_duplicate_files", partner=c.partner)
            self.ctx.log.info("file %s was processed before (same name, size and content); archiving it", name)
            await self._archive(path)
            return
        try:
            translation = translate(raw, self.partner)
        except EdiError as exc:
            await self._refuse(path, raw, f"{name}: {exc}", exc.error_class)
            await ledger.mark(self.ctx.state, key, "done", outcome="refused")
            return
        if claim == "new":
            await self._ingest(name, raw, translation)
            await ledger.mark(self.ctx.state, key, "ingested")
        await self._acknowledge(key, translation)
        if translation.events or not translation.errors:
            await self._archive(path)
        else:
            await self._to_error_folder(path, "; ".join(str(e) for e in translation.errors))
        await ledger.mark(self.ctx.state, key, "done", outcome="processed")
        self.ctx.count("edi_files", partner=c.partner, standard=translation.standard)

    async def _ingest(self, name: str, raw: bytes, translation: Translation) -> None:
        for ic in translation.interchanges:
            for error in ic.errors:
                self.ctx.log.warning("%s: %s", name, error)
            for doc in ic.documents:
                if doc.accepted:
                    _validate(doc, ic)
                if not doc.accepted:
                    self.ctx.count("edi_documents_refused", partner=self.config.partner, document=doc.type)
                    await self.ctx.dead_letter(raw=raw, reason="; ".join(str(e) for e in doc.errors),
                                               error_class="contract", origin=f"{name}#{ic.control}/{doc.control}",
                                               headers={"edi-document": doc.type, "edi-partner": self.config.partner})
        events = translation.events
        if events:
            result = await self.ctx.ingest(events, raw=raw, origin=name)
            self.ctx.count("edi_events", result.stored, partner=self.config.partner)
        accepted = [doc for ic in translation.interchanges for doc in ic.documents if doc.accepted]
        for doc in accepted:
            for event in doc.events:
                if event["type"] != "partner.acknowledged":
                    continue
                if doc.type == "TA1":
                    await self._interchange_acknowledged(event["data"])
                else:
                    await self._settle(event["data"])

    async def _acknowledge(self, key: str, translation: Translation) -> None:
        c = self.config
        for index, ic in enumerate(translation.interchanges):
            if not acks.needs_ack(ic):
                continue
            if isinstance(ic.source, x12.Interchange):
                took_data = any(doc.accepted for doc in ic.documents)
                await self._send_ta1(key, index, ic.source, took_data)
                if not took_data and acks.envelope_note(ic.source) is not None:
                    continue  # a broken envelope nothing was taken from: the TA1 rejects it, no 997
            render = partial(acks.render_ack, ic, self.partner, sender=(c.our_qualifier, c.our_id),
                             when=datetime.now(UTC), x12_version=c.x12_version, usage="T" if c.test_usage else "P")
            # The 997 echoes GS06, ST02 and ISA05 / ISA06 as sent (a CONTRL escapes what it echoes).
            numbered = await self._numbered(f"ackctl.{key[5:]}.{index}", ic.standard, render,
                                            what=_ACK_DOCUMENTS[ic.standard], interchange=ic.control,
                                            unwritable="edi_ack_unwritable")
            if numbered is None:
                continue
            control, (document, text) = numbered
            await self._write(document, control, text.encode(_encoding(ic)))

    async def _send_ta1(self, key: str, index: int, ic: x12.Interchange, took_data: bool) -> None:
        ta1 = acks.x12_ta1(ic, took_data)
        if ta1 is None:
            return
        c = self.config
        render = partial(acks.render_ta1, ic, ta1, sender=(c.our_qualifier, c.our_id), when=datetime.now(UTC),
                         x12_version=c.x12_version, usage="T" if c.test_usage else "P")
        # The TA1 echoes ISA13, ISA09 and ISA10 as sent.
        numbered = await self._numbered(f"ta1ctl.{key[5:]}.{index}", "x12", render, what="TA1",
                                        interchange=ic.control, unwritable="edi_ta1_unwritable")
        if numbered is not None:
            control, text = numbered
            await self._write("TA1", control, text.encode("utf-8"))

    async def _numbered(self, key: str, standard: str, render: Callable[..., _Rendered], *, what: str,
                        interchange: str, unwritable: str) -> tuple[int, _Rendered] | None:
        """`render(control=...)` with the control number bound to `key`, claimed only once rendering can succeed;
        None for an acknowledgement that cannot be written, which is counted (`unwritable`) and logged.

        An acknowledgement echoes values the partner sent; one holding a delimiter cannot be written back,
        and the file's data is already taken: raising would hold up this file, and every later one, at every
        poll. A trial render with a stand-in number finds that out before a number is claimed, so skipping
        it leaves no gap in our control numbers. Control numbers are digits, never a delimiter, so the real
        render succeeds whenever the trial one does.
        """
        try:
            render(control=1)
        except EdiError as exc:
            self.ctx.count(unwritable, partner=self.config.partner)
            self.ctx.log.warning("no %s can answer interchange %s: %s", what, interchange, exc)
            return None
        control = await control_for(self.ctx.state, key, standard)
        return control, render(control=control)

    async def _archive(self, path: str) -> None:
        folder = self.config.archive_dir
        await self.session.call(f"archiving {path}", lambda client: client.move(path, folder))

    async def _refuse(self, path: str, raw: bytes, reason: str, error_class: str) -> None:
        self.ctx.count("edi_files_refused", partner=self.config.partner)
        await self.ctx.dead_letter(raw=raw, reason=reason, error_class=error_class, origin=posixpath.basename(path),
                                   headers={"edi-partner": self.config.partner})
        await self._to_error_folder(path, reason)

    async def _to_error_folder(self, path: str, reason: str) -> None:
        folder = self.config.error_dir

        def move(client: SftpClient) -> None:
            target = client.move(path, folder)
            client.write_atomic(folder, posixpath.basename(target) + ".reason", (reason + "\n").encode())

        await self.session.call(f"moving {path} to {folder}", move)

    # ---- acknowledgements owed to us -----------------------------------------------------------

    async def _settle(self, ack: dict[str, Any]) -> None:
        record = await acks.settle(self.ctx.state, ack["interchange_control"])
        if record is None:
            self.ctx.count("edi_unexpected_acks", partner=self.config.partner)
            self.ctx.log.info("acknowledgement of interchange %s matches nothing we sent", ack["interchange_control"])
            return
        now = datetime.now(UTC)
        if ack["status"] in _ACK_PROBLEMS:
            await self.ctx.ingest([acks.ack_task(record, "ack_rejected", now=now, ack=ack)], origin="edi-ack")
        elif record.get("task_raised") or datetime.fromisoformat(record["deadline"]) < now:
            await self.ctx.ingest([acks.ack_task(record, "ack_late", now=now, ack=ack)], origin="edi-ack")

    async def _interchange_acknowledged(self, ack: dict[str, Any]) -> None:
        """A partner's TA1: a reject closes the book (no 997 will follow); any problem raises a task."""
        if ack["status"] not in _ACK_PROBLEMS:
            return  # an accepted envelope says nothing about the groups: the 997 still settles the book
        control = ack["interchange_control"]
        if ack["status"] == "rejected":
            record = await acks.settle(self.ctx.state, control)
        else:
            record = await acks.pending(self.ctx.state, control)
        if record is None:
            self.ctx.count("edi_unexpected_acks", partner=self.config.partner)
            self.ctx.log.info("TA1 for interchange %s matches nothing we sent", control)
            return
        task = acks.ack_task(record, "ta1_rejected", now=datetime.now(UTC), ack=ack)
        await self.ctx.ingest([task], origin="edi-ack")

    async def raise_overdue(self) -> int:
        now = datetime.now(UTC)
        late = await acks.overdue(self.ctx.state, now)
        if late:
            await self.ctx.ingest([acks.ack_task(r, "ack_overdue", now=now) for r in late], origin="edi-ack")
        return len(late)

    # ---- sink ---------------------------------------------------------------------------------

    async def deliver(self, event: Envelope, attempt: int) -> None:
        c = self.config
        document, body = self._outbound(event)
        sent_key = "out." + hashlib.sha256(event.idempotency_key.encode()).hexdigest()[:40]
        if await self.ctx.state.get(sent_key + ".sent"):
            return
        control = await control_for(self.ctx.state, sent_key, c.standard)
        text = self._render(document, body, control)
        name = await self._write(document, control, text.encode("utf-8"))
        now = datetime.now(UTC)
        record = {"partner": c.partner, "standard": c.standard, "control": _control_text(c.standard, control),
                  "document_type": document, "file": name, "event_id": event.id, "sent_at": now.isoformat(),
                  "deadline": (now + timedelta(seconds=c.ack_deadline)).isoformat()}
        await acks.expect(self.ctx.state, record)
        await self.ctx.state.put(sent_key + ".sent", True)

    def _outbound(self, event: Envelope) -> tuple[str, list[Any]]:
        data = event.model_dump(mode="json")
        try:
            if event.type == "purchase_order.changed":
                if self.config.standard == "x12":
                    return "850", x12_map.render_850(data, self.partner)
                return "ORDERS", edifact_map.render_orders(data, self.partner)
            if event.type == "transfer.requested" and self.config.standard == "x12":
                return "940", x12_map.render_940(data, self.partner)
        except EdiError as exc:
            raise ContractError(f"edi.sftp {self.name}: {exc}", "data") from None
        raise ContractError(f"edi.sftp {self.name} has no {self.config.standard} document for {event.type}", "type")

    def _render(self, document: str, body: list[Any], control: int) -> str:
        c = self.config
        now = datetime.now(UTC)
        if c.standard == "x12":
            header = x12.Header(c.our_qualifier, c.our_id, c.partner_qualifier, c.partner_id, control,
                                x12_map.functional_id(document), now, version=c.x12_version,
                                usage="T" if c.test_usage else "P")
            return x12.render(header, [(document, body)])
        header_e = edifact.Header(c.our_id, c.our_qualifier, c.partner_id, c.partner_qualifier, control, now,
                                  test=c.test_usage)
        return edifact.render(header_e, [(edifact_map.ORDERS_TYPE, body)])

    async def _write(self, document: str, control: int, data: bytes) -> str:
        c = self.config
        name = c.outbound_name.format(partner=c.partner, document=document, control=control)

        def write(client: SftpClient) -> None:
            client.ensure_folder(c.outbound_dir)
            client.write_atomic(c.outbound_dir, name, data, c.temp_suffix)

        await self.session.call(f"writing {name} to {c.outbound_dir}", write)
        return name


def _validate(doc: Document, ic: InterchangeResult) -> None:
    """Check each event against the canonical model now, so the acknowledgement can report a misfit."""
    for event in doc.events:
        try:
            parse_event(event)
        except EventError as exc:
            doc.errors.append(EdiError(f"does not fit the canonical {event['type']} model: {exc}",
                                       interchange=ic.control, group=doc.group, set_control=doc.control))
    if doc.errors:
        doc.events = []


def _encoding(ic: InterchangeResult) -> str:
    source = ic.source
    if isinstance(source, edifact.Interchange) and source.syntax in ("UNOC", "UNOD", "UNOE", "UNOF"):
        return "latin-1"
    return "utf-8"


def _control_text(standard: str, control: int) -> str:
    return f"{control:09d}" if standard == "x12" else str(control)


def _file_version(path: Path) -> tuple[int, int] | None:
    """(modification time, size) of the file at `path`, None when it cannot be found: one stat, no read.

    Taken before the file is read and again after it, so that a write during the read is noticed.
    """
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def _ensure_folders(client: SftpClient, c: EdiSftpConfig) -> None:
    for folder in (c.inbound_dir, c.outbound_dir, c.archive_dir, c.error_dir):
        client.ensure_folder(folder)


def _settings(c: EdiSftpConfig) -> SftpSettings:
    def reveal(ref: Any) -> str | None:
        if ref is None:
            return None
        try:
            return ref.reveal()
        except ValueError as exc:
            raise HubError(f"edi.sftp {c.partner}: {exc}") from None

    return SftpSettings(
        host=c.host, port=c.port, username=c.username, password=reveal(c.password),
        private_key=reveal(c.private_key), passphrase=reveal(c.private_key_passphrase),
        known_hosts=c.host_key, fingerprint=c.host_key_fingerprint,
        connect_timeout=c.connect_timeout, operation_timeout=c.operation_timeout,
    )

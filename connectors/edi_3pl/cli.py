"""`hub edi`: tools for EDI analysts to see what a file maps to, and what an event would become."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from canonical import EventError, parse_event
from connectors.edi_3pl import edifact, edifact_map, x12, x12_map
from connectors.edi_3pl.errors import EdiError
from connectors.edi_3pl.mapping import Partner
from connectors.edi_3pl.translate import Translation, translate
from connectors.edi_3pl.xref import ItemXref, ItemXrefError, load_item_xref

EXIT_ACCEPTED, EXIT_WITH_ERRORS, EXIT_REFUSED = 0, 1, 2


@click.group("edi")
def edi() -> None:
    """Read and write X12 and EDIFACT documents as the edi.sftp connector does."""


@edi.command("parse")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--partner", default="partner", show_default=True, help="Trading partner id used in events.")
@click.option("--supplier", default=None, help="Supplier id for documents that leave it out.")
@click.option("--location", default=None, help="Location id for documents that leave it out.")
@click.option("--item-xref", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The partner's item cross-reference CSV (as the connector's item_xref), for lines without our SKU.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def parse_command(file: Path, partner: str, supplier: str | None, location: str | None, item_xref: Path | None,
                  as_json: bool) -> None:
    """Print the canonical events FILE maps to, or its errors with their positions.

    The standard (X12 or EDIFACT) and the encoding (UTF-8/16, Latin-1, EBCDIC) are detected from
    the first bytes. Exit status: 0 accepted, 1 accepted with errors, 2 refused (or a bad option).
    """
    raw = file.read_bytes()
    trading_partner = Partner(partner, supplier, location, item_xref=_item_xref(item_xref))
    try:
        translation = translate(raw, trading_partner)
    except EdiError as exc:
        if as_json:
            click.echo(json.dumps({"file": str(file), "status": "refused", "errors": [exc.as_dict()]}, indent=2))
        else:
            click.echo(f"{file}: refused: {exc}", err=True)
        raise SystemExit(EXIT_REFUSED) from None
    _validate(translation)
    report = _report(file, translation)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print_text(report)
    statuses = {ic["status"] for ic in report["interchanges"]}
    if statuses == {"accepted"}:
        raise SystemExit(EXIT_ACCEPTED)
    raise SystemExit(EXIT_REFUSED if statuses == {"rejected"} else EXIT_WITH_ERRORS)


@edi.command("render")
@click.argument("doc_type", metavar="TYPE", type=click.Choice(["850", "940", "ORDERS"], case_sensitive=False))
@click.argument("event_file", metavar="EVENT.json", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sender", default="RETAILHUB", show_default=True, help="Our interchange id.")
@click.option("--receiver", default="PARTNER", show_default=True, help="The partner's interchange id.")
@click.option("--control", default=1, show_default=True, type=click.IntRange(1), help="Interchange control number.")
@click.option("--x12-version", default="00401", show_default=True, help="ISA12 for X12 documents.")
def render_command(doc_type: str, event_file: Path, sender: str, receiver: str, control: int,
                   x12_version: str) -> None:
    """Print the outbound document (850, 940 or ORDERS) the canonical event in EVENT.json would become."""
    try:
        event = parse_event(event_file.read_bytes()).model_dump(mode="json")
    except EventError as exc:
        raise click.ClickException(f"{event_file}: not a valid canonical event: {exc}") from None
    doc_type = doc_type.upper()
    wanted = "transfer.requested" if doc_type == "940" else "purchase_order.changed"
    if event["type"] != wanted:
        raise click.ClickException(f"{event_file}: a {doc_type} is rendered from {wanted}, not {event['type']}")
    now = datetime.now(UTC)
    partner = Partner(receiver)
    try:
        if doc_type == "ORDERS":
            header_e = edifact.Header(sender, "ZZ", receiver, "ZZ", control, now)
            text = edifact.render(header_e, [(edifact_map.ORDERS_TYPE, edifact_map.render_orders(event, partner))])
        else:
            body = x12_map.render_850(event, partner) if doc_type == "850" else x12_map.render_940(event, partner)
            header = x12.Header("ZZ", sender, "ZZ", receiver, control, x12_map.functional_id(doc_type), now,
                                version=x12_version)
            text = x12.render(header, [(doc_type, body)])
    except EdiError as exc:
        raise click.ClickException(f"{event_file}: cannot render a {doc_type}: {exc}") from None
    click.echo(text, nl=False)


def _item_xref(path: Path | None) -> ItemXref | None:
    if path is None:
        return None
    try:
        return load_item_xref(path)
    except ItemXrefError as exc:
        raise click.BadParameter(str(exc), param_hint="--item-xref") from None


def _validate(translation: Translation) -> None:
    """Events that do not fit the canonical model refuse their document, as the connector does."""
    for ic in translation.interchanges:
        for doc in ic.documents:
            for event in doc.events:
                try:
                    parse_event(event)
                except EventError as exc:
                    doc.errors.append(EdiError(f"does not fit the canonical {event['type']} model: {exc}",
                                               interchange=ic.control, group=doc.group, set_control=doc.control))
            if doc.errors:
                doc.events = []


def _report(file: Path, translation: Translation) -> dict[str, Any]:
    return {
        "file": str(file), "standard": translation.standard, "encoding": translation.encoding,
        "interchanges": [{
            "control": ic.control, "sender": ic.sender, "receiver": ic.receiver, "status": ic.status,
            "errors": [e.as_dict() for e in ic.errors],
            "documents": [{"type": d.type, "control": d.control, "group": d.group, "accepted": d.accepted,
                           "events": len(d.events), "errors": [e.as_dict() for e in d.errors]}
                          for d in ic.documents],
        } for ic in translation.interchanges],
        "events": translation.events,
    }


def _print_text(report: dict[str, Any]) -> None:
    click.echo(f"{report['file']}: {report['standard']}, {report['encoding']}")
    for ic in report["interchanges"]:
        click.echo(f"interchange {ic['control']} from {ic['sender']} to {ic['receiver']}: {ic['status']}")
        for error in ic["errors"]:
            click.echo(f"  error: {_where(error)}: {error['message']}")
        for doc in ic["documents"]:
            state = f"accepted, {doc['events']} event(s)" if doc["accepted"] else "refused"
            click.echo(f"  {doc['type']} {doc['control']}: {state}")
            for error in doc["errors"]:
                click.echo(f"    error: {_where(error)}: {error['message']}")
    for event in report["events"]:
        click.echo(f"{event['type']} {event['subject']} {json.dumps(event['data'], ensure_ascii=False)}")


def _where(error: dict[str, Any]) -> str:
    return EdiError("", **{k if k != "set" else "set_control": v for k, v in error.items()
                           if k not in ("code", "message")}).position()
